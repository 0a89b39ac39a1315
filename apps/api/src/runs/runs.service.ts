import { Injectable } from '@nestjs/common';
import type { RunStatus } from '@hookflow/flows';
import { FlowRepository, InvalidCursorError, RunRepository } from '@hookflow/store';
import { AppError } from '../common/app-error';

const RUN_STATUSES: RunStatus[] = ['queued', 'running', 'succeeded', 'failed', 'filtered', 'cancelled'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reading run history. */
@Injectable()
export class RunsService {
  constructor(
    private readonly runs: RunRepository,
    private readonly flows: FlowRepository,
  ) {}

  async list(q: { flow?: string; status?: string; limit: number; cursor?: string }) {
    if (q.status && !RUN_STATUSES.includes(q.status as RunStatus)) {
      throw AppError.invalid('/status', `must be one of ${RUN_STATUSES.join(', ')}`);
    }
    let flowId: string | undefined;
    if (q.flow) {
      const record = await this.flows.findBySlug(q.flow);
      if (!record) return { items: [], nextCursor: null };
      flowId = record.flow.id;
    }
    try {
      const page = await this.runs.list({
        flowId,
        status: q.status as RunStatus,
        limit: q.limit,
        cursor: q.cursor,
      });
      return {
        items: page.items.map((r) => ({
          id: r.id,
          flow: r.flowSlug,
          status: r.status,
          eventId: r.eventId,
          createdAt: r.createdAt,
          startedAt: r.startedAt,
          finishedAt: r.finishedAt,
        })),
        nextCursor: page.nextCursor,
      };
    } catch (err) {
      if (err instanceof InvalidCursorError) throw AppError.invalid('/cursor', err.message);
      throw err;
    }
  }

  async get(id: string) {
    const detail = UUID.test(id) ? await this.runs.detail(id) : null;
    if (!detail) throw AppError.notFound(`run '${id}'`);
    const { run, event, steps } = detail;
    const version = await this.flows.versionById(run.flowVersionId);
    return {
      id: run.id,
      flow: run.flowSlug,
      version: version?.version ?? null,
      status: run.status,
      createdAt: run.createdAt,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      originRunId: run.originRunId,
      event: event && {
        id: event.id,
        method: event.method,
        headers: event.headers,
        query: event.query,
        body: event.body,
        contentType: event.contentType,
        sourceIp: event.sourceIp,
        receivedAt: event.receivedAt,
      },
      steps: steps.map((s) => ({
        id: s.stepId,
        status: s.status,
        input: s.input ?? null,
        output: s.output ?? null,
        error: s.error ?? null,
        startedAt: s.startedAt,
        finishedAt: s.finishedAt,
        attempts: s.attemptList.map((a) => ({
          n: a.n,
          startedAt: a.startedAt,
          durationMs: a.durationMs,
          outcome: a.outcome,
          error: a.error,
          responseStatus: a.responseStatus,
        })),
      })),
    };
  }
}
