import { Logger } from '@nestjs/common';
import {
  afterFailure,
  afterSuccess,
  compileFlow,
  DEFAULT_EXPRESSION_BUDGET,
  mayProbe,
  type BreakerChange,
  type BreakerPolicy,
  type BreakerRow,
  type StepError,
  InProcessEvaluator,
  type CompiledFlow,
  type Connector,
  type ConnectorContext,
  type ConnectorRegistry,
  type FlowDefinition,
  type RespondSignal,
  type RunStatus,
  type RunView,
  type StepStatus,
  type TriggerData,
} from '@hookflow/flows';
import { WorkerMetrics, type HookflowConfig } from '@hookflow/platform';
import type { AnswerChannel, QueuedStep, StepQueue } from '@hookflow/queue';
import type { ExpressionSandbox } from '@hookflow/sandbox';
import type {
  AttemptRecord,
  BreakerEntry,
  BreakerWrite,
  ClaimedStep,
  DestinationRepository,
  HeldStep,
  LockedRun,
  SecretRepository,
  StepEnd,
  StepEndRecorded,
  StepPeek,
  StepTransitions,
} from '@hookflow/store';
import { RunProgress } from '../runs/run-progress';
import { BundledSteps } from '../steps/bundled-steps';
import type { CompiledFlowCache } from '../steps/compiled-flow-cache';
import { DestinationBreaker } from '../steps/destination-breaker';
import { DestinationGate } from '../steps/destination-gate';
import { InlineChain } from '../steps/inline-chain';
import { StepRunner } from '../steps/step-runner';
import { StepSecrets } from '../steps/step-secrets';

// Test-only: the step path's services over in-memory fakes of the store, the queue and the secret
// store, with real compiled flows and JSONata evaluated in process (no sandbox host, no network).

const LIVE: ReadonlySet<RunStatus> = new Set<RunStatus>(['queued', 'running']);

/** One step row as the fake store keeps it. */
export interface FakeStep {
  status: StepStatus;
  attempts: number;
  attemptsBase: number;
  enqueued: boolean;
  /** A live lease: `running` with a lease that has not lapsed. */
  held: boolean;
  requeues: number;
  input?: unknown;
  output?: unknown;
  error?: unknown;
  resumeAt?: Date;
  routes?: string[];
}

/** One run row, its steps and its attempt records. */
export interface FakeRun {
  id: string;
  version: number;
  status: RunStatus;
  flowVersionId: string;
  flowSlug: string;
  trigger: TriggerData;
  steps: Record<string, FakeStep>;
  attempts: (AttemptRecord & { stepId: string })[];
}

type TransitionsApi = Pick<
  StepTransitions,
  | 'claimStep'
  | 'readStep'
  | 'view'
  | 'lockRun'
  | 'recordStepEnd'
  | 'peekStep'
  | 'runContext'
  | 'parkStep'
  | 'markRetrying'
  | 'releaseClaim'
  | 'touchEnqueued'
>;

/** StepTransitions in memory: the same guards as its SQL (lease, version, expected step state). */
export class FakeStepTransitions implements TransitionsApi {
  readonly runs = new Map<string, FakeRun>();
  /** Every step end asked to be recorded, refused ones too. */
  readonly ends: StepEnd[] = [];

  /** A queued run of `flow` whose first steps are handed to the queue. */
  addRun(flow: CompiledFlow, runId: string, opts: { flowVersionId?: string; body?: unknown } = {}): FakeRun {
    const roots = new Set(flow.graph.roots());
    const steps: Record<string, FakeStep> = {};
    for (const id of flow.graph.ids) {
      steps[id] = {
        status: 'pending',
        attempts: 0,
        attemptsBase: 0,
        enqueued: roots.has(id),
        held: false,
        requeues: 0,
      };
    }
    const run: FakeRun = {
      id: runId,
      version: 1,
      status: 'queued',
      flowVersionId: opts.flowVersionId ?? 'v1',
      flowSlug: flow.definition.slug,
      trigger: {
        body: opts.body ?? null,
        query: {},
        headers: {},
        method: 'POST',
        receivedAt: '2030-01-01T00:00:00.000Z',
      },
      steps,
      attempts: [],
    };
    this.runs.set(runId, run);
    return run;
  }

  run(runId: string): FakeRun {
    const run = this.runs.get(runId);
    if (!run) throw new Error(`no run ${runId}`);
    return run;
  }

  step(runId: string, stepId: string): FakeStep {
    return this.run(runId).steps[stepId];
  }

  /** Another writer changed the run: every view read before is stale now. */
  move(runId: string): void {
    this.run(runId).version++;
  }

  async claimStep(runId: string, stepId: string, leaseMs: number): Promise<ClaimedStep | null> {
    void leaseMs;
    const run = this.runs.get(runId);
    const step = run?.steps[stepId];
    if (!run || !step || !LIVE.has(run.status) || !claimable(step)) return null;
    if (step.status === 'pending' && !step.enqueued) return null;
    const resume = step.resumeAt && { inMs: step.resumeAt.getTime() - Date.now(), input: step.input ?? null };
    if (step.status !== 'waiting') step.attempts++;
    Object.assign(step, { status: 'running', held: true });
    run.status = 'running';
    run.version++;
    return {
      ...this.context(run),
      attempt: step.attempts,
      attemptBase: step.attemptsBase,
      flowVersionId: run.flowVersionId,
      ...(resume ? { resume } : {}),
      view: this.viewOf(run),
    };
  }

  async readStep(runId: string, stepId: string): Promise<ClaimedStep | null> {
    const run = this.runs.get(runId);
    const step = run?.steps[stepId];
    if (!run || !step || !LIVE.has(run.status)) return null;
    if (!((step.status === 'pending' && step.enqueued) || step.status === 'retrying')) return null;
    const view = this.viewOf(run);
    view.steps[stepId] = { status: 'running', attempts: step.attempts + 1, enqueued: true, held: true };
    return {
      ...this.context(run),
      attempt: step.attempts + 1,
      attemptBase: step.attemptsBase,
      flowVersionId: run.flowVersionId,
      view,
      unclaimed: { status: step.status, attempts: step.attempts },
    };
  }

  async view(runId: string): Promise<RunView | null> {
    const run = this.runs.get(runId);
    return run ? this.viewOf(run) : null;
  }

  /** Runs locked to decide a step's end on (`lockRun`), by run id, in order. */
  readonly locks: string[] = [];

  /** Single-threaded: nothing moves a run between the view and the write but what a test does. */
  async lockRun(runId: string): Promise<LockedRun | null> {
    const run = this.runs.get(runId);
    if (!run) return null;
    this.locks.push(runId);
    const view = this.viewOf(run);
    return {
      view,
      whole: async () => view,
      record: (end) => this.recordStepEnd(end),
      release: async () => undefined,
    };
  }

  /** As RECORD_STEP_ENDS: held (step as `expect` says), then the version check while the run is live. */
  async recordStepEnd(end: StepEnd): Promise<StepEndRecorded> {
    this.ends.push(structuredClone(end));
    const run = this.runs.get(end.runId);
    const step = run?.steps[end.stepId];
    const held = !!step && step.status === end.expect.status && step.attempts === end.expect.attempts;
    if (!run || !step || !held) return { recorded: false, reason: 'not-held' };
    const live = LIVE.has(run.status);
    if (live ? run.version !== end.version : end.unclaimed) return { recorded: false, reason: 'moved' };
    const { result, transition } = end;
    run.version++;
    if (live) run.status = transition.runStatus ?? (end.unclaimed ? 'running' : run.status);
    Object.assign(step, {
      status: result.status,
      input: result.input ?? null,
      output: result.output ?? null,
      error: result.error ?? null,
      routes: result.routes,
      held: false,
      attempts: end.unclaimed ? step.attempts + 1 : step.attempts,
    });
    if (end.attempt) run.attempts.push({ ...end.attempt, stepId: end.stepId });
    let next: { stepId: string; attempt: number; attemptBase: number } | undefined;
    if (live) {
      const chosen = end.next && run.steps[end.next.stepId];
      if (end.next && chosen?.status === 'pending') {
        Object.assign(chosen, {
          status: 'running',
          attempts: chosen.attempts + 1,
          held: true,
          enqueued: true,
        });
        next = { stepId: end.next.stepId, attempt: chosen.attempts, attemptBase: chosen.attemptsBase };
      }
      for (const id of transition.skip)
        if (run.steps[id].status === 'pending') run.steps[id].status = 'skipped';
      for (const id of transition.enqueue) if (id !== end.next?.stepId) run.steps[id].enqueued = true;
    }
    return { recorded: true, runStatus: run.status, output: step.output, ...(next ? { next } : {}) };
  }

  async peekStep(runId: string, stepId: string): Promise<StepPeek | null> {
    const run = this.runs.get(runId);
    const step = run?.steps[stepId];
    if (!run || !step) return null;
    return { flowVersionId: run.flowVersionId, claimable: LIVE.has(run.status) && claimable(step) };
  }

  async runContext(runId: string) {
    const run = this.runs.get(runId);
    return run ? this.context(run) : null;
  }

  /** False when the claim was lost; a run no longer live gets its step cancelled. */
  async parkStep(runId: string, stepId: string, attemptN: number, input: unknown, resumeAt: Date) {
    const run = this.run(runId);
    const step = run.steps[stepId];
    if (step.status !== 'running' || step.attempts !== attemptN) return false;
    const live = LIVE.has(run.status);
    step.resumeAt ??= resumeAt;
    Object.assign(step, { status: live ? 'waiting' : 'cancelled', input, enqueued: true, held: false });
    return live;
  }

  async markRetrying(runId: string, stepId: string, input: unknown, attempt: AttemptRecord) {
    const run = this.run(runId);
    const step = run.steps[stepId];
    if (step.status !== 'running' || step.attempts !== attempt.n) return false;
    const live = LIVE.has(run.status);
    Object.assign(step, {
      status: live ? 'retrying' : 'cancelled',
      input,
      error: attempt.error,
      held: false,
    });
    run.attempts.push({ ...attempt, stepId });
    return live;
  }

  async releaseClaim(runId: string, stepId: string, attemptN: number): Promise<void> {
    const step = this.step(runId, stepId);
    if (step.status === 'running' && step.attempts === attemptN)
      Object.assign(step, { status: 'retrying', held: false });
  }

  async unclaim(runId: string, stepId: string, attemptN: number): Promise<boolean> {
    const run = this.run(runId);
    const step = run.steps[stepId];
    if (step.status !== 'running' || step.attempts !== attemptN) return false;
    Object.assign(step, { status: 'pending', attempts: step.attempts - 1, held: false });
    run.version++;
    return true;
  }

  async touchEnqueued(steps: { runId: string; stepId: string; requeued?: boolean }[]): Promise<void> {
    for (const { runId, stepId, requeued } of steps) {
      const step = this.step(runId, stepId);
      step.enqueued = true;
      if (requeued) step.requeues++;
    }
  }

  private viewOf(run: FakeRun): RunView {
    const steps: RunView['steps'] = {};
    for (const [id, s] of Object.entries(run.steps))
      steps[id] = {
        status: s.status,
        attempts: s.attempts,
        enqueued: s.enqueued,
        held: s.held,
        ...(s.routes ? { routes: s.routes } : {}),
      };
    return { version: run.version, status: run.status, steps };
  }

  private context(run: FakeRun) {
    const outputs: Record<string, unknown> = {};
    for (const [id, s] of Object.entries(run.steps))
      if (s.status === 'succeeded' || s.status === 'filtered') outputs[id] = s.output;
    return {
      flowSlug: run.flowSlug,
      trigger: structuredClone(run.trigger),
      outputs: structuredClone(outputs),
    };
  }
}

function claimable(step: FakeStep): boolean {
  return (
    ['pending', 'retrying', 'waiting'].includes(step.status) || (step.status === 'running' && !step.held)
  );
}

/** StepQueue's `add`: what was handed over, and whether the queue takes it. */
export class FakeStepQueue implements Pick<StepQueue, 'add' | 'promote' | 'discard'> {
  readonly added: QueuedStep[] = [];
  readonly promoted: { runId: string; stepId: string }[] = [];
  readonly discarded: { runId: string; stepId: string }[] = [];
  takes = true;

  async promote(steps: { runId: string; stepId: string }[]): Promise<boolean> {
    this.promoted.push(...steps);
    return true;
  }

  async discard(runId: string, stepIds: string[]): Promise<boolean> {
    this.discarded.push(...stepIds.map((stepId) => ({ runId, stepId })));
    return true;
  }

  async add(steps: QueuedStep[]): Promise<boolean> {
    this.added.push(...steps);
    return this.takes;
  }

  /** Step ids handed over, in order. */
  get stepIds(): string[] {
    return this.added.map((s) => s.stepId);
  }
}

/** AnswerChannel's `publish`: what the API replicas were told, in order. */
export class FakeAnswerChannel implements Pick<AnswerChannel, 'publish'> {
  readonly published: { runId: string; signal: RespondSignal; output: unknown }[] = [];

  publish(runId: string, signal: RespondSignal, output: unknown): void {
    this.published.push({ runId, signal, output });
  }
}

/** The `http` connector: answers in turn from `answers`, then 200; records each call. */
export class FakeConnector implements Connector {
  readonly key = 'http';
  readonly schema = { type: 'object', required: ['url'], properties: { url: { type: 'string' } } };
  readonly calls: { input: Record<string, unknown>; ctx: ConnectorContext }[] = [];
  readonly answers: ((input: Record<string, unknown>) => Promise<unknown>)[] = [];

  async execute(input: Record<string, unknown>, ctx: ConnectorContext): Promise<unknown> {
    this.calls.push({ input, ctx });
    const answer = this.answers.shift();
    return answer ? answer(input) : { status: 200, body: { ok: true } };
  }
}

/** DestinationRepository in memory: the breaker's decisions applied as the real one applies them. */
export class FakeDestinations implements Pick<
  DestinationRepository,
  | 'entries'
  | 'recordFailure'
  | 'recordSuccess'
  | 'claimProbe'
  | 'releaseProbe'
  | 'hold'
  | 'held'
  | 'release'
  | 'prune'
> {
  async prune(): Promise<number> {
    return 0;
  }

  readonly rows = new Map<string, BreakerEntry>();
  readonly events: { type: string; host: string }[] = [];
  readonly waits = new Map<string, { destinationId: string; step: HeldStep }>();
  now = () => Date.now();

  async entries(): Promise<BreakerEntry[]> {
    return [...this.rows.values()]
      .filter((e) => e.row.state !== 'healthy' || e.row.consecutiveFailures > 0)
      .map((e) => ({ ...e, row: { ...e.row } }));
  }

  async recordFailure(host: string, _error: StepError, policy: BreakerPolicy): Promise<BreakerWrite> {
    const entry = this.rows.get(host) ?? { id: `d-${this.rows.size + 1}`, host, row: healthyRow() };
    this.rows.set(host, entry);
    entry.row = { ...entry.row, consecutiveFailures: entry.row.consecutiveFailures + 1 };
    return this.apply(entry, afterFailure(entry.row, policy, this.now()));
  }

  async recordSuccess(host: string): Promise<BreakerWrite | null> {
    const entry = this.rows.get(host);
    return entry ? this.apply(entry, afterSuccess(entry.row)) : null;
  }

  async claimProbe(id: string, leaseMs: number): Promise<boolean> {
    const entry = [...this.rows.values()].find((e) => e.id === id);
    if (!entry || !mayProbe(entry.row, this.now())) return false;
    entry.row = { ...entry.row, probeUntilMs: this.now() + leaseMs };
    return true;
  }

  /** Steps that ended: `hold` answers them not claimable, and notes no wait. */
  readonly ended = new Set<string>();

  async hold(
    id: string,
    runId: string,
    stepId: string,
  ): Promise<{ entry: BreakerEntry; claimable: boolean } | null> {
    const entry = [...this.rows.values()].find((e) => e.id === id);
    if (!entry) return null;
    const claimable = !this.ended.has(`${runId}_${stepId}`);
    const step = { runId, stepId, flowVersionId: 'v1', status: 'pending' as const, attempts: 0 };
    if (entry.row.state !== 'healthy' && claimable)
      this.waits.set(`${runId}_${stepId}`, { destinationId: id, step });
    return { entry: { ...entry, row: { ...entry.row } }, claimable };
  }

  async releaseProbe(id: string): Promise<void> {
    const entry = [...this.rows.values()].find((e) => e.id === id);
    if (entry) entry.row = { ...entry.row, probeUntilMs: null };
  }

  async held(id: string): Promise<HeldStep[]> {
    return [...this.waits.values()].filter((w) => w.destinationId === id).map((w) => w.step);
  }

  async release(steps: { runId: string; stepId: string }[]): Promise<void> {
    for (const s of steps) this.waits.delete(`${s.runId}_${s.stepId}`);
  }

  private apply(entry: BreakerEntry, change: BreakerChange): BreakerWrite {
    entry.row = change.row;
    if (change.event) this.events.push({ type: change.event, host: entry.host });
    const released =
      change.event === 'destination.resumed'
        ? [...this.waits.values()].filter((w) => w.destinationId === entry.id).map((w) => w.step)
        : [];
    void this.release(released);
    return { entry: { ...entry, row: { ...entry.row } }, event: change.event, released };
  }
}

function healthyRow(): BreakerRow {
  return {
    state: 'healthy',
    pausedBy: null,
    consecutiveFailures: 0,
    failingSinceMs: null,
    pausedUntilMs: null,
    cooldownMs: null,
    probeUntilMs: null,
  };
}

/** The secret store: counts reads of values. */
export class FakeSecretStore implements Pick<SecretRepository, 'available' | 'values'> {
  available = true;
  reads = 0;

  constructor(readonly secrets: Record<string, string> = {}) {}

  async values(names: string[]): Promise<Record<string, string>> {
    this.reads++;
    return Object.fromEntries(names.filter((n) => n in this.secrets).map((n) => [n, this.secrets[n]]));
  }
}

export interface StepPathOptions {
  secrets?: Record<string, string>;
  config?: Partial<HookflowConfig>;
}

/**
 * The step path over fakes, in the manner of Immich's `newTestService`: the real services, and
 * the fakes (`mocks`) each test sets up and inspects. The flow is compiled as version `v1`.
 */
export function newStepPath(def: FlowDefinition, opts: StepPathOptions = {}) {
  Logger.overrideLogger(false);
  const flow = compileFlow(def);
  const versions = new Map<string, CompiledFlow>([['v1', flow]]);
  const store = new FakeStepTransitions();
  const queue = new FakeStepQueue();
  const answers = new FakeAnswerChannel();
  const connector = new FakeConnector();
  const secretStore = new FakeSecretStore(opts.secrets);
  const flows = {
    get: async (versionId: string) => {
      const known = versions.get(versionId);
      if (!known) throw new Error(`flow version ${versionId} does not exist`);
      return known;
    },
  };
  const connectors: ConnectorRegistry = {
    get: (key) => (key === 'http' ? connector : undefined),
    keys: () => ['http'],
  };
  // JSONata in process: the sandbox's host is a built file, and unit tests need none of its walls.
  const evaluator = new InProcessEvaluator();
  const expressions = { evaluate: (r) => evaluator.evaluate(r) } as Pick<ExpressionSandbox, 'evaluate'>;
  const config = {
    expressionBudget: DEFAULT_EXPRESSION_BUDGET,
    destinationConcurrency: 4,
    destinationPauseAfter: 20,
    destinationCooldownMs: 30_000,
    destinationDisableAfterMs: 86_400_000,
    ...opts.config,
  } as HookflowConfig;
  const transitions = store as unknown as StepTransitions;
  const cache = flows as unknown as CompiledFlowCache;
  const secrets = new StepSecrets(secretStore as unknown as SecretRepository);
  const progress = new RunProgress(
    transitions,
    queue as unknown as StepQueue,
    answers as unknown as AnswerChannel,
  );
  const metrics = new WorkerMetrics();
  const destinations = new FakeDestinations();
  const breaker = new DestinationBreaker(
    destinations as unknown as DestinationRepository,
    progress,
    cache,
    queue as unknown as StepQueue,
    metrics,
    config,
  );
  const runner = new StepRunner(
    transitions,
    progress,
    secrets,
    metrics,
    connectors,
    expressions as ExpressionSandbox,
    breaker,
    config,
  );
  const gate = new DestinationGate(transitions, cache, secrets, breaker, config);
  const chain = new InlineChain(runner, cache, progress, gate);
  const bundled = new BundledSteps(chain, cache, progress, gate);
  return {
    flow,
    progress,
    runner,
    gate,
    chain,
    bundled,
    breaker,
    mocks: { store, queue, answers, connector, secretStore, versions, destinations },
  };
}

/** The flow's steps as one definition, webhook-triggered. */
export function flowOf(slug: string, steps: FlowDefinition['steps']): FlowDefinition {
  return { slug, trigger: { type: 'webhook' }, steps };
}

/** a -> b, two transforms. */
export const linearFlow = flowOf('linear', [
  { id: 'a', type: 'transform', expression: '{ "n": 1 }' },
  { id: 'b', type: 'transform', expression: '{ "n": n + 1 }' },
]);

/** start -> left, right -> both (a join of all). */
export const joinFlow = flowOf('join', [
  { id: 'start', type: 'transform', expression: '$' },
  { id: 'left', type: 'transform', needs: ['start'], expression: '"l"' },
  { id: 'right', type: 'transform', needs: ['start'], expression: '"r"' },
  { id: 'both', type: 'transform', needs: ['left', 'right'], expression: '$' },
]);
