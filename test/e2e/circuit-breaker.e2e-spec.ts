import { WorkerMetrics } from '@hookflow/platform';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';

/**
 * The destination circuit breaker (issue 21, part 3; docs/outbound.md "Circuit breaker"): shared
 * state per `host:port` in PostgreSQL, steps held in the queue without spending attempts.
 */
function deliveryFlow(slug: string, url: string, retry: Record<string, unknown> = { attempts: 1 }) {
  return {
    slug,
    trigger: { type: 'webhook' },
    steps: [
      {
        id: 'send',
        type: 'action',
        connector: 'http',
        retry,
        with: { method: 'POST', url, json: '{{input}}' },
      },
    ],
  };
}

async function post(hf: HookflowHarness, hookPath: string, n: number, replicas = 1): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await hf
      .http(i % replicas)
      .post(hookPath)
      .send({ i })
      .expect(202);
    ids.push(res.body.runId);
  }
  return ids;
}

async function destinations(hf: HookflowHarness): Promise<Record<string, any>[]> {
  const res = await hf.http().get('/api/destinations').set(hf.auth).expect(200);
  return res.body.items;
}

async function destinationOf(hf: HookflowHarness, host: string): Promise<Record<string, any> | undefined> {
  return (await destinations(hf)).find((d) => d.host === host);
}

function hostOf(sink: SinkServer): string {
  return new URL(sink.url).host;
}

describe('destination circuit breaker', () => {
  let sink: SinkServer;

  beforeEach(async () => {
    sink = await SinkServer.start();
  });

  afterEach(async () => {
    await sink.close();
  });

  it('a receiver answering 503 twenty times in a row is paused, gets nothing while paused, and one probe resumes it', async () => {
    const hf = await HookflowHarness.start({
      env: { OUTBOUND_ALLOW: '127.0.0.1/32', DESTINATION_COOLDOWN: '3s' },
    });
    try {
      const { hookPath } = await hf.createFlow(deliveryFlow('to-sick', `${sink.url}/r`));
      sink.script('/r', Array(20).fill(503));
      const failing = await post(hf, hookPath, 20);
      for (const id of failing) expect((await hf.waitForRun(id)).status).toBe('failed');
      const paused = await waitFor(
        async () => {
          const d = await destinationOf(hf, hostOf(sink));
          return d?.state === 'paused' && d;
        },
        { what: 'the destination paused' },
      );
      expect(paused).toMatchObject({ pausedBy: 'breaker', consecutiveFailures: 20, cooldownMs: 3000 });
      expect(paused.lastError).toMatchObject({ code: 'http_error', status: 503 });
      expect(paused.failureRate).toBe(1);

      // A further run's step waits in the queue, unclaimed: the receiver hears nothing of it.
      const [held] = await post(hf, hookPath, 1);
      await waitFor(async () => (await destinationOf(hf, hostOf(sink)))?.waitingSteps === 1, {
        what: 'the step counted as waiting',
      });
      expect(sink.received('/r')).toHaveLength(20);
      const waiting = await hf.getRun(held);
      expect(waiting.steps.find((s: { id: string }) => s.id === 'send')).toMatchObject({ status: 'pending' });

      // The receiver is well again; after the cool-down one probe (the waiting step) decides.
      const done = await hf.waitForRun(held, 20_000);
      expect(done.status).toBe('succeeded');
      expect(sink.received('/r')).toHaveLength(21);
      const healthy = await waitFor(
        async () => {
          const d = await destinationOf(hf, hostOf(sink));
          return d?.state === 'healthy' && d;
        },
        { what: 'the destination healthy' },
      );
      expect(healthy).toMatchObject({ consecutiveFailures: 0, waitingSteps: 0, pausedUntil: null });
      expect(healthy.lastSuccessAt).not.toBeNull();
    } finally {
      await hf.close();
    }
  }, 90_000);

  it('a pause is seen by two workers at once: steps arriving at either wait', async () => {
    const hf = await HookflowHarness.start({
      replicas: 2,
      env: { OUTBOUND_ALLOW: '127.0.0.1/32', DESTINATION_PAUSE_AFTER: '3', DESTINATION_COOLDOWN: '1h' },
    });
    try {
      const { hookPath } = await hf.createFlow(deliveryFlow('to-sick', `${sink.url}/r`));
      sink.script('/r', [503, 503, 503]);
      for (const id of await post(hf, hookPath, 3, 2)) await hf.waitForRun(id);
      const paused = await waitFor(
        async () => {
          const d = await destinationOf(hf, hostOf(sink));
          return d?.state === 'paused' && d;
        },
        { what: 'the destination paused' },
      );
      // Both workers have read the shared state (each refreshes its copy every second).
      await waitFor(
        async () => {
          const scrapes = await Promise.all(
            hf.workerUrls.map((url) => fetch(`${url}/metrics`).then((r) => r.text())),
          );
          return scrapes.every((text) => /hookflow_destinations\{state="paused"\} 1\b/.test(text));
        },
        { what: 'both workers knowing of the pause' },
      );
      const held = await post(hf, hookPath, 10, 2);
      await waitFor(async () => (await destinationOf(hf, hostOf(sink)))?.waitingSteps === 10, {
        what: 'ten steps waiting',
      });
      expect(sink.received('/r')).toHaveLength(3);

      // Resumed by hand: the held jobs are promoted and delivered.
      await hf.http().post(`/api/destinations/${paused.id}/resume`).set(hf.auth).expect(200);
      for (const id of held) expect((await hf.waitForRun(id)).status).toBe('succeeded');
      expect(sink.received('/r')).toHaveLength(13);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${hf.logs()}`);
    } finally {
      await hf.close();
    }
  }, 120_000);

  it('a destination failing past DESTINATION_DISABLE_AFTER is disabled; its waiting steps fail destination_disabled and run again after a resume', async () => {
    const hf = await HookflowHarness.start({
      env: {
        OUTBOUND_ALLOW: '127.0.0.1/32',
        DESTINATION_PAUSE_AFTER: '2',
        DESTINATION_COOLDOWN: '300ms',
        DESTINATION_DISABLE_AFTER: '1s',
      },
    });
    // An error flow hears of the breaker's moves, at a receiver of its own (the sink's host is the one disabled).
    const ops = await SinkServer.start();
    try {
      await hf.createFlow({
        slug: 'destination-watch',
        trigger: { type: 'event', on: ['destination.paused', 'destination.disabled', 'destination.resumed'] },
        steps: [
          {
            id: 'tell',
            type: 'action',
            connector: 'http',
            with: { url: `${ops.url}/ops`, json: '{{trigger.body}}' },
          },
        ],
      });
      // Steps that retry come back to the gate after a failed probe and wait again.
      const { hookPath } = await hf.createFlow(
        deliveryFlow('to-dead', `${sink.url}/r`, { attempts: 10, backoff: 'fixed', delay: '100ms' }),
      );
      sink.script('/r', Array(1000).fill(503));
      const runs = await post(hf, hookPath, 4);
      const ended = await Promise.all(runs.map((id) => hf.waitForRun(id, 30_000)));
      for (const run of ended) {
        expect(run.status).toBe('failed');
        expect(run.steps.find((s: { id: string }) => s.id === 'send').error).toMatchObject({
          code: 'destination_disabled',
          retryable: false,
        });
      }
      const disabled = await destinationOf(hf, hostOf(sink));
      expect(disabled).toMatchObject({ state: 'disabled', waitingSteps: 0 });
      const told = await waitFor(() => {
        const types = ops.received('/ops').map((r) => (r.json as { type: string }).type);
        return types.includes('destination.disabled') && ops.received('/ops');
      });
      const types = told.map((r) => (r.json as { type: string }).type);
      expect(types[0]).toBe('destination.paused');
      expect(types.filter((t) => t === 'destination.disabled')).toHaveLength(1);
      expect(
        told.find((r) => (r.json as { type: string }).type === 'destination.disabled')!.json,
      ).toMatchObject({
        type: 'destination.disabled',
        at: expect.any(String),
        destination: { id: disabled!.id, host: hostOf(sink), state: 'disabled' },
      });

      // Well again, resumed by hand; a retry of each run delivers it.
      sink.script('/r', []);
      const resumed = await hf
        .http()
        .post(`/api/destinations/${disabled!.id}/resume`)
        .set(hf.auth)
        .expect(200);
      expect(resumed.body).toMatchObject({ state: 'healthy', consecutiveFailures: 0 });
      for (const id of runs) await hf.http().post(`/api/runs/${id}/retry`).set(hf.auth).expect(202);
      for (const id of runs) {
        await waitFor(async () => (await hf.getRun(id)).status === 'succeeded', {
          what: `run ${id} succeeded`,
        });
      }
      const back = await waitFor(() =>
        ops.received('/ops').find((r) => (r.json as { type: string }).type === 'destination.resumed'),
      );
      expect(back.json).toMatchObject({ destination: { id: disabled!.id, state: 'healthy' } });
    } finally {
      await hf.close();
      await ops.close();
    }
  }, 90_000);

  it('pauses and resumes by hand through the API', async () => {
    const hf = await HookflowHarness.start({ env: { OUTBOUND_ALLOW: '127.0.0.1/32' } });
    try {
      const { hookPath } = await hf.createFlow(deliveryFlow('to-hand', `${sink.url}/r`));
      sink.script('/r', [503]);
      const [first] = await post(hf, hookPath, 1);
      await hf.waitForRun(first);
      const known = await waitFor(() => destinationOf(hf, hostOf(sink)), { what: 'the destination listed' });
      expect(known).toMatchObject({ state: 'healthy', consecutiveFailures: 1, pausedBy: null });

      const paused = await hf.http().post(`/api/destinations/${known.id}/pause`).set(hf.auth).expect(200);
      expect(paused.body).toMatchObject({ state: 'paused', pausedBy: 'hand', pausedUntil: null });
      // The worker reads the shared states every second.
      const metrics = hf.worker!.get(WorkerMetrics);
      await waitFor(
        async () =>
          (await metrics.destinations.get()).values.some((v) => v.labels.state === 'paused' && v.value === 1),
        { what: 'the worker knowing of the pause' },
      );
      const listed = await hf.http().get('/api/destinations?state=paused').set(hf.auth).expect(200);
      expect(listed.body.items.map((d: { id: string }) => d.id)).toEqual([known.id]);

      const [held] = await post(hf, hookPath, 1);
      await waitFor(async () => (await destinationOf(hf, hostOf(sink)))?.waitingSteps === 1, {
        what: 'the step waiting',
      });
      expect(sink.received('/r')).toHaveLength(1);

      const resumed = await hf.http().post(`/api/destinations/${known.id}/resume`).set(hf.auth).expect(200);
      expect(resumed.body).toMatchObject({ state: 'healthy', consecutiveFailures: 0 });
      expect((await hf.waitForRun(held)).status).toBe('succeeded');
      expect(sink.received('/r')).toHaveLength(2);
      const one = await hf.http().get(`/api/destinations/${known.id}`).set(hf.auth).expect(200);
      expect(one.body).toMatchObject({ id: known.id, host: hostOf(sink), state: 'healthy' });

      const missing = '00000000-0000-4000-8000-000000000000';
      const notFound = await hf.http().post(`/api/destinations/${missing}/pause`).set(hf.auth).expect(404);
      expect(notFound.body.error).toBeDefined();
      await hf.http().get(`/api/destinations/${missing}`).set(hf.auth).expect(404);
      const bad = await hf.http().post('/api/destinations/not-an-id/resume').set(hf.auth).expect(400);
      expect(JSON.stringify(bad.body)).toContain('/id');
      const badState = await hf.http().get('/api/destinations?state=sleepy').set(hf.auth).expect(400);
      expect(JSON.stringify(badState.body)).toContain('/state');
    } finally {
      await hf.close();
    }
  }, 60_000);
});
