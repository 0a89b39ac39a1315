import type { AlertsDef, AlertTargetDef, FlowDefinition } from '../model/flow-definition';
import { parseDuration } from '../retry/duration';

/** The throttle window of an alert rule when the flow names none. */
export const DEFAULT_ALERT_THROTTLE = '15m';
/** The one step of an alert message's flow (alertMessageFlow). */
export const ALERT_MESSAGE_STEP = 'alert';

/** An alert rule's window, as stored per flow: when a message last went out and what was counted since. */
export interface AlertWindow {
  /** When the last message went out (epoch ms); null before the first. */
  lastSentAtMs: number | null;
  /** When the open window ends (epoch ms); null or past: no window is open. */
  windowEndsAtMs: number | null;
  /** Failures counted in the open window, not yet told. */
  pending: number;
}

/** What a run.failed or a window's end does: the window after it, and the message to send, if any. */
export interface AlertDecision {
  window: AlertWindow;
  /** `failure`: this failure is told now. `summary`: `count` failures of the ended window are told. */
  message?: { kind: 'failure' } | { kind: 'summary'; count: number };
}

export const NO_ALERT_WINDOW: AlertWindow = { lastSentAtMs: null, windowEndsAtMs: null, pending: 0 };

function isOpen(window: AlertWindow, nowMs: number): boolean {
  return window.windowEndsAtMs !== null && window.windowEndsAtMs > nowMs;
}

/**
 * A failure of a flow with an alert rule. No window open and none to tell: it is told now and opens
 * one. A window open: it is counted. A window ended whose count was not told yet: told with it.
 */
export function alertOnFailure(window: AlertWindow, nowMs: number, throttleMs: number): AlertDecision {
  if (isOpen(window, nowMs)) return { window: { ...window, pending: window.pending + 1 } };
  const opened = { lastSentAtMs: nowMs, windowEndsAtMs: nowMs + throttleMs, pending: 0 };
  if (window.pending > 0) return { window: opened, message: { kind: 'summary', count: window.pending + 1 } };
  return { window: opened, message: { kind: 'failure' } };
}

/** A window's end: its count, if any, is told in one message that opens the next window. */
export function alertOnWindowEnd(window: AlertWindow, nowMs: number, throttleMs: number): AlertDecision {
  if (isOpen(window, nowMs) || window.pending === 0) return { window };
  return {
    window: { lastSentAtMs: nowMs, windowEndsAtMs: nowMs + throttleMs, pending: 0 },
    message: { kind: 'summary', count: window.pending },
  };
}

/** The throttle of a flow's alert rule, in milliseconds. */
export function alertThrottleMs(alerts: AlertsDef): number {
  return parseDuration(alerts.throttle ?? DEFAULT_ALERT_THROTTLE);
}

/** The fields a message connector takes its text in: the flow's `text` template goes there. */
const TEXT_FIELD: Record<AlertTargetDef['connector'], string> = {
  slack: 'text',
  discord: 'content',
  teams: 'text',
  http: 'json',
};

/**
 * The flow an alert message is sent by: one action of the rule's connector, so it has an action's
 * guard, secrets and templates. The message comes in as `trigger.body` (`text`, and the whole of
 * it as JSON for `http`), never as template text: an error message may hold `{{`.
 */
export function alertMessageFlow(slug: string, target: AlertTargetDef): FlowDefinition {
  const field = TEXT_FIELD[target.connector];
  const withOptions: Record<string, unknown> = {
    url: target.url,
    [field]: field === 'json' ? '{{trigger.body}}' : '{{trigger.body.text}}',
  };
  if (target.connector === 'http') {
    withOptions.method = 'POST';
    if (target.headers) withOptions.headers = target.headers;
  }
  return {
    slug,
    trigger: { type: 'webhook' },
    steps: [{ id: ALERT_MESSAGE_STEP, type: 'action', connector: target.connector, with: withOptions }],
  };
}

/** Formats a window as people say it: `15m`, `1h`, `90s`. */
function spoken(throttleMs: number): string {
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ];
  for (const [unit, ms] of units) if (throttleMs % ms === 0) return `${throttleMs / ms}${unit}`;
  return `${throttleMs}ms`;
}

/** What an alert message says: `text` for chat connectors, the rest for `http` receivers. */
export interface AlertMessage {
  type: 'alert.run_failed' | 'alert.runs_failed';
  flow: string;
  text: string;
  url: string;
  count: number;
  at: string;
  run?: unknown;
  failedSteps?: unknown;
}

/** The message telling one failure: the flow, the failed steps' errors and a link to the run. */
export function failureMessage(
  slug: string,
  body: { at?: unknown; run?: unknown; failedSteps?: unknown },
  nowMs: number,
): AlertMessage {
  const run = (body.run ?? {}) as { id?: string; url?: string };
  const steps = Array.isArray(body.failedSteps)
    ? (body.failedSteps as Array<{ id?: string; error?: { code?: string; message?: string } }>)
    : [];
  const first = steps[0];
  const why = first
    ? `: step ${first.id} ${first.error?.code ?? 'failed'}${first.error?.message ? ` (${first.error.message})` : ''}`
    : '';
  const url = run.url ?? '';
  return {
    type: 'alert.run_failed',
    flow: slug,
    text: `A run of ${slug} failed${why}. ${url}`.trim(),
    url,
    count: 1,
    at: new Date(nowMs).toISOString(),
    run: body.run,
    failedSteps: body.failedSteps,
  };
}

/** The message telling a window's count, with a link to the flow's failed runs. */
export function summaryMessage(
  slug: string,
  count: number,
  throttleMs: number,
  runsUrl: string,
  nowMs: number,
): AlertMessage {
  const runs = count === 1 ? 'run' : 'runs';
  return {
    type: 'alert.runs_failed',
    flow: slug,
    text: `${count} more ${runs} of ${slug} failed in the last ${spoken(throttleMs)}. ${runsUrl}`,
    url: runsUrl,
    count,
    at: new Date(nowMs).toISOString(),
  };
}
