export * from './embedded-postgres';
export * from './process-lifecycle';
export * from './heap-tuning';
