// The step queue: its connection, the job contract shared by producers and the worker, and the
// checks of Redis that keep it safe.
export * from './connection-errors';
export * from './nest/queue-connection-log';
export * from './nest/redis-policy.check';
export * from './queue-connection';
export * from './redis-policy';
export * from './step-job';
