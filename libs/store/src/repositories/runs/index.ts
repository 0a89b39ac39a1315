// Runs by caller: intake (ingress, replays), step transitions (the worker and its reconciler),
// operations on whole runs (the API's retry and cancel), queries (the API's reads).
export { InvalidCursorError } from './run-sql';
export * from './run-intake.repository';
export * from './run-operations.repository';
export * from './run-queries.repository';
export * from './step-transitions.repository';
