import { DEFAULT_EXPRESSION_BUDGET, ExpressionError, compileExpression } from './expression';
import {
  InProcessEvaluator,
  jsonSizeExceeds,
  checkedResult,
  type ExpressionRequest,
} from './expression-evaluator';

const budget = { ...DEFAULT_EXPRESSION_BUDGET, maxOutputBytes: 64 };

function request(source: string, extra: Partial<ExpressionRequest> = {}): ExpressionRequest {
  return { source, input: { name: 'Ada', n: 3 }, budget, ...extra };
}

describe('InProcessEvaluator', () => {
  const evaluator = new InProcessEvaluator(2);

  it.each<[string, Partial<ExpressionRequest>, unknown]>([
    ['name', {}, 'Ada'],
    ['{ "who": name, "twice": n * 2 }', {}, { who: 'Ada', twice: 6 }],
    ['missing', {}, undefined],
    ['$string($x)', { bindings: { x: 5 } }, '5'],
    ['n > 2', { want: 'boolean' }, true],
    ['[]', { want: 'boolean' }, false],
    ['missing', { want: 'boolean' }, false],
  ])('%s gives plain JSON', async (source, extra, expected) => {
    await expect(evaluator.evaluate(request(source, extra))).resolves.toEqual(expected);
  });

  it('answers the same source again once it fell out of its cache', async () => {
    for (const source of ['n', 'n + 1', 'n + 2', 'n']) await evaluator.evaluate(request(source));
    await expect(evaluator.evaluate(request('n + 2'))).resolves.toBe(5);
  });

  it('refuses a result over maxOutputBytes with output_too_large', async () => {
    const err = await evaluator.evaluate(request('$pad("", 100, "x")')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExpressionError);
    expect(err).toMatchObject({
      code: 'output_too_large',
      message: expect.stringMatching(/over the 64-byte limit/),
    });
  });

  it('gives the checked result uncopied, for the sandbox to send as JSON', async () => {
    await expect(evaluator.evaluateChecked(request('[name, n]'))).resolves.toEqual(['Ada', 3]);
    await expect(evaluator.evaluateChecked(request('missing'))).resolves.toBeUndefined();
  });
});

describe('checkedResult', () => {
  it.each<[unknown, unknown]>([
    [undefined, undefined],
    [null, null],
    [() => 1, undefined],
    ['\ud800', '\ud800'],
  ])('%p -> %p', (value, expected) => {
    expect(checkedResult(value, { budget })).toBe(expected);
  });

  it('gives only the truth when a boolean is wanted', () => {
    expect(checkedResult(['x'.repeat(1000)], { budget, want: 'boolean' })).toBe(true);
  });

  it('counts UTF-8 bytes, not characters', () => {
    expect(checkedResult('é'.repeat(31), { budget })).toHaveLength(31);
    expect(() => checkedResult('é'.repeat(32), { budget })).toThrow(/66 bytes/);
  });
});

describe('compileExpression: variables', () => {
  it('lists the variables and functions an expression reads', () => {
    expect([...compileExpression('$trigger.body.id & $sum($steps.a.x)').variables].sort()).toEqual([
      'steps',
      'sum',
      'trigger',
    ]);
  });
});

describe('jsonSizeExceeds', () => {
  const values: unknown[] = [
    null,
    0,
    'text with "quotes" and \\ and é',
    [],
    [1, 'two', null, [3]],
    { a: 1, 'long key': ['x', { b: true }] },
    { skipped: undefined, f: () => 1, kept: 'k' },
    [undefined, () => 1],
    Array.from({ length: 50 }, (_, i) => ({ i, s: 'x'.repeat(i) })),
  ];

  it.each(values.map((v) => [v]))('never says a value is longer than its JSON text: %j', (value) => {
    const length = JSON.stringify(value).length;
    expect(jsonSizeExceeds(value, length)).toBe(false);
  });

  it('stops early on a huge value', () => {
    const huge = Array.from({ length: 2_000_000 }, (_, i) => i);
    expect(jsonSizeExceeds(huge, 1000)).toBe(true);
    expect(jsonSizeExceeds({ nested: [huge] }, 1000)).toBe(true);
  });

  it('makes a ten-million-element result output_too_large', async () => {
    const err = await new InProcessEvaluator().evaluate(request('[1..10000000]')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'output_too_large' });
  });
});
