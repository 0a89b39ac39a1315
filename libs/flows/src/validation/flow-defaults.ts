import type { HttpMethod } from '../model/flow-definition';

/**
 * What a flow document means where it leaves a setting out (the schema publishes the same values).
 * Step defaults (attempts, delays, timeout) are the retry policy's: retry/retry-policy.ts.
 */
export const DEFAULT_TRIGGER_METHODS: readonly HttpMethod[] = ['POST'];
export const DEFAULT_MAX_BODY_BYTES = 1_048_576;
export const DEFAULT_RESPOND_STATUS = 202;
export const DEFAULT_VERIFY_TOLERANCE_MS = 300_000;
