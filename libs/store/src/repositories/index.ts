export * from './canonical-json';
export * from './cursor';
export * from './flow.repository';
export * from './run.repository';
