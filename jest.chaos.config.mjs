/**
 * `npm run test:chaos`: the chaos tests (test/chaos), with the e2e tier's settings. They are kept
 * out of `npm test` because they run their own PostgreSQL and Redis and kill processes; they run
 * one file at a time (`--runInBand`) so that their timings do not fight each other.
 */
import base from './jest.config.js';

const e2e = base.projects.find((project) => project.displayName === 'e2e');

export default {
  ...e2e,
  displayName: 'chaos',
  testMatch: ['<rootDir>/test/chaos/**/*.chaos-spec.ts'],
  testTimeout: 120_000,
};
