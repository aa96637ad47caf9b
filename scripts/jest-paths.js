// Maps the tsconfig path aliases (@ycloud/<lib>) to jest's moduleNameMapper, so tests import libs as apps do.
const path = require('path');
const tsconfig = require('../tsconfig.json');

function pathsToModuleNameMapper() {
  const root = path.resolve(__dirname, '..');
  const mapper = {};
  for (const [alias, [target]] of Object.entries(tsconfig.compilerOptions.paths)) {
    const re = '^' + alias.replace('/*', '/(.*)') + '$';
    mapper[re] = path.join(root, target.replace('/*', '/$1'));
  }
  return mapper;
}
module.exports = { pathsToModuleNameMapper };
