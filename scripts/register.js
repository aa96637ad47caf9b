// Runs the TypeScript sources directly: `node -r ./scripts/register.js apps/cli/src/main.ts`.
// Compiles each .ts file with swc on require (no type checking: `npm run typecheck` does that) and resolves
// the @ycloud/<lib> aliases from tsconfig.json, so the sandbox and scripts start without a build step.
'use strict';
const fs = require('fs');
const path = require('path');
const Module = require('module');
const swc = require('@swc/core');

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
require.extensions['.ts'] = function compileTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { code } = swc.transformSync(source, { ...swcOptions, filename });
  module._compile(code, filename);
};
