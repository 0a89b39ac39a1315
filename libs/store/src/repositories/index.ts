export * from './canonical-json';
export * from './cursor';
export * from './event.repository';
export * from './jsonb';
export * from './flow.repository';
export * from './run.repository';
