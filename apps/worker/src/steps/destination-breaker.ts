import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { healthOf, mayProbe, type BreakerPolicy, type StepError, type StepOutcome } from '@hookflow/flows';
import { HOOKFLOW_CONFIG, WorkerMetrics, type HookflowConfig } from '@hookflow/platform';
import { StepQueue } from '@hookflow/queue';
import { DestinationRepository, type BreakerEntry, type BreakerWrite } from '@hookflow/store';
import { RunProgress } from '../runs/run-progress';
import { CompiledFlowCache } from './compiled-flow-cache';

/** How often the shared states are read again (other workers' pauses and resumes). */
export const REFRESH_MS = 1_000;
/** How often a worker forgets destinations healthy for PRUNE_AFTER_MS. */
const PRUNE_EVERY_MS = 3_600_000;
const PRUNE_AFTER_MS = 7 * 86_400_000;
/** The longest a held job stays away before it looks again (a resume promotes it sooner). */
const MAX_HOLD_MS = 60_000;
/** How long a job stays away while another worker's probe is out, or its destination is disabled. */
const SHORT_HOLD_MS = 1_000;
const HOLD_JITTER_MS = 500;

/** Held (come back in `retryInMs`), or not: go ahead, as the probe when `probe`. */
export type BreakerAdmission = { hold: true; retryInMs: number } | { hold: false; probe?: boolean };

const GO: BreakerAdmission = { hold: false };

/**
 * The destination circuit breaker in the worker (docs/outbound.md, "Circuit breaker"): an
 * in-process copy of the shared states, so a healthy destination costs a map lookup; writes to
 * PostgreSQL on failures, and on a success only while the destination had failures.
 */
@Injectable()
export class DestinationBreaker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DestinationBreaker.name);
  /** By `host:port`; only destinations that failed or are not healthy. */
  private entries = new Map<string, BreakerEntry>();
  /** Disabled destinations this worker held steps for since it last failed them. */
  private readonly toFail = new Set<string>();
  private readonly policy: BreakerPolicy;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private prunedAt = Date.now();

  constructor(
    private readonly destinations: DestinationRepository,
    private readonly progress: RunProgress,
    private readonly flows: CompiledFlowCache,
    private readonly queue: StepQueue,
    private readonly metrics: WorkerMetrics,
    @Inject(HOOKFLOW_CONFIG) config: HookflowConfig,
  ) {
    this.policy = {
      pauseAfter: config.destinationPauseAfter,
      cooldownMs: config.destinationCooldownMs,
      disableAfterMs: config.destinationDisableAfterMs,
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.refreshing;
  }

  /** Whether steps to `host` are held now (paused or disabled); synchronous, for in-process chains. */
  holds(host: string): boolean {
    const entry = this.entries.get(host);
    return entry !== undefined && entry.row.state !== 'healthy';
  }

  /**
   * Whether a step to `host` may go: not while paused (until the cool-down ends, when one worker
   * wins the probe) or disabled. A held step is noted, so it can be counted, and failed if disabled.
   */
  async admit(
    host: string,
    step: { runId: string; stepId: string },
    probeLeaseMs: number,
  ): Promise<BreakerAdmission> {
    const entry = this.entries.get(host);
    if (!entry || entry.row.state === 'healthy') return GO;
    const now = Date.now();
    // The shared state, read as the step is noted: this copy may be a second old.
    const noted = await this.destinations.hold(entry.id, step.runId, step.stepId);
    // A step that ended (or whose run did) goes on to the claim, which refuses it: its job ends.
    if (noted && !noted.claimable) return GO;
    const fresh = noted?.entry;
    if (!fresh || fresh.row.state === 'healthy') {
      if (fresh && fresh.row.consecutiveFailures > 0) this.entries.set(host, fresh);
      else this.entries.delete(host);
      return GO;
    }
    this.entries.set(host, fresh);
    if (mayProbe(fresh.row, now) && (await this.destinations.claimProbe(fresh.id, probeLeaseMs))) {
      fresh.row = { ...fresh.row, probeUntilMs: now + probeLeaseMs };
      this.metrics.destinationHolds.inc({ reason: 'probe' });
      return { hold: false, probe: true };
    }
    this.metrics.destinationHolds.inc({ reason: fresh.row.state });
    if (fresh.row.state === 'disabled') this.toFail.add(fresh.id);
    return { hold: true, retryInMs: this.holdMs(fresh, now) + Math.round(Math.random() * HOLD_JITTER_MS) };
  }

  /** A probe taken by `admit` that will not be sent (no slot): another worker may take it at once. */
  async probeNotSent(host: string): Promise<void> {
    const entry = this.entries.get(host);
    if (!entry) return;
    entry.row = { ...entry.row, probeUntilMs: null };
    await this.destinations.releaseProbe(entry.id).catch(() => undefined);
  }

  /** Takes an action's outcome as news of its destination's health; never throws. */
  async observe(outcome: StepOutcome): Promise<void> {
    const health = healthOf(outcome);
    if (health === 'neutral' || outcome.status === 'filtered' || !outcome.exchange) return;
    const host = outcome.exchange.destination;
    // The hot path: an answer from a destination with no failures on record writes nothing.
    if (health === 'success' && !this.entries.has(host)) return;
    try {
      const write =
        health === 'success'
          ? await this.destinations.recordSuccess(host)
          : await this.destinations.recordFailure(host, (outcome as { error: StepError }).error, this.policy);
      if (!write) {
        this.entries.delete(host);
        return;
      }
      await this.applied(write);
    } catch (err) {
      this.logger.warn({
        msg: `destination health not recorded: ${(err as Error).message}`,
        destination: host,
      });
    }
  }

  /** Reads the shared states again, and fails the steps held for destinations found disabled. */
  refresh(): Promise<void> {
    this.refreshing ??= this.readAll().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async readAll(): Promise<void> {
    try {
      if (Date.now() - this.prunedAt > PRUNE_EVERY_MS) {
        this.prunedAt = Date.now();
        await this.destinations.prune(PRUNE_AFTER_MS);
      }
      const entries = await this.destinations.entries();
      this.entries = new Map(entries.map((e) => [e.host, e]));
      this.metrics.destinations.set(
        { state: 'paused' },
        entries.filter((e) => e.row.state === 'paused').length,
      );
      this.metrics.destinations.set(
        { state: 'disabled' },
        entries.filter((e) => e.row.state === 'disabled').length,
      );
      for (const id of [...this.toFail]) {
        this.toFail.delete(id);
        if (entries.some((e) => e.id === id && e.row.state === 'disabled')) await this.failHeld(id);
      }
    } catch (err) {
      this.logger.warn(`destination states not read: ${(err as Error).message}`);
    }
  }

  /** A write's result: the cache follows it at once; a resume lets held steps go, a disable fails them. */
  private async applied(write: BreakerWrite): Promise<void> {
    const { entry } = write;
    if (entry.row.state === 'healthy' && entry.row.consecutiveFailures === 0) this.entries.delete(entry.host);
    else this.entries.set(entry.host, entry);
    if (write.event) this.logger.warn({ msg: write.event, destination: entry.host, id: entry.id });
    if (write.released.length > 0) await this.queue.promote(write.released);
    if (write.event === 'destination.disabled') await this.failHeld(entry.id);
  }

  /** Fails the steps held for a disabled destination `destination_disabled`; their runs move on. */
  private async failHeld(id: string): Promise<void> {
    const error: StepError = {
      code: 'destination_disabled',
      message: 'the destination was disabled by the circuit breaker; resume it, then retry the run',
      retryable: false,
    };
    const held = await this.destinations.held(id);
    for (const step of held) {
      try {
        const flow = await this.flows.get(step.flowVersionId).catch(() => undefined);
        const { failed } = await this.progress.failUnclaimed(flow, step, error);
        if (failed) {
          this.logger.warn({
            msg: `step failed: ${error.code}`,
            runId: step.runId,
            step: step.stepId,
            code: error.code,
          });
          // Its job waits in the delayed set; gone, it cannot come back to a finished step.
          await this.queue.discard(step.runId, [step.stepId]);
        }
      } catch (err) {
        this.logger.warn({
          msg: `held step not failed: ${(err as Error).message}`,
          runId: step.runId,
          step: step.stepId,
        });
      }
    }
    await this.destinations.release(held);
  }

  private holdMs(entry: BreakerEntry, now: number): number {
    const { row } = entry;
    if (row.state === 'disabled') return SHORT_HOLD_MS;
    if (row.pausedBy === 'hand' || row.pausedUntilMs === null) return MAX_HOLD_MS;
    // Cool-down over: another worker's probe is out; its answer promotes held jobs, or its lease lapses.
    if (row.pausedUntilMs <= now)
      return row.probeUntilMs !== null && row.probeUntilMs > now
        ? Math.min(MAX_HOLD_MS, row.probeUntilMs - now)
        : SHORT_HOLD_MS;
    return Math.min(MAX_HOLD_MS, row.pausedUntilMs - now);
  }
}
