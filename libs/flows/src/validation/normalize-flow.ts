import type { FlowDefinition, HttpMethod } from '../model/flow-definition';

export const DEFAULT_TRIGGER_METHODS: readonly HttpMethod[] = ['POST'];
export const DEFAULT_MAX_BODY_BYTES = 1_048_576;
export const DEFAULT_RESPOND_STATUS = 202;
export const DEFAULT_VERIFY_TOLERANCE_MS = 300_000;

/**
 * A copy of a validated flow with the documented defaults written out (`enabled`, trigger
 * `methods`, `maxBodyBytes`, `respond.status`), for code that wants no `??` chains. Step `needs`
 * stay as written: `StepGraph` owns their meaning.
 */
export function normalizeFlow(def: FlowDefinition): FlowDefinition {
  const copy = structuredClone(def);
  copy.enabled ??= true;
  copy.trigger.methods ??= [...DEFAULT_TRIGGER_METHODS];
  copy.trigger.maxBodyBytes ??= DEFAULT_MAX_BODY_BYTES;
  copy.trigger.respond = {
    ...copy.trigger.respond,
    status: copy.trigger.respond?.status ?? DEFAULT_RESPOND_STATUS,
  };
  return copy;
}
