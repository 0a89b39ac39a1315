/**
 * Operational events: what happened to runs, destinations and triggers, as error flows (`event`
 * triggers), operational webhooks (subscriptions) and alert rules hear it (docs/alerts.md).
 */
export const OPS_EVENT_TYPES = [
  'run.failed',
  'run.succeeded',
  'destination.paused',
  'destination.resumed',
  'destination.disabled',
  'trigger.refused',
  'poll.failed',
] as const;

export type OpsEventType = (typeof OPS_EVENT_TYPES)[number];

/** Events about one flow's runs or requests; the others (destinations) concern no one flow. */
export const FLOW_EVENT_TYPES: ReadonlySet<OpsEventType> = new Set([
  'run.failed',
  'run.succeeded',
  'trigger.refused',
  'poll.failed',
]);

export function isOpsEventType(value: unknown): value is OpsEventType {
  return typeof value === 'string' && (OPS_EVENT_TYPES as readonly string[]).includes(value);
}

/**
 * Whether a flow slug matches one of `patterns`, where `*` stands for any run of characters
 * (`orders-*`). No patterns, or none given, match every flow.
 */
export function slugMatches(slug: string, patterns: readonly string[] | undefined): boolean {
  if (!patterns || patterns.length === 0) return true;
  return patterns.some((pattern) => globMatches(pattern, slug));
}

/** `*` matches any run of characters; greedy with one backtrack point, so never exponential. */
function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
