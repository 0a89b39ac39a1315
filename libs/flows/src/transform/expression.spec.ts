import { jest } from '@jest/globals';
import { DEFAULT_EXPRESSION_BUDGET, ExpressionError, compileExpression, jsonataBoolean } from './expression';

/**
 * Date.now as an evaluation sees it: a clock that moves 1 ms each time it is read, so that time
 * is counted in looks at the clock, whatever the machine's speed. The first look sets the
 * deadline; `looksPastDeadline` counts those after it passed.
 */
function clockMovingPerLook(timeoutMs: number) {
  const start = Date.now();
  let looks = 0;
  const spy = jest.spyOn(Date, 'now').mockImplementation(() => start + looks++);
  return {
    // The looks read start + 0 .. start + looks - 1; the deadline is start + timeoutMs.
    looksPastDeadline: () => Math.max(0, looks - 1 - timeoutMs),
    restore: () => spy.mockRestore(),
  };
}

async function failure(promise: Promise<unknown>): Promise<ExpressionError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ExpressionError);
  return err as ExpressionError;
}

const order = {
  id: 'o1',
  items: [
    { sku: 'a', price: 2, qty: 3 },
    { sku: 'b', price: 5, qty: 1 },
  ],
  email: 'x@y.z',
};

describe('compileExpression: evaluation', () => {
  it.each<[string, string, unknown, Record<string, unknown>, unknown]>([
    ['a field', 'id', order, {}, 'o1'],
    ['arithmetic over an array', '$sum(items.(price * qty))', order, {}, 11],
    ['an object constructor', "{ 'id': id, 'n': $count(items) }", order, {}, { id: 'o1', n: 2 }],
    [
      'bindings',
      '$trigger.headers.`x-id` & "/" & $run.id',
      {},
      { trigger: { headers: { 'x-id': 'h' } }, run: { id: 'r' } },
      'h/r',
    ],
    ['a step output', '$steps.order.total * 2', {}, { steps: { order: { total: 21 } } }, 42],
    ['nothing', 'missing', order, {}, undefined],
    [
      'a recursive function within budget',
      '($f := function($n){ $n <= 1 ? 1 : $n * $f($n - 1) }; $f(10))',
      {},
      {},
      3628800,
    ],
    [
      'a tail-recursive loop that ends',
      // Small enough to finish well inside the default 1 s budget on a loaded CI machine.
      '($f := function($n, $acc){ $n = 0 ? $acc : $f($n - 1, $acc + 1) }; $f(300, 0))',
      {},
      {},
      300,
    ],
  ])('%s', async (_name, source, input, bindings, expected) => {
    await expect(compileExpression(source).evaluate(input, bindings)).resolves.toEqual(expected);
  });

  it('evaluates a wide object constructor (a lookup table) without counting it as depth', async () => {
    const table = `{ ${Array.from({ length: 500 }, (_, i) => `"k${i}": ${i}`).join(', ')} }`;
    const result = (await compileExpression(`${table}.k499`).evaluate(
      {},
      {},
      { timeoutMs: 1000, maxDepth: 5 },
    )) as number;
    expect(result).toBe(499);
  });

  it('lists static $steps references', () => {
    expect(compileExpression('$steps.order.total + $steps.`big-only`.x + $count($steps)').stepRefs).toEqual([
      'order',
      'big-only',
    ]);
  });
});

describe('compileExpression: errors', () => {
  it('reports a syntax error at compile time with its position', () => {
    let err: unknown;
    try {
      compileExpression("{ 'a': ");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ExpressionError);
    expect(err).toMatchObject({ code: 'transform_error', position: 7 });
    expect((err as Error).message).toMatch(/at position 7/);
  });

  it('reports a runtime error with the position and token', async () => {
    const err = await failure(compileExpression('1 + "a"').evaluate({}));
    expect(err.code).toBe('transform_error');
    expect(err.message).toMatch(/T2002.*at position \d+, near '\+'/);
  });

  it('reports an unknown function', async () => {
    const err = await failure(compileExpression('$nope(1)').evaluate({}));
    expect(err).toMatchObject({ code: 'transform_error', token: 'nope' });
  });
});

describe('compileExpression: budget', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_EXPRESSION_BUDGET).toEqual({
      timeoutMs: 1000,
      maxDepth: 300,
      maxOutputBytes: 1024 * 1024,
    });
  });

  it('stops unbounded recursion with a depth or time error, at the first look at the clock past its deadline', async () => {
    const clock = clockMovingPerLook(200);
    try {
      const err = await failure(
        compileExpression('($f := function($x){ $f($x+1) }; $f(0))').evaluate(
          {},
          {},
          { timeoutMs: 200, maxDepth: 300 },
        ),
      );
      expect(['expression_depth', 'expression_timeout']).toContain(err.code);
      expect(clock.looksPastDeadline()).toBeLessThanOrEqual(1);
    } finally {
      clock.restore();
    }
  });

  it('stops non-tail recursion with the depth error', async () => {
    const err = await failure(
      compileExpression('($f := function($x){ 1 + $f($x+1) }; $f(0))').evaluate(
        {},
        {},
        { timeoutMs: 5000, maxDepth: 50 },
      ),
    );
    expect(err.code).toBe('expression_depth');
    expect(err.message).toMatch(/more than 50 function calls/);
  });

  it('stops an infinite tail-recursive loop with the time error, at the first look at the clock past its deadline', async () => {
    const clock = clockMovingPerLook(100);
    try {
      const err = await failure(
        compileExpression('($loop := function($n){ $loop($n + 1) }; $loop(0))').evaluate(
          {},
          {},
          { timeoutMs: 100, maxDepth: 300 },
        ),
      );
      expect(err.code).toBe('expression_timeout');
      expect(err.message).toMatch(/longer than 100ms/);
      expect(clock.looksPastDeadline()).toBe(1);
    } finally {
      clock.restore();
    }
  });

  it('applies the budget inside $eval', async () => {
    const err = await failure(
      compileExpression('$eval("($g := function($x){ 1 + $g($x+1) }; $g(0))")').evaluate(
        {},
        {},
        { timeoutMs: 5000, maxDepth: 20 },
      ),
    );
    expect(err.code).toBe('expression_depth');
  });

  it('leaves the expression usable after a failure', async () => {
    const expr = compileExpression('depth > 0 ? ($f := function($x){ 1 + $f($x+1) }; $f(0)) : "fine"');
    await expect(expr.evaluate({ depth: 1 }, {}, { timeoutMs: 1000, maxDepth: 20 })).rejects.toMatchObject({
      code: 'expression_depth',
    });
    await expect(expr.evaluate({ depth: 0 }, {}, { timeoutMs: 1000, maxDepth: 20 })).resolves.toBe('fine');
    await expect(compileExpression('1 + 1').evaluate({})).resolves.toBe(2);
  });

  it('keeps budgets apart for concurrent evaluations of one compiled expression', async () => {
    // Same compiled expression: a deep, slow evaluation and a shallow one run interleaved.
    const expr = compileExpression('($f := function($x){ $x >= n ? $x : 1 + $f($x+1) }; $f(0))');
    const tight = { timeoutMs: 5000, maxDepth: 30 };
    const roomy = { timeoutMs: 5000, maxDepth: 300 };
    const results = await Promise.allSettled([
      expr.evaluate({ n: 200 }, {}, roomy),
      expr.evaluate({ n: 100 }, {}, tight),
      expr.evaluate({ n: 10 }, {}, tight),
      expr.evaluate({ n: 150 }, {}, roomy),
    ]);
    expect(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as ExpressionError).code)),
    ).toEqual([400, 'expression_depth', 20, 300]);
  });

  it('keeps deadlines apart for concurrent evaluations', async () => {
    const loop = compileExpression('stop ? "done" : ($l := function($n){ $l($n + 1) }; $l(0))');
    const [endless, quick] = await Promise.allSettled([
      loop.evaluate({ stop: false }, {}, { timeoutMs: 150, maxDepth: 300 }),
      loop.evaluate({ stop: true }, {}, { timeoutMs: 150, maxDepth: 300 }),
    ]);
    expect(endless).toMatchObject({ status: 'rejected', reason: { code: 'expression_timeout' } });
    expect(quick).toEqual({ status: 'fulfilled', value: 'done' });
  });

  it('hides the budget state from expressions', async () => {
    await expect(compileExpression('$keys($$)').evaluate({ a: 1 })).resolves.toBe('a');
    expect(() => compileExpression('$`hookflow budget`')).toThrow(ExpressionError);
  });
});

describe('jsonataBoolean', () => {
  it.each<[unknown, boolean]>([
    [undefined, false],
    [null, false],
    [true, true],
    [false, false],
    [0, false],
    [3, true],
    ['', false],
    ['x', true],
    [[], false],
    [[0], false],
    [[0, 1], true],
    [[false, ''], false],
    [{}, false],
    [{ a: 1 }, true],
    [() => 1, false],
  ])('%p -> %p', (value, expected) => {
    expect(jsonataBoolean(value)).toBe(expected);
  });
});

describe('compileExpression: bounded', () => {
  it.each<[string, boolean]>([
    ['{ "id": id, "total": $sum(items.(price * qty)) }', true],
    ['items[price > 10].{ "sku": sku, "name": $uppercase(name) }', true],
    ['$join($split(name, " "), "-") & $string($count(items))', true],
    ['($f := function($n){ $n <= 1 ? 1 : $n * $f($n - 1) }; $f(5))', true],
    ['items^(price)', true],
    ['$pad(name, 10)', false],
    ['$contains(name, /^a+$/)', false],
    ['[1..10]', false],
    ['$eval("1 + 1")', false],
    ['$distinct(items.sku)', false],
    ['$sort(items.price)', false],
    ['$toMillis(at, "[Y0001]-[M01]-[D01]")', false],
    ['$map(items, $pad)', false],
  ])('%s: %s', (source, bounded) => {
    expect(compileExpression(source).bounded).toBe(bounded);
  });
});
