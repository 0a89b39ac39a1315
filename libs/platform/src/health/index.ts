export * from './readiness';
export * from './within';
