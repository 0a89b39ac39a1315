import { InitialSchema1764000000000 } from './1764000000000-initial-schema';
import { StepAttemptsBase1765000000000 } from './1765000000000-step-attempts-base';

/** Every migration, oldest first. Run at start by both apps (TypeORM serialises them with a lock table). */
export const MIGRATIONS = [InitialSchema1764000000000, StepAttemptsBase1765000000000];
