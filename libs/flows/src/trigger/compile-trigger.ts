import { StepGraph } from '../graph/step-graph';
import type { FlowDefinition } from '../model/flow-definition';
import { parseDuration } from '../retry/duration';
import { resolveRetryPolicy, resolveTimeoutMs, type RetryPolicy } from '../retry/retry-policy';
import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_RESPOND_TIMEOUT_MS,
  DEFAULT_TRIGGER_METHODS,
} from '../validation/flow-defaults';
import type { VerifyConfig } from '../verify/verify-config';
import { compileReply, type TriggerReply } from './trigger-reply';

/** A step of a new run; roots go to the queue as soon as the run is stored. */
export interface TriggerStep {
  id: string;
  root: boolean;
}

/** A root step as the queue takes it. */
export interface RootStep {
  id: string;
  policy: RetryPolicy;
  timeoutMs: number;
}

/** What ingress needs of a trigger that its flow definition alone decides, every default written out. */
export interface CompiledTrigger {
  /** Upper case. */
  methods: ReadonlySet<string>;
  maxBodyBytes: number;
  /** `xmlArrays`, for the body parser; empty when none. */
  xmlArrays: string[];
  reply: TriggerReply;
  /** `respond.headers` names left out of `reply`: the server sets them, or HTTP refuses them. */
  droppedReplyHeaders: string[];
  /** Null: requests are not verified. */
  verify: VerifyConfig | null;
  /** Where the trigger's own credential travels (lower-case header, query parameter): never stored or shown. */
  credential: { header?: string; query?: string };
  steps: TriggerStep[];
  roots: RootStep[];
  /** Addresses and CIDR ranges as written; null: every source address may call. */
  allowIps: string[] | null;
  /** Null: no rate limit. */
  rateLimit: { limit: number; windowMs: number } | null;
  /** Null: no dedupe. */
  dedupe: { header?: string; expression?: string } | null;
  /** The flow's respond step, which an accepted request waits for up to `timeoutMs`; null: none. */
  respondStep: { id: string; timeoutMs: number } | null;
}

/** Derives what ingress needs from a validated flow definition; pure, so callers may cache it per version. */
export function compileTrigger(definition: FlowDefinition): CompiledTrigger {
  const trigger = definition.trigger;
  const rootIds = new Set(new StepGraph(definition.steps).roots());
  const { reply, dropped } = compileReply(trigger.respond);
  const verify = (trigger.verify as VerifyConfig | undefined) ?? null;
  return {
    methods: new Set((trigger.methods ?? DEFAULT_TRIGGER_METHODS).map((m) => m.toUpperCase())),
    maxBodyBytes: trigger.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    xmlArrays: trigger.xmlArrays ?? [],
    reply,
    droppedReplyHeaders: dropped,
    verify,
    credential: credentialOf(verify),
    steps: definition.steps.map((s) => ({ id: s.id, root: rootIds.has(s.id) })),
    roots: definition.steps
      .filter((s) => rootIds.has(s.id))
      .map((s) => ({ id: s.id, policy: resolveRetryPolicy(s), timeoutMs: resolveTimeoutMs(s) })),
    allowIps: trigger.allowIps ?? null,
    rateLimit: trigger.rateLimit
      ? { limit: trigger.rateLimit.limit, windowMs: parseDuration(trigger.rateLimit.per) }
      : null,
    dedupe: trigger.dedupe ?? null,
    respondStep: respondStepOf(definition),
  };
}

function respondStepOf(definition: FlowDefinition): CompiledTrigger['respondStep'] {
  const step = definition.steps.find((s) => s.type === 'respond');
  if (!step) return null;
  const timeout = definition.trigger.respondTimeout;
  return {
    id: step.id,
    timeoutMs: timeout === undefined ? DEFAULT_RESPOND_TIMEOUT_MS : parseDuration(timeout),
  };
}

/** A token's header or query parameter, or a generic HMAC's header: whatever its name, it carries a secret. */
function credentialOf(verify: VerifyConfig | null): { header?: string; query?: string } {
  const carriers = verify as { header?: unknown; query?: unknown } | null;
  const credential: { header?: string; query?: string } = {};
  if (typeof carriers?.header === 'string') credential.header = carriers.header.toLowerCase();
  if (typeof carriers?.query === 'string') credential.query = carriers.query;
  return credential;
}
