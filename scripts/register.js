// Runs the TypeScript sources directly: `node -r ./scripts/register.js apps/cli/src/main.ts`.
// Compiles each .ts file with swc on require (no type checking: `npm run typecheck` does that) and resolves
// the @ycloud/<lib> aliases from tsconfig.json, so the sandbox and scripts start without a build step.
// Compiled files are cached by content hash in ~/.cache/ycloud/swc (YCLOUD_SWC_CACHE=<dir>, or 0 for none):
// compiling ~200 files took about 0.1 s of CPU at every start, e.g. of the controller in the benchmarks,
// where a deployed controller runs compiled JavaScript.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const Module = require('module');

const root = path.resolve(__dirname, '..');
const { paths } = require(path.join(root, 'tsconfig.json')).compilerOptions;
const aliases = Object.entries(paths)
  .filter(([alias]) => !alias.endsWith('/*'))
  .map(([alias, [target]]) => [alias, path.join(root, target)]);

const originalResolve = Module._resolveFilename;
Module._resolveFilename = function resolveAlias(request, parent, ...rest) {
  if (request.startsWith('@ycloud/')) {
    for (const [alias, target] of aliases) {
      if (request === alias) return originalResolve.call(this, target, parent, ...rest);
      if (request.startsWith(alias + '/')) {
        return originalResolve.call(this, path.join(target, request.slice(alias.length + 1)), parent, ...rest);
      }
    }
  }
  return originalResolve.call(this, request, parent, ...rest);
};

const swcOptions = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};
const cacheSetting = process.env.YCLOUD_SWC_CACHE;
const cacheDir = cacheSetting === '0' ? undefined : cacheSetting || path.join(os.homedir(), '.cache', 'ycloud', 'swc');
let swc;
let cacheSalt;

function compile(source, filename) {
  swc ??= require('@swc/core');
  return swc.transformSync(source, { ...swcOptions, filename }).code;
}

/** The compiled file from the cache, or compiled now and stored (written atomically; a failed write is ignored). */
function cachedCompile(source, filename) {
  cacheSalt ??= JSON.stringify([require('@swc/core/package.json').version, swcOptions]);
  const hash = crypto.createHash('sha256').update(cacheSalt).update('\0').update(filename).update('\0');
  const file = path.join(cacheDir, hash.update(source).digest('hex') + '.js');
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    // not cached yet
  }
  const code = compile(source, filename);
  try {
    fs.mkdirSync(cacheDir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, file);
  } catch {
    // a read-only or full disk only costs the next start its compile
  }
  return code;
}

require.extensions['.ts'] = function compileTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  module._compile(cacheDir ? cachedCompile(source, filename) : compile(source, filename), filename);
};
