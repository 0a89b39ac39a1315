// A validated flow definition as users write it (docs/flow-format.md); `compileTrigger` fills defaults.

import type { OpsEventType } from '../events/ops-events';

/** A duration as written in a flow: `250ms`, `10s`, `5m`, `1h`, or whole milliseconds. */
export type Duration = string | number;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

export interface RetryPolicyDef {
  attempts?: number;
  backoff?: 'exponential' | 'fixed';
  delay?: Duration;
  maxDelay?: Duration;
}

/** How runs start (docs/flow-format.md#trigger). */
export type TriggerDef = WebhookTriggerDef | ScheduleTriggerDef | PollTriggerDef | EventTriggerDef;
export type TriggerType = TriggerDef['type'];

/** A schedule: exactly one of `cron` (with its `timezone`) and `every`. */
export interface ScheduleTriggerDef {
  type: 'schedule';
  cron?: string;
  timezone?: string;
  every?: Duration;
  catchUp?: boolean;
}

/** A request sent every `every`; each item whose `key` is new starts a run. */
export interface PollTriggerDef {
  type: 'poll';
  every: Duration;
  /** The options of an `http` action. */
  request: Record<string, unknown>;
  items?: string;
  key: string;
  initial?: 'skip' | 'emit';
  retry?: RetryPolicyDef;
  timeout?: Duration;
}

/** An operational event (another flow's run failed, a destination paused...) starts a run: an error flow. */
export interface EventTriggerDef {
  type: 'event';
  on: OpsEventType[];
  /** Slug patterns (`*` for any characters) of the flows whose events count; every flow's by default. */
  flows?: string[];
}

export interface WebhookTriggerDef {
  type: 'webhook';
  methods?: HttpMethod[];
  verify?: Record<string, unknown> & { scheme: string; secret?: string; tolerance?: Duration };
  dedupe?: { header?: string; expression?: string };
  allowIps?: string[];
  rateLimit?: { limit: number; per: Duration };
  maxBodyBytes?: number;
  /** XML elements (a name, or a dotted path from the root) whose values are always arrays. */
  xmlArrays?: string[];
  respond?: { status?: number; body?: unknown; headers?: Record<string, string> };
  /** How long an accepted request waits for the flow's respond step: default 10s, at most 30s. */
  respondTimeout?: Duration;
}

interface StepBase {
  id: string;
  needs?: string[];
  /** A step with several needs: run once all succeeded (`all`), or once all settled and one succeeded (`any`). */
  join?: 'all' | 'any';
  retry?: RetryPolicyDef;
  timeout?: Duration;
  name?: string;
  description?: string;
}

export interface TransformStepDef extends StepBase {
  type: 'transform';
  expression: string;
}

export interface FilterStepDef extends StepBase {
  type: 'filter';
  condition: string;
}

/** Caps on calls to one destination (origin host:port) while this step takes a slot there. */
export interface DestinationLimitDef {
  /** Calls in flight to the destination at once, per worker process. */
  concurrency?: number;
  /** Calls started per window, per worker process. */
  rate?: { limit: number; per: Duration };
}

export interface ActionStepDef extends StepBase {
  type: 'action';
  connector: string;
  with: Record<string, unknown>;
  destination?: DestinationLimitDef;
}

/** Waits `for` a duration or `until` a JSONata time (ISO text or epoch ms); its output is its input. */
export interface DelayStepDef extends StepBase {
  type: 'delay';
  for?: Duration;
  until?: string;
}

/** One way out of a router: steps on it need `"<routerId>.<name>"`; without `when`, the fallback. */
export interface RouterPathDef {
  name: string;
  when?: string;
}

/** Takes the first path whose `when` holds (`first`, the default) or every one (`all`); its output is its input. */
export interface RouterStepDef extends StepBase {
  type: 'router';
  mode?: 'first' | 'all';
  paths: RouterPathDef[];
}

/** JavaScript in a sandbox of its own (QuickJS): `input`, `trigger`, `steps`, `run` in scope; `return` gives the output. */
export interface CodeStepDef extends StepBase {
  type: 'code';
  code: string;
}

/**
 * Answers the webhook that started the run with what it renders (`json` or `body`, exactly one),
 * as soon as the run reaches it; the steps after it go on without the sender (docs/flow-format.md#respond).
 */
export interface RespondStepDef extends StepBase {
  type: 'respond';
  /** Default 200. */
  status?: number;
  /** Header name to a text template. */
  headers?: Record<string, string>;
  /** JSON whose strings are templates; a string that is exactly one `{{ ... }}` keeps its value's type. */
  json?: unknown;
  /** A text template. */
  body?: string;
}

/** A step a loop runs once per item. */
export type LoopStepDef = TransformStepDef | FilterStepDef | ActionStepDef | RouterStepDef | CodeStepDef;

/**
 * Runs `steps` once per element of `items` (JSONata over its input), `concurrency` items at a time;
 * its output is each item's last output, in item order (docs/flow-format.md#foreach).
 */
export interface ForeachStepDef extends StepBase {
  type: 'foreach';
  items: string;
  steps: LoopStepDef[];
  /** Items whose steps run at once; default 1. */
  concurrency?: number;
  /** The most items it takes; a longer array fails the step. Default 1,000. */
  maxItems?: number;
  /** Ends succeeded with `null` for the items that failed, instead of failing once all finished. */
  continueOnError?: boolean;
}

export type StepDef =
  | TransformStepDef
  | FilterStepDef
  | ActionStepDef
  | DelayStepDef
  | RouterStepDef
  | CodeStepDef
  | ForeachStepDef
  | RespondStepDef;
export type StepType = StepDef['type'];

const CALLS_NO_ONE: ReadonlySet<string> = new Set<StepType>([
  'transform',
  'filter',
  'router',
  'code',
  'foreach',
  'respond',
]);

/** A step that calls no one: its errors are final (never retried), and a fresh one may run from a read. */
export function callsNoOne(type: unknown): boolean {
  return typeof type === 'string' && CALLS_NO_ONE.has(type);
}

export interface FlowDefinition {
  $schema?: string;
  slug: string;
  name?: string;
  description?: string;
  enabled?: boolean;
  trigger: TriggerDef;
  steps: StepDef[];
  /** Messages about the flow's failures, throttled (docs/alerts.md#alert-rules). */
  alerts?: AlertsDef;
}

/** Where an alert rule sends its messages: a chat preset's incoming webhook, or any URL (`http`). */
export interface AlertTargetDef {
  connector: 'slack' | 'discord' | 'teams' | 'http';
  /** A template, usually `{{secret 'NAME'}}`: the webhook URL is the credential. */
  url: string;
  /** `http` only: headers sent with the JSON message (templates). */
  headers?: Record<string, string>;
}

/** A flow's alert rule: one message per `throttle` window at most, the rest counted. */
export interface AlertsDef {
  onFailure: AlertTargetDef;
  throttle?: Duration;
}

/** One validation problem: a JSON pointer into the document and a sentence for a person. */
export interface ValidationIssue {
  path: string;
  message: string;
}

/** The trigger's webhook options; none for a schedule, a poll or an event trigger, which have no URL. */
export function webhookOf(definition: Pick<FlowDefinition, 'trigger'>): WebhookTriggerDef | undefined {
  return definition.trigger.type === 'webhook' ? definition.trigger : undefined;
}

/** What a run started without a request carries as its method, so steps and the inspector can tell. */
export const TRIGGER_METHODS = {
  schedule: 'SCHEDULE',
  poll: 'POLL',
  event: 'EVENT',
  manual: 'MANUAL',
} as const;
