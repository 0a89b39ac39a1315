import { redactSecrets, secretRedactor } from './redact-secrets';

describe('redactSecrets', () => {
  const secrets = { TOKEN: 's3cr3t-t0ken', SIGNING: 'whsec_abc' };

  it.each<[string, unknown, unknown]>([
    ['a whole string', 's3cr3t-t0ken', '[secret TOKEN]'],
    [
      'inside a string, every occurrence',
      'Bearer s3cr3t-t0ken / s3cr3t-t0ken',
      'Bearer [secret TOKEN] / [secret TOKEN]',
    ],
    [
      'nested objects and arrays',
      { request: { headers: { authorization: 'Bearer s3cr3t-t0ken' } }, list: ['x', ['whsec_abc!']] },
      {
        request: { headers: { authorization: 'Bearer [secret TOKEN]' } },
        list: ['x', ['[secret SIGNING]!']],
      },
    ],
    ['object keys', { 's3cr3t-t0ken': 1 }, { '[secret TOKEN]': 1 }],
    ['numbers, booleans and null untouched', [1, true, null], [1, true, null]],
    ['text without secrets untouched', { a: 'plain' }, { a: 'plain' }],
  ])('%s', (_, input, expected) => {
    expect(redactSecrets(input, secrets)).toEqual(expected);
  });

  it('replaces URL-encoded and JSON-escaped forms', () => {
    const tricky = { Q: 'a b&c', J: 'say "hi"\\' };
    expect(redactSecrets('u=a%20b%26c', tricky)).toBe('u=[secret Q]');
    expect(redactSecrets('{"v":"say \\"hi\\"\\\\"}', tricky)).toBe('{"v":"[secret J]"}');
  });

  it('names the longest match when one secret contains another', () => {
    expect(redactSecrets('abc-long and abc', { SHORT: 'abc', LONG: 'abc-long' })).toBe(
      '[secret LONG] and [secret SHORT]',
    );
  });

  it('does not search its own replacements again', () => {
    // A value that occurs inside the placeholder text must not mangle other placeholders.
    expect(redactSecrets('x-secret y', { A: 'x-secret', B: 'secret' })).toBe('[secret A] y');
  });

  it('treats regular-expression characters in values literally', () => {
    expect(redactSecrets('pay $1.00 (now)', { P: '$1.00 (now)' })).toBe('pay [secret P]');
    expect(redactSecrets('a.c', { P: 'a+c' })).toBe('a.c');
  });

  it('ignores empty values and returns the same value when nothing is to be hidden', () => {
    const doc = { a: 'text' };
    expect(redactSecrets(doc, { EMPTY: '' })).toBe(doc);
    expect(secretRedactor({})(doc)).toBe(doc);
  });

  it('does not change its input', () => {
    const doc = { a: ['s3cr3t-t0ken'] };
    redactSecrets(doc, secrets);
    expect(doc).toEqual({ a: ['s3cr3t-t0ken'] });
  });

  it('scrubs a whole step outcome', () => {
    const outcome = {
      status: 'failed',
      input: { token: 's3cr3t-t0ken' },
      output: { status: 401, body: { echoed: 'whsec_abc' } },
      error: {
        code: 'http_error',
        message: 'POST https://h/?key=s3cr3t-t0ken answered 401',
        retryable: false,
      },
    };
    expect(JSON.stringify(redactSecrets(outcome, secrets))).not.toMatch(/s3cr3t-t0ken|whsec_abc/);
  });
});
