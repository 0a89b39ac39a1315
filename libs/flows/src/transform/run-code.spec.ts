import { ExpressionError } from './expression';
import { logsOf, runCode, MAX_LOG_LINES, type CodeRequest } from './run-code';

const request = (code: string, input: unknown = {}, more: Partial<CodeRequest> = {}): CodeRequest => ({
  code,
  input,
  bindings: { trigger: { body: input }, steps: { prev: 1 }, run: { id: 'r1', flow: 'f' } },
  budget: { timeoutMs: 1000, maxOutputBytes: 1024 * 1024 },
  memoryMb: 32,
  ...more,
});

async function failure(req: CodeRequest): Promise<ExpressionError> {
  try {
    await runCode(req);
  } catch (err) {
    if (err instanceof ExpressionError) return err;
    throw err;
  }
  throw new Error('expected the code to fail');
}

describe('runCode (QuickJS)', () => {
  it('returns what the code returns, with input, trigger, steps and run in scope', async () => {
    const items = [
      { qty: 2, price: 3 },
      { qty: 1, price: 4 },
    ];
    await expect(
      runCode(
        request(
          'return { total: input.items.reduce((s, i) => s + i.qty * i.price, 0), prev: steps.prev, run: run.id }',
          { items },
        ),
      ),
    ).resolves.toEqual({ value: { total: 10, prev: 1, run: 'r1' }, logs: [] });
  });

  it('gives null for no return, and keeps console.log lines, bounded', async () => {
    await expect(runCode(request('console.log("hi", 1, { a: 1 }); console.error("e")'))).resolves.toEqual({
      value: null,
      logs: ['hi 1 {"a":1}', 'e'],
    });
    const many = await runCode(request('for (let i = 0; i < 1000; i++) console.log(i)'));
    expect(many.logs).toHaveLength(MAX_LOG_LINES);
    // Cut inside the sandbox: a huge value never crosses to the app, however often it is logged.
    const huge = await runCode(
      request(
        'const big = "x".repeat(1e6); for (let i = 0; i < 1000; i++) console.log(big, { big }); return 1',
        {},
        { budget: { timeoutMs: 30_000, maxOutputBytes: 1000 } },
      ),
    );
    expect(huge.logs).toHaveLength(MAX_LOG_LINES);
    expect(huge.logs[0]).toBe(`${'x'.repeat(1000)}…`);
  });

  it.each([
    ['require', 'return require("fs")', "'require' is not defined"],
    ['process', 'process.exit(1)', "'process' is not defined"],
    ['timers', 'setTimeout(() => 1, 1)', "'setTimeout' is not defined"],
    ['fetch', 'return fetch("http://127.0.0.1/")', "'fetch' is not defined"],
  ])('has no %s', async (_name, code, message) => {
    const err = await failure(request(code));
    expect(err.code).toBe('code_error');
    expect(err.message).toContain(message);
  });

  it('stops an endless loop at its time budget', async () => {
    const err = await failure(
      request('while (true) {}', {}, { budget: { timeoutMs: 200, maxOutputBytes: 1000 } }),
    );
    expect(err).toMatchObject({ code: 'expression_timeout', message: 'the code ran longer than 200ms' });
  });

  it('stops a giant allocation at its memory budget, and a deep recursion at its stack', async () => {
    // Time enough that memory runs out first, however busy the machine.
    const slow = { budget: { timeoutMs: 30_000, maxOutputBytes: 1000 } };
    expect((await failure(request('let s = "x"; while (true) s += s;', {}, slow))).code).toBe(
      'expression_too_large',
    );
    expect(
      (await failure(request('const a = []; while (true) a.push({ n: a.length });', {}, slow))).code,
    ).toBe('expression_too_large');
    expect((await failure(request('function f() { return f() + 1 } return f()'))).code).toBe(
      'expression_depth',
    );
  });

  it('names the line and column of an error in the code, and keeps the logs before it', async () => {
    const err = await failure(request('console.log("before");\nconst x = null;\nreturn x.y;'));
    expect(err.code).toBe('code_error');
    expect(err.message).toMatch(/^TypeError: cannot read property 'y' of null \(line 3, column \d+\)$/);
    expect(logsOf(err)).toEqual(['before']);
    const syntax = await failure(request('return {'));
    expect(syntax).toMatchObject({ code: 'code_error', message: expect.stringMatching(/^SyntaxError: /) });
  });

  it('keeps working after a deep structure overflowed QuickJS, and calls that failure by its name', async () => {
    const deep = await failure(request('return JSON.parse("[".repeat(100000))'));
    expect(['expression_depth', 'expression_too_large']).toContain(deep.code);
    await expect(runCode(request('return 1'))).resolves.toEqual({ value: 1, logs: [] });
  });

  it('cuts log lines even when the code replaces the string methods the console uses', async () => {
    const { logs } = await runCode(
      request(
        'String.prototype.slice = function () { return String(this) };\n' +
          'Array.prototype.join = function () { return "y".repeat(5000) };\n' +
          'console.log("x".repeat(100000)); console.log("short"); return 1',
      ),
    );
    expect(logs.every((line) => line.length <= 1001)).toBe(true);
  });

  it('fails a built-in that ran past the deadline instead of letting it succeed', async () => {
    const err = await failure(
      request('return Array(3e7).includes(1)', {}, { budget: { timeoutMs: 20, maxOutputBytes: 1000 } }),
    );
    expect(err.code).toBe('expression_timeout');
  });

  it('cuts a huge error message, and refuses text that broke out of the wrapper', async () => {
    const long = await failure(request('throw new Error("x".repeat(100000))'));
    expect(long.message.length).toBeLessThan(1100);
    const broke = await failure(request('return 1})), globalThis.__result = "{bad"; ((function(){'));
    expect(broke).toMatchObject({ code: 'code_error', message: 'the code must return JSON' });
  });

  it('reads the result as JSON.stringify does, and refuses one it cannot write or too large', async () => {
    await expect(runCode(request('return { f: () => 1, d: new Date(0), u: undefined }'))).resolves.toEqual({
      value: { d: '1970-01-01T00:00:00.000Z' },
      logs: [],
    });
    expect((await failure(request('return 1n'))).code).toBe('code_error');
    const big = await failure(
      request('return "x".repeat(2000)', {}, { budget: { timeoutMs: 1000, maxOutputBytes: 100 } }),
    );
    expect(big.code).toBe('output_too_large');
  });
});
