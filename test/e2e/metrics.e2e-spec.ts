import { HealthServer } from '../../apps/worker/src/health/health-server';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';

/** The value of one sample in Prometheus text, matched by name and exact label set; undefined if absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '')
      .split(/,(?=\w+=")/)
      .filter(Boolean)
      .sort()
      .join(',');
    if (got === wanted) return Number(m[3]);
  }
  return undefined;
}

/** `/metrics` on the API and on the worker's health port, each from its own registry. */
describe('metrics (API + worker, PostgreSQL + Redis)', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start();
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  it('counts webhooks by flow and outcome, steps by type and outcome, and reads queue depth', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'metrics-demo',
      trigger: { type: 'webhook', methods: ['POST'] },
      steps: [
        { id: 'shape', type: 'transform', expression: '{ "id": id }' },
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          needs: ['shape'],
          with: { method: 'POST', url: `${sink.url}/metrics-demo`, json: '{{steps.shape}}' },
        },
      ],
    });
    const accepted = await hf.http().post(hookPath).send({ id: 7 }).expect(202);
    expect((await hf.waitForRun(accepted.body.runId)).status).toBe('succeeded');
    await sink.waitForRequests('/metrics-demo', 1);
    await hf.http().post('/hooks/no-such-key-for-metrics').send({}).expect(404);
    await hf.http().get(hookPath).expect(405);

    const api = await hf.http().get('/metrics').expect(200);
    expect(api.headers['content-type']).toContain('text/plain');
    const received = (outcome: string, flow = 'metrics-demo') =>
      sample(api.text, 'hookflow_webhooks_received_total', { flow, outcome });
    expect(received('accepted')).toBe(1);
    expect(received('method_not_allowed')).toBe(1);
    expect(received('not_found', '')).toBe(1);
    expect(api.text).toContain('# TYPE hookflow_ingest_duration_seconds histogram');
    expect(sample(api.text, 'hookflow_ingest_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(
      sample(api.text, 'hookflow_ingest_duration_seconds_bucket', { le: '+Inf' }),
    ).toBeGreaterThanOrEqual(1);
    expect(api.text).toContain('process_cpu_user_seconds_total');
    // The worker's metrics live in the worker's registry, not the API's.
    expect(api.text).not.toContain('hookflow_steps_total');
    expect(api.text).not.toMatch(/run_?id|http:\/\//i);

    const port = hf.worker!.get(HealthServer).port;
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const worker = await res.text();
    expect(sample(worker, 'hookflow_steps_total', { type: 'transform', outcome: 'succeeded' })).toBe(1);
    expect(sample(worker, 'hookflow_steps_total', { type: 'action', outcome: 'succeeded' })).toBe(1);
    expect(sample(worker, 'hookflow_step_duration_seconds_count', { type: 'action' })).toBe(1);
    expect(sample(worker, 'hookflow_step_attempts_bucket', { le: '1' })).toBe(2);
    expect(sample(worker, 'hookflow_step_retries_total')).toBe(0);
    expect(sample(worker, 'hookflow_outbound_responses_total', { class: '2xx' })).toBe(1);
    expect(sample(worker, 'hookflow_reconciler_reenqueued_total')).toBe(0);
    for (const state of ['waiting', 'active', 'delayed', 'failed']) {
      expect(sample(worker, 'hookflow_queue_jobs', { state })).toEqual(expect.any(Number));
    }
    expect(worker).toContain('process_cpu_user_seconds_total');
    expect(worker).not.toContain('hookflow_webhooks_received_total');
  });
});

/** With METRICS_TOKEN set, both `/metrics` ask for it; health probes stay open. */
describe('metrics behind METRICS_TOKEN', () => {
  const token = 'scrape-token-for-e2e-0123456789';
  let hf: HookflowHarness;

  beforeAll(async () => {
    hf = await HookflowHarness.start({ env: { METRICS_TOKEN: token } });
  });

  afterAll(async () => {
    await hf?.close();
  });

  it('answers 401 without the token or with another, 200 with it, on the API', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', hf.auth.authorization, token]) {
      const req = hf.http().get('/metrics');
      const res = await (authorization === undefined ? req : req.set('authorization', authorization));
      expect({ authorization, status: res.status }).toEqual({ authorization, status: 401 });
      expect(res.body).toMatchObject({ error: 'unauthorized' });
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.text).not.toContain('hookflow_');
    }
    const ok = await hf.http().get('/metrics').set('authorization', `Bearer ${token}`).expect(200);
    expect(ok.text).toContain('hookflow_webhooks_received_total');
    await hf.http().get('/health/live').expect(200);
    await hf.http().get('/health/ready').expect(200);
  });

  it('answers 401 without the token, 200 with it, on the worker', async () => {
    const url = `http://127.0.0.1:${hf.worker!.get(HealthServer).port}`;
    const refused = await fetch(`${url}/metrics`);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    expect(await refused.json()).toMatchObject({ error: 'unauthorized' });
    expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    const ok = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('hookflow_steps_total');
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
  });
});
