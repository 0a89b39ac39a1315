import { jest } from '@jest/globals';
import type { FlowDefinition } from '@hookflow/flows';
import { ApiMetrics, loadConfig } from '@hookflow/platform';
import type { QueuedStep } from '@hookflow/queue';
import type { CreatedRun, FlowRecord, IncomingEvent, StepPlan } from '@hookflow/store';
import { AppError, ErrorCode } from '../common/app-error';
import { ManualRunService } from './manual-run.service';

const DEFINITION: FlowDefinition = {
  slug: 'orders',
  trigger: {
    type: 'webhook',
    methods: ['PUT'],
    verify: { scheme: 'token', secret: 'TOKEN', header: 'X-Pass', query: 'pass' },
  },
  steps: [
    { id: 'shape', type: 'transform', expression: '$' },
    { id: 'send', type: 'action', connector: 'http', with: { url: 'https://example.com' }, timeout: '5s' },
  ],
};

/**
 * ManualRunService over in-memory fakes of our repositories and the queue (Immich's
 * newTestService): each fake does what the store or queue would, and `calls` logs their order.
 */
function newTestService(flow: { enabled?: boolean; queueUp?: boolean } = {}) {
  const config = loadConfig({
    DATABASE_URL: 'postgres://unit@127.0.0.1/unit',
    HOOKFLOW_API_KEY: 'unit-test-api-key-0000',
    SENSITIVE_HEADERS: 'x-partner-pin',
  });
  const calls: string[] = [];
  const record = {
    flow: { id: 'f1', slug: 'orders', enabled: flow.enabled ?? true },
    version: { id: 'v2', version: 2, definition: DEFINITION },
  } as unknown as FlowRecord;
  const stored: { event: IncomingEvent; steps: StepPlan[]; dedupe?: unknown }[] = [];
  const queued: QueuedStep[][] = [];
  const mocks = {
    flows: { findBySlug: jest.fn(async (slug: string) => (slug === 'orders' ? record : null)) },
    runs: {
      createRunFromEvent: jest.fn(
        async (event: IncomingEvent, steps: StepPlan[], dedupe?: unknown): Promise<CreatedRun> => {
          calls.push('store run');
          stored.push({ event, steps, dedupe });
          return { duplicate: false, runId: `r${stored.length}`, eventId: `e${stored.length}` };
        },
      ),
    },
    stepQueue: {
      start: jest.fn(async (steps: QueuedStep[]) => {
        calls.push('enqueue roots');
        queued.push(steps);
        return true;
      }),
    },
    queueHealth: {
      assertAvailable: jest.fn(() => {
        calls.push('queue available');
        if (flow.queueUp === false)
          throw new AppError(ErrorCode.QueueUnavailable, 'the queue is unavailable');
      }),
    },
  };
  const metrics = new ApiMetrics();
  const sut = new ManualRunService(
    mocks.flows as never,
    mocks.runs as never,
    mocks.stepQueue as never,
    mocks.queueHealth as never,
    metrics,
    config,
    {} as never,
  );
  const counted = async () =>
    Object.fromEntries((await metrics.manualRuns.get()).values.map((v) => [v.labels.flow, v.value]));
  return { sut, mocks, calls, stored, queued, counted, metrics };
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AppError)) throw new Error(`expected an AppError, got ${String(err)}`);
  return err;
}

describe('ManualRunService', () => {
  it('stores the request as a MANUAL event of the current version with every step, then queues the roots', async () => {
    const { sut, calls, stored, queued, counted } = newTestService();
    await expect(
      sut.start(
        'orders',
        {
          body: { id: 'A-1' },
          headers: { 'X-Shop': 'north', Authorization: 'Bearer x', 'X-Partner-Pin': '1234', 'X-Pass': 'p' },
          query: { tag: ['a', 'b'], pass: 'p' },
        },
        '198.51.100.7',
      ),
    ).resolves.toEqual({ runId: 'r1', eventId: 'e1' });

    expect(calls).toEqual(['queue available', 'store run', 'enqueue roots']);
    expect(stored).toEqual([
      {
        event: {
          flowId: 'f1',
          flowVersionId: 'v2',
          method: 'MANUAL',
          // Credentials by their names, the configured ones and the trigger's own (header and query).
          headers: {
            'x-shop': 'north',
            authorization: '[redacted]',
            'x-partner-pin': '[redacted]',
            'x-pass': '[redacted]',
          },
          query: { tag: ['a', 'b'], pass: '[redacted]' },
          body: { id: 'A-1' },
          rawBody: Buffer.from('{"id":"A-1"}'),
          contentType: 'application/json',
          sourceIp: '198.51.100.7',
          receivedAt: expect.any(Date),
          statusCode: 202,
        },
        steps: [
          { id: 'shape', root: true },
          { id: 'send', root: false },
        ],
        // Never a dedupe claim: a run asked for by hand is always a new one.
        dedupe: undefined,
      },
    ]);
    expect(queued).toEqual([
      [
        {
          runId: 'r1',
          flowVersionId: 'v2',
          stepId: 'shape',
          policy: { attempts: 1, backoff: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000 },
          timeoutMs: 30_000,
        },
      ],
    ]);
    await expect(counted()).resolves.toEqual({ orders: 1 });
  });

  it('runs a disabled flow too, on a request without body, headers or query', async () => {
    const { sut, stored, queued } = newTestService({ enabled: false });
    await expect(sut.start('orders', undefined, null)).resolves.toEqual({ runId: 'r1', eventId: 'e1' });
    expect(stored[0].event).toMatchObject({
      method: 'MANUAL',
      headers: {},
      query: {},
      body: null,
      rawBody: null,
      contentType: null,
      sourceIp: null,
    });
    expect(queued).toHaveLength(1);
  });

  it('answers 404 for an unknown flow, storing and counting nothing', async () => {
    const { sut, mocks, counted } = newTestService();
    const err = await refusal(sut.start('missing', {}, null));
    expect({ status: err.status, message: err.message }).toEqual({
      status: 404,
      message: "flow 'missing' not found",
    });
    expect(mocks.runs.createRunFromEvent).not.toHaveBeenCalled();
    await expect(counted()).resolves.toEqual({});
  });

  it('answers 400 naming the field before it looks the flow up', async () => {
    const { sut, mocks } = newTestService();
    const err = await refusal(sut.start('missing', { headers: { 'x-a': 1 } }, null));
    expect({ status: err.status, details: err.details }).toEqual({
      status: 400,
      details: [{ path: '/headers/x-a', message: 'must be a string' }],
    });
    expect(mocks.flows.findBySlug).not.toHaveBeenCalled();
  });

  it('answers 503 queue_unavailable while the queue is known down, before anything is stored', async () => {
    const { sut, calls, counted } = newTestService({ queueUp: false });
    const err = await refusal(sut.start('orders', {}, null));
    expect({ status: err.status, code: err.code }).toEqual({ status: 503, code: 'queue_unavailable' });
    expect(calls).toEqual(['queue available']);
    await expect(counted()).resolves.toEqual({});
  });

  it('is not counted as a webhook received', async () => {
    const { sut, metrics } = newTestService();
    await sut.start('orders', {}, null);
    expect((await metrics.webhooksReceived.get()).values).toEqual([]);
  });
});
