import { jest } from '@jest/globals';
import { StepGraph } from '@hookflow/flows';
import { FlowRepository, RunIntake, RunOperations, StepTransitions } from '@hookflow/store';
import { StepMovedError } from '../../apps/worker/src/runs/run-progress';
import { DataSource } from 'typeorm';
import { HookflowHarness } from '../utils/hookflow-harness';
import { stepEnds, type EndStep } from '../utils/step-ends';
import { waitFor } from '../utils/wait-for';

/**
 * The step path's two shortcuts, on the real database: a step whose claim still reflects the run
 * ends in one statement (no transaction, no re-read), decided again on a fresh view when
 * anything moved since; and concurrent webhooks share one INSERT without sharing a fate.
 */
describe('run hot path', () => {
  let hf: HookflowHarness;
  let runs: StepTransitions;
  let endStep: EndStep;
  let ds: DataSource;

  beforeAll(async () => {
    hf = await HookflowHarness.start({ worker: false });
    runs = hf.api.get(StepTransitions);
    endStep = stepEnds(hf);
    ds = hf.api.get(DataSource);
  });

  afterAll(async () => {
    await hf?.close();
  });

  afterEach(() => jest.restoreAllMocks());

  /** The hot statements go straight to the pool as named prepared statements: count them there. */
  function spyOnInserts(): () => number[] {
    const pool = (ds.driver as unknown as { master: { query: (...args: unknown[]) => unknown } }).master;
    const spy = jest.spyOn(pool, 'query');
    return () =>
      spy.mock.calls
        .map(([config]) => config as { name?: string; values?: unknown[][] })
        .filter((config) => config?.name === 'hookflow_insert_runs')
        .map((config) => config.values![0].length);
  }

  /** How many steps each joint statement `name` carried (a call of the single-step statement is not one). */
  function spyOnJoint(name: 'hookflow_record_step_ends' | 'hookflow_read_steps'): () => number[] {
    const pool = (ds.driver as unknown as { master: { query: (...args: unknown[]) => unknown } }).master;
    const spy = jest.spyOn(pool, 'query');
    return () =>
      spy.mock.calls
        .map(([config]) => config as { name?: string; values?: unknown[] })
        .filter((config) => config?.name === name)
        .map((config) =>
          name === 'hookflow_record_step_ends'
            ? (JSON.parse(config.values![0] as string) as unknown[]).length
            : (config.values![0] as unknown[]).length,
        );
  }

  /** `count` runs of a -> b, each by its own webhook, with `a` claimed. */
  async function claimedRuns(slug: string, count: number) {
    const { hookPath } = await hf.createFlow({
      slug,
      trigger: { type: 'webhook' },
      steps: [
        { id: 'a', type: 'transform', expression: '$' },
        { id: 'b', type: 'transform', expression: '$' },
      ],
    });
    const claimed = [];
    for (let k = 0; k < count; k++) {
      const { body } = await hf.http().post(hookPath).send({ k }).expect(202);
      const claim = await runs.claimStep(body.runId, 'a', 60_000);
      claimed.push({ runId: body.runId as string, claim: claim! });
    }
    return claimed;
  }

  const attempt = (n: number) => ({
    n,
    startedAt: new Date(),
    durationMs: 1,
    outcome: 'succeeded' as const,
    error: null,
    responseStatus: null,
  });
  const done = (output: unknown) => ({ status: 'succeeded' as const, input: {}, output, error: null });

  async function newRun(slug: string, steps: { id: string; needs?: string[] }[]): Promise<string> {
    const { hookPath } = await hf.createFlow({
      slug,
      trigger: { type: 'webhook' },
      steps: steps.map((s) => ({ ...s, type: 'transform', expression: '$' })),
    });
    const { body } = await hf.http().post(hookPath).send({ slug }).expect(202);
    return body.runId;
  }

  async function stepRows(runId: string) {
    const rows: { step_id: string; status: string; enqueued: boolean }[] = await ds.query(
      `SELECT step_id, status, enqueued_at IS NOT NULL AS enqueued FROM step_runs WHERE run_id = $1 ORDER BY position`,
      [runId],
    );
    return Object.fromEntries(rows.map((r) => [r.step_id, `${r.status}${r.enqueued ? '+q' : ''}`]));
  }

  it('ends a step of a linear run in one statement, from what its claim saw', async () => {
    const runId = await newRun('linear', [{ id: 'a' }, { id: 'b' }]);
    const graph = new StepGraph([{ id: 'a' }, { id: 'b' }]);
    const claimed = await runs.claimStep(runId, 'a', 60_000);
    expect(claimed?.view).toEqual({
      version: expect.any(Number),
      status: 'running',
      steps: {
        a: { status: 'running', attempts: 1, enqueued: true, held: true },
        b: { status: 'pending', attempts: 0, enqueued: false, held: false },
      },
    });

    const tx = jest.spyOn(ds, 'transaction');
    const a = await endStep(runId, 'a', done({ x: 1 }), attempt(1), graph, claimed!);
    expect(a).toEqual({ recorded: true, ready: ['b'], runStatus: null });
    expect(tx).not.toHaveBeenCalled();
    expect(await stepRows(runId)).toEqual({ a: 'succeeded+q', b: 'pending+q' });

    const b = await runs.claimStep(runId, 'b', 60_000);
    expect(b?.outputs).toEqual({ a: { x: 1 } });
    const last = await endStep(runId, 'b', done({ y: 2 }), attempt(1), graph, b!);
    expect(last).toEqual({ recorded: true, ready: [], runStatus: 'succeeded' });
    expect(tx).not.toHaveBeenCalled();
    const [run] = await ds.query(`SELECT status, finished_at FROM runs WHERE id = $1`, [runId]);
    expect(run.status).toBe('succeeded');
    expect(run.finished_at).not.toBeNull();
    const attempts = await ds.query(
      `SELECT step_id, n FROM step_attempts WHERE run_id = $1 ORDER BY step_id`,
      [runId],
    );
    expect(attempts).toEqual([
      { step_id: 'a', n: 1 },
      { step_id: 'b', n: 1 },
    ]);
  });

  it('updates step rows in place (HOT): no index write when a step changes status', async () => {
    const runId = await newRun('hot', [{ id: 'a' }]);
    const tx = ds.createQueryRunner();
    await tx.connect();
    try {
      await tx.startTransaction();
      const hotUpdates = async (): Promise<number> =>
        (await tx.query(`SELECT pg_stat_get_xact_tuples_hot_updated('step_runs'::regclass)::int AS n`))[0].n;
      const before = await hotUpdates();
      await tx.query(
        `UPDATE step_runs SET status = 'running', attempts = 1 WHERE run_id = $1 AND step_id = 'a'`,
        [runId],
      );
      expect((await hotUpdates()) - before).toBe(1);
    } finally {
      await tx.rollbackTransaction();
      await tx.release();
    }
  });

  it('claims a step read without a claim in the statement that records its end', async () => {
    const graph = new StepGraph([{ id: 'a' }, { id: 'b' }]);
    const runId = await newRun('unclaimed', [{ id: 'a' }, { id: 'b' }]);
    const read = await runs.readStep(runId, 'a');
    expect(read).toMatchObject({ attempt: 1, unclaimed: { status: 'pending', attempts: 0 } });
    expect(await stepRows(runId)).toEqual({ a: 'pending+q', b: 'pending' });
    const tx = jest.spyOn(ds, 'transaction');
    const done1 = await endStep(runId, 'a', done({ x: 1 }), attempt(1), graph, read!);
    expect(done1).toEqual({ recorded: true, ready: ['b'], runStatus: null });
    expect(tx).not.toHaveBeenCalled();
    const [row] = await ds.query(
      `SELECT s.attempts, s.started_at IS NOT NULL AS started, r.status AS run_status
         FROM step_runs s JOIN runs r ON r.id = s.run_id WHERE s.run_id = $1 AND s.step_id = 'a'`,
      [runId],
    );
    expect(row).toEqual({ attempts: 1, started: true, run_status: 'running' });
    expect(await stepRows(runId)).toEqual({ a: 'succeeded+q', b: 'pending+q' });
  });

  it('writes nothing for a step read without a claim when the run moved since the read', async () => {
    const graph = new StepGraph([{ id: 'a' }, { id: 'b' }]);
    const runId = await newRun('unclaimed-moved', [{ id: 'a' }, { id: 'b' }]);
    const read = await runs.readStep(runId, 'a');
    // Another worker claimed it meanwhile (a duplicate job): the read is stale.
    expect(await runs.claimStep(runId, 'a', 60_000)).not.toBeNull();
    await expect(endStep(runId, 'a', done(1), attempt(1), graph, read!)).rejects.toBeInstanceOf(
      StepMovedError,
    );
    expect(await stepRows(runId)).toEqual({ a: 'running+q', b: 'pending' });
    expect(await runs.readStep(runId, 'a')).toBeNull();
  });

  it('refuses to claim a pending step that was never handed to the queue', async () => {
    // A job left over from an earlier life of the run (or a step whose predecessor's end a
    // database crash forgot) must not start it ahead of its needs.
    const runId = await newRun('not-yet', [{ id: 'a' }, { id: 'b' }]);
    expect(await runs.claimStep(runId, 'b', 60_000)).toBeNull();
    expect(await stepRows(runId)).toEqual({ a: 'pending+q', b: 'pending' });
  });

  it('claims in the same lock order as a cancel: the claim waits, finds the run over, no deadlock', async () => {
    const runId = await newRun('lock-order', [{ id: 'a' }, { id: 'b', needs: [] }]);
    expect(await runs.claimStep(runId, 'a', 60_000)).not.toBeNull();
    // A cancel, statement by statement: the run row first, then the steps.
    const cancel = ds.createQueryRunner();
    await cancel.connect();
    try {
      await cancel.startTransaction();
      await cancel.query(`SELECT status FROM runs WHERE id = $1 FOR UPDATE`, [runId]);
      const claim = runs.claimStep(runId, 'b', 60_000);
      await waitFor(async () => {
        const [{ n }] = await ds.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%run_lock%'`,
        );
        return n > 0;
      });
      await cancel.query(`UPDATE runs SET status = 'cancelled', finished_at = now() WHERE id = $1`, [runId]);
      await cancel.query(
        `UPDATE step_runs SET status = 'cancelled' WHERE run_id = $1 AND status IN ('pending', 'running')`,
        [runId],
      );
      await cancel.commitTransaction();
      await expect(claim).resolves.toBeNull();
    } finally {
      await cancel.release();
    }
    expect(await stepRows(runId)).toEqual({ a: 'cancelled+q', b: 'cancelled+q' });
  });

  it('decides again under the run lock when a sibling moved since the claim, and readies a join once', async () => {
    const steps = [
      { id: 'a' },
      { id: 'b', needs: ['a'] },
      { id: 'c', needs: ['a'] },
      { id: 'd', needs: ['b', 'c'] },
    ];
    const graph = new StepGraph(steps);
    const runId = await newRun('join', steps);
    const a = await runs.claimStep(runId, 'a', 60_000);
    expect(await endStep(runId, 'a', done(1), attempt(1), graph, a!)).toMatchObject({
      ready: ['b', 'c'],
    });

    const b = await runs.claimStep(runId, 'b', 60_000);
    const c = await runs.claimStep(runId, 'c', 60_000);
    const tx = jest.spyOn(ds, 'transaction');
    const writes = spyOnJoint('hookflow_record_step_ends');
    const locks = jest.spyOn(runs, 'lockRun');
    // b's view predates c's claim: its write is refused, and b's end is decided again on a view
    // read with the run locked, and written before the lock is let go.
    const bDone = await endStep(runId, 'b', done(2), attempt(1), graph, b!);
    expect(bDone).toEqual({ recorded: true, ready: [], runStatus: null });
    expect(tx).not.toHaveBeenCalled();
    expect(writes()).toEqual([1]);
    expect(locks).toHaveBeenCalledTimes(1);
    locks.mockRestore();
    const cDone = await endStep(runId, 'c', done(3), attempt(1), graph, c!);
    expect(cDone).toEqual({ recorded: true, ready: ['d'], runStatus: null });
    expect(await stepRows(runId)).toEqual({
      a: 'succeeded+q',
      b: 'succeeded+q',
      c: 'succeeded+q',
      d: 'pending+q',
    });
  });

  it('readies a join exactly once when its needs end at the same moment', async () => {
    const steps = [{ id: 'a' }, { id: 'b', needs: [] }, { id: 'j', needs: ['a', 'b'] }];
    const graph = new StepGraph(steps);
    for (let i = 0; i < 10; i++) {
      const runId = await newRun(`race-${i}`, steps);
      const [a, b] = await Promise.all([
        runs.claimStep(runId, 'a', 60_000),
        runs.claimStep(runId, 'b', 60_000),
      ]);
      const results = await Promise.all([
        endStep(runId, 'a', done(1), attempt(1), graph, a!),
        endStep(runId, 'b', done(2), attempt(1), graph, b!),
      ]);
      expect(results.every((r) => r.recorded)).toBe(true);
      expect(results.flatMap((r) => r.ready)).toEqual(['j']);
    }
  });

  it('refuses the shortcut after a cancel: the result is recorded but moves nothing', async () => {
    const graph = new StepGraph([{ id: 'a' }, { id: 'b' }]);
    const runId = await newRun('cancelled', [{ id: 'a' }, { id: 'b' }]);
    const a = await runs.claimStep(runId, 'a', 60_000);
    expect(await hf.api.get(RunOperations).cancelRun(runId)).toMatchObject({ kind: 'done' });
    const finished = await endStep(runId, 'a', done(1), attempt(1), graph, a!);
    expect(finished).toEqual({ recorded: true, ready: [], runStatus: 'cancelled' });
    expect(await stepRows(runId)).toEqual({ a: 'succeeded+q', b: 'cancelled' });
  });

  it('stores concurrent webhooks together, each with its own event, run and steps', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'burst',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'first', type: 'transform', expression: '$' },
        { id: 'second', type: 'transform', expression: '$' },
      ],
    });
    const inserts = spyOnInserts();
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => hf.http().post(hookPath).send({ n: i }).expect(202)),
    );
    // Whether some of the 40 shared a statement depends on timing (the next test forces it); every
    // one of them went through the batched insert.
    expect(inserts().reduce((a, b) => a + b, 0)).toBe(40);
    const runIds = answers.map((a) => a.body.runId as string);
    expect(new Set(runIds).size).toBe(40);
    const rows: { id: string; n: number; steps: string[]; enqueued: string[] }[] = await ds.query(
      `SELECT r.id, (e.body->>'n')::int AS n,
              array_agg(s.step_id ORDER BY s.position) AS steps,
              array_agg(s.step_id ORDER BY s.position) FILTER (WHERE s.enqueued_at IS NOT NULL) AS enqueued
         FROM runs r JOIN events e ON e.id = r.event_id AND e.run_id = r.id
         JOIN step_runs s ON s.run_id = r.id
        WHERE r.id = ANY($1::uuid[]) GROUP BY r.id, (e.body->>'n')`,
      [runIds],
    );
    const byRun = new Map(rows.map((r) => [r.id, r]));
    runIds.forEach((id, i) => {
      expect(byRun.get(id)).toMatchObject({ n: i, steps: ['first', 'second'], enqueued: ['first'] });
    });
  });

  it('fails only the webhook whose rows cannot be stored when it shares a statement', async () => {
    const flows = hf.api.get(FlowRepository);
    await hf.createFlow({
      slug: 'shared-fate',
      trigger: { type: 'webhook' },
      steps: [{ id: 'only', type: 'transform', expression: '$' }],
    });
    const stored = (await flows.findBySlug('shared-fate'))!;
    const event = (flowId: string, n: number) => ({
      flowId,
      flowVersionId: stored.version.id,
      method: 'POST',
      headers: {},
      query: {},
      body: { n },
      rawBody: null,
      contentType: 'application/json',
      sourceIp: '127.0.0.1',
      receivedAt: new Date(),
      statusCode: 202,
    });
    const steps = [{ id: 'only', root: true }];
    // Submitted in one turn of the event loop, they share one statement, which the unknown flow id
    // breaks: each is then stored on its own.
    const unknownFlow = '00000000-0000-4000-8000-000000000000';
    const ids = Array.from({ length: 12 }, (_, n) => (n === 10 ? unknownFlow : stored.flow.id));
    const inserts = spyOnInserts();
    const results = await Promise.allSettled(
      ids.map((id, n) => hf.api.get(RunIntake).createRunFromEvent(event(id, n), steps)),
    );
    expect(results.map((r) => r.status)).toEqual(
      ids.map((id) => (id === unknownFlow ? 'rejected' : 'fulfilled')),
    );
    expect(Math.max(...inserts())).toBeGreaterThan(1);
    const stored11: { n: number }[] = await ds.query(
      `SELECT (body->>'n')::int AS n FROM events WHERE flow_id = $1 ORDER BY 1`,
      [stored.flow.id],
    );
    expect(stored11.map((r) => r.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11]);
  });

  it('records concurrent ends of steps of different runs in one statement, each as its own would', async () => {
    const graph = new StepGraph([{ id: 'a' }, { id: 'b' }]);
    const claimed = await claimedRuns('joint-ends', 6);
    const joint = spyOnJoint('hookflow_record_step_ends');
    const tx = jest.spyOn(ds, 'transaction');
    const ends = await Promise.all(
      claimed.map(({ runId, claim }, k) =>
        endStep(runId, 'a', done({ k }), attempt(claim.attempt), graph, claim),
      ),
    );
    // Submitted in one turn of the event loop: one statement for the six.
    expect(joint()).toEqual([6]);
    expect(tx).not.toHaveBeenCalled();
    expect(ends).toEqual(claimed.map(() => ({ recorded: true, ready: ['b'], runStatus: null })));
    for (const [k, { runId }] of claimed.entries()) {
      expect(await stepRows(runId)).toEqual({ a: 'succeeded+q', b: 'pending+q' });
      const [a] = await ds.query(
        `SELECT s.output, (SELECT count(*)::int FROM step_attempts t WHERE t.run_id = s.run_id) AS attempts
           FROM step_runs s WHERE s.run_id = $1 AND s.step_id = 'a'`,
        [runId],
      );
      expect(a).toEqual({ output: { k }, attempts: 1 });
    }
  });

  it('claims the next step for each run in the shared statement, and ends the runs it finishes', async () => {
    const graph = new StepGraph([{ id: 'a' }, { id: 'b' }]);
    const claimed = await claimedRuns('joint-next', 6);
    const joint = spyOnJoint('hookflow_record_step_ends');
    const ends = await Promise.all(
      claimed.map(({ runId, claim }) =>
        endStep(runId, 'a', done({}), attempt(claim.attempt), graph, claim, async () => ({
          stepId: 'b',
          leaseMs: 60_000,
        })),
      ),
    );
    expect(joint()).toEqual([6]);
    for (const end of ends) {
      expect(end.next).toMatchObject({ stepId: 'b', claimed: { attempt: 1, outputs: { a: {} } } });
    }
    const lasts = await Promise.all(
      claimed.map(({ runId }, k) =>
        endStep(runId, 'b', done({ k }), attempt(1), graph, ends[k].next!.claimed),
      ),
    );
    expect(joint()).toEqual([6, 6]);
    expect(lasts).toEqual(claimed.map(() => ({ recorded: true, ready: [], runStatus: 'succeeded' })));
    const statuses: { status: string }[] = await ds.query(
      `SELECT status FROM runs WHERE id = ANY ($1::uuid[])`,
      [claimed.map((c) => c.runId)],
    );
    expect(statuses.map((r) => r.status)).toEqual(claimed.map(() => 'succeeded'));
  });

  it("undoes a next step's claim that got no destination slot: pending again, its attempt uncounted", async () => {
    const graph = new StepGraph([{ id: 'a' }, { id: 'b' }]);
    const [{ runId, claim }] = await claimedRuns('unclaim-next', 1);
    const end = await endStep(runId, 'a', done({}), attempt(claim.attempt), graph, claim, async () => ({
      stepId: 'b',
      leaseMs: 60_000,
    }));
    expect(end.next).toMatchObject({ stepId: 'b', claimed: { attempt: 1 } });
    const version = async () =>
      (
        (await ds.query(`SELECT steps_version FROM runs WHERE id = $1`, [runId])) as {
          steps_version: number;
        }[]
      )[0].steps_version;
    const before = await version();
    expect(await runs.unclaim(runId, 'b', 1)).toBe(true);
    expect(await stepRows(runId)).toEqual({ a: 'succeeded+q', b: 'pending+q' });
    expect(await version()).toBe(before + 1);
    const [row] = await ds.query(
      `SELECT attempts, started_at FROM step_runs WHERE run_id = $1 AND step_id = 'b'`,
      [runId],
    );
    expect(row).toEqual({ attempts: 0, started_at: null });
    // Undone once only; the step's job then claims it as its first attempt.
    expect(await runs.unclaim(runId, 'b', 1)).toBe(false);
    expect(await runs.claimStep(runId, 'b', 60_000)).toMatchObject({ attempt: 1 });
  });

  it('records each step on its own when the statement they shared fails, failing only the bad one', async () => {
    const graph = new StepGraph([{ id: 'a' }, { id: 'b' }]);
    const claimed = await claimedRuns('joint-fallback', 6);
    const joint = spyOnJoint('hookflow_record_step_ends');
    // A duration past PostgreSQL's integer range breaks the shared statement, then only its own.
    const results = await Promise.allSettled(
      claimed.map(({ runId, claim }, k) =>
        endStep(
          runId,
          'a',
          done({ k }),
          { ...attempt(claim.attempt), durationMs: k === 4 ? 3_000_000_000 : 1 },
          graph,
          claim,
        ),
      ),
    );
    // The shared statement, then each step's own.
    expect(joint()).toEqual([6, 1, 1, 1, 1, 1, 1]);
    expect(results.map((r) => r.status)).toEqual(claimed.map((_, k) => (k === 4 ? 'rejected' : 'fulfilled')));
    for (const [k, { runId }] of claimed.entries())
      expect(await stepRows(runId)).toEqual(
        k === 4 ? { a: 'running+q', b: 'pending' } : { a: 'succeeded+q', b: 'pending+q' },
      );
  });

  it('records two ends of the same run that wait together one after the other, the join readied once', async () => {
    const steps = [{ id: 'a' }, { id: 'b', needs: [] }, { id: 'j', needs: ['a', 'b'] }];
    const graph = new StepGraph(steps);
    const linear = new StepGraph([{ id: 'a' }, { id: 'b' }]);
    const others = await claimedRuns('joint-same-run-others', 2);
    const runId = await newRun('joint-same-run', steps);
    const [a, b] = [(await runs.claimStep(runId, 'a', 60_000))!, (await runs.claimStep(runId, 'b', 60_000))!];
    const joint = spyOnJoint('hookflow_record_step_ends');
    const locks = jest.spyOn(runs, 'lockRun');
    // All four in one turn: the others and a share a statement, and b goes after it, on its own,
    // where it finds its run moved (a ended), and is decided again and written under the run lock.
    const ends = await Promise.all([
      ...others.map(({ runId: id, claim }) =>
        endStep(id, 'a', done({}), attempt(claim.attempt), linear, claim),
      ),
      endStep(runId, 'a', done(1), attempt(a.attempt), graph, a),
      endStep(runId, 'b', done(2), attempt(b.attempt), graph, b),
    ]);
    expect(joint()).toEqual([3, 1]);
    expect(locks).toHaveBeenCalledTimes(1);
    locks.mockRestore();
    expect(ends.every((e) => e.recorded)).toBe(true);
    expect(ends.slice(2).flatMap((e) => e.ready)).toEqual(['j']);
    expect(await stepRows(runId)).toEqual({ a: 'succeeded+q', b: 'succeeded+q', j: 'pending+q' });
  });

  it('reads concurrent unclaimed steps of different runs in one statement', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'joint-reads',
      trigger: { type: 'webhook' },
      steps: [{ id: 'a', type: 'transform', expression: '$' }],
    });
    const ids: string[] = [];
    for (let k = 0; k < 6; k++) ids.push((await hf.http().post(hookPath).send({ k }).expect(202)).body.runId);
    const joint = spyOnJoint('hookflow_read_steps');
    const reads = await Promise.all([
      ...ids.map((id) => runs.readStep(id, 'a')),
      runs.readStep(ids[0], 'nope'),
    ]);
    expect(joint()).toEqual([7]);
    reads.slice(0, 6).forEach((read, k) =>
      expect(read).toMatchObject({
        attempt: 1,
        trigger: { body: { k } },
        view: { steps: { a: { status: 'running' } } },
        unclaimed: { status: 'pending', attempts: 0 },
      }),
    );
    expect(reads[6]).toBeNull();
  });

  it('reads each step on its own when the read they shared fails, failing only the bad one', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'joint-reads-fallback',
      trigger: { type: 'webhook' },
      steps: [{ id: 'a', type: 'transform', expression: '$' }],
    });
    const ids: string[] = [];
    for (let k = 0; k < 4; k++) ids.push((await hf.http().post(hookPath).send({ k }).expect(202)).body.runId);
    const joint = spyOnJoint('hookflow_read_steps');
    // A run id that is no uuid (a corrupt job) breaks the shared statement, then only its own.
    const reads = await Promise.allSettled([...ids, 'not-a-uuid'].map((id) => runs.readStep(id, 'a')));
    expect(joint()).toEqual([5]);
    expect(reads.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
    ]);
    reads
      .slice(0, 4)
      .forEach((read, k) =>
        expect(read).toMatchObject({ status: 'fulfilled', value: { trigger: { body: { k } } } }),
      );
  });
});
