import {
  VerifyFailure,
  anyConstantTimeEqual,
  checkTimestamp,
  constantTimeEqual,
  decodeSignature,
  headerValues,
} from './verify-primitives';

describe('constantTimeEqual', () => {
  it.each<[string, string, string, boolean]>([
    ['equal', 'secret', 'secret', true],
    ['different, same length', 'secret', 'secreT', false],
    ['a prefix', 'secret', 'secre', false],
    ['longer', 'secret', 'secret!', false],
    ['both empty', '', '', true],
    ['one empty', 'secret', '', false],
  ])('%s', (_name, a, b, expected) => {
    expect(constantTimeEqual(Buffer.from(a), Buffer.from(b))).toBe(expected);
  });
});

describe('anyConstantTimeEqual', () => {
  const x = Buffer.from('x');
  it.each<[string, Buffer[], boolean]>([
    ['no candidates', [], false],
    ['first matches', [x, Buffer.from('y')], true],
    ['last matches', [Buffer.from('y'), Buffer.from('z'), x], true],
    ['none matches', [Buffer.from('y'), Buffer.from('z')], false],
  ])('%s', (_name, candidates, expected) => {
    expect(anyConstantTimeEqual(x, candidates)).toBe(expected);
  });
});

describe('decodeSignature', () => {
  it.each<[string, string, 'hex' | 'base64', string | undefined]>([
    ['hex', 'a1B2', 'hex', 'a1b2'],
    ['hex with junk after it', 'a1b2zz', 'hex', undefined],
    ['odd-length hex', 'a1b', 'hex', undefined],
    ['empty', '', 'hex', undefined],
    ['base64', 'oQ==', 'base64', 'a1'],
    ['url-safe base64 without padding', '-_8', 'base64', 'fbff'],
    ['base64 with a space', 'oQ ==', 'base64', undefined],
  ])('%s', (_name, text, encoding, hex) => {
    expect(decodeSignature(text, encoding)?.toString('hex')).toBe(hex);
  });
});

describe('headerValues', () => {
  it('finds a header in any case, flattens arrays and drops empty values', () => {
    const headers = { 'X-Sig': ['a', ' '], 'x-sig': ' b ', 'x-other': 'c', 'x-SIG': undefined };
    expect(headerValues(headers, 'x-SIG')).toEqual(['a', 'b']);
  });
});

describe('checkTimestamp', () => {
  const now = 1_766_000_000_000;
  it.each<[string, string, boolean]>([
    ['now', '1766000000', true],
    ['at the past edge', '1765999700', true],
    ['past the edge', '1765999699', false],
    ['at the future edge', '1766000300', true],
    ['beyond the future edge', '1766000301', false],
    ['milliseconds instead of seconds', '1766000000000', false],
    ['negative', '-1', false],
    ['fractional', '1766000000.5', false],
    ['not a number', 'soon', false],
  ])('%s', (_name, text, ok) => {
    const run = () => checkTimestamp(text, 'header x', now, 300_000);
    if (ok) expect(run).not.toThrow();
    else expect(run).toThrow(VerifyFailure);
  });

  it('says how far off a timestamp is without more detail', () => {
    expect(() => checkTimestamp('1765996400', "header 'x-ts'", now, 300_000)).toThrow(
      "header 'x-ts' is 3600 s old, outside the tolerance of 300 s",
    );
    expect(() => checkTimestamp('1766003600', "header 'x-ts'", now, 300_000)).toThrow(/3600 s in the future/);
  });
});
