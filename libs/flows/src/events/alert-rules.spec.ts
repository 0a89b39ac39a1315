import { validateFlow } from '../validation/validate-flow';
import {
  alertMessageFlow,
  alertOnFailure,
  alertOnWindowEnd,
  NO_ALERT_WINDOW,
  summaryMessage,
  type AlertWindow,
} from './alert-rules';

const THROTTLE_MS = 15 * 60_000;

/** Plays failures (times in ms) and window ends through the rules, as the worker does. */
function play(events: Array<['failure' | 'tick', number]>) {
  let window: AlertWindow = NO_ALERT_WINDOW;
  const messages: Array<{ at: number; kind: string; count?: number }> = [];
  for (const [what, at] of events) {
    const decision =
      what === 'failure'
        ? alertOnFailure(window, at, THROTTLE_MS)
        : alertOnWindowEnd(window, at, THROTTLE_MS);
    window = decision.window;
    if (decision.message) messages.push({ at, ...decision.message });
  }
  return { window, messages };
}

describe('alert rules', () => {
  it('tells the first failure at once and counts the next nine in its window', () => {
    const failures = Array.from({ length: 10 }, (_, i) => ['failure', i * 1000] as ['failure', number]);
    const { window, messages } = play(failures);
    expect(messages).toEqual([{ at: 0, kind: 'failure' }]);
    expect(window).toEqual({ lastSentAtMs: 0, windowEndsAtMs: THROTTLE_MS, pending: 9 });
  });

  it("tells a window's count once when it ends, and opens the next window", () => {
    const { window, messages } = play([
      ['failure', 0],
      ['failure', 1000],
      ['failure', 2000],
      ['tick', THROTTLE_MS - 1],
      ['tick', THROTTLE_MS],
      ['tick', THROTTLE_MS + 500],
    ]);
    expect(messages).toEqual([
      { at: 0, kind: 'failure' },
      { at: THROTTLE_MS, kind: 'summary', count: 2 },
    ]);
    expect(window).toEqual({ lastSentAtMs: THROTTLE_MS, windowEndsAtMs: 2 * THROTTLE_MS, pending: 0 });
  });

  it('counts failures in the window a summary opened, so at most one message per window', () => {
    const { messages } = play([
      ['failure', 0],
      ['failure', 1],
      ['tick', THROTTLE_MS],
      ['failure', THROTTLE_MS + 1],
      ['tick', 2 * THROTTLE_MS],
    ]);
    expect(messages.map((m) => [m.at, m.kind, m.count])).toEqual([
      [0, 'failure', undefined],
      [THROTTLE_MS, 'summary', 1],
      [2 * THROTTLE_MS, 'summary', 1],
    ]);
  });

  it('a failure after a quiet window ended is told alone', () => {
    const { messages } = play([
      ['failure', 0],
      ['tick', THROTTLE_MS],
      ['failure', 3 * THROTTLE_MS],
    ]);
    expect(messages).toEqual([
      { at: 0, kind: 'failure' },
      { at: 3 * THROTTLE_MS, kind: 'failure' },
    ]);
  });

  it('a failure after an ended window that no tick told yet is told with its count', () => {
    const { messages, window } = play([
      ['failure', 0],
      ['failure', 1],
      ['failure', THROTTLE_MS + 5],
    ]);
    expect(messages[1]).toEqual({ at: THROTTLE_MS + 5, kind: 'summary', count: 2 });
    expect(window.pending).toBe(0);
  });

  it('says the count and the window as people write them', () => {
    expect(summaryMessage('orders-sync', 9, THROTTLE_MS, 'http://x/ui/runs', 0).text).toBe(
      '9 more runs of orders-sync failed in the last 15m. http://x/ui/runs',
    );
  });

  it.each(['slack', 'discord', 'teams', 'http'] as const)(
    'builds a %s message flow that validates, the message as data',
    (connector) => {
      const flow = alertMessageFlow('orders', { connector, url: "{{secret 'OPS_SLACK'}}" });
      expect(validateFlow(flow)).toMatchObject({ valid: true });
      const options = (flow.steps[0] as { with: Record<string, unknown> }).with;
      // A lone {{...}} in a typed field keeps the value's type: http gets the message as JSON, not a string.
      expect(options).toMatchObject(
        connector === 'http' ? { json: '{{trigger.body}}' } : { url: "{{secret 'OPS_SLACK'}}" },
      );
    },
  );
});

describe('alerts in a flow document', () => {
  const flow = (alerts: unknown) => ({
    slug: 'orders',
    trigger: { type: 'webhook' },
    steps: [{ id: 'a', type: 'transform', expression: '$' }],
    alerts,
  });

  it('takes a rule with a secret URL and a throttle', () => {
    const result = validateFlow(
      flow({ onFailure: { connector: 'slack', url: "{{secret 'OPS_SLACK'}}" }, throttle: '15m' }),
    );
    expect(result).toMatchObject({ valid: true });
  });

  it.each([
    [{ onFailure: { connector: 'email', url: 'x' } }, '/alerts/onFailure/connector'],
    [{ onFailure: { connector: 'slack' } }, '/alerts/onFailure/url'],
    [{ onFailure: { connector: 'slack', url: 'https://x' }, throttle: '1 hour' }, '/alerts/throttle'],
    [{ onFailure: { connector: 'slack', url: 'https://x' }, throttle: '2d' }, '/alerts/throttle'],
    [
      { onFailure: { connector: 'slack', url: 'https://x', headers: { a: 'b' } } },
      '/alerts/onFailure/headers',
    ],
    [{ onFailure: { connector: 'http', url: 'https://x/{{steps.a.id}}' } }, '/alerts/onFailure/url'],
    [{ onFailure: { connector: 'http', url: 'https://x/{{#if}}' } }, '/alerts/onFailure/url'],
  ])('refuses %j at %s', (alerts, path) => {
    const result = validateFlow(flow(alerts));
    expect(result.valid).toBe(false);
    expect(result.valid ? [] : result.errors.map((e) => e.path)).toContain(path);
  });
});
