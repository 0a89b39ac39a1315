import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';

/** `GET /api/runs?q=&since=&until=` and the bulk retry of what such a filter finds. */
describe('run search', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;
  let shape: string;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start();
    ({ hookPath: shape } = await hf.createFlow({
      slug: 'search-shape',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'ticket', type: 'transform', expression: '{ "ticket": "T-" & order.id, "score": 4242 }' },
      ],
    }));
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  const list = (query: Record<string, string>) => hf.http().get('/api/runs').query(query).set(hf.auth);
  const ids = async (query: Record<string, string>) => {
    const res = await list(query).expect(200);
    return (res.body.items as { id: string }[]).map((r) => r.id);
  };
  const send = async (path: string, body: object): Promise<string> => {
    const res = await hf.http().post(path).send(body).expect(202);
    return res.body.runId as string;
  };

  let first: string;
  let second: string;

  beforeAll(async () => {
    first = await send(shape, { order: { id: 'ord-1', total: 1234.5 }, note: 'say "hi" $ **' });
    second = await send(shape, { order: { id: 'ord-2', total: 99 }, lines: [{ sku: 'SKU-7' }] });
    await hf.waitForRun(first);
    await hf.waitForRun(second);
  });

  it("finds a run by a value in its webhook's body, and only that run", async () => {
    expect(await ids({ q: 'ord-1' })).toEqual([first]);
    expect(await ids({ q: 'SKU-7' })).toEqual([second]);
    expect(await ids({ q: 'say "hi" $ **' })).toEqual([first]);
    // Whole values, not parts of them; and not member names.
    expect(await ids({ q: 'ord' })).toEqual([]);
    expect(await ids({ q: 'total' })).toEqual([]);
  });

  it('finds a run by a value its transform step produced', async () => {
    expect(await ids({ q: 'T-ord-2' })).toEqual([second]);
  });

  it('finds numbers as numbers, whatever way they are written', async () => {
    expect(await ids({ q: '1234.5' })).toEqual([first]);
    expect(await ids({ q: '1234.50' })).toEqual([first]);
    expect(await ids({ q: '99' })).toEqual([second]);
    expect((await ids({ q: '4242' })).sort()).toEqual([first, second].sort());
    expect(await ids({ q: '099' })).toEqual([]);
  });

  it('lists runs created in a window, alone or with q', async () => {
    const page = await list({ flow: 'search-shape' }).expect(200);
    const at = (id: string) => page.body.items.find((r: { id: string }) => r.id === id).createdAt as string;
    expect(await ids({ flow: 'search-shape', since: at(second) })).toEqual([second]);
    expect(await ids({ flow: 'search-shape', until: at(second) })).toEqual([first]);
    expect(await ids({ q: '4242', since: at(first), until: at(second) })).toEqual([first]);
    expect(page.body.items[0]).toMatchObject({ version: 1, durationMs: expect.any(Number) });
  });

  it.each([
    ['a quote', '"'],
    ['a dollar', '$'],
    ['an accessor', '$.**'],
    ['a jsonpath that would match everything', '" || $.** == "ord-1'],
    ['a backslash', '\\'],
    ['an apostrophe', "'; DROP TABLE runs; --"],
    ['an unfinished escape', '\\u12'],
    ['exactly 200 characters', 'x'.repeat(200)],
  ])('finds nothing for %s, harmlessly', async (_what, q) => {
    expect(await ids({ q })).toEqual([]);
  });

  it.each([
    ['201 characters', { q: 'x'.repeat(201) }, '/q'],
    ['a NUL character', { q: 'a\u0000b' }, '/q'],
    ['a since that is no time', { since: 'yesterday' }, '/since'],
    ['an until that is no time', { until: '2026-13-45' }, '/until'],
    ['a since after the until', { since: '2026-01-02T00:00:00Z', until: '2026-01-01T00:00:00Z' }, '/until'],
  ])('answers 400 naming the field for %s', async (_what, query, path) => {
    const res = await list(query).expect(400);
    expect(res.body).toMatchObject({ error: 'invalid_request', details: [{ path }] });
  });

  it('answers 400 for q given twice', async () => {
    const res = await hf.http().get('/api/runs?q=a&q=b').set(hf.auth).expect(400);
    expect(res.body).toMatchObject({ details: [{ path: '/q' }] });
  });

  it('pages through a search newest first', async () => {
    const runs: string[] = [];
    for (let i = 0; i < 3; i++) runs.push(await send(shape, { order: { id: `page-${i}` }, tag: 'paged' }));
    const one = await list({ q: 'paged', limit: '2' }).expect(200);
    expect(one.body.items.map((r: { id: string }) => r.id)).toEqual([runs[2], runs[1]]);
    const two = await list({ q: 'paged', limit: '2', cursor: one.body.nextCursor }).expect(200);
    expect(two.body.items.map((r: { id: string }) => r.id)).toEqual([runs[0]]);
    expect(two.body.nextCursor).toBeNull();
  });

  it('retries only the failed runs a search finds, in any flow', async () => {
    sink.script('/search-fail', [500, 500, 500, 500]);
    const { hookPath } = await hf.createFlow({
      slug: 'search-fail',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'deliver',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/search-fail`, json: '{{input}}' },
          retry: { attempts: 1 },
        },
      ],
    });
    const batchA = [await send(hookPath, { batch: 'b-1' }), await send(hookPath, { batch: 'b-1' })];
    const other = await send(hookPath, { batch: 'b-2' });
    const succeeded = await send(shape, { order: { id: 'b-1' }, batch: 'b-1' });
    for (const id of [...batchA, other]) expect((await hf.waitForRun(id)).status).toBe('failed');
    expect((await hf.waitForRun(succeeded)).status).toBe('succeeded');

    const res = await hf.http().post('/api/runs/retry').set(hf.auth).send({ q: 'b-1' }).expect(202);
    expect(res.body).toEqual({ count: 2 });
    for (const id of batchA) {
      await waitFor(async () => (await hf.getRun(id)).steps[0].attempts.length === 2, {
        what: `${id} retried`,
      });
    }
    expect((await hf.getRun(other)).steps[0].attempts).toHaveLength(1);
    expect((await hf.getRun(other)).status).toBe('failed');

    const bad = await hf
      .http()
      .post('/api/runs/retry')
      .set(hf.auth)
      .send({ q: 'x'.repeat(201) })
      .expect(400);
    expect(bad.body).toMatchObject({ details: [{ path: '/q' }] });
  });
});
