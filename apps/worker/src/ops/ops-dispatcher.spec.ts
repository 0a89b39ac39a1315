import type { FlowDefinition } from '@hookflow/flows';
import { loadConfig } from '@hookflow/platform';
import type { PendingOpsEvent, RunEventFacts, TimedFlow } from '@hookflow/store';
import { OpsDispatcher } from './ops-dispatcher';
import type { DispatchedOpsEvent } from './ops-event';

const config = loadConfig({
  DATABASE_URL: 'postgres://localhost/test',
  PORT: '3000',
  PUBLIC_URL: 'https://hf.example',
  HOOKFLOW_API_KEY: 'k'.repeat(32),
});

const eventFlow = (slug: string, trigger: Record<string, unknown>): TimedFlow => ({
  flowId: `id-${slug}`,
  slug,
  enabled: true,
  versionId: `v-${slug}`,
  definition: { slug, trigger: { type: 'event', ...trigger }, steps: [] } as unknown as FlowDefinition,
});

const runFacts = (runId: string, slug: string, fromErrorFlow = false): RunEventFacts => ({
  runId,
  status: 'failed',
  flowId: `id-${slug}`,
  slug,
  version: 2,
  fromErrorFlow,
  createdAt: new Date('2026-12-08T00:00:00Z'),
  finishedAt: new Date('2026-12-08T00:00:01Z'),
  failedSteps: [{ id: 'send', error: { code: 'http_error', message: 'HTTP 503', status: 503 }, attempts: 3 }],
});

function setup(pending: PendingOpsEvent[], facts: RunEventFacts[], flows: TimedFlow[]) {
  const removed: string[] = [];
  const started: { slug: string; dedupeKey: string; body: unknown }[] = [];
  const delivered: DispatchedOpsEvent[] = [];
  let failStartFor: string | undefined;
  const outbox = {
    claim: async () => pending,
    remove: async (ids: readonly string[]) => void removed.push(...ids),
    runFacts: async (ids: readonly string[]) =>
      new Map(facts.filter((f) => ids.includes(f.runId)).map((f) => [f.runId, f])),
    refreshInterests: async () => undefined,
    pruneLimits: async () => undefined,
  };
  const flowRepo = {
    eventFlows: async () => flows,
    refsOf: async (ids: readonly string[]) =>
      new Map(ids.map((id) => [id, { slug: id.replace(/^id-/, ''), version: 7 }])),
  };
  const runs = {
    start: async (flow: TimedFlow, start: { dedupeKey: string; body: unknown }) => {
      if (flow.slug === failStartFor) throw new Error('database away');
      started.push({ slug: flow.slug, dedupeKey: start.dedupeKey, body: start.body });
      return { runId: 'r', eventId: 'e', duplicate: false };
    },
  };
  const deliveries = {
    enqueue: async (events: readonly DispatchedOpsEvent[]) => void delivered.push(...events),
  };
  const sut = new OpsDispatcher(
    outbox as never,
    flowRepo as never,
    runs as never,
    deliveries as never,
    config,
  );
  return { sut, removed, started, delivered, failStartFor: (slug: string) => (failStartFor = slug) };
}

const event = (id: string, type: string, more: Partial<PendingOpsEvent> = {}): PendingOpsEvent => ({
  id,
  type: type as PendingOpsEvent['type'],
  at: new Date('2026-12-08T00:00:02Z'),
  flowId: null,
  runId: null,
  data: {},
  ...more,
});

describe('OpsDispatcher', () => {
  it("starts each error flow whose types and flow patterns match, with the run's event as its body", async () => {
    const t = setup(
      [event('1', 'run.failed', { runId: 'run-a', flowId: 'id-orders-eu' })],
      [runFacts('run-a', 'orders-eu')],
      [
        eventFlow('order-errors', { on: ['run.failed'], flows: ['orders-*'] }),
        eventFlow('billing-errors', { on: ['run.failed'], flows: ['billing'] }),
        eventFlow('successes', { on: ['run.succeeded'] }),
        eventFlow('all-errors', { on: ['run.failed'] }),
      ],
    );
    expect(await t.sut.dispatchOnce()).toBe(1);
    expect(t.started.map((s) => [s.slug, s.dedupeKey])).toEqual([
      ['order-errors', 'event:1'],
      ['all-errors', 'event:1'],
    ]);
    expect(t.started[0].body).toEqual({
      type: 'run.failed',
      at: '2026-12-08T00:00:02.000Z',
      flow: { slug: 'orders-eu', version: 2 },
      run: {
        id: 'run-a',
        status: 'failed',
        url: 'https://hf.example/ui/runs/run-a',
        createdAt: '2026-12-08T00:00:00.000Z',
        finishedAt: '2026-12-08T00:00:01.000Z',
      },
      failedSteps: [
        { id: 'send', error: { code: 'http_error', message: 'HTTP 503', status: 503 }, attempts: 3 },
      ],
    });
    expect(t.delivered.map((e) => e.id)).toEqual(['1']);
    expect(t.removed).toEqual(['1']);
  });

  it("starts no error flow for an error flow's own run, but still hands the event to deliveries", async () => {
    const t = setup(
      [event('2', 'run.failed', { runId: 'run-b', flowId: 'id-watch' })],
      [runFacts('run-b', 'watch', true)],
      [eventFlow('all-errors', { on: ['run.failed'] })],
    );
    await t.sut.dispatchOnce();
    expect(t.started).toEqual([]);
    expect(t.delivered.map((e) => e.id)).toEqual(['2']);
    expect(t.removed).toEqual(['2']);
  });

  it('lets destination events reach every flow listening for their type, whatever its patterns', async () => {
    const t = setup(
      [event('3', 'destination.paused', { data: { destination: { host: 'shop.example:443' } } })],
      [],
      [eventFlow('ops', { on: ['destination.paused'], flows: ['orders-*'] })],
    );
    await t.sut.dispatchOnce();
    expect(t.started).toEqual([
      {
        slug: 'ops',
        dedupeKey: 'event:3',
        body: {
          type: 'destination.paused',
          at: '2026-12-08T00:00:02.000Z',
          destination: { host: 'shop.example:443' },
        },
      },
    ]);
  });

  it("names a flow event's flow by its current version, and drops a run's event whose run is gone", async () => {
    const t = setup(
      [
        event('4', 'trigger.refused', { flowId: 'id-quiet', data: { refusal: { status: 405 } } }),
        event('5', 'run.failed', { runId: 'gone', flowId: 'id-quiet' }),
      ],
      [],
      [eventFlow('refusals', { on: ['trigger.refused', 'run.failed'] })],
    );
    await t.sut.dispatchOnce();
    expect(t.started.map((s) => s.body)).toEqual([
      {
        type: 'trigger.refused',
        at: '2026-12-08T00:00:02.000Z',
        flow: { slug: 'quiet', version: 7 },
        refusal: { status: 405 },
      },
    ]);
    expect(t.removed).toEqual(['4', '5']);
  });

  it('keeps an event whose error flow run could not be stored, for the next dispatch after its lease', async () => {
    const t = setup(
      [event('6', 'run.failed', { runId: 'run-c' }), event('7', 'run.failed', { runId: 'run-d' })],
      [runFacts('run-c', 'orders-eu'), runFacts('run-d', 'billing')],
      [eventFlow('order-errors', { on: ['run.failed'], flows: ['orders-*'] })],
    );
    t.failStartFor('order-errors');
    await t.sut.dispatchOnce();
    expect(t.removed).toEqual(['7']);
  });
});
