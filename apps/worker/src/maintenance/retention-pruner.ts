import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HOOKFLOW_CONFIG, WorkerMetrics, type HookflowConfig } from '@hookflow/platform';
import {
  NO_PRUNED_ROWS,
  PRUNED_TABLES,
  RetentionRepository,
  type PruneBatch,
  type PrunedRows,
} from '@hookflow/store';
import type { QueryRunner } from 'typeorm';
import { DataSource } from 'typeorm';

/** The first pass comes soon after start, so workers redeployed more often than the interval still prune. */
const FIRST_PASS_DELAY_MS = 60_000;

export interface PruneReport {
  /** True when nothing was tried: retention is off, the worker is stopping, or another worker holds the lock. */
  skipped: boolean;
  pruned: PrunedRows;
  /** Statements run; each deleted at most RETENTION_BATCH_SIZE runs, refusals or dedupe keys. */
  batches: number;
}

/** Prunes history past RETENTION_DAYS in batches, one worker per schema (docs/operations.md#retention). */
@Injectable()
export class RetentionPruner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Retention');
  private readonly repo: RetentionRepository;
  private readonly timers: NodeJS.Timeout[] = [];
  private running: Promise<PruneReport> | undefined;
  private stopping = false;

  constructor(
    ds: DataSource,
    private readonly metrics: WorkerMetrics,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {
    this.repo = new RetentionRepository(ds);
  }

  onApplicationBootstrap(): void {
    if (this.config.retentionMs === 0) return;
    const tick = () => {
      if (!this.running) void this.pruneOnce();
    };
    const first = setTimeout(tick, Math.min(FIRST_PASS_DELAY_MS, this.config.retentionIntervalMs));
    const every = setInterval(tick, this.config.retentionIntervalMs);
    for (const timer of [first, every]) timer.unref();
    this.timers.push(first, every);
  }

  /** Stops between two batches: the batch under way commits, the rest waits for the next start. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearTimeout(timer);
    await this.running;
  }

  /** One full pass, after the one under way in this process (if any) has ended. Never throws. */
  pruneOnce(): Promise<PruneReport> {
    const previous = this.running ?? Promise.resolve(undefined);
    const pass: Promise<PruneReport> = previous
      .then(() => this.pass())
      .finally(() => {
        if (this.running === pass) this.running = undefined;
      });
    this.running = pass;
    return pass;
  }

  private async pass(): Promise<PruneReport> {
    const report: PruneReport = { skipped: true, pruned: { ...NO_PRUNED_ROWS }, batches: 0 };
    const { retentionMs, retentionBatchSize: limit, databaseSchema: schema } = this.config;
    if (retentionMs === 0 || this.stopping) return report;
    const startedAt = Date.now();
    let runner: QueryRunner | undefined;
    try {
      runner = await this.repo.connect();
      const session = runner;
      if (!(await this.repo.tryLock(session, schema))) {
        this.logger.debug('another worker is pruning; skipping this turn');
        return report;
      }
      report.skipped = false;
      try {
        await this.drain(report, () => this.repo.pruneFinishedRuns(session, retentionMs, limit));
        await this.drain(report, () => this.repo.pruneRefusedEvents(session, retentionMs, limit));
        // Past its window a dedupe key stops nothing; history shorter than the window bounds it too.
        const dedupeMs = Math.min(this.config.dedupeWindowMs, retentionMs);
        await this.drain(report, () => this.repo.pruneDedupeKeys(session, dedupeMs, limit));
      } finally {
        // Fails only with the connection gone, and the server then drops the session's lock itself.
        await this.repo.unlock(session, schema);
      }
    } catch (err) {
      // What was deleted stays deleted; the rest waits for the next pass.
      this.logger.error(`retention pass failed: ${(err as Error).message}`);
    } finally {
      await runner?.release();
    }
    const total = PRUNED_TABLES.reduce((sum, table) => sum + report.pruned[table], 0);
    if (total > 0) {
      const counts = PRUNED_TABLES.map((table) => `${report.pruned[table]} ${table}`).join(', ');
      this.logger.log(
        `pruned history older than ${retentionMs / 86_400_000} days: ${counts} ` +
          `(${report.batches} batches, ${Date.now() - startedAt} ms)`,
      );
    }
    return report;
  }

  /** Runs `batch` until one comes back short, counting as it goes. */
  private async drain(report: PruneReport, batch: () => Promise<PruneBatch>): Promise<void> {
    const limit = this.config.retentionBatchSize;
    while (!this.stopping) {
      const { picked, pruned } = await batch();
      report.batches++;
      for (const table of PRUNED_TABLES) {
        if (pruned[table] === 0) continue;
        report.pruned[table] += pruned[table];
        this.metrics.retentionPruned.inc({ table }, pruned[table]);
      }
      if (picked < limit) return;
    }
  }
}
