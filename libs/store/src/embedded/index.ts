export * from './embedded-postgres';
export * from './process-lifecycle';
