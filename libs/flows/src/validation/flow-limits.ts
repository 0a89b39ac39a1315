// Upper bounds of a flow document. flow.schema.ts is built from these, so the schema, the validator
// and the engine agree; `validateFlow` checks the document's bytes and depth first.

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** Steps in one flow. */
export const MAX_FLOW_STEPS = 500;
/** UTF-8 bytes of a flow document as compact JSON. */
export const MAX_FLOW_BYTES = 1024 * 1024;
/** Bytes of JSON text holding one flow document, whitespace included (a flow file, an API request). */
export const MAX_FLOW_TEXT_BYTES = 4 * MAX_FLOW_BYTES;
/** Nesting of objects and arrays in a flow document (the document itself is level 1). */
export const MAX_FLOW_DEPTH = 64;
/** Characters of one JSONata expression (transform, filter, dedupe, `until`). */
export const MAX_EXPRESSION_LENGTH = 32_768;
/** Characters of one template string in an action's `with`. */
export const MAX_TEMPLATE_LENGTH = 32_768;
/** Characters of a flow's or step's `name`, and of a `description`. */
export const MAX_NAME_LENGTH = 200;
export const MAX_DESCRIPTION_LENGTH = 10_000;
/** Characters of a header name, a query parameter name or a signature prefix in `trigger`. */
export const MAX_HEADER_NAME_LENGTH = 256;
/** Characters of a code step's JavaScript. */
export const MAX_CODE_LENGTH = 65_536;
/** Paths of one router. */
export const MAX_ROUTER_PATHS = 20;
/** Steps of one `foreach` loop; its `concurrency`; its `maxItems` (default and bound). */
export const MAX_LOOP_STEPS = 50;
export const MAX_LOOP_CONCURRENCY = 100;
export const DEFAULT_LOOP_MAX_ITEMS = 1000;
export const MAX_LOOP_ITEMS = 2000;
/** Bytes of a loop's output (its items' results as JSON); a larger one fails the loop. */
export const MAX_LOOP_OUTPUT_BYTES = 16 * 1024 * 1024;
/** Entries of `trigger.allowIps`. */
export const MAX_ALLOW_IPS = 1000;
/** `trigger.rateLimit.limit`. */
export const MAX_RATE_LIMIT = 1_000_000;
/** A trigger's own `maxBodyBytes` (the server's MAX_BODY_BYTES still applies below it). */
export const MAX_TRIGGER_BODY_BYTES = 64 * 1024 * 1024;
/** Headers in `trigger.respond.headers`, the length of each value, and bytes of `respond.body` as JSON. */
export const MAX_RESPOND_HEADERS = 50;
export const MAX_RESPOND_HEADER_VALUE_LENGTH = 8192;
export const MAX_RESPOND_BODY_BYTES = 64 * 1024;
/** Bytes of the body a respond step renders; a larger one fails the step. */
export const MAX_RESPOND_STEP_BODY_BYTES = 256 * 1024;
/** `retry.attempts`. */
export const MAX_RETRY_ATTEMPTS = 100;
/** `destination.concurrency` and `destination.rate.limit`. */
export const MAX_DESTINATION_CONCURRENCY = 1000;
export const MAX_DESTINATION_RATE_LIMIT = 10_000;

/** A duration's allowed range in milliseconds. */
export interface DurationRange {
  minMs: number;
  maxMs: number;
}

/** Every duration's range; those that reach a timer stay far below setTimeout's 2^31-1 ms limit. */
export const DURATION_RANGES = {
  /** A step's `timeout`: one attempt. */
  stepTimeout: { minMs: 1, maxMs: HOUR_MS },
  /** `retry.delay` and `retry.maxDelay`. */
  retryDelay: { minMs: 0, maxMs: DAY_MS },
  /** A delay step's `for`, and how far ahead its `until` may be. */
  delay: { minMs: 0, maxMs: 365 * DAY_MS },
  /** `trigger.verify.tolerance`. */
  verifyTolerance: { minMs: SECOND_MS, maxMs: HOUR_MS },
  /** `trigger.rateLimit.per`: a window counted in the database. */
  rateLimitWindow: { minMs: SECOND_MS, maxMs: DAY_MS },
  /** `destination.rate.per`: a window kept in each worker's memory. */
  destinationWindow: { minMs: 1, maxMs: HOUR_MS },
  /** `trigger.respondTimeout`: how long a sender's request is held open for a respond step. */
  respondTimeout: { minMs: 100, maxMs: 30 * SECOND_MS },
  /** A schedule's `every`. */
  scheduleEvery: { minMs: SECOND_MS, maxMs: 366 * DAY_MS },
  /** A poll's `every`. */
  pollEvery: { minMs: SECOND_MS, maxMs: 31 * DAY_MS },
  /** `alerts.throttle`: one message per window at most. */
  alertThrottle: { minMs: SECOND_MS, maxMs: DAY_MS },
} as const satisfies Record<string, DurationRange>;

/** The longest a delay step may wait, `for` or `until`. */
export const MAX_DELAY_MS = DURATION_RANGES.delay.maxMs;

const UNITS: Array<[string, number]> = [
  ['d', DAY_MS],
  ['h', HOUR_MS],
  ['m', MINUTE_MS],
  ['s', SECOND_MS],
];

/** A duration in the flow format's own words: `1h`, `365d`, `1500ms`. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of UNITS) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
