// The step and trigger queues: their connection, the job contract, its one producer, and the checks of Redis
// that keep it safe; and the channel that carries respond steps' answers to the API.
export * from './answers/answer-message';
export * from './connection-errors';
export * from './nest/answer-channel';
export * from './nest/queue-connection-log';
export * from './nest/queue-connection-state';
export * from './nest/redis-policy.check';
export * from './nest/step-queue';
export * from './nest/trigger-schedules';
export * from './queue-connection';
export * from './redis-policy';
export * from './step-job';
export * from './trigger-job';
