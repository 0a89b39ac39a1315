import { getQueueToken } from '@nestjs/bullmq';
import { STEP_QUEUE } from '@hookflow/queue';
import type { Queue } from 'bullmq';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HookflowHarness } from '../utils/hookflow-harness';
import { waitFor } from '../utils/wait-for';

/** A receiver that answers every request after `delayMs` and notes when each answer went out. */
class TimedReceiver {
  readonly done: { path: string; at: number }[] = [];
  private server!: Server;

  static async start(delayMs: number): Promise<TimedReceiver> {
    const r = new TimedReceiver();
    r.server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"ok":true}');
          r.done.push({ path: req.url ?? '/', at: Date.now() });
        }, delayMs);
      });
    });
    r.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

function deliveryFlow(slug: string, url: string): Record<string, unknown> {
  return {
    slug,
    trigger: { type: 'webhook' },
    steps: [
      { id: 'send', type: 'action', connector: 'http', with: { method: 'POST', url, json: '{{input}}' } },
    ],
  };
}

async function post(hf: HookflowHarness, hookPath: string, n: number, tag: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await hf.http().post(hookPath).send({ tag, i }).expect(202);
    ids.push(res.body.runId);
  }
  return ids;
}

/**
 * Per-destination limits and the delay step (issue 5, items 7 and 9). Destinations are keyed by
 * origin host:port, so two receivers on 127.0.0.1 with different ports are two destinations.
 */
describe('outbound scheduling: per-destination limits and delay steps', () => {
  const SLOW = 20;
  const FAST = 100;

  async function saturate(env: Record<string, string>) {
    const slow = await TimedReceiver.start(1000);
    const fast = await TimedReceiver.start(0);
    const hf = await HookflowHarness.start({
      env: { WORKER_CONCURRENCY: '4', OUTBOUND_ALLOW: '127.0.0.1/32', ...env },
    });
    try {
      const slowFlow = await hf.createFlow(deliveryFlow('to-slow', `${slow.url}/slow`));
      const fastFlow = await hf.createFlow(deliveryFlow('to-fast', `${fast.url}/fast`));
      const t0 = Date.now();
      // The slow receiver's work is queued first: without per-destination caps it takes every worker.
      const slowRuns = await post(hf, slowFlow.hookPath, SLOW, 'slow');
      const fastRuns = await post(hf, fastFlow.hookPath, FAST, 'fast');
      const postedMs = Date.now() - t0;
      await waitFor(() => fast.done.length >= FAST && slow.done.length >= SLOW, {
        timeoutMs: 60_000,
        what: `all deliveries (fast ${fast.done.length}/${FAST}, slow ${slow.done.length}/${SLOW})`,
      });
      const runs = await Promise.all([...slowRuns, ...fastRuns].map((id) => hf.waitForRun(id, 30_000)));
      const fastLastMs = Math.max(...fast.done.map((d) => d.at)) - t0;
      const fastFirstMs = Math.min(...fast.done.map((d) => d.at)) - t0;
      const slowLastMs = Math.max(...slow.done.map((d) => d.at)) - t0;
      const slowDoneBeforeFastLast = slow.done.filter((d) => d.at - t0 <= fastLastMs).length;
      return {
        runs,
        fast: fast.done,
        slow: slow.done,
        postedMs,
        fastFirstMs,
        fastLastMs,
        slowLastMs,
        slowDoneBeforeFastLast,
        fastPerSecond: FAST / (Math.max(1, fastLastMs - fastFirstMs) / 1000),
        attempts: runs.flatMap((r) => r.steps.map((s: { attempts: unknown[] }) => s.attempts.length)),
      };
    } finally {
      await hf.close();
      await slow.close();
      await fast.close();
    }
  }

  it('a slow destination (1 s per request) does not hold back 100 deliveries to a fast one', async () => {
    const m = await saturate({ DESTINATION_CONCURRENCY: '2' });
    console.log(
      `[fairness, DESTINATION_CONCURRENCY=2, WORKER_CONCURRENCY=4] posted ${SLOW} slow + ${FAST} fast in ${m.postedMs} ms; ` +
        `fast: first ${m.fastFirstMs} ms, last ${m.fastLastMs} ms (${m.fastPerSecond.toFixed(1)} deliveries/s); ` +
        `slow: last ${m.slowLastMs} ms, ${m.slowDoneBeforeFastLast}/${SLOW} done when the fast ones were`,
    );
    expect(m.runs.every((r) => r.status === 'succeeded')).toBe(true);
    expect(m.fast).toHaveLength(FAST);
    expect(m.slow).toHaveLength(SLOW);
    // Every fast delivery finished before the slow destination's backlog did.
    expect(m.fastLastMs).toBeLessThan(m.slowLastMs);
    // Waiting for a slot is not an attempt: every step took exactly one.
    expect(m.attempts.every((n: number) => n === 1)).toBe(true);
  }, 90_000);

  it('for comparison: without a per-destination cap the slow backlog takes every worker (printed, not asserted)', async () => {
    const m = await saturate({ DESTINATION_CONCURRENCY: '1000' });
    console.log(
      `[fairness, no effective cap, WORKER_CONCURRENCY=4] fast: first ${m.fastFirstMs} ms, last ${m.fastLastMs} ms ` +
        `(${m.fastPerSecond.toFixed(1)} deliveries/s); slow: last ${m.slowLastMs} ms, ` +
        `${m.slowDoneBeforeFastLast}/${SLOW} done when the fast ones were`,
    );
    expect(m.runs.every((r) => r.status === 'succeeded')).toBe(true);
  }, 90_000);

  describe('delay step', () => {
    let hf: HookflowHarness;
    let receiver: TimedReceiver;
    let queue: Queue;

    beforeAll(async () => {
      receiver = await TimedReceiver.start(0);
      hf = await HookflowHarness.start({ env: { WORKER_CONCURRENCY: '4', OUTBOUND_ALLOW: '127.0.0.1/32' } });
      queue = hf.worker!.get<Queue>(getQueueToken(STEP_QUEUE), { strict: false });
    });

    afterAll(async () => {
      await hf?.close();
      await receiver?.close();
    });

    function delayedFlow(slug: string): Record<string, unknown> {
      return {
        slug,
        trigger: { type: 'webhook' },
        steps: [
          { id: 'wait', type: 'delay', for: '2s' },
          {
            id: 'send',
            type: 'action',
            connector: 'http',
            with: { method: 'POST', url: `${receiver.url}/${slug}`, json: '{{input}}' },
          },
        ],
      };
    }

    async function waitingStep(runId: string) {
      return waitFor(
        async () => {
          const run = await hf.getRun(runId);
          const wait = run.steps.find((s: { id: string }) => s.id === 'wait');
          return wait.status === 'waiting' ? { run, wait } : undefined;
        },
        { what: `run ${runId} to park its delay step` },
      );
    }

    it('resumes after the delay with no worker busy meanwhile', async () => {
      const { hookPath } = await hf.createFlow(delayedFlow('later'));
      const accepted = Date.now();
      const res = await hf.http().post(hookPath).send({ hello: 'later' }).expect(202);
      const runId: string = res.body.runId;

      const { run, wait } = await waitingStep(runId);
      expect(run.status).toBe('running');
      expect(Date.parse(wait.resumeAt)).toBeGreaterThanOrEqual(accepted + 2000 - 50);
      // The run waits in the queue's delayed set, not in a worker. (The step is marked waiting just
      // before its job moves to the delayed set, hence the short wait for the move.)
      const counts = await waitFor(
        async () => {
          const c = await queue.getJobCounts('active', 'delayed', 'waiting');
          return c.delayed === 1 && c;
        },
        { timeoutMs: 1000, what: 'the delay job in the delayed set' },
      );
      expect(counts).toEqual({ active: 0, delayed: 1, waiting: 0 });
      // Still waiting after the counts were read: they were read while it waited, however late.
      expect((await waitingStep(runId)).wait.status).toBe('waiting');

      const done = await hf.waitForRun(runId);
      expect(done.status).toBe('succeeded');
      const [delivery] = receiver.done.filter((d) => d.path === '/later');
      expect(delivery.at - accepted).toBeGreaterThanOrEqual(2000);
      const waited = done.steps.find((s: { id: string }) => s.id === 'wait');
      expect(waited).toMatchObject({ status: 'succeeded', output: { hello: 'later' } });
      expect(waited.attempts).toHaveLength(1);
      console.log(`[delay] for 2s: delivered ${delivery.at - accepted} ms after the webhook was accepted`);
    }, 30_000);

    it('a cancelled run never fires the step after its delay', async () => {
      const { hookPath } = await hf.createFlow(delayedFlow('cancelled'));
      const res = await hf.http().post(hookPath).send({ hello: 'never' }).expect(202);
      const runId: string = res.body.runId;
      const { wait } = await waitingStep(runId);

      await hf.http().post(`/api/runs/${runId}/cancel`).set(hf.auth).expect(200);
      const resumeAt = Date.parse(wait.resumeAt);
      // Absence can only be shown by waiting past the time it would have happened.
      await waitFor(() => Date.now() > resumeAt + 1500, {
        timeoutMs: 10_000,
        what: 'the resume time to pass',
      });
      expect(receiver.done.filter((d) => d.path === '/cancelled')).toHaveLength(0);
      const run = await hf.getRun(runId);
      expect(run.status).toBe('cancelled');
      expect(run.steps.map((s: { status: string }) => s.status)).toEqual(['cancelled', 'cancelled']);
      expect(await queue.getJobCounts('active', 'delayed')).toEqual({ active: 0, delayed: 0 });
    }, 30_000);
  });
});
