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

  it('replaces the form encoding of a query string (`with.query`, URLSearchParams)', () => {
    const password = { P: "pa ss~w0rd!(x)*'" };
    const url = new URL('https://api.example/login');
    url.searchParams.append('password', password.P);
    expect(redactSecrets(url.href, password)).toBe('https://api.example/login?password=[secret P]');
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

  describe('encoded forms', () => {
    // Bytes chosen so that base64 and base64url differ (`+`/`/` against `-`/`_`).
    const value = 'tok~>?secret-value!';
    const bytes = Buffer.from(value);
    const only = { TOKEN: value };
    const b64 = bytes.toString('base64');
    const b64url = bytes.toString('base64url');

    it('differ between base64 and base64url for this value', () => {
      expect(b64).toMatch(/[+/]/);
      expect(b64url).not.toBe(b64);
    });

    it.each([
      ['hex', bytes.toString('hex')],
      ['upper-case hex', bytes.toString('hex').toUpperCase()],
      ['base64', b64],
      ['base64 without padding', b64.replace(/=+$/, '')],
      ['base64url', b64url],
      ['base64url with padding', `${b64url}==`.slice(0, b64.length)],
    ])('replaces the value in %s, alone and inside text', (_name, form) => {
      expect(redactSecrets(form, only)).toBe('[secret TOKEN]');
      expect(redactSecrets({ echo: `got "${form}" back` }, only)).toEqual({
        echo: 'got "[secret TOKEN]" back',
      });
    });

    it.each([0, 1, 2, 3, 4, 5])(
      'finds the value inside a longer base64 text after a %i-byte prefix, at any alignment',
      (prefixBytes) => {
        const prefix = 'user:pw'.slice(0, prefixBytes);
        for (const suffix of ['', '!', '!?', '!?#']) {
          const text = Buffer.from(`${prefix}${value}${suffix}`);
          for (const encoded of [text.toString('base64'), text.toString('base64url')]) {
            const scrubbed = redactSecrets(`Authorization: Basic ${encoded}`, only);
            expect({ prefixBytes, suffix, scrubbed: scrubbed.includes('[secret TOKEN]') }).toEqual({
              prefixBytes,
              suffix,
              scrubbed: true,
            });
            // What is left around the placeholder no longer decodes to the value.
            const left = scrubbed.replace('Authorization: Basic ', '').replace('[secret TOKEN]', '');
            expect(Buffer.from(left, 'base64').toString('latin1')).not.toContain('secret-value');
          }
        }
      },
    );

    it('leaves short encoded forms alone: they would match unrelated text', () => {
      // 'abc' is 616263 in hex and YWJj in base64: too short to mean the secret.
      expect(redactSecrets('id 616263, YWJj', { SHORT: 'abc' })).toBe('id 616263, YWJj');
      expect(redactSecrets('abc', { SHORT: 'abc' })).toBe('[secret SHORT]');
    });

    it('names the right secret when encoded forms of several values meet', () => {
      const two = { A: 'first-secret-value', B: 'second-secret-value' };
      const text = `${Buffer.from(two.A).toString('hex')} ${Buffer.from(two.B).toString('base64')}`;
      expect(redactSecrets(text, two)).toBe('[secret A] [secret B]');
    });
  });
});
