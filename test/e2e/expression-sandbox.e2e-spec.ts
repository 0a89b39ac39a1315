import { DEFAULT_EXPRESSION_BUDGET, ExpressionError, type ExpressionRequest } from '@hookflow/flows';
import { ExpressionSandbox, KILL_GRACE_MS } from '@hookflow/sandbox';
import { HookflowHarness } from '../utils/hookflow-harness';
import { waitFor } from '../utils/wait-for';

// The sandbox's hosts are the built ones (dist/, made by `npm test`'s build), as in production.
const GIANT_STRING = '$length($pad("", 400000000, "x"))';
// A backreference keeps V8 on its backtracking engine: about 10 s here without the sandbox.
const BACKTRACKING = '$contains(name, /^(a+)+\\1$/)';
const LONG_NAME = 'a'.repeat(34) + '!';
// Could do unbounded work ($pad), so it always goes to a host: bounded ones run in this process first.
const IN_HOST = '$pad("x", 1)';

function request(source: string, input: unknown = {}, timeoutMs = 1000): ExpressionRequest {
  return { source, input, budget: { ...DEFAULT_EXPRESSION_BUDGET, timeoutMs } };
}

async function failure(promise: Promise<unknown>): Promise<ExpressionError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ExpressionError);
  return err as ExpressionError;
}

/**
 * How often a 20 ms timer fired while `work` ran: a process whose event loop the work blocks
 * fires it once or not at all, however long the work takes.
 */
async function timerTicksDuring(work: () => Promise<unknown>): Promise<number> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 20);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return ticks;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('ExpressionSandbox', () => {
  const warnings: string[] = [];
  let sandbox: ExpressionSandbox;

  beforeEach(() => {
    warnings.length = 0;
    sandbox = new ExpressionSandbox({ processes: 1, memoryMb: 128, warn: (e) => warnings.push(e.msg) });
  });

  afterEach(() => sandbox.close());

  it('evaluates with bindings and gives plain JSON', async () => {
    await expect(
      sandbox.evaluate({ ...request('{ "n": n * 2, "who": $who }', { n: 21 }), bindings: { who: 'ada' } }),
    ).resolves.toEqual({ n: 42, who: 'ada' });
    await expect(sandbox.evaluate({ ...request('n > 1', { n: 2 }), want: 'boolean' })).resolves.toBe(true);
    await expect(sandbox.evaluate(request('missing'))).resolves.toBeUndefined();
  });

  it('fails a giant string with expression_too_large, keeps this process running and the next evaluation working', async () => {
    let err: ExpressionError | undefined;
    const ticks = await timerTicksDuring(async () => {
      // The memory bound, not the time bound: on this VM, pages touched for the first time can make
      // filling 128 MB take longer than the default 1 s.
      err = await failure(sandbox.evaluate(request(GIANT_STRING, {}, 10_000)));
    });
    expect(err).toMatchObject({ code: 'expression_too_large', message: expect.stringMatching(/128 MB/) });
    expect(ticks).toBeGreaterThanOrEqual(3);
    // Tried twice (a host killed from outside would not fail it), then failed.
    expect(warnings).toEqual([
      expect.stringMatching(/died .*once more/),
      expect.stringMatching(/died again/),
    ]);
    await expect(sandbox.evaluate(request('1 + 1'))).resolves.toBe(2);
  });

  it('kills a host stuck in a backtracking regular expression and answers expression_timeout', async () => {
    let err: ExpressionError | undefined;
    const started = Date.now();
    const ticks = await timerTicksDuring(async () => {
      err = await failure(sandbox.evaluate(request(BACKTRACKING, { name: LONG_NAME }, 300)));
    });
    expect(err).toMatchObject({ code: 'expression_timeout', message: 'expression ran longer than 300ms' });
    // Killed after its budget and the grace, not after the 10 s the regular expression would take.
    expect(Date.now() - started).toBeGreaterThanOrEqual(300 + KILL_GRACE_MS);
    expect(ticks).toBeGreaterThanOrEqual(3);
    await expect(sandbox.evaluate(request('"still here"'))).resolves.toBe('still here');
  });

  it('runs an exponential regular expression without a backreference in linear time', async () => {
    // 46 characters would take V8's backtracking engine longer than this test's timeout.
    await expect(
      sandbox.evaluate(request('$contains(name, /^(a+)+$/)', { name: 'a'.repeat(45) + '!' })),
    ).resolves.toBe(false);
  });

  it('refuses a ten-million-element result as output_too_large', async () => {
    await expect(failure(sandbox.evaluate(request('[1..10000000]')))).resolves.toMatchObject({
      code: 'output_too_large',
    });
  });

  it('tries an evaluation again when its host is killed from outside', async () => {
    await sandbox.evaluate(request(IN_HOST));
    const [pid] = sandbox.pids;
    // Busy for about half a second, then answers.
    const slow = sandbox.evaluate(
      request('($n := function($i){ $i > 0 ? $n($i - 1) : "done" }; $count([1..150].($n(200))))', {}, 5000),
    );
    await waitFor(() => alive(pid));
    process.kill(pid, 'SIGKILL');
    await expect(slow).resolves.toBe(150);
    expect(sandbox.pids).not.toContain(pid);
  });

  it('compiles errors with their position, as the in-process evaluation does', async () => {
    await expect(failure(sandbox.evaluate(request('$number("x") + ')))).resolves.toMatchObject({
      code: 'transform_error',
      position: expect.any(Number),
    });
  });

  it('leaves no host behind when closed, and refuses evaluations after', async () => {
    await sandbox.evaluate(request(IN_HOST));
    const pids = sandbox.pids;
    expect(pids).toHaveLength(1);
    await sandbox.close();
    expect(pids.filter(alive)).toEqual([]);
    await expect(failure(sandbox.evaluate(request('1')))).resolves.toMatchObject({
      code: 'expression_unavailable',
    });
  });

  it('lets an idle host exit and starts another when needed', async () => {
    const idle = new ExpressionSandbox({ processes: 1, memoryMb: 64, idleMs: 100 });
    try {
      await idle.evaluate(request(IN_HOST));
      const [pid] = idle.pids;
      await waitFor(() => !alive(pid), { what: 'the idle host to exit' });
      await expect(idle.evaluate(request(IN_HOST))).resolves.toBe('x');
      expect(idle.pids).not.toContain(pid);
    } finally {
      await idle.close();
    }
  });

  it('refuses more waiting evaluations than it may keep', async () => {
    const small = new ExpressionSandbox({ processes: 1, memoryMb: 64, maxWaiting: 1 });
    try {
      const first = small.evaluate(request(IN_HOST));
      await expect(failure(small.evaluate(request(IN_HOST)))).resolves.toMatchObject({
        code: 'expression_unavailable',
        message: expect.stringMatching(/1 expressions are already waiting/),
      });
      await expect(first).resolves.toBe('x');
    } finally {
      await small.close();
    }
  });

  it('runs evaluations side by side on as many hosts as it may start', async () => {
    const two = new ExpressionSandbox({ processes: 2, memoryMb: 64 });
    try {
      const busy = '($n := function($i){ $i > 0 ? $n($i - 1) : 1 }; $sum([1..100].($n(200))))';
      await Promise.all([two.evaluate(request(busy)), two.evaluate(request(busy))]);
      expect(two.pids).toHaveLength(2);
    } finally {
      await two.close();
    }
  });

  it('refuses to start without its built host', () => {
    expect(
      () => new ExpressionSandbox({ processes: 1, memoryMb: 64, hostScript: '/nonexistent/host.js' }),
    ).toThrow(/host is missing/);
  });
});

describe('ExpressionSandbox in the apps', () => {
  it('runs bounded transforms in process, starts hosts for the others, and ends them when the apps close', async () => {
    const hf = await HookflowHarness.start();
    let pids: number[] = [];
    try {
      const flow = (slug: string, expression: string) =>
        hf.createFlow({
          slug,
          trigger: { type: 'webhook' },
          steps: [{ id: 'shape', type: 'transform', expression }],
        });
      const bounded = await flow('bounded', '{ "n": n + 1 }');
      const padded = await flow('padded', '{ "n": n + 1, "p": $pad("x", 2) }');
      const worker = hf.worker!.get(ExpressionSandbox);
      const api = hf.api.get(ExpressionSandbox);

      let res = await hf.http().post(bounded.hookPath).send({ n: 1 }).expect(202);
      expect((await hf.waitForRun(res.body.runId)).steps[0].output).toEqual({ n: 2 });
      expect([...worker.pids, ...api.pids]).toEqual([]);

      res = await hf.http().post(padded.hookPath).send({ n: 1 }).expect(202);
      expect((await hf.waitForRun(res.body.runId)).steps[0].output).toEqual({ n: 2, p: 'x ' });
      await hf
        .http()
        .post('/api/flows/padded/test')
        .set(hf.auth)
        .send({ body: { n: 5 } })
        .expect(200)
        .expect((r) => expect(r.body.steps[0].output).toEqual({ n: 6, p: 'x ' }));
      pids = [...worker.pids, ...api.pids];
      expect(pids).toHaveLength(2);
    } finally {
      await hf.close();
    }
    expect(pids.filter(alive)).toEqual([]);
  });
});
