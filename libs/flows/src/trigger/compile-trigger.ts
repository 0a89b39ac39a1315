import { planSteps, type RootStep, type TriggerStep } from '../graph/step-plan';
import {
  webhookOf,
  type FlowDefinition,
  type TriggerType,
  type WebhookTriggerDef,
} from '../model/flow-definition';
import { parseDuration } from '../retry/duration';
import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_RESPOND_TIMEOUT_MS,
  DEFAULT_TRIGGER_METHODS,
} from '../validation/flow-defaults';
import type { VerifyConfig } from '../verify/verify-config';
import { compileReply, type TriggerReply } from './trigger-reply';

/** What ingress needs of a trigger that its flow definition alone decides, every default written out. */
export interface CompiledTrigger {
  type: TriggerType;
  /** Upper case; empty for a schedule or a poll, which have no URL. */
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
  const webhook = webhookOf(definition);
  const trigger = webhook ?? { type: 'webhook' as const };
  const { reply, dropped } = compileReply(trigger.respond);
  const verify = (trigger.verify as VerifyConfig | undefined) ?? null;
  return {
    type: definition.trigger.type,
    methods: new Set(webhook ? (webhook.methods ?? DEFAULT_TRIGGER_METHODS).map((m) => m.toUpperCase()) : []),
    maxBodyBytes: trigger.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    xmlArrays: trigger.xmlArrays ?? [],
    reply,
    droppedReplyHeaders: dropped,
    verify,
    credential: credentialOf(verify),
    ...planSteps(definition),
    allowIps: trigger.allowIps ?? null,
    rateLimit: trigger.rateLimit
      ? { limit: trigger.rateLimit.limit, windowMs: parseDuration(trigger.rateLimit.per) }
      : null,
    dedupe: trigger.dedupe ?? null,
    respondStep: webhook ? respondStepOf(definition, webhook.respondTimeout) : null,
  };
}

function respondStepOf(
  definition: FlowDefinition,
  timeout: WebhookTriggerDef['respondTimeout'],
): CompiledTrigger['respondStep'] {
  const step = definition.steps.find((s) => s.type === 'respond');
  if (!step) return null;
  return {
    id: step.id,
    timeoutMs: timeout === undefined ? DEFAULT_RESPOND_TIMEOUT_MS : parseDuration(timeout),
  };
}

/** A token's header or query parameter, or a generic HMAC's header: whatever its name, it carries a secret. */
export function credentialOf(verify: VerifyConfig | null): { header?: string; query?: string } {
  const carriers = verify as { header?: unknown; query?: unknown } | null;
  const credential: { header?: string; query?: string } = {};
  if (typeof carriers?.header === 'string') credential.header = carriers.header.toLowerCase();
  if (typeof carriers?.query === 'string') credential.query = carriers.query;
  return credential;
}
