import { InProcessEvaluator } from '@hookflow/flows';
import { compileDedupeKey, type DedupeInput } from './dedupe-key';

const expressions = new InProcessEvaluator();

const sensitive = (name: string) => /signature|authorization/.test(name);

function input(over: Partial<DedupeInput> = {}): DedupeInput {
  return { body: null, query: {}, headers: {}, method: 'POST', rawHeaders: {}, ...over };
}

describe('dedupe keys', () => {
  it('reads a header by name in any case, the first value when repeated', async () => {
    const key = compileDedupeKey({ header: 'Webhook-Id' }, sensitive, expressions);
    expect(await key(input({ rawHeaders: { 'webhook-id': 'msg_1' } }))).toBe('msg_1');
    expect(await key(input({ rawHeaders: { 'webhook-id': ['msg_2', 'msg_3'] } }))).toBe('msg_2');
    expect(await key(input())).toBeUndefined();
    expect(await key(input({ rawHeaders: { 'webhook-id': '' } }))).toBeUndefined();
  });

  it('stores a credential header or a long key only as a hash', async () => {
    const bySignature = compileDedupeKey({ header: 'x-signature' }, sensitive, expressions);
    expect(await bySignature(input({ rawHeaders: { 'x-signature': 'abc' } }))).toMatch(
      /^sha256:[0-9a-f]{64}$/,
    );
    const byId = compileDedupeKey({ header: 'x-id' }, sensitive, expressions);
    const long = await byId(input({ rawHeaders: { 'x-id': 'x'.repeat(5000) } }));
    expect(long).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it.each([
    ['body.id', { id: 'evt_1' }, 'evt_1'],
    ['body.id', { id: 42 }, '42'],
    ['body.id', {}, undefined],
    ['body.id', { id: null }, undefined],
    ["method & ':' & query.n", null, 'POST:7'],
    ['body.ids', { ids: [1, 2] }, '[1,2]'],
    ['headers.`x-id`', null, 'h1'],
  ])('expression %s over %j -> %s', async (expression, body, expected) => {
    const key = compileDedupeKey({ expression }, sensitive, expressions);
    expect(await key(input({ body, query: { n: '7' }, headers: { 'x-id': 'h1' } }))).toBe(expected);
  });

  it('rejects when the expression fails, for the caller to decide', async () => {
    const key = compileDedupeKey({ expression: '$error("boom")' }, sensitive, expressions);
    await expect(key(input())).rejects.toThrow(/boom/);
  });
});
