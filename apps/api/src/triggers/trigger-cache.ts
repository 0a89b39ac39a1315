import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { compileTrigger, type CompiledTrigger } from '@hookflow/flows';
import { ExpressionSandbox } from '@hookflow/sandbox';
import { HOOKFLOW_CONFIG, LookupCache, type HookflowConfig } from '@hookflow/platform';
import { FlowChangeListener, FlowRepository, TRIGGER_KEY_PATTERN, type TriggerTarget } from '@hookflow/store';
import { compileDedupeKey, type DedupeKeyFn } from './dedupe-key';
import { HeaderRedaction } from './header-redaction';
import { compileIpAllowList, type IpAllowList } from './ip-allow-list';

/** What ingress needs about a trigger, derived once per flow version. */
export interface TriggerEntry
  extends
    Omit<TriggerTarget, 'definition'>,
    Omit<CompiledTrigger, 'allowIps' | 'dedupe' | 'droppedReplyHeaders'> {
  /** Null: every source address may call. */
  allowIps: IpAllowList | null;
  /** Null: no dedupe. */
  dedupeKey: DedupeKeyFn | null;
}

const TTL_MS = 60_000;
/** Without a listening connection, changes on other replicas go unheard: cache only briefly. */
const DEAF_TTL_MS = 1_000;
const MAX_ENTRIES = 10_000;

/** Trigger lookups by key; any flow change clears every replica's cache (NOTIFY), the TTL is a safety net. */
@Injectable()
export class TriggerCache implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(TriggerCache.name);
  /** Unknown keys are kept too (as null), so a flood of them costs one query per key. */
  private readonly entries = new LookupCache<{ entry: TriggerEntry | null }>({
    max: MAX_ENTRIES,
    ttlMs: TTL_MS,
    load: async (key, kept) => {
      if (!this.changes.listening) kept.ttlMs = DEAF_TTL_MS;
      const target = await this.flows.findTriggerTarget(key);
      return { entry: target ? this.toEntry(target) : null };
    },
  });
  private readonly changes: FlowChangeListener;
  private readonly redaction: HeaderRedaction;

  constructor(
    private readonly flows: FlowRepository,
    @Inject(HOOKFLOW_CONFIG) config: HookflowConfig,
    private readonly expressions: ExpressionSandbox,
  ) {
    this.redaction = new HeaderRedaction(config.sensitiveHeaders);
    this.changes = new FlowChangeListener(
      { url: config.databaseUrl, schema: config.databaseSchema },
      {
        changed: () => this.clear(),
        lost: (reason) => {
          this.clear();
          this.logger.warn(`flow change listener lost (${reason}); caching briefly until it is back`);
        },
        back: () => {
          this.clear();
          this.logger.log('flow change listener is back');
        },
      },
    );
  }

  async onModuleInit(): Promise<void> {
    await this.changes.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.changes.close();
  }

  get(key: string): Promise<TriggerEntry | null> {
    // Not a key at all (`/hooks/%00`): no trigger, without a query (PostgreSQL refuses a NUL) or a cache entry.
    if (!TRIGGER_KEY_PATTERN.test(key)) return Promise.resolve(null);
    return this.entries.get(key).then((kept) => kept?.entry ?? null);
  }

  clear(): void {
    this.entries.clear();
  }

  private toEntry({ definition, ...target }: TriggerTarget): TriggerEntry {
    const { allowIps, dedupe, droppedReplyHeaders, ...compiled } = compileTrigger(definition);
    if (droppedReplyHeaders.length > 0) {
      this.logger.warn({
        msg: `respond headers ${droppedReplyHeaders.join(', ')} are set by the server or not valid in HTTP; left out`,
        flow: target.slug,
      });
    }
    return {
      ...target,
      ...compiled,
      allowIps: allowIps ? this.allowList(target.slug, allowIps) : null,
      dedupeKey: dedupe
        ? compileDedupeKey(dedupe, (name) => this.redaction.isSensitive(name), this.expressions)
        : null,
    };
  }

  private allowList(slug: string, entries: string[]): IpAllowList {
    const { allows, invalid } = compileIpAllowList(entries);
    if (invalid.length > 0) {
      this.logger.warn({
        msg: `allowIps entries ${invalid.join(', ')} are not addresses; ignored`,
        flow: slug,
      });
    }
    return allows;
  }
}
