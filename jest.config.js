// Three suites: unit (pure, no I/O, beside the code), integration (real apiserver / OVN, under test/integration
// and libs/*/test), e2e (real traffic through the sandbox, under test/e2e). See scripts/test.sh.
const { pathsToModuleNameMapper } = require('./scripts/jest-paths');

const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
      },
      module: { type: 'commonjs' },
    },
  ],
};
// @kubernetes/client-node 1.x and some of its dependencies ship ES modules only; jest (before Node 24.9) cannot
// require them, so swc compiles those packages to CommonJS like our own sources.
const esmOnly = [
  '@kubernetes/client-node',
  'jsonpath-plus',
  '@jsep-plugin',
  'jsep',
  'openid-client',
  'jose',
  'oauth4webapi',
  'rfc4648',
];
transform['^.+\\.m?js$'] = transform['^.+\\.ts$'];
const transformIgnorePatterns = [`/node_modules/(?!(${esmOnly.join('|')})/)`];
const common = {
  transform,
  transformIgnorePatterns,
  moduleNameMapper: pathsToModuleNameMapper(),
  testEnvironment: 'node',
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/src/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/libs/*/test/**/*.test.ts'],
      // Per-project testTimeout is not applied to hooks; the setup file sets it for both.
      setupFilesAfterEnv: ['<rootDir>/test/jest-long-timeout.js'],
    },
    // Builds the images (scripts/images.sh) and runs them with runc: minutes, so not part of `npm test`.
    {
      ...common,
      displayName: 'images',
      testMatch: ['<rootDir>/test/images/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/jest-long-timeout.js'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/jest-long-timeout.js'],
    },
  ],
};
