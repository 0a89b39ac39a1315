import { Webhook } from 'standardwebhooks';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer, type SinkRequest } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';

/** A flow whose one action gets a 500 from the sink and gives up at once: every run fails. */
const failingFlow = (slug: string, sink: SinkServer, extra: Record<string, unknown> = {}) => {
  sink.script(`/down/${slug}`, Array<number>(50).fill(500));
  return {
    slug,
    trigger: { type: 'webhook' },
    steps: [
      {
        id: 'post',
        type: 'action',
        connector: 'http',
        with: { url: `${sink.url}/down/${slug}`, json: '{{trigger.body}}' },
        retry: { attempts: 1 },
      },
    ],
    ...extra,
  };
};

/** Operational webhooks (subscriptions) and alert rules (docs/alerts.md), against a local receiver. */
describe('operational webhooks and alert rules', () => {
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

  const api = () => hf.http();
  const at = (path: string) => sink.requests.filter((r) => r.path === path);

  async function failRuns(hookPath: string, n: number): Promise<string[]> {
    const runIds: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await api().post(hookPath).send({ n: i }).expect(202);
      runIds.push(res.body.runId);
    }
    for (const id of runIds) expect((await hf.waitForRun(id)).status).toBe('failed');
    return runIds;
  }

  describe('subscriptions', () => {
    it('creates one with its secret shown once, lists, changes, rotates and deletes it', async () => {
      const created = await api()
        .post('/api/subscriptions')
        .set(hf.auth)
        .send({
          url: `${sink.url}/crud`,
          events: ['run.failed', 'destination.paused'],
          description: 'on call',
        })
        .expect(201);
      const { id, secret } = created.body;
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      expect(Buffer.from(secret.slice(6), 'base64').length).toBeGreaterThanOrEqual(24);
      expect(created.body).toMatchObject({ flows: [], enabled: true, description: 'on call' });

      const got = await api().get(`/api/subscriptions/${id}`).set(hf.auth).expect(200);
      expect(got.body).not.toHaveProperty('secret');
      expect(JSON.stringify(got.body)).not.toContain(secret.slice(6));
      const list = await api().get('/api/subscriptions').set(hf.auth).expect(200);
      expect(list.body.items.map((s: { id: string }) => s.id)).toContain(id);
      expect(JSON.stringify(list.body)).not.toContain(secret.slice(6));

      const changed = await api()
        .patch(`/api/subscriptions/${id}`)
        .set(hf.auth)
        .send({ enabled: false, flows: ['orders-*'], description: null })
        .expect(200);
      expect(changed.body).toMatchObject({
        events: ['run.failed', 'destination.paused'],
        flows: ['orders-*'],
        enabled: false,
        description: null,
      });

      const rotated = await api().post(`/api/subscriptions/${id}/rotate-secret`).set(hf.auth).expect(200);
      expect(rotated.body.id).toBe(id);
      expect(rotated.body.secret).toMatch(/^whsec_/);
      expect(rotated.body.secret).not.toBe(secret);

      const deliveries = await api().get(`/api/subscriptions/${id}/deliveries`).set(hf.auth).expect(200);
      expect(deliveries.body).toEqual({ items: [] });

      await api().delete(`/api/subscriptions/${id}`).set(hf.auth).expect(204);
      await api().get(`/api/subscriptions/${id}`).set(hf.auth).expect(404);
      await api().delete(`/api/subscriptions/${id}`).set(hf.auth).expect(404);
      await api().patch(`/api/subscriptions/${id}`).set(hf.auth).send({ enabled: true }).expect(404);
      await api().get('/api/subscriptions/not-a-uuid').set(hf.auth).expect(404);
    });

    it.each([
      [{ events: ['run.failed'] }, '/url'],
      [{ url: 'ftp://example.com/x', events: ['run.failed'] }, '/url'],
      [{ url: 'https://user:pw@example.com/x', events: ['run.failed'] }, '/url'],
      [{ url: 'https://example.com/x' }, '/events'],
      [{ url: 'https://example.com/x', events: [] }, '/events'],
      [{ url: 'https://example.com/x', events: ['run.failed', 'run.exploded'] }, '/events/1'],
      [{ url: 'https://example.com/x', events: ['run.failed'], flows: ['Orders!'] }, '/flows/0'],
      [{ url: 'https://example.com/x', events: ['run.failed'], enabled: 'yes' }, '/enabled'],
      [{ url: 'https://example.com/x', events: ['run.failed'], secret: 'whsec_mine' }, '/secret'],
    ])('refuses %j with 400 naming %s', async (body, path) => {
      const res = await api().post('/api/subscriptions').set(hf.auth).send(body).expect(400);
      expect(res.body.details.map((d: { path: string }) => d.path)).toContain(path);
    });

    it('takes write to change and read to list', async () => {
      const reader = await api()
        .post('/api/keys')
        .set(hf.auth)
        .send({ name: 'ops-reader', scope: 'read' })
        .expect(201);
      const asReader = { authorization: `Bearer ${reader.body.key}` };
      await api().get('/api/subscriptions').set(asReader).expect(200);
      await api()
        .post('/api/subscriptions')
        .set(asReader)
        .send({ url: 'https://example.com/x', events: ['run.failed'] })
        .expect(403);
    });

    it("signs a failing run's event with Standard Webhooks, verified by the standardwebhooks library", async () => {
      const created = await api()
        .post('/api/subscriptions')
        .set(hf.auth)
        .send({ url: `${sink.url}/ops`, events: ['run.failed'], flows: ['signed-*'] })
        .expect(201);
      const { id, secret } = created.body;
      const { hookPath } = await hf.createFlow(failingFlow('signed-orders', sink));
      const { hookPath: otherPath } = await hf.createFlow(failingFlow('unsigned-orders', sink));
      await failRuns(otherPath, 1);
      const [runId] = await failRuns(hookPath, 1);

      const [received] = await waitFor(() => at('/ops').length > 0 && at('/ops'), {
        what: 'the run.failed event at the subscription',
      });
      const verified = new Webhook(secret).verify(received.body, received.headers as Record<string, string>);
      expect(verified).toMatchObject({
        type: 'run.failed',
        flow: { slug: 'signed-orders' },
        run: { id: runId, status: 'failed' },
        failedSteps: [{ id: 'post', error: { code: 'http_error' } }],
      });
      expect(received.headers['webhook-id']).toMatch(/^msg_/);
      expect(() =>
        new Webhook(secret).verify(`${received.body} `, received.headers as Record<string, string>),
      ).toThrow();

      const deliveries = await waitFor(
        async () => {
          const res = await api().get(`/api/subscriptions/${id}/deliveries`).set(hf.auth).expect(200);
          return res.body.items[0]?.status === 'delivered' && res.body.items;
        },
        { what: 'the delivery recorded as delivered' },
      );
      // Only the flow its patterns match: the other flow's failure was not sent.
      expect(deliveries).toHaveLength(1);
      expect(deliveries[0]).toMatchObject({
        eventType: 'run.failed',
        status: 'delivered',
        attempts: 1,
        lastStatus: 200,
      });
      expect(at('/ops')).toHaveLength(1);
      await api().delete(`/api/subscriptions/${id}`).set(hf.auth).expect(204);
    });

    it('sends run.succeeded while a subscription asks for it (the outbox writes it only then)', async () => {
      const created = await api()
        .post('/api/subscriptions')
        .set(hf.auth)
        .send({ url: `${sink.url}/succeeded`, events: ['run.succeeded'], flows: ['happy-orders'] })
        .expect(201);
      const { hookPath } = await hf.createFlow({
        slug: 'happy-orders',
        trigger: { type: 'webhook' },
        steps: [{ id: 'shape', type: 'transform', expression: '{ "n": n }' }],
      });
      const res = await api().post(hookPath).send({ n: 1 }).expect(202);
      expect((await hf.waitForRun(res.body.runId)).status).toBe('succeeded');
      const [received] = await sink.waitForRequests('/succeeded', 1);
      expect(
        new Webhook(created.body.secret).verify(received.body, received.headers as Record<string, string>),
      ).toMatchObject({
        type: 'run.succeeded',
        run: { id: res.body.runId, status: 'succeeded' },
      });
      await api().delete(`/api/subscriptions/${created.body.id}`).set(hf.auth).expect(204);
    });

    it('schedules another try about a minute after a 503', async () => {
      // The schedule's first wait is a minute: this test reads the retry as scheduled, not as sent.
      const created = await api()
        .post('/api/subscriptions')
        .set(hf.auth)
        .send({ url: `${sink.url}/flaky`, events: ['run.failed'], flows: ['flaky-orders'] })
        .expect(201);
      sink.script('/flaky', [503]);
      const { hookPath } = await hf.createFlow(failingFlow('flaky-orders', sink));
      await failRuns(hookPath, 1);
      const [delivery] = await waitFor(
        async () => {
          const res = await api()
            .get(`/api/subscriptions/${created.body.id}/deliveries`)
            .set(hf.auth)
            .expect(200);
          return res.body.items[0]?.lastStatus === 503 && res.body.items;
        },
        { what: 'the first try answered 503' },
      );
      expect(delivery).toMatchObject({ status: 'pending', attempts: 1, lastStatus: 503 });
      expect(delivery.lastError).toContain('503');
      const waitMs = Date.parse(delivery.nextAt) - Date.now();
      expect(waitMs).toBeGreaterThan(30_000);
      expect(waitMs).toBeLessThan(80_000);
      await api().delete(`/api/subscriptions/${created.body.id}`).set(hf.auth).expect(204);
    });
  });

  describe('alert rules', () => {
    beforeAll(async () => {
      await api()
        .put('/api/secrets/OPS_ALERT_URL')
        .set(hf.auth)
        .send({ value: `${sink.url}/alerts` })
        .expect(204);
    });

    const alertsAt = (slug: string): SinkRequest[] =>
      at('/alerts').filter((r) => (r.json as { flow?: string }).flow === slug);

    it('sends one message for ten failures within the throttle window', async () => {
      const { hookPath } = await hf.createFlow(
        failingFlow('alerted-orders', sink, {
          alerts: { onFailure: { connector: 'http', url: "{{secret 'OPS_ALERT_URL'}}" }, throttle: '15m' },
        }),
      );
      const [firstRun] = await failRuns(hookPath, 10);
      const state = await waitFor(
        async () => {
          const res = await api().get('/api/flows/alerted-orders/alerts').set(hf.auth).expect(200);
          return res.body.pending === 9 && res.body;
        },
        { what: 'nine failures counted in the window' },
      );
      expect(state.rule).toEqual({ connector: 'http', throttle: '15m', throttleMs: 900_000 });
      expect(Date.parse(state.windowEndsAt) - Date.parse(state.lastSentAt)).toBe(900_000);
      const [message] = await waitFor(
        () => alertsAt('alerted-orders').length > 0 && alertsAt('alerted-orders'),
        {
          what: 'the alert message',
        },
      );
      expect(message.json).toMatchObject({
        type: 'alert.run_failed',
        flow: 'alerted-orders',
        count: 1,
        text: expect.stringContaining('A run of alerted-orders failed: step post http_error'),
        run: { id: firstRun },
      });
      expect(alertsAt('alerted-orders')).toHaveLength(1);
      // The secret URL is the credential: it is nowhere in what the API shows.
      const shown = await api().get('/api/flows/alerted-orders/alerts').set(hf.auth).expect(200);
      expect(JSON.stringify(shown.body)).not.toContain(sink.url);
    });

    it("tells a short window's count in one message when it ends", async () => {
      const { hookPath } = await hf.createFlow(
        failingFlow('briefly-alerted', sink, {
          alerts: { onFailure: { connector: 'http', url: "{{secret 'OPS_ALERT_URL'}}" }, throttle: '4s' },
        }),
      );
      await Promise.all(Array.from({ length: 4 }, (_, i) => api().post(hookPath).send({ i }).expect(202)));
      // Every failure is told once: alone (count 1) or in a window's count.
      const messages = await waitFor(
        () => {
          const got = alertsAt('briefly-alerted');
          const told = got.reduce((sum, r) => sum + (r.json as { count: number }).count, 0);
          return told >= 4 && got;
        },
        { timeoutMs: 30_000, what: 'four failures told' },
      );
      const bodies = messages.map(
        (r) => r.json as { type: string; count: number; text: string; url: string },
      );
      expect(bodies[0]).toMatchObject({ type: 'alert.run_failed', count: 1 });
      const summary = bodies.find((b) => b.type === 'alert.runs_failed');
      expect(summary?.text).toMatch(/^\d more runs? of briefly-alerted failed in the last 4s\. /);
      expect(summary?.url).toMatch(/\/ui\/runs\?flow=briefly-alerted&status=failed$/);
      const times = messages.map((r) => r.at);
      for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(3_500);
      const state = await api().get('/api/flows/briefly-alerted/alerts').set(hf.auth).expect(200);
      expect(state.body.pending).toBe(0);
    });

    it('refuses a rule whose template names a step, and shows a flow without one', async () => {
      const res = await api()
        .post('/api/flows')
        .set(hf.auth)
        .send(
          failingFlow('bad-alert', sink, {
            alerts: { onFailure: { connector: 'slack', url: 'https://hooks.slack.test/{{steps.post.id}}' } },
          }),
        )
        .expect(400);
      expect(res.body.details.map((d: { path: string }) => d.path)).toContain('/alerts/onFailure/url');
      await hf.createFlow(failingFlow('quiet-orders', sink));
      const quiet = await api().get('/api/flows/quiet-orders/alerts').set(hf.auth).expect(200);
      expect(quiet.body).toEqual({ rule: null, lastSentAt: null, windowEndsAt: null, pending: 0 });
      await api().get('/api/flows/no-such-flow/alerts').set(hf.auth).expect(404);
    });
  });
});

/** Without a master key no signing secret can be stored: creating a subscription is refused. */
describe('operational webhooks without HOOKFLOW_MASTER_KEY', () => {
  let hf: HookflowHarness;

  beforeAll(async () => {
    hf = await HookflowHarness.start({ worker: false, env: { HOOKFLOW_MASTER_KEY: '' } });
  });

  afterAll(async () => {
    await hf?.close();
  });

  it('answers 503 unavailable naming the key', async () => {
    const res = await hf
      .http()
      .post('/api/subscriptions')
      .set(hf.auth)
      .send({ url: 'https://example.com/x', events: ['run.failed'] })
      .expect(503);
    expect(res.body).toMatchObject({
      error: 'unavailable',
      message: expect.stringContaining('HOOKFLOW_MASTER_KEY'),
    });
    await hf.http().get('/api/subscriptions').set(hf.auth).expect(200);
  });
});

/** Two worker processes share the outbox and the deliveries: still one message, each failure counted once. */
describe('alert rules with two workers', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start({ replicas: 2 });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  it('sends one message for twenty failures, and counts nineteen', async () => {
    await hf
      .http()
      .put('/api/secrets/OPS_ALERT_URL')
      .set(hf.auth)
      .send({ value: `${sink.url}/alerts` })
      .expect(204);
    const { hookPath } = await hf.createFlow(
      failingFlow('shared-orders', sink, {
        alerts: { onFailure: { connector: 'http', url: "{{secret 'OPS_ALERT_URL'}}" } },
      }),
    );
    const runIds = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const res = await hf
          .http(i % 2)
          .post(hookPath)
          .send({ i })
          .expect(202);
        return res.body.runId as string;
      }),
    );
    for (const id of runIds) expect((await hf.waitForRun(id)).status).toBe('failed');
    const state = await waitFor(
      async () => {
        const res = await hf.http().get('/api/flows/shared-orders/alerts').set(hf.auth).expect(200);
        return res.body.pending === 19 && res.body;
      },
      { what: 'nineteen failures counted', timeoutMs: 30_000 },
    );
    expect(state.rule).toMatchObject({ throttle: '15m' });
    // 19 counted of 20 means one failure alone was told: a second message would have left 18.
    await sink.waitForRequests('/alerts', 1);
    expect(sink.received('/alerts')).toHaveLength(1);
  });
});
