import { Injectable } from '@nestjs/common';
import {
  compileFlow,
  InvalidFlowError,
  parseItemStepId,
  retryOf,
  type CompiledFlow,
  type RunStatus,
} from '@hookflow/flows';
import { queuedSteps, StepQueue, type QueuedStep } from '@hookflow/queue';
import {
  FlowRepository,
  InvalidCursorError,
  RunIntake,
  RunOperations,
  RunQueries,
  SearchTooBroadError,
  unstorableCharIn,
  type RunOperation,
} from '@hookflow/store';
import { AppError, ErrorCode } from '../common/app-error';
import { parseTime } from '../common/query';
import { isUuid } from '../common/ids';

const RUN_STATUSES: RunStatus[] = ['queued', 'running', 'succeeded', 'failed', 'filtered', 'cancelled'];
const RETRYABLE_STATUSES = ['failed', 'cancelled'] as const;
type RetryableStatus = (typeof RETRYABLE_STATUSES)[number];
/** A search's longest value: what people paste (an id, an email), not documents. */
const MAX_SEARCH_CHARS = 200;
/** A bulk retry hands runs to the queue this many at a time, so the worker starts on the first ones early. */
const BULK_CHUNK = 100;
/** How many times a retry is decided again because its run moved meanwhile. */
const MAX_DECISIONS = 20;

/** Reading run history, and the operations on runs: retry, replay, cancel. */
@Injectable()
export class RunsService {
  constructor(
    private readonly runs: RunQueries,
    private readonly operations: RunOperations,
    private readonly intake: RunIntake,
    private readonly flows: FlowRepository,
    private readonly stepQueue: StepQueue,
  ) {}

  async list(q: RunListQuery) {
    const filter = parseRunFilter(q);
    if (q.status && !RUN_STATUSES.includes(q.status as RunStatus)) {
      throw AppError.invalid('/status', `must be one of ${RUN_STATUSES.join(', ')}`);
    }
    let flowId: string | undefined;
    if (filter.flow) {
      const record = await this.flows.findBySlug(filter.flow);
      if (!record) return { items: [], nextCursor: null };
      flowId = record.flow.id;
    }
    try {
      const page = await this.runs.list({
        flowId,
        status: (q.status || undefined) as RunStatus | undefined,
        since: filter.since,
        until: filter.until,
        q: filter.q,
        limit: q.limit,
        cursor: (q.cursor as string) || undefined,
      });
      return {
        items: page.items.map((r) => ({
          id: r.id,
          flow: r.flowSlug,
          version: r.version,
          status: r.status,
          eventId: r.eventId,
          createdAt: r.createdAt,
          startedAt: r.startedAt,
          finishedAt: r.finishedAt,
          durationMs: durationOf(r),
        })),
        nextCursor: page.nextCursor,
      };
    } catch (err) {
      if (err instanceof InvalidCursorError) throw AppError.invalid('/cursor', err.message);
      if (err instanceof SearchTooBroadError) throw AppError.invalid('/q', err.message);
      throw err;
    }
  }

  async get(id: string) {
    const detail = isUuid(id) ? await this.runs.detail(id) : null;
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
        ...loopFieldsOf(s, steps),
        status: s.status,
        input: s.input ?? null,
        output: s.output ?? null,
        ...(s.routes ? { routes: s.routes } : {}),
        error: s.error ?? null,
        startedAt: s.startedAt,
        finishedAt: s.finishedAt,
        resumeAt: s.resumeAt ?? null,
        attempts: s.attemptList.map((a) => ({
          n: a.n,
          startedAt: a.startedAt,
          durationMs: a.durationMs,
          outcome: a.outcome,
          error: a.error,
          responseStatus: a.responseStatus,
          ...(a.logs ? { logs: a.logs } : {}),
          request: a.request,
          response: a.response,
          destination: a.destination,
        })),
      })),
    };
  }

  /** Resumes a failed or cancelled run in place; succeeded steps are not repeated. */
  async retry(id: string): Promise<{ runId: string; retried: string[] }> {
    const run = isUuid(id) ? await this.runs.findRun(id) : null;
    if (!run) throw AppError.notFound(`run '${id}'`);
    const flow = await this.compiled(run.flowVersionId);
    const result = await this.retryRun(id, flow);
    const done = this.expect(id, result, 'retried', RETRYABLE_STATUSES);
    await this.stepQueue.replace(
      queuedSteps(flow, { runId: id, flowVersionId: run.flowVersionId }, done.ready),
    );
    return { runId: id, retried: done.reopened };
  }

  /** A new run from the same event; refused for a deleted or disabled flow, as it is a new delivery. */
  async replay(id: string, version: string | undefined): Promise<{ runId: string }> {
    const mode = version ?? 'pinned';
    if (mode !== 'pinned' && mode !== 'latest') {
      throw AppError.invalid('/version', "must be 'pinned' or 'latest'");
    }
    const source = isUuid(id) ? await this.operations.findReplaySource(id) : null;
    if (!source) throw AppError.notFound(`run '${id}'`);
    if (source.flowDeleted) {
      throw new AppError(
        ErrorCode.Conflict,
        `flow '${source.flowSlug}' was deleted; runs of a deleted flow cannot be replayed`,
      );
    }
    if (!source.flowEnabled) {
      throw new AppError(
        ErrorCode.FlowDisabled,
        `flow '${source.flowSlug}' is disabled; enable it to replay its runs`,
      );
    }
    if (!source.eventId) {
      throw new AppError(ErrorCode.Conflict, `run '${id}' has no stored event to replay`);
    }
    const flowVersionId = mode === 'latest' ? source.currentVersionId : source.pinnedVersionId;
    const flow = await this.compiled(flowVersionId);
    const roots = flow.graph.roots();
    const runId = await this.intake.createReplayRun({
      originRunId: id,
      flowId: source.flowId,
      flowVersionId,
      eventId: source.eventId,
      steps: flow.graph.ids.map((stepId) => ({ id: stepId, root: roots.includes(stepId) })),
    });
    await this.stepQueue.add(queuedSteps(flow, { runId, flowVersionId }, roots));
    return { runId };
  }

  /** Stops a queued or running run: its waiting steps never run, a delayed retry never fires. */
  async cancel(id: string): Promise<{ runId: string; status: 'cancelled' }> {
    const result = isUuid(id) ? await this.operations.cancelRun(id) : ({ kind: 'missing' } as const);
    const done = this.expect(id, result, 'cancelled', ['queued', 'running']);
    await this.stepQueue.discard(id, done.cancelled);
    return { runId: id, status: 'cancelled' };
  }

  /** Retries the runs a list's filter shows in a retryable status; runs that changed meanwhile are not counted. */
  async retryMany(body: unknown): Promise<{ count: number }> {
    const q = parseBulkRetry(body);
    let flowId: string | undefined;
    if (q.flow) {
      const record = await this.flows.findBySlug(q.flow);
      if (!record) throw AppError.notFound(`flow '${q.flow}'`);
      flowId = record.flow.id;
    }
    const filter = { flowId, status: q.status, since: q.since, until: q.until, q: q.q };
    const compiled = new Map<string, Promise<CompiledFlow>>();
    let count = 0;
    let queueAnswers = true;
    // A page at a time: a filter may match millions of runs, which are not all held at once.
    for (let after: { createdAt: Date; id: string } | undefined; ;) {
      const page = await this.operations.findRetryableRuns(filter, { limit: BULK_CHUNK, after });
      if (page.length === 0) break;
      after = page[page.length - 1];
      const steps: QueuedStep[] = [];
      for (const run of page) {
        if (!compiled.has(run.flowVersionId))
          compiled.set(run.flowVersionId, this.compiled(run.flowVersionId));
        const flow = await compiled.get(run.flowVersionId)!;
        const result = await this.retryRun(run.id, flow);
        if (result.kind !== 'done') continue;
        count++;
        steps.push(...queuedSteps(flow, { runId: run.id, flowVersionId: run.flowVersionId }, result.ready));
      }
      // Once the queue failed to answer, the rest is left to the reconciler rather than waited on.
      if (queueAnswers) {
        queueAnswers = await this.stepQueue.replace(steps);
      }
    }
    return { count };
  }

  /** Retries a run as `retryOf` decides, deciding again on a fresh view if the run moved meanwhile. */
  private async retryRun(
    runId: string,
    flow: CompiledFlow,
  ): Promise<RunOperation<{ reopened: string[]; ready: string[] }>> {
    for (let decisions = 1; ; decisions++) {
      const view = await this.operations.view(runId);
      if (!view) return { kind: 'missing' };
      const retry = retryOf(flow.graph, view);
      if (!retry) return { kind: 'refused', status: view.status };
      if (await this.operations.applyRetry(runId, view.version, retry)) {
        // A loop enqueues its reopened item steps later with a plain add, which a failed job kept
        // under the same id (removeOnFail: 24 h) would swallow: remove those jobs now.
        const items = retry.reopen.filter((stepId) => parseItemStepId(stepId) !== null);
        if (items.length > 0) await this.stepQueue.discard(runId, items);
        return { kind: 'done', reopened: retry.reopen, ready: retry.enqueue };
      }
      if (decisions >= MAX_DECISIONS) throw new Error(`run ${runId} kept moving while it was retried`);
    }
  }

  /** The result of a run operation, or the 404/409 it comes to. */
  private expect<T>(
    id: string,
    result: RunOperation<T>,
    verb: string,
    allowed: readonly RunStatus[],
  ): T & { kind: 'done' } {
    if (result.kind === 'missing') throw AppError.notFound(`run '${id}'`);
    if (result.kind === 'refused') {
      throw new AppError(
        ErrorCode.Conflict,
        `run '${id}' is ${result.status}; only ${allowed.join(' or ')} runs can be ${verb}`,
        [{ path: '/status', message: `is ${result.status}` }],
      );
    }
    return result;
  }

  private async compiled(flowVersionId: string): Promise<CompiledFlow> {
    const version = await this.flows.versionById(flowVersionId);
    if (!version) throw new Error(`flow version ${flowVersionId} does not exist`);
    try {
      return compileFlow(version.definition);
    } catch (err) {
      if (!(err instanceof InvalidFlowError)) throw err;
      throw new AppError(
        ErrorCode.Conflict,
        `version ${version.version} of this flow no longer compiles (${err.message}); replay on the latest version instead`,
        [{ path: err.path, message: err.message }],
      );
    }
  }
}

/** A finished run's time from start to end; null for a live run (a retried one keeps an old end) or one never started. */
function durationOf(run: {
  status: RunStatus;
  startedAt: Date | null;
  finishedAt: Date | null;
}): number | null {
  if (run.status === 'queued' || run.status === 'running' || !run.startedAt || !run.finishedAt) return null;
  return Math.max(0, run.finishedAt.getTime() - run.startedAt.getTime());
}

/** GET /api/runs's query. */
export interface RunListQuery {
  flow?: unknown;
  status?: unknown;
  since?: unknown;
  until?: unknown;
  q?: unknown;
  limit: number;
  cursor?: unknown;
}

interface RunFilter {
  flow?: string;
  since?: Date;
  until?: Date;
  q?: string;
}

/** The filter a list and a bulk retry share (`status` aside, whose allowed values differ). */
function parseRunFilter(raw: {
  flow?: unknown;
  since?: unknown;
  until?: unknown;
  q?: unknown;
  cursor?: unknown;
  status?: unknown;
}): RunFilter {
  for (const key of ['flow', 'status', 'cursor'] as const) {
    if (raw[key] !== undefined && typeof raw[key] !== 'string')
      throw AppError.invalid(`/${key}`, 'must be a string');
  }
  const since = parseTime(raw.since, '/since');
  const until = parseTime(raw.until, '/until');
  if (since && until && since.getTime() >= until.getTime()) {
    throw AppError.invalid('/until', 'must be later than since');
  }
  return { flow: (raw.flow as string) || undefined, since, until, q: parseSearch(raw.q) };
}

/** `q`: a value to find, bounded; '' is no search. */
function parseSearch(raw: unknown): string | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw !== 'string') throw AppError.invalid('/q', 'must be a string');
  if (raw.length > MAX_SEARCH_CHARS)
    throw AppError.invalid('/q', `must be at most ${MAX_SEARCH_CHARS} characters`);
  // What PostgreSQL cannot store was never stored (it became U+FFFD), so it cannot be found either.
  const unstorable = unstorableCharIn(raw);
  if (unstorable) throw AppError.invalid('/q', `holds ${unstorable}`);
  return raw;
}

function parseBulkRetry(body: unknown): RunFilter & { status: RetryableStatus } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw AppError.invalid('', 'body must be a JSON object: { flow?, status?, since?, until?, q? }');
  }
  const b = body as Record<string, unknown>;
  if (b.flow !== undefined && (typeof b.flow !== 'string' || b.flow.length === 0)) {
    throw AppError.invalid('/flow', 'must be the slug of the flow whose runs to retry');
  }
  const status = b.status ?? 'failed';
  if (!RETRYABLE_STATUSES.includes(status as RetryableStatus)) {
    throw AppError.invalid('/status', `must be one of ${RETRYABLE_STATUSES.join(', ')}`);
  }
  return {
    ...parseRunFilter({ flow: b.flow, since: b.since, until: b.until, q: b.q }),
    status: status as RetryableStatus,
  };
}

/** A loop item's step: its loop, item index and id in the loop; a loop: its items and those that failed. */
function loopFieldsOf(
  step: { stepId: string; itemIndex: number | null },
  steps: readonly { stepId: string; itemIndex: number | null; status: string }[],
): { loop?: string; index?: number; step?: string; items?: { count: number; failed: number[] } } {
  const item = parseItemStepId(step.stepId);
  if (item) return { loop: item.loop, index: item.index, step: item.step };
  const prefix = `${step.stepId}[`;
  const own = steps.filter((s) => s.itemIndex !== null && s.stepId.startsWith(prefix));
  if (own.length === 0) return {};
  const failed = new Set(own.filter((s) => s.status === 'failed').map((s) => s.itemIndex!));
  return {
    items: { count: new Set(own.map((s) => s.itemIndex)).size, failed: [...failed].sort((a, b) => a - b) },
  };
}
