import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';

/** Template values in an action's URL are encoded for where they land (issue 15, item 6). */
describe('templates in URLs (API + worker)', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;
  let hookPath: string;
  const hostile = '../admin/delete?all=1#';

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start();
    ({ hookPath } = await hf.createFlow(orders('orders')));
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  function orders(slug: string) {
    return {
      slug,
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          retry: { attempts: 1 },
          with: { url: `${sink.url}/orders/{{input.id}}?note={{input.note}}`, json: '{{input}}' },
        },
      ],
    };
  }

  it('sends a hostile id to the intended route, encoded as one path segment', async () => {
    const accepted = await hf.http().post(hookPath).send({ id: hostile, note: 'a&b=c#d' }).expect(202);
    const run = await hf.waitForRun(accepted.body.runId);
    expect(run.status).toBe('succeeded');

    const [received, ...more] = await sink.waitForRequests('/orders/..%2Fadmin%2Fdelete%3Fall%3D1%23', 1);
    expect(more).toEqual([]);
    expect(received.method).toBe('POST');
    expect([...received.query]).toEqual([['note', 'a&b=c#d']]);
    expect(received.json).toEqual({ id: hostile, note: 'a&b=c#d' });
    expect(sink.requests.filter((r) => r.path.startsWith('/admin'))).toEqual([]);
  });

  it('fails the step, final and naming with/url, for an id that would move up the path', async () => {
    const before = sink.requests.length;
    const accepted = await hf.http().post(hookPath).send({ id: '..', note: 'x' }).expect(202);
    const run = await hf.waitForRun(accepted.body.runId);
    expect(run.steps[0]).toMatchObject({
      status: 'failed',
      error: { code: 'template_error', retryable: false },
    });
    expect(run.steps[0].error.message).toBe(
      "with/url: {{input.id}} makes the path segment '..', which would move the request up the path",
    );
    expect(sink.requests.length).toBe(before);
  });

  it('shows the encoded URL in a dry run', async () => {
    const res = await hf
      .http()
      .post('/api/flows/test')
      .set(hf.auth)
      .send({ definition: orders('dry'), body: { id: hostile, note: 'n' } })
      .expect(200);
    expect(res.body.steps[0].request.url).toBe(`${sink.url}/orders/..%2Fadmin%2Fdelete%3Fall%3D1%23?note=n`);
  });

  it('keeps a whole URL kept as a secret as it is, and encodes what follows an origin secret', async () => {
    await hf
      .http()
      .put('/api/secrets/HOOK_URL')
      .set(hf.auth)
      .send({ value: `${sink.url}/hook?k=1` })
      .expect(204);
    await hf.http().put('/api/secrets/BASE').set(hf.auth).send({ value: sink.url }).expect(204);
    const { hookPath: secretHook } = await hf.createFlow({
      slug: 'secret-urls',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'whole',
          type: 'action',
          connector: 'slack',
          with: { url: "{{secret 'HOOK_URL'}}", text: 'hi' },
        },
        {
          id: 'origin',
          type: 'action',
          connector: 'http',
          needs: [],
          with: { url: "{{secret 'BASE'}}/items/{{input.id}}", json: '{{input}}' },
        },
      ],
    });
    const accepted = await hf.http().post(secretHook).send({ id: 'a/b c' }).expect(202);
    expect((await hf.waitForRun(accepted.body.runId)).status).toBe('succeeded');
    expect([...(await sink.waitForRequests('/hook', 1))[0].query]).toEqual([['k', '1']]);
    await sink.waitForRequests('/items/a%2Fb%20c', 1);
  });

  it('warns at save time when the host comes from the request', async () => {
    const res = await hf
      .http()
      .post('/api/flows/validate')
      .set(hf.auth)
      .send({
        slug: 'callback',
        trigger: { type: 'webhook' },
        steps: [
          {
            id: 'send',
            type: 'action',
            connector: 'http',
            with: { url: '{{input.callback}}', json: '{{input}}' },
          },
        ],
      })
      .expect(200);
    expect(res.body).toEqual({
      valid: true,
      warnings: [
        {
          path: '/steps/0/with/url',
          message:
            '{{input.callback}} puts data from the request (input.callback) in the whole URL or its origin: a sender can make this step call any address; write the host out or keep it in a secret',
        },
      ],
    });
  });
});
