import type { RunStatus } from '@hookflow/flows';
import type { DataSource } from 'typeorm';
import { Attempt, Event, Run, StepRun } from '../../entities';
import { decodeCursor, encodeCursor } from '../cursor';
import { InvalidCursorError } from './run-sql';

export interface RunListFilter {
  flowId?: string;
  status?: RunStatus;
  limit: number;
  cursor?: string;
}

export interface RunDetail {
  run: Run & { flowSlug: string };
  event: Event | null;
  steps: (StepRun & { attemptList: Attempt[] })[];
}

export interface StepStats {
  id: string;
  total: number;
  succeeded: number;
  failed: number;
  filtered: number;
  skipped: number;
}

/** Reading runs for the API: one run, a page of runs, a run with its event, steps and attempts. */
export class RunQueries {
  constructor(private readonly ds: DataSource) {}

  async findRun(runId: string): Promise<Run | null> {
    return this.ds.manager.findOneBy(Run, { id: runId });
  }

  async list(
    filter: RunListFilter,
  ): Promise<{ items: (Run & { flowSlug: string })[]; nextCursor: string | null }> {
    const qb = this.ds.manager
      .createQueryBuilder(Run, 'r')
      .innerJoin('flows', 'f', 'f.id = r.flow_id')
      .addSelect('f.slug', 'flow_slug')
      .orderBy('r.created_at', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .limit(filter.limit + 1);
    if (filter.flowId) qb.andWhere('r.flow_id = :flowId', { flowId: filter.flowId });
    if (filter.status) qb.andWhere('r.status = :status', { status: filter.status });
    if (filter.cursor) {
      const c = decodeCursor(filter.cursor);
      if (!c) throw new InvalidCursorError('cursor is not one this server gave out');
      qb.andWhere('(r.created_at, r.id) < (:at, :id)', { at: c.at, id: c.id });
    }
    const { entities, raw } = await qb.getRawAndEntities();
    const items = entities.map((run, i) => Object.assign(run, { flowSlug: raw[i].flow_slug as string }));
    const more = items.length > filter.limit;
    if (more) items.pop();
    const last = items[items.length - 1];
    return { items, nextCursor: more && last ? encodeCursor(last.createdAt, last.id) : null };
  }

  /** A succeeded step's output (a respond step's answer, too large to travel); undefined when it has none. */
  async succeededOutput(runId: string, stepId: string): Promise<unknown> {
    const rows: { output: unknown }[] = await this.ds.query(
      `SELECT output FROM step_runs WHERE run_id = $1 AND step_id = $2 AND status = 'succeeded'`,
      [runId, stepId],
    );
    return rows[0]?.output;
  }

  async detail(runId: string): Promise<RunDetail | null> {
    // One snapshot: the run and its steps must agree (a poll must not see a step a claim has moved
    // on next to the run row as it was before that claim).
    return this.ds.transaction('REPEATABLE READ', async (m) => {
      const run = await m.findOneBy(Run, { id: runId });
      if (!run) return null;
      const flow: { slug: string }[] = await m.query(`SELECT slug FROM flows WHERE id = $1`, [run.flowId]);
      const event = run.eventId ? await m.findOneBy(Event, { id: run.eventId }) : null;
      const steps = await m.find(StepRun, { where: { runId }, order: { position: 'ASC' } });
      const attempts = await m.find(Attempt, { where: { runId }, order: { n: 'ASC' } });
      const byStep = new Map<string, Attempt[]>();
      for (const a of attempts) {
        const list = byStep.get(a.stepId);
        if (list) list.push(a);
        else byStep.set(a.stepId, [a]);
      }
      return {
        run: Object.assign(run, { flowSlug: flow[0]?.slug ?? '' }),
        event,
        steps: inRunOrder(steps).map((s) => Object.assign(s, { attemptList: byStep.get(s.stepId) ?? [] })),
      };
    });
  }

  /**
   * How each step of a flow's runs created in [since, until) ended; a loop item's rows count under the
   * step's own id (`each[3].post` as `post`), once per item.
   */
  async stepStats(flowId: string, window: { since: Date; until: Date }): Promise<StepStats[]> {
    const rows: {
      id: string;
      total: string;
      succeeded: string;
      failed: string;
      filtered: string;
      skipped: string;
    }[] = await this.ds.query(
      `SELECT regexp_replace(s.step_id, '^[^\\[]*\\[[0-9]+\\]\\.', '') AS id,
                count(*) AS total,
                count(*) FILTER (WHERE s.status = 'succeeded') AS succeeded,
                count(*) FILTER (WHERE s.status = 'failed') AS failed,
                count(*) FILTER (WHERE s.status = 'filtered') AS filtered,
                count(*) FILTER (WHERE s.status = 'skipped') AS skipped
           FROM runs r JOIN step_runs s ON s.run_id = r.id
          WHERE r.flow_id = $1 AND r.created_at >= $2 AND r.created_at < $3
          GROUP BY 1 ORDER BY 1`,
      [flowId, window.since, window.until],
    );
    return rows.map((r) => ({
      id: r.id,
      total: Number(r.total),
      succeeded: Number(r.succeeded),
      failed: Number(r.failed),
      filtered: Number(r.filtered),
      skipped: Number(r.skipped),
    }));
  }
}

/** Steps in definition order, each loop's item rows right after it by item, then by their place in the loop. */
function inRunOrder(steps: StepRun[]): StepRun[] {
  const outer = steps.filter((s) => s.itemIndex === null);
  const items = new Map<string, StepRun[]>();
  for (const s of steps) {
    if (s.itemIndex === null) continue;
    const loop = s.stepId.slice(0, s.stepId.indexOf('['));
    // Pushed, not spread: a copy per row made this quadratic (100,000 item rows: minutes).
    const list = items.get(loop);
    if (list) list.push(s);
    else items.set(loop, [s]);
  }
  return outer.flatMap((s) => {
    const own = items.get(s.stepId);
    if (!own) return [s];
    own.sort((a, b) => a.itemIndex! - b.itemIndex! || a.position - b.position);
    return [s, ...own];
  });
}
