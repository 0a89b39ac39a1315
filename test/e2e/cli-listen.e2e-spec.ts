import type { AddressInfo } from 'node:net';
import { listenerOptions } from '../../apps/cli/src/listen.command';
import { startListener, type Listener } from '../../apps/cli/src/listener';
import type { CliIo } from '../../apps/cli/src/output';
import { runCli } from '../utils/cli-runner';
import { HookflowHarness } from '../utils/hookflow-harness';
import { waitFor } from '../utils/wait-for';

/** `hookflow listen` as the receiver of a real Hookflow: a failed delivery, its retry, both printed. */
describe('hookflow listen with a running Hookflow', () => {
  let hf: HookflowHarness;
  let listener: Listener;
  let printed = '';

  beforeAll(async () => {
    const io: CliIo = {
      stdout: { write: (chunk: string) => (printed += chunk) },
      stderr: { write: () => true },
      env: {},
      cwd: process.cwd(),
    };
    listener = await startListener(listenerOptions({ port: '0', failFirst: '1' }), io);
    // The harness runs with OUTBOUND_ALLOW=127.0.0.1/32, as the listener's start line asks.
    hf = await HookflowHarness.start();
  });

  afterAll(async () => {
    await hf?.close();
    await listener?.close();
  });

  it('prints the failed attempt and the retry that succeeds, with the same Idempotency-Key', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'listen-retry',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'notify',
          type: 'action',
          connector: 'http',
          with: { method: 'POST', url: `${listener.url}/orders`, json: { order: '{{input.id}}' } },
          retry: { attempts: 3, backoff: 'fixed', delay: '10ms' },
        },
      ],
    });
    const accepted = await hf.http().post(hookPath).send({ id: 'L-1' }).expect(202);
    const run = await hf.waitForRun(accepted.body.runId);
    expect(run.status).toBe('succeeded');
    expect(run.steps[0].attempts).toMatchObject([
      { n: 1, outcome: 'retrying', responseStatus: 500 },
      { n: 2, outcome: 'succeeded', responseStatus: 200 },
    ]);

    await waitFor(() => listener.count >= 2, { what: 'both requests at the listener' });
    const blocks = printed.trimEnd().split(/\n\n(?=#\d )/);
    expect(blocks).toHaveLength(2);
    const key = /idempotency-key (\S+), try 1$/m.exec(blocks[0])?.[1];
    expect(key).toBeDefined();
    expect(blocks[0]).toMatch(
      /^#1 \S+ POST \/orders -> 500 \(fail-first 1 of 1\) {2}idempotency-key \S+, try 1\n/,
    );
    expect(blocks[1]).toMatch(new RegExp(`^#2 \\S+ POST /orders -> 200 {2}idempotency-key ${key}, try 2\\n`));
    for (const block of blocks) {
      expect(block).toMatch(/^ {2}content-type: application\/json$/im);
      expect(block).toContain('\n\n  {\n    "order": "L-1"\n  }');
    }

    // The run view tells the same story from the sender's side.
    const { port } = hf.api.getHttpServer().address() as AddressInfo;
    const show = await runCli(['runs', 'show', run.id], {
      env: { HOOKFLOW_URL: `http://127.0.0.1:${port}`, HOOKFLOW_API_KEY: hf.apiKey },
    });
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/\n {4}attempt 1: retrying HTTP 500/);
    expect(show.stdout).toMatch(/\n {4}attempt 2: succeeded HTTP 200/);
  });
});
