import { DEFAULT_EXPRESSION_BUDGET, ExpressionError, type ExpressionRequest } from '@hookflow/flows';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '../../../test/utils/wait-for';
import { ExpressionSandbox, KILL_GRACE_MS, type ExpressionSandboxOptions } from './expression-sandbox';

/**
 * A stand-in host speaking the host protocol, whose behaviour the request's source picks:
 * `value:<json>`, `crash` (dies after starting), `crash-once:<file>` (dies unless the file exists,
 * which it creates), `spin` (never answers). The real host is tested in test/e2e.
 */
const FAKE_HOST = `
const fs = require('node:fs');
process.on('message', (m) => {
  if (m.type === 'run-code') {
    process.send({ type: 'started', id: m.id });
    return process.send({ type: 'result', id: m.id, value: { value: 'from the host', logs: [] } });
  }
  if (m.type !== 'evaluate') return;
  process.send({ type: 'started', id: m.id });
  const [kind, arg] = m.request.source.split(/:(.*)/s);
  if (kind === 'value') return process.send({ type: 'result', id: m.id, value: JSON.parse(arg) });
  if (kind === 'crash') return process.kill(process.pid, 'SIGKILL');
  if (kind === 'crash-once') {
    if (!fs.existsSync(arg)) { fs.writeFileSync(arg, ''); return process.kill(process.pid, 'SIGKILL'); }
    return process.send({ type: 'result', id: m.id, value: 'second host' });
  }
  if (kind === 'spin') for (;;);
  process.send({ type: 'result', id: m.id, value: 'from the host' });
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready' });
`;

const dir = mkdtempSync(path.join(tmpdir(), 'hookflow-sandbox-'));
const fakeHost = path.join(dir, 'host.js');
const deadHost = path.join(dir, 'dead-host.js');
writeFileSync(fakeHost, FAKE_HOST);
writeFileSync(deadHost, 'process.exit(3);');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function request(source: string, timeoutMs = 1000): ExpressionRequest {
  return { source, input: {}, budget: { ...DEFAULT_EXPRESSION_BUDGET, timeoutMs } };
}

async function failure(promise: Promise<unknown>): Promise<ExpressionError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ExpressionError);
  return err as ExpressionError;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('ExpressionSandbox (with a stand-in host)', () => {
  const sandboxes: ExpressionSandbox[] = [];
  let warnings: string[];

  function sandbox(options: Partial<ExpressionSandboxOptions> = {}): ExpressionSandbox {
    const made = new ExpressionSandbox({
      processes: 1,
      hostScript: fakeHost,
      inProcessLeashMs: 0,
      warn: (entry) => warnings.push(entry.msg),
      ...options,
    });
    sandboxes.push(made);
    return made;
  }

  beforeEach(() => {
    warnings = [];
  });

  afterEach(async () => {
    await Promise.all(sandboxes.splice(0).map((s) => s.close()));
  });

  it('passes the host value on, undefined for nothing', async () => {
    const s = sandbox();
    await expect(s.evaluate(request('value:{"a":[1,"x"]}'))).resolves.toEqual({ a: [1, 'x'] });
  });

  it('tries an evaluation once more on a fresh host when its host dies under it', async () => {
    const s = sandbox();
    await expect(s.evaluate(request(`crash-once:${path.join(dir, 'marker')}`))).resolves.toBe('second host');
    expect(warnings).toEqual([
      expect.stringMatching(/died \(signal SIGKILL\); trying its expression once more/),
    ]);
  });

  it('fails an evaluation with expression_too_large when a second host dies under it', async () => {
    const s = sandbox();
    await expect(failure(s.evaluate(request('crash')))).resolves.toMatchObject({
      code: 'expression_too_large',
      message: 'expression crashed the sandbox (signal SIGKILL)',
    });
    await expect(s.evaluate(request('value:1'))).resolves.toBe(1);
  });

  it('kills a host past the budget and its grace, then answers the next on a new one', async () => {
    const s = sandbox();
    await s.evaluate(request('value:0'));
    const [pid] = s.pids;
    const started = Date.now();
    await expect(failure(s.evaluate(request('spin', 100)))).resolves.toMatchObject({
      code: 'expression_timeout',
      message: 'expression ran longer than 100ms',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100 + KILL_GRACE_MS);
    expect(alive(pid)).toBe(false);
    await expect(s.evaluate(request('value:2'))).resolves.toBe(2);
  });

  it('refuses what waits once hosts fail to start three times in a row', async () => {
    const s = sandbox({ hostScript: deadHost });
    await expect(failure(s.evaluate(request('value:1')))).resolves.toMatchObject({
      code: 'expression_unavailable',
      message: 'the expression sandbox does not start: exit code 3',
    });
    expect(warnings).toHaveLength(3);
  });

  it('refuses an evaluation that waited longer than maxWaitMs for a host', async () => {
    const s = sandbox({ maxWaitMs: 50 });
    // The host up first: a start slower than 50 ms (a busy machine) would refuse the spin itself.
    for (let tries = 0; ; tries++) {
      const warm = await s.evaluate(request('value:0')).then(
        () => true,
        (e: unknown) => (e as ExpressionError).code !== 'expression_unavailable' || tries >= 100,
      );
      if (warm) break;
    }
    const stuck = s.evaluate(request('spin', 500));
    await expect(failure(s.evaluate(request('value:1')))).resolves.toMatchObject({
      code: 'expression_unavailable',
      message: 'no sandbox host was free within 50ms',
    });
    await expect(failure(stuck)).resolves.toMatchObject({ code: 'expression_timeout' });
  });

  it('refuses more waiting evaluations than maxWaiting', async () => {
    const s = sandbox({ maxWaiting: 1 });
    const first = s.evaluate(request('value:1'));
    await expect(failure(s.evaluate(request('value:2')))).resolves.toMatchObject({
      code: 'expression_unavailable',
    });
    await expect(first).resolves.toBe(1);
  });

  it('lets an idle host exit and starts another when needed', async () => {
    const s = sandbox({ idleMs: 50 });
    await s.evaluate(request('value:1'));
    const [pid] = s.pids;
    await waitFor(() => !alive(pid), { what: 'the idle host to exit' });
    await expect(s.evaluate(request('value:2'))).resolves.toBe(2);
    expect(s.pids).not.toContain(pid);
  });

  it('refuses evaluations in flight and waiting when closed, and leaves no host', async () => {
    const s = sandbox();
    await s.evaluate(request('value:0'));
    // The host is ready and free: the first goes to it at once, the second waits.
    const inFlight = failure(s.evaluate(request('spin', 5000)));
    const waiting = failure(s.evaluate(request('value:1')));
    const pids = s.pids;
    await s.close();
    await expect(inFlight).resolves.toMatchObject({ code: 'expression_unavailable' });
    await expect(waiting).resolves.toMatchObject({ code: 'expression_unavailable' });
    expect(pids.filter(alive)).toEqual([]);
  });

  describe('with expressions that do only bounded work run here first', () => {
    it('answers a bounded expression in this process, without a host', async () => {
      const s = sandbox({ inProcessLeashMs: 25 });
      await expect(s.evaluate(request('{ "n": 1 + 1 }'))).resolves.toEqual({ n: 2 });
      expect(s.pids).toEqual([]);
    });

    it('sends an expression that could do unbounded work to a host', async () => {
      const s = sandbox({ inProcessLeashMs: 25 });
      await expect(s.evaluate(request('$pad("x", 3)'))).resolves.toBe('from the host');
      await expect(s.evaluate(request('$contains("x", /x/)'))).resolves.toBe('from the host');
    });

    it('hands a bounded expression that outgrows the leash to a host', async () => {
      const s = sandbox({ inProcessLeashMs: 25 });
      const big = Array.from({ length: 1_000_000 }, (_, i) => i);
      const slow = { ...request('$sum($map(big, function($v){ $v * 2 }))'), input: { big } };
      await expect(s.evaluate(slow)).resolves.toBe('from the host');
    });

    it('answers a bounded expression that fails here with its own error', async () => {
      const s = sandbox({ inProcessLeashMs: 25 });
      await expect(failure(s.evaluate(request('$number("x") + ')))).resolves.toMatchObject({
        code: 'transform_error',
      });
      expect(s.pids).toEqual([]);
    });
  });

  describe('with code steps', () => {
    const code = (source: string) => ({
      code: source,
      input: { n: 2 },
      bindings: {},
      budget: { timeoutMs: 1000, maxOutputBytes: 1000 },
      memoryMb: 32,
    });

    it('runs even the shortest code in a host, never in this process', async () => {
      const s = sandbox({ inProcessLeashMs: 25 });
      await expect(s.runCode(code('return input.n * 2'))).resolves.toEqual({
        value: 'from the host',
        logs: [],
      });
      expect(s.pids).toHaveLength(1);
    });
  });

  it('refuses to start without its host script', () => {
    expect(() => sandbox({ hostScript: path.join(dir, 'missing.js') })).toThrow(/host is missing/);
  });
});
