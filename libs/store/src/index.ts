// Persistence: the TypeORM entities, migrations and repositories, stored secrets, and the Nest
// module that provides them.
export * from './database/data-source';
export * from './database/database-errors';
export * from './database/database-health';
export * from './database/flow-change-listener';
export * from './entities';
export * from './migrations';
export * from './nest/store.module';
export * from './repositories';
export * from './secrets/redact-secrets';
export * from './secrets/secret-cipher';
