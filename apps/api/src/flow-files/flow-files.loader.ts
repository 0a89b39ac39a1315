import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { SyncPlan } from '@hookflow/flows';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import { watch, type FSWatcher } from 'node:fs';
import { FlowSyncService } from '../flows/flow-sync.service';
import { readFlowFiles, sourceName } from './flow-file-reader';

/** Changes in the folder settle for this long before a reload, so an editor's save is one reload. */
const WATCH_SETTLE_MS = 200;

/** Loads FLOWS_DIR's flow files at start and on change; broken files are skipped, removed ones disabled. */
@Injectable()
export class FlowFilesLoader implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('FlowFiles');
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private loading: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly sync: FlowSyncService,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.load();
    if (this.config.flowsWatch) this.startWatching();
  }

  onModuleDestroy(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
  }

  /** One load of the folder; loads never overlap. Returns what changed, or null when nothing was read. */
  load(): Promise<SyncPlan | null> {
    const next = this.loading.then(() => this.loadOnce());
    this.loading = next.catch(() => undefined);
    return next;
  }

  private async loadOnce(): Promise<SyncPlan | null> {
    const files = await readFlowFiles(this.config.flowsDir);
    // No folder: nothing to own. An empty folder is different: its files were removed, so prune.
    if (!files) return null;
    const unreadable = files.filter((f) => f.error);
    for (const f of unreadable) this.logger.error(`${f.path}: ${f.error}`);
    const { valid, problems } = await this.sync.check(
      files.filter((f) => !f.error).map((f) => ({ path: f.path, definition: f.definition })),
    );
    for (const p of problems) this.logger.error(`${p.file}: ${p.path || '/'}: ${p.message}`);
    const broken = [...unreadable.map((f) => f.path), ...problems.map((p) => p.file)];
    const scope = sourceName(this.config.flowsDir).replace(/\/?$/, '/');
    const plan = await this.sync.apply(valid, {
      prune: true,
      keepSources: broken,
      pruneScope: [scope],
      wait: true,
    });
    this.logger.log(
      `${valid.length} flow file(s) from ${this.config.flowsDir}: ${plan.created.length} created, ` +
        `${plan.updated.length} updated, ${plan.unchanged.length} unchanged, ${plan.disabled.length} disabled` +
        (broken.length > 0 ? `; ${new Set(broken).size} file(s) with errors skipped` : ''),
    );
    return plan;
  }

  private startWatching(): void {
    try {
      // Any change reloads: a removed or renamed folder of flows has no `.flow.json` name in its event.
      this.watcher = watch(this.config.flowsDir, { recursive: true }, () => {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => {
          void this.load().catch((err: Error) =>
            this.logger.error(`reloading flow files failed: ${err.message}`),
          );
        }, WATCH_SETTLE_MS);
      });
      this.watcher.on('error', (err) =>
        this.logger.warn(`stopped watching ${this.config.flowsDir}: ${err.message}`),
      );
      this.logger.log(`watching ${this.config.flowsDir} for changes`);
    } catch (err) {
      this.logger.warn(`cannot watch ${this.config.flowsDir}: ${(err as Error).message}`);
    }
  }
}
