import { API_KEY_SCOPES, ApiKey, type ApiKeyScope } from './api-key.entity';
import { Attempt } from './attempt.entity';
import { Event } from './event.entity';
import { Flow } from './flow.entity';
import { FlowVersion } from './flow-version.entity';
import { Run } from './run.entity';
import { Secret } from './secret.entity';
import { StepRun } from './step-run.entity';
import { Trigger } from './trigger.entity';

export { Attempt, Event, Flow, FlowVersion, Run, StepRun, Trigger };
export { API_KEY_SCOPES, ApiKey, Secret };
export type { ApiKeyScope };
export type { AttemptOutcome } from './attempt.entity';

export const ENTITIES = [Flow, FlowVersion, Trigger, Event, Run, StepRun, Attempt, Secret, ApiKey];
