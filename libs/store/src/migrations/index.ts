import { InitialSchema1764000000000 } from './1764000000000-initial-schema';

/** Every migration, oldest first. Run at start by both apps (TypeORM serialises them with a lock table). */
export const MIGRATIONS = [InitialSchema1764000000000];
