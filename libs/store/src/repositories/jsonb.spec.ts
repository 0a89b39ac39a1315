import { toJsonb, unstorableCharIn, unstorableTextAt } from './jsonb';

describe('toJsonb', () => {
  it.each([
    ['NUL in a value', { a: 'x\u0000y' }, { a: 'x\ufffdy' }],
    ['NUL in a key', { 'k\u0000': 1 }, { 'k\ufffd': 1 }],
    ['a lone high surrogate', { a: '\ud800' }, { a: '\ufffd' }],
    ['a lone high surrogate at the end', ['ab\ud83d'], ['ab\ufffd']],
    ['a lone low surrogate', { a: 'x\udc00' }, { a: 'x\ufffd' }],
    ['a pair in the wrong order', '\ude00\ud83d', '\ufffd\ufffd'],
    ['a lone surrogate in a key', { ['\udbff']: true }, { '\ufffd': true }],
    ['the last low surrogate', { a: '\udfff' }, { a: '\ufffd' }],
  ])('stores %s as U+FFFD', (_name, value, stored) => {
    const text = toJsonb(value)!;
    expect(text).not.toMatch(/\\u(0000|d[89a-f])/);
    expect(JSON.parse(text)).toEqual(stored);
  });

  it.each([
    ['a surrogate pair', { a: 'x😀y', '😀': 1 }],
    ['the text \\u0000 (an escaped backslash)', { a: '\\u0000' }],
    ['the text \\ud800', { a: 'C:\\ud800\\users' }],
    ['other control characters', { a: '\u0001\u001f\n\t' }],
    ['no escape at all', { a: [1, 'two', null, true] }],
  ])('keeps %s unchanged', (_name, value) => {
    expect(JSON.parse(toJsonb(value)!)).toEqual(value);
  });

  it('replaces a NUL or a lone surrogate that follows escaped backslashes', () => {
    expect(JSON.parse(toJsonb({ a: '\\\u0000', b: '\\\\\ud800' })!)).toEqual({
      a: '\\\ufffd',
      b: '\\\\\ufffd',
    });
  });

  it('gives null for nothing to store', () => {
    expect(toJsonb(undefined)).toBeNull();
    expect(toJsonb(null)).toBeNull();
    expect(toJsonb(() => 1)).toBeNull();
  });
});

describe('unstorableCharIn', () => {
  it.each([
    ['plain', null],
    ['emoji 😀 pairs', null],
    ['nul \u0000', 'the NUL character (\\u0000)'],
    ['\ud83d alone', 'a lone UTF-16 surrogate (\\ud800-\\udfff without its pair)'],
    ['alone \udc00', 'a lone UTF-16 surrogate (\\ud800-\\udfff without its pair)'],
  ])('%j: %s', (text, problem) => {
    expect(unstorableCharIn(text)).toBe(problem);
  });
});

describe('unstorableTextAt', () => {
  it('finds nothing in storable JSON', () => {
    expect(unstorableTextAt({ a: ['x', 1, null, { b: '😀' }], c: '\\u0000' })).toBeNull();
    expect(unstorableTextAt('text')).toBeNull();
    expect(unstorableTextAt(null)).toBeNull();
  });

  it('names the first string or member name in document order, as a JSON pointer', () => {
    expect(
      unstorableTextAt({ steps: [{ id: 'a' }, { id: 'b', expression: '"\u0000"' }], z: '\ud800' }),
    ).toEqual({
      path: '/steps/1/expression',
      problem: 'the NUL character (\\u0000)',
    });
    expect(unstorableTextAt({ a: { 'x\ud800': 1 } })).toEqual({
      path: '/a/x\ufffd',
      problem: 'a lone UTF-16 surrogate (\\ud800-\\udfff without its pair)',
    });
    expect(unstorableTextAt({ 'a/b': { '~': ['ok', '\u0000'] } })?.path).toBe('/a~1b/~0/1');
    expect(unstorableTextAt('\udc00')?.path).toBe('');
  });

  it('walks very deep values without running out of stack', () => {
    let deep: unknown = '\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(unstorableTextAt(deep)?.path).toBe('/0'.repeat(100_000));
  });
});
