import { HookflowHarness } from '../utils/hookflow-harness';

/** GET /api/flows/:slug/steps/stats: how each step ended in a window of runs, for the flow graph. */
describe('flow step stats', () => {
  let hf: HookflowHarness;

  beforeAll(async () => {
    hf = await HookflowHarness.start();
  });

  afterAll(async () => {
    await hf?.close();
  });

  const stats = (path: string) => hf.http().get(path).set(hf.auth);

  it('counts each step of the runs in the window, loop items under their step id', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'stats-flow',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'big', type: 'filter', condition: 'total >= 100' },
        {
          id: 'each',
          type: 'foreach',
          items: 'lines',
          steps: [{ id: 'line', type: 'transform', expression: '$' }],
        },
        { id: 'calc', type: 'transform', expression: '$count($)' },
      ],
    });
    const started = [
      (
        await hf
          .http()
          .post(hookPath)
          .send({ total: 150, lines: [1, 2] })
          .expect(202)
      ).body.runId,
      (
        await hf
          .http()
          .post(hookPath)
          .send({ total: 5, lines: [1] })
          .expect(202)
      ).body.runId,
    ];
    for (const runId of started) await hf.waitForRun(runId);

    const { body } = await stats('/api/flows/stats-flow/steps/stats').expect(200);
    const byId = Object.fromEntries(body.steps.map((s: { id: string }) => [s.id, s]));
    expect(byId.big).toEqual({
      id: 'big',
      total: 2,
      succeeded: 1,
      failed: 0,
      filtered: 1,
      skipped: 0,
      failureRate: 0,
    });
    expect(byId.each).toMatchObject({ total: 2, succeeded: 1, skipped: 1 });
    // Two items of the first run; the second run's loop never started, so it has no item rows.
    expect(byId.line).toMatchObject({ total: 2, succeeded: 2 });
    expect(byId.calc).toMatchObject({ total: 2, succeeded: 1, skipped: 1 });
    expect(new Date(body.until).getTime() - new Date(body.since).getTime()).toBe(24 * 3600 * 1000);

    const past = await stats(
      '/api/flows/stats-flow/steps/stats?since=2020-01-01T00:00:00Z&until=2020-01-02T00:00:00Z',
    ).expect(200);
    expect(past.body.steps).toEqual([]);
  });

  it('refuses a bad or too wide window naming the field, and an unknown flow', async () => {
    const bad = await stats('/api/flows/stats-flow/steps/stats?since=yesterday').expect(400);
    expect(bad.body.details[0].path).toBe('/since');
    const wide = await stats(
      '/api/flows/stats-flow/steps/stats?since=2026-01-01T00:00:00Z&until=2026-03-01T00:00:00Z',
    ).expect(400);
    expect(wide.body.details[0].path).toBe('/since');
    const reversed = await stats(
      '/api/flows/stats-flow/steps/stats?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z',
    ).expect(400);
    expect(reversed.body.details[0].path).toBe('/until');
    await stats('/api/flows/no-such-flow/steps/stats').expect(404);
  });
});
