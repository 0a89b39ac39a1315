import { jest } from '@jest/globals';
import type { HookflowConfig } from '@hookflow/platform';
import type {
  AlertRule,
  AlertStateRepository,
  AlertWindowWrite,
  NewOpsDelivery,
  OpsDeliveryRepository,
  OpsSubscriptionRepository,
  StoredAlertWindow,
} from '@hookflow/store';
import type { DispatchedOpsEvent } from './ops-event';
import { OpsDeliveries, type AlertDeliveryBody } from './ops-deliveries';

/** The repositories as maps, with the same guarantees: a key stored once, an event counted once, a version guard. */
function newTestService(
  rules: AlertRule[] = [],
  subs: Array<{ id: string; events: string[]; flows: string[] }> = [],
) {
  const deliveries = new Map<string, NewOpsDelivery>();
  const windows = new Map<string, StoredAlertWindow>();
  const counted = new Set<string>();
  const enqueue = (list: readonly NewOpsDelivery[]) => {
    for (const d of list) if (!deliveries.has(d.key)) deliveries.set(d.key, d);
    return Promise.resolve(list.length);
  };
  const alerts = {
    rules: (ids: readonly string[]) => Promise.resolve(rules.filter((r) => ids.includes(r.flowId))),
    window: (flowId: string) => Promise.resolve(windows.get(flowId) && { ...windows.get(flowId)! }),
    ended: () =>
      Promise.resolve(
        [...windows.values()]
          .filter((w) => w.pending > 0 && w.windowEndsAtMs! <= Date.now())
          .map((w) => ({ ...w })),
      ),
    write: (change: AlertWindowWrite) => {
      const key = `${change.flowId}/${change.eventId}`;
      if (change.eventId !== undefined && counted.has(key)) return Promise.resolve('duplicate');
      const current = windows.get(change.flowId);
      if ((current?.version ?? 0) !== change.version) return Promise.resolve('moved');
      if (change.eventId !== undefined) counted.add(key);
      windows.set(change.flowId, {
        ...change.window,
        flowId: change.flowId,
        throttleMs: change.throttleMs,
        version: change.version + 1,
      });
      if (change.message) void enqueue([change.message]);
      return Promise.resolve('written');
    },
    prune: () => Promise.resolve(),
    forget: (flowId: string) => Promise.resolve(void windows.delete(flowId)),
  };
  const subscriptions = {
    listening: () => Promise.resolve(subs),
  };
  const config = { publicUrl: 'https://hooks.example.com' } as HookflowConfig;
  const sut = new OpsDeliveries(
    subscriptions as unknown as OpsSubscriptionRepository,
    { enqueue } as unknown as OpsDeliveryRepository,
    alerts as unknown as AlertStateRepository,
    config,
  );
  return { sut, deliveries, windows };
}

const ordersRule: AlertRule = {
  flowId: 'f1',
  slug: 'orders-sync',
  alerts: { onFailure: { connector: 'slack', url: "{{secret 'OPS_SLACK'}}" }, throttle: '15m' },
};

function failure(id: number, flow = { id: 'f1', slug: 'orders-sync' }): DispatchedOpsEvent {
  const at = new Date();
  return {
    id: String(id),
    type: 'run.failed',
    at,
    flow,
    body: {
      type: 'run.failed',
      at: at.toISOString(),
      flow: { slug: flow.slug, version: 1 },
      run: { id: `run-${id}`, status: 'failed', url: `https://hooks.example.com/ui/runs/run-${id}` },
      failedSteps: [{ id: 'post', error: { code: 'http_error', message: 'HTTP 500' }, attempts: 3 }],
    },
  };
}

const alertMessages = (deliveries: Map<string, NewOpsDelivery>) =>
  [...deliveries.values()]
    .filter((d) => d.kind === 'alert')
    .map((d) => (d.body as AlertDeliveryBody).message);

describe('OpsDeliveries', () => {
  afterEach(() => jest.useRealTimers());

  it('sends one alert for ten failures within the throttle window', async () => {
    const { sut, deliveries, windows } = newTestService([ordersRule]);
    for (let i = 1; i <= 10; i++) await sut.enqueue([failure(i)]);
    const messages = alertMessages(deliveries);
    expect(messages).toHaveLength(1);
    expect(messages[0].text).toContain('A run of orders-sync failed: step post http_error (HTTP 500)');
    expect(messages[0].url).toBe('https://hooks.example.com/ui/runs/run-1');
    expect(windows.get('f1')?.pending).toBe(9);
  });

  it('counts a failure dispatched twice once', async () => {
    const { sut, windows } = newTestService([ordersRule]);
    await sut.enqueue([failure(1), failure(2)]);
    await sut.enqueue([failure(1), failure(2)]);
    expect(windows.get('f1')?.pending).toBe(1);
  });

  it("tells a window's count when it ends, linking the flow's failed runs", async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const { sut, deliveries } = newTestService([ordersRule]);
    for (let i = 1; i <= 10; i++) await sut.enqueue([failure(i)]);
    expect(await sut.tellEndedWindows()).toBe(0);
    jest.setSystemTime(1_000_000 + 15 * 60_000);
    expect(await sut.tellEndedWindows()).toBe(1);
    expect(await sut.tellEndedWindows()).toBe(0);
    const summary = alertMessages(deliveries)[1];
    expect(summary.text).toBe(
      '9 more runs of orders-sync failed in the last 15m. https://hooks.example.com/ui/runs?flow=orders-sync&status=failed',
    );
    expect(summary.count).toBe(9);
  });

  it('sends no alert for flows without a rule', async () => {
    const { sut, deliveries } = newTestService([ordersRule]);
    await sut.enqueue([failure(1, { id: 'f2', slug: 'billing' })]);
    expect(deliveries.size).toBe(0);
  });

  it('delivers to the subscriptions whose events and flow patterns match, once per event', async () => {
    const { sut, deliveries } = newTestService(
      [],
      [
        { id: 's1', events: ['run.failed'], flows: ['orders-*'] },
        { id: 's2', events: ['run.failed'], flows: ['billing'] },
        { id: 's3', events: ['destination.paused'], flows: ['billing'] },
      ],
    );
    const paused: DispatchedOpsEvent = {
      id: '9',
      type: 'destination.paused',
      at: new Date(),
      body: { type: 'destination.paused', at: new Date().toISOString() },
    };
    const failed = failure(1);
    await sut.enqueue([failed, paused]);
    await sut.enqueue([failed, paused]);
    expect([...deliveries.keys()].sort()).toEqual(['sub_s1_1', 'sub_s3_9']);
    expect(deliveries.get('sub_s1_1')?.body).toEqual(failed.body);
  });
});
