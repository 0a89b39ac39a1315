import path from 'node:path';
import { AppProcess, type AppExit } from '../utils/app-process';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';

const PRELOAD = path.join(process.cwd(), 'test/chaos/fixtures/poison-preload.cjs');
/** A V8 fatal error ends the process at once; a process that traps the signal hangs instead. */
const EXIT_DEADLINE_MS = 20_000;

/**
 * A job that crashes every worker that runs it (a real V8 fatal error, SIGTRAP) must end
 * `attempts_exhausted` after its attempt budget, each crash must end its process, and the webhooks
 * around it must be delivered. The test restarts the worker after each crash, as a process manager would.
 */
describe('chaos: a poison job crashes its worker', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start({
      processes: true,
      worker: false,
      env: { RECONCILE_INTERVAL_MS: '1000', RECONCILE_STALE_MS: '2000' },
    });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  it('ends the poison step attempts_exhausted after two crashes and delivers the rest', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'poison',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/poison`, json: '{{input}}' },
          // A crashed attempt's claim lapses after the timeout plus 30 s.
          timeout: '1s',
          retry: { attempts: 2, backoff: 'fixed', delay: '100ms' },
        },
      ],
    });
    const post = async (body: object) => (await hf.http().post(hookPath).send(body).expect(202)).body.runId;
    const env = { ...process.env, ...hf.env, NODE_OPTIONS: `--require ${PRELOAD}` };
    let worker = await AppProcess.start('worker', env);
    // Delivered before the poison arrives: a crash costs each step then in flight in the worker
    // an attempt, the poison's neighbours too (docs/operations.md).
    const before = await post({ n: 1 });
    expect((await hf.waitForRun(before)).status).toBe('succeeded');
    const poison = await post({ n: 2, note: 'HOOKFLOW_POISON' });

    const crashes: AppExit[] = [];
    for (;;) {
      expect(crashes.length).toBeLessThanOrEqual(2);
      if (!worker.running) worker = await AppProcess.start('worker', env);
      let fatalAt: number | undefined;
      // It dies of the poison, or outlives it (the run fails without another crash).
      const outcome = await waitFor(
        async () => {
          if (!worker.running) return { exit: await worker.exited };
          // Once the fatal error is printed the process must be gone soon: no hang in a signal handler.
          if (/poison job/.test(worker.output)) fatalAt ??= Date.now();
          if (fatalAt !== undefined && Date.now() - fatalAt > EXIT_DEADLINE_MS) return { hung: true };
          return (await hf.getRun(poison)).status === 'failed' ? { runFailed: true } : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 200, what: 'the worker to crash or the poison run to fail' },
      );
      if ('runFailed' in outcome) {
        await worker.stop();
        break;
      }
      if ('hung' in outcome) worker.kill('SIGKILL');
      expect(outcome).toEqual({ exit: { code: null, signal: 'SIGTRAP' } });
      crashes.push((outcome as { exit: AppExit }).exit);
    }

    const run = await hf.waitForRun(poison);
    expect(run.steps[0]).toMatchObject({ status: 'failed', error: { code: 'attempts_exhausted' } });
    expect(crashes).toHaveLength(2);
    expect(sink.received('/poison').filter((r) => (r.json as { n?: number }).n === 2)).toHaveLength(0);

    // A worker without the poison in its way delivers what comes after.
    await hf.startWorker();
    const after = await post({ n: 3 });
    expect((await hf.waitForRun(after)).status).toBe('succeeded');
    console.log(`[chaos] poison job: ${crashes.length} worker crashes (SIGTRAP), then attempts_exhausted`);
  }, 300_000);
});
