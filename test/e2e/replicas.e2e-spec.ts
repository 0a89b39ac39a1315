import { Client } from 'pg';
import { HookflowHarness, TEST_DATABASE_URL } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';

/** Webhooks per test: enough for claims, joins and dedupe keys to meet across processes, few enough for CI. */
const WEBHOOKS = 150;
const PARALLEL = 24;

/**
 * Two API processes and two worker processes on one database and one queue, as replicas run:
 * webhooks go to both APIs, steps are claimed by both workers, and every join, dedupe key and
 * claim is decided between processes, never inside one.
 */
describe('two APIs and two workers', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;
  let db: Client;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start({ replicas: 2, env: { WORKER_CONCURRENCY: '8' } });
    db = new Client({ connectionString: TEST_DATABASE_URL });
    await db.connect();
    await db.query(`SET search_path TO "${hf.id}"`);
  });

  afterAll(async () => {
    await db?.end();
    await hf?.close();
    await sink?.close();
  });

  /** Sends `count` requests, `PARALLEL` at a time, the ith to API i % 2; returns the answers in order. */
  async function spread(
    count: number,
    send: (api: ReturnType<HookflowHarness['http']>, i: number) => Promise<{ status: number; body: any }>,
  ): Promise<{ status: number; body: any }[]> {
    const answers: { status: number; body: any }[] = new Array(count);
    let next = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        for (let i = next++; i < count; i = next++) {
          const { status, body } = await send(hf.http(i % 2), i);
          answers[i] = { status, body };
        }
      }),
    );
    return answers;
  }

  /** Waits until every run of `slug` is final; returns their ids. */
  async function allFinished(slug: string, count: number): Promise<string[]> {
    const rows = await waitFor(
      async () => {
        const { rows } = await db.query(
          `SELECT r.id, r.status FROM runs r JOIN flows f ON f.id = r.flow_id WHERE f.slug = $1`,
          [slug],
        );
        const final = rows.filter((r) => ['succeeded', 'failed', 'filtered', 'cancelled'].includes(r.status));
        return rows.length === count && final.length === count && rows;
      },
      { timeoutMs: 45_000, what: `${count} runs of ${slug} to finish` },
    );
    expect(rows.filter((r) => r.status !== 'succeeded')).toEqual([]);
    return rows.map((r) => r.id);
  }

  /** Per step of the flow's runs: its claims (the step's attempt counter) and its recorded attempts. */
  async function claimsAndAttempts(slug: string) {
    const { rows } = await db.query(
      `SELECT s.run_id, s.step_id, s.status, s.attempts AS claims,
              coalesce(array_agg(a.n ORDER BY a.n) FILTER (WHERE a.n IS NOT NULL), '{}') AS recorded,
              coalesce(array_agg(a.outcome ORDER BY a.n) FILTER (WHERE a.n IS NOT NULL), '{}') AS outcomes
         FROM step_runs s JOIN runs r ON r.id = s.run_id JOIN flows f ON f.id = r.flow_id
         LEFT JOIN step_attempts a ON a.run_id = s.run_id AND a.step_id = s.step_id
        WHERE f.slug = $1
        GROUP BY s.run_id, s.step_id, s.status, s.attempts`,
      [slug],
    );
    return rows as {
      run_id: string;
      step_id: string;
      status: string;
      claims: number;
      recorded: number[];
      outcomes: string[];
    }[];
  }

  /** Step attempts each worker has finished so far, from its /metrics. */
  async function attemptsByWorker(): Promise<number[]> {
    return Promise.all(
      hf.workerUrls.map(async (url) => {
        const text = await (await fetch(`${url}/metrics`)).text();
        return [...text.matchAll(/^hookflow_steps_total\{[^}]*\} (\d+)$/gm)].reduce(
          (n, m) => n + Number(m[1]),
          0,
        );
      }),
    );
  }

  it('runs the join of a fan-out exactly once per run, its branches ended on either worker', async () => {
    const before = await attemptsByWorker();
    const { hookPath } = await hf.createFlow({
      slug: 'diamond',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'start', type: 'transform', expression: '$' },
        ...['left', 'middle', 'right'].map((id) => ({
          id,
          type: 'action',
          connector: 'http',
          needs: ['start'],
          with: { url: `${sink.url}/${id}`, json: '{{input}}' },
        })),
        {
          id: 'join',
          type: 'action',
          connector: 'http',
          needs: ['left', 'middle', 'right'],
          with: { url: `${sink.url}/join`, json: { run: '{{run.id}}', n: '{{steps.start.n}}' } },
        },
      ],
    });
    const answers = await spread(WEBHOOKS, (api, n) => api.post(hookPath).send({ n }));
    expect(answers.map((a) => a.status)).toEqual(new Array(WEBHOOKS).fill(202));

    const runIds = await allFinished('diamond', WEBHOOKS);
    const joins = sink.received('/join').map((r) => (r.json as { run: string }).run);
    expect(joins.sort()).toEqual([...runIds].sort());
    for (const step of await claimsAndAttempts('diamond')) {
      expect(step).toMatchObject({ status: 'succeeded', claims: 1, recorded: [1], outcomes: ['succeeded'] });
    }
    const after = await attemptsByWorker();
    // Both workers ran steps of these runs.
    expect(after.map((n, i) => n - before[i] > 0)).toEqual([true, true]);
  });

  it('runs an any-join after a router and a filter exactly once per run, with the branches that ran', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'routed-any',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'route',
          type: 'router',
          mode: 'all',
          paths: [{ name: 'even', when: 'n % 2 = 0' }, { name: 'all' }],
        },
        { id: 'even', type: 'transform', needs: ['route.even'], expression: '"even"' },
        { id: 'three', type: 'filter', needs: [], condition: 'n % 3 = 0' },
        {
          id: 'join',
          type: 'action',
          connector: 'http',
          needs: ['even', 'three'],
          join: 'any',
          with: { url: `${sink.url}/any-join`, json: { run: '{{run.id}}', via: '{{input}}' } },
        },
      ],
    });
    const answers = await spread(WEBHOOKS, (api, n) => api.post(hookPath).send({ n }));
    expect(answers.map((a) => a.status)).toEqual(new Array(WEBHOOKS).fill(202));
    const runIds = new Map(answers.map((a, n) => [a.body.runId as string, n]));

    const { rows } = await waitFor(
      async () => {
        const result = await db.query(
          `SELECT r.id, r.status FROM runs r JOIN flows f ON f.id = r.flow_id WHERE f.slug = 'routed-any'`,
        );
        return result.rows.length === WEBHOOKS &&
          result.rows.every((r) => ['succeeded', 'filtered', 'failed'].includes(r.status))
          ? result
          : undefined;
      },
      { timeoutMs: 45_000, what: 'the routed runs to finish' },
    );
    // A run whose n is odd and not a multiple of 3 has no branch through: it ends filtered, nothing sent.
    const through = (n: number) => n % 2 === 0 || n % 3 === 0;
    for (const row of rows) expect(row.status).toBe(through(runIds.get(row.id)!) ? 'succeeded' : 'filtered');
    const joins = sink
      .received('/any-join')
      .map((r) => r.json as { run: string; via: Record<string, unknown> });
    expect(joins.map((j) => j.run).sort()).toEqual(
      [...runIds.keys()].filter((id) => through(runIds.get(id)!)).sort(),
    );
    for (const join of joins) {
      const n = runIds.get(join.run)!;
      expect(Object.keys(join.via).sort()).toEqual([
        ...(n % 2 === 0 ? ['even'] : []),
        ...(n % 3 === 0 ? ['three'] : []),
      ]);
    }
  });

  it('stores one run per dedupe key when copies of a delivery reach both APIs at once', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'deduped',
      trigger: { type: 'webhook', dedupe: { header: 'webhook-id' } },
      steps: [
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/deduped`, json: '{{input}}' },
        },
      ],
    });
    const COPIES = 5;
    const keys = WEBHOOKS / COPIES;
    // The copies of a key are next to each other in the order, so they are in flight together.
    const keyOf = (i: number) => Math.floor(i / COPIES);
    const answers = await spread(WEBHOOKS, (api, i) =>
      api
        .post(hookPath)
        .set('webhook-id', `evt_${keyOf(i)}`)
        .send({ key: keyOf(i) }),
    );

    const byKey = new Map<number, { status: number; body: any }[]>();
    answers.forEach((a, i) => byKey.set(keyOf(i), [...(byKey.get(keyOf(i)) ?? []), a]));
    for (const [key, copies] of byKey) {
      const first = copies.filter((c) => c.status === 202);
      expect({ key, accepted: first.length }).toEqual({ key, accepted: 1 });
      for (const repeat of copies.filter((c) => c !== first[0]))
        expect({ key, ...repeat }).toEqual({
          key,
          status: 200,
          body: { runId: first[0].body.runId, duplicate: true },
        });
    }
    await allFinished('deduped', keys);
    await sink.waitForRequests('/deduped', keys);
    const delivered = sink.received('/deduped').map((r) => (r.json as { key: number }).key);
    expect(delivered.sort((a, b) => a - b)).toEqual([...byKey.keys()].sort((a, b) => a - b));
  });

  it('claims each attempt of a step once between two workers, and delivers exactly once when nothing fails', async () => {
    const before = await attemptsByWorker();
    // The first 20 calls to /flaky answer 503: those steps take another attempt, claimed anew.
    sink.script('/flaky', new Array(20).fill(503));
    const { hookPath } = await hf.createFlow({
      slug: 'claims',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'first',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/first`, json: '{{input}}' },
        },
        ...['steady', 'flaky'].map((id) => ({
          id,
          type: 'action',
          connector: 'http',
          needs: ['first'],
          with: { url: `${sink.url}/${id}`, json: { run: '{{run.id}}' } },
          retry: { attempts: 5, backoff: 'fixed', delay: '50ms' },
        })),
      ],
    });
    const answers = await spread(WEBHOOKS, (api, n) => api.post(hookPath).send({ run: n }));
    expect(answers.map((a) => a.status)).toEqual(new Array(WEBHOOKS).fill(202));
    await allFinished('claims', WEBHOOKS);

    for (const step of await claimsAndAttempts('claims')) {
      // One claim per attempt, numbered without gaps, the last one succeeded.
      const tries = step.claims;
      expect({ ...step, run_id: undefined }).toEqual({
        run_id: undefined,
        step_id: step.step_id,
        status: 'succeeded',
        claims: tries,
        recorded: Array.from({ length: tries }, (_, i) => i + 1),
        outcomes: [...new Array(tries - 1).fill('retrying'), 'succeeded'],
      });
      if (step.step_id !== 'flaky') expect(tries).toBe(1);
      // Each attempt reached the receiver once, with the step's one Idempotency-Key.
      const calls = sink
        .received(`/${step.step_id}`)
        .filter((r) => r.headers['idempotency-key'] === `${step.run_id}_${step.step_id}`);
      expect({ step: step.step_id, calls: calls.length }).toEqual({ step: step.step_id, calls: tries });
    }
    expect(sink.received('/flaky')).toHaveLength(WEBHOOKS + 20);
    expect(sink.received('/steady')).toHaveLength(WEBHOOKS);
    const after = await attemptsByWorker();
    expect(after.map((n, i) => n - before[i] > 0)).toEqual([true, true]);
  });
});
