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
/** ES-module-only packages that CommonJS dependencies require() (`@fastify/static`: `content-disposition`). */
const REQUIRED_ESM = ['content-disposition'];
const transform = {
  '^.+\\.ts$': [
    'ts-jest',
    { useESM: true, tsconfig: { module: 'es2022', rootDir: __dirname, isolatedModules: true } },
  ],
  // Node 20.19 runs a require() of an ES module (require(esm)); jest on Node 20 does not, so ts-jest
  // compiles those packages, to CommonJS where they are required. Tests only; the build needs none of it.
  [`/node_modules/(${REQUIRED_ESM.join('|')})/.+\\.js$`]: [
    'ts-jest',
    { useESM: true, tsconfig: { allowJs: true, isolatedModules: true } },
  ],
};
const common = {
  rootDir: __dirname,
  moduleFileExtensions: ['ts', 'js', 'json'],
  extensionsToTreatAsEsm: ['.ts'],
  testEnvironment: 'node',
  transform,
  transformIgnorePatterns: [`/node_modules/(?!(${REQUIRED_ESM.join('|')})/)`],
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
};
