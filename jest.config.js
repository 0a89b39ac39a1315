/**
 * One jest run for both tiers: unit specs next to the code, e2e specs under test/e2e.
 * NestJS 12 and some dependencies ship as ES modules only, which jest loads only in its native
 * ESM mode, so tests run as ESM (`--experimental-vm-modules`, set by the npm scripts) while the
 * build stays CommonJS (Node 20.19+ loads the ESM packages there through require(esm)).
 */
const moduleNameMapper = {
  '^@hookflow/(flows|connectors|store|sandbox|platform|queue)$': '<rootDir>/libs/$1/src',
  '^@hookflow/(flows|connectors|store|sandbox|platform|queue)/(.*)$': '<rootDir>/libs/$1/src/$2',
};
const transform = {
  '^.+\\.ts$': [
    'ts-jest',
    { useESM: true, tsconfig: { module: 'es2022', rootDir: __dirname, isolatedModules: true } },
  ],
};
const common = {
  rootDir: __dirname,
  moduleFileExtensions: ['ts', 'js', 'json'],
  extensionsToTreatAsEsm: ['.ts'],
  testEnvironment: 'node',
  transform,
  moduleNameMapper,
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,scripts}/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
    },
  ],
  testTimeout: 60000,
  // Tests run in a worker process, replaced once it holds this much after a test file: one process
  // for the whole suite grew past V8's heap limit (the e2e files start API and worker apps in it).
  workerIdleMemoryLimit: '1536MB',
};
