import type { HttpMethod } from '../model/flow-definition';

// A flow's defaults, as the schema publishes them; step retry defaults are in retry/retry-policy.ts.
export const DEFAULT_TRIGGER_METHODS: readonly HttpMethod[] = ['POST'];
export const DEFAULT_MAX_BODY_BYTES = 1_048_576;
export const DEFAULT_RESPOND_STATUS = 202;
/** A respond step's status, and how long a request waits for it. */
export const DEFAULT_RESPOND_STEP_STATUS = 200;
export const DEFAULT_RESPOND_TIMEOUT_MS = 10_000;
export const DEFAULT_VERIFY_TOLERANCE_MS = 300_000;
