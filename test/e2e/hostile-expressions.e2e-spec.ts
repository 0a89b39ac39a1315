import { existsSync } from 'node:fs';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';

const GIANT_STRING = '$length($pad("", 400000000, "x"))';
/** The bounds that stop the giant string: memory, or time when filling memory is slow. */
const GIANT_STOPPED = expect.stringMatching(/^expression_(too_large|timeout)$/);
// The sender controls `name`; with a backreference V8 stays on its backtracking engine (~10 s at 31 characters).
const BACKTRACKING = '$contains(name, /^(a+)+\\1$/)';
const HOSTILE_NAME = 'a'.repeat(34) + '!';
// 400 items: 64 million passes, far past the step's second.
const CUBIC = '$sum(items.($$.items.($$.items.n)))';
const items = Array.from({ length: 400 }, () => ({ n: 1 }));

/**
 * Polls the apps' /health/live every 100 ms until stopped, keeping when each answered. A process
 * whose event loop an expression blocks answers nothing while it is blocked.
 */
function healthProbe(urls: string[]) {
  const answers: { url: string; at: number }[] = [];
  const failures: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      await Promise.all(
        urls.map(async (url) => {
          try {
            const res = await fetch(`${url}/health/live`, { signal: AbortSignal.timeout(5000) });
            if (res.status !== 200) failures.push(`${url}: ${res.status}`);
            else answers.push({ url, at: Date.now() });
          } catch (err) {
            failures.push(`${url}: ${(err as Error).message}`);
          }
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return {
        probes: answers.length,
        failures,
        /** Answers `url` gave strictly between `fromMs` and `toMs` (epoch ms). */
        answeredBetween: (url: string, fromMs: number, toMs: number) =>
          answers.filter((a) => a.url === url && a.at > fromMs && a.at < toMs).length,
      };
    },
  };
}

describe('hostile expressions (API and worker processes)', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    // The smallest memory budget, so the giant string mostly meets it before the time budget.
    hf = await HookflowHarness.start({ processes: true, env: { EXPRESSION_MEMORY_MB: '32' } });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  it('fails a transform that builds a giant string, backtracks or iterates cubically, while both apps stay live', async () => {
    const probe = healthProbe([hf.apiUrl, hf.workerUrl]);
    const flows = await Promise.all(
      [
        ['giant', GIANT_STRING],
        ['regex', BACKTRACKING],
        // Only bounded work, so it starts in the worker itself, and outgrows its leash there.
        ['cubic', CUBIC],
      ].map(([slug, expression]) =>
        hf.createFlow({
          slug,
          trigger: { type: 'webhook' },
          steps: [
            { id: 'shape', type: 'transform', expression },
            {
              id: 'send',
              type: 'action',
              connector: 'http',
              with: { url: `${sink.url}/${slug}`, json: '{{input}}' },
            },
          ],
        }),
      ),
    );
    const runIds = await Promise.all(
      flows.map(async ({ hookPath }) => {
        const res = await hf.http().post(hookPath).send({ name: HOSTILE_NAME, items }).expect(202);
        return res.body.runId as string;
      }),
    );
    const [giant, regex, cubic] = await Promise.all(runIds.map((id) => hf.waitForRun(id)));
    const health = await probe.stop();

    expect(giant.status).toBe('failed');
    // Stopped by its memory bound, or by the 1 s time bound when fresh pages come slowly (a VM whose
    // host backs memory lazily): either way the host is killed and the apps stay live.
    expect(giant.steps[0]).toMatchObject({ status: 'failed', error: { code: GIANT_STOPPED } });
    expect(regex.status).toBe('failed');
    expect(regex.steps[0]).toMatchObject({
      status: 'failed',
      error: { code: 'expression_timeout', message: 'expression ran longer than 1000ms' },
    });
    expect(cubic.steps[0]).toMatchObject({
      status: 'failed',
      error: { code: 'expression_timeout', message: 'expression ran longer than 1000ms' },
    });
    // Final at once: one attempt, nothing sent.
    expect([giant, regex, cubic].map((run) => run.steps[0].attempts.length)).toEqual([1, 1, 1]);
    expect(sink.requests).toHaveLength(0);
    expect(health.failures).toEqual([]);
    // Each evaluation took its second or more; the worker kept answering while each ran.
    for (const run of [giant, regex, cubic]) {
      const attempt = run.steps[0].attempts[0];
      const from = Date.parse(attempt.startedAt);
      expect(health.answeredBetween(hf.workerUrl, from, from + attempt.durationMs)).toBeGreaterThanOrEqual(3);
    }
  });

  it('runs a code step in its sandbox: a total is delivered with its logs; a loop, require and process fail, the worker stays live', async () => {
    const probe = healthProbe([hf.workerUrl]);
    const codes: [string, string][] = [
      [
        'code-total',
        'console.log("items", input.items.length);\nreturn { total: input.items.reduce((s, i) => s + i.n * 2, 0) }',
      ],
      ['code-loop', 'while (true) {}'],
      ['code-fs', 'require("fs").writeFileSync("/tmp/hookflow-code-step", "x"); return 1'],
      ['code-exit', 'process.exit(1)'],
      // One built-in call QuickJS cannot interrupt: only its host can be stopped.
      ['code-join', 'return Array(1e8).join("").length'],
      ['code-deep', 'return JSON.parse("[".repeat(100000))'],
    ];
    const flows = await Promise.all(
      codes.map(([slug, code]) =>
        hf.createFlow({
          slug,
          trigger: { type: 'webhook' },
          steps: [
            { id: 'calc', type: 'code', code },
            {
              id: 'send',
              type: 'action',
              connector: 'http',
              with: { url: `${sink.url}/${slug}`, json: '{{input}}' },
            },
          ],
        }),
      ),
    );
    const runIds = await Promise.all(
      flows.map(
        async ({ hookPath }) => (await hf.http().post(hookPath).send({ items }).expect(202)).body.runId,
      ),
    );
    const [total, loop, fs, exit, join, deep] = await Promise.all(
      runIds.map((id: string) => hf.waitForRun(id)),
    );
    const health = await probe.stop();

    expect(total.status).toBe('succeeded');
    expect(total.steps[0].output).toEqual({ total: 800 });
    expect(total.steps[0].attempts[0].logs).toEqual(['items 400']);
    const [delivered] = await sink.waitForRequests('/code-total', 1);
    expect(delivered.json).toEqual({ total: 800 });

    expect(loop.steps[0]).toMatchObject({
      status: 'failed',
      error: { code: 'expression_timeout', message: 'the code ran longer than 1000ms', retryable: false },
    });
    expect(fs.steps[0]).toMatchObject({
      status: 'failed',
      error: { code: 'code_error', message: "ReferenceError: 'require' is not defined (line 1, column 1)" },
    });
    expect(exit.steps[0]).toMatchObject({
      status: 'failed',
      error: { code: 'code_error', message: expect.stringContaining("'process' is not defined") },
    });
    expect(join.steps[0]).toMatchObject({ status: 'failed', error: { code: 'expression_timeout' } });
    expect(deep.steps[0]).toMatchObject({ status: 'failed', error: { retryable: false } });
    expect(['expression_depth', 'expression_too_large']).toContain(deep.steps[0].error.code);
    expect([loop, fs, exit, join, deep].map((run) => run.status)).toEqual(new Array(5).fill('failed'));
    expect(sink.received('/code-loop').length + sink.received('/code-fs').length).toBe(0);
    expect(sink.received('/code-exit')).toHaveLength(0);
    expect(existsSync('/tmp/hookflow-code-step')).toBe(false);
    // The loop and the join ran their second in the sandbox's host; the worker answered all the while.
    expect(health.failures).toEqual([]);
    for (const run of [loop, join]) {
      const attempt = run.steps[0].attempts[0];
      const from = Date.parse(attempt.startedAt);
      expect(attempt.durationMs).toBeGreaterThanOrEqual(1000);
      expect(health.answeredBetween(hf.workerUrl, from, from + attempt.durationMs)).toBeGreaterThanOrEqual(3);
    }
    await hf.http().get('/health/live').expect(200);
  });

  it('accepts a webhook whose dedupe expression blows up, without blocking the API', async () => {
    const probe = healthProbe([hf.apiUrl]);
    const hooks = await Promise.all(
      [
        ['dedupe-giant', GIANT_STRING],
        ['dedupe-regex', BACKTRACKING.replace('name', 'body.name')],
      ].map(([slug, expression]) =>
        hf.createFlow({
          slug,
          trigger: { type: 'webhook', dedupe: { expression } },
          steps: [{ id: 'send', type: 'action', connector: 'http', with: { url: `${sink.url}/${slug}` } }],
        }),
      ),
    );
    const pending: [number, number][] = [];
    for (const { hookPath } of hooks) {
      // No key could be computed: accepted without dedupe (the author's bug never loses a webhook).
      const sentAt = Date.now();
      const res = await hf.http().post(hookPath).send({ name: HOSTILE_NAME }).expect(202);
      pending.push([sentAt, Date.now()]);
      expect((await hf.waitForRun(res.body.runId)).status).toBe('succeeded');
    }
    const health = await probe.stop();
    expect(health.failures).toEqual([]);
    // The API kept answering while it waited for each dedupe expression.
    for (const [from, to] of pending) {
      expect(health.answeredBetween(hf.apiUrl, from, to)).toBeGreaterThanOrEqual(3);
    }
  });

  it('answers a dry run of a giant string with the failed step, and keeps serving', async () => {
    const res = await hf
      .http()
      .post('/api/flows/test')
      .set(hf.auth)
      .send({
        definition: {
          slug: 'dry',
          trigger: { type: 'webhook' },
          steps: [{ id: 'shape', type: 'transform', expression: GIANT_STRING }],
        },
        body: {},
      })
      .expect(200);
    expect(res.body.steps[0]).toMatchObject({ status: 'failed', error: { code: GIANT_STOPPED } });
    await hf.http().get('/health/live').expect(200);
  });
});
