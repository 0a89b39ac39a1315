// Process plumbing shared by the apps: configuration, logs, metrics, health, lifecycle and the
// embedded PostgreSQL, a listener of PostgreSQL notifications, and the small batching and caching
// tools the store and the API use.
export * from './batching/coalescer';
export * from './cache/lookup-cache';
export * from './config/hookflow-config';
export * from './config/master-key';
export * from './embedded';
export * from './health';
export * from './logging/hookflow-logger';
export * from './metrics/metrics';
export * from './metrics/metrics-token';
export * from './notify/pg-channel-listener';
