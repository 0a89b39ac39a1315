import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { resolveRetryPolicy, StepGraph, type RetryPolicy } from '@hookflow/flows';
import { FlowRepository, HOOKFLOW_CONFIG, type HookflowConfig, type TriggerTarget } from '@hookflow/store';
import { Client } from 'pg';

/** Everything ingress needs about a trigger, derived once per flow version. */
export interface TriggerEntry extends TriggerTarget {
  methods: Set<string>;
  maxBodyBytes: number;
  respondStatus: number;
  respondBody: unknown;
  respondHeaders: Record<string, string>;
  steps: { id: string; root: boolean }[];
  roots: { id: string; policy: RetryPolicy }[];
}

const FLOW_CHANGES_CHANNEL = 'hookflow_flow_changes';
const TTL_MS = 60_000;

/**
 * Trigger lookups by key, cached in memory. A flow change anywhere (this replica or another)
 * is announced with NOTIFY and clears the cache on every API replica at once; the TTL is only
 * a safety net for a lost LISTEN connection.
 */
@Injectable()
export class TriggerCache implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(TriggerCache.name);
  private readonly entries = new Map<string, { entry: TriggerEntry | null; expiresAt: number }>();
  private listener: Client | null = null;

  constructor(
    private readonly flows: FlowRepository,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.listen();
  }

  async onModuleDestroy(): Promise<void> {
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
  }

  async get(key: string): Promise<TriggerEntry | null> {
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > Date.now()) return hit.entry;
    const target = await this.flows.findTriggerTarget(key);
    const entry = target ? this.toEntry(target) : null;
    if (this.entries.size > 10_000) this.entries.clear();
    this.entries.set(key, { entry, expiresAt: Date.now() + TTL_MS });
    return entry;
  }

  clear(): void {
    this.entries.clear();
  }

  private toEntry(target: TriggerTarget): TriggerEntry {
    const def = target.definition;
    const graph = new StepGraph(def.steps);
    const roots = new Set(graph.roots());
    const respond = def.trigger.respond ?? {};
    return {
      ...target,
      methods: new Set((def.trigger.methods ?? ['POST']).map((m) => m.toUpperCase())),
      maxBodyBytes: def.trigger.maxBodyBytes ?? 1024 * 1024,
      respondStatus: respond.status ?? 202,
      respondBody: respond.body,
      respondHeaders: respond.headers ?? {},
      steps: def.steps.map((s) => ({ id: s.id, root: roots.has(s.id) })),
      roots: def.steps
        .filter((s) => roots.has(s.id))
        .map((s) => ({ id: s.id, policy: resolveRetryPolicy(s) })),
    };
  }

  private async listen(): Promise<void> {
    const client = new Client({
      connectionString: this.config.databaseUrl,
      options: `-c search_path=${this.config.databaseSchema}`,
    });
    client.on('notification', () => this.clear());
    client.on('error', (err) => {
      this.logger.warn(
        `flow change listener lost (${err.message}); relying on the cache TTL until it reconnects`,
      );
      this.clear();
      if (this.listener === client) {
        this.listener = null;
        setTimeout(() => void this.listen().catch(() => undefined), 1000).unref();
      }
    });
    await client.connect();
    await client.query(`LISTEN ${FLOW_CHANGES_CHANNEL}`);
    this.listener = client;
  }
}

/** SQL that announces a flow change to every replica's TriggerCache. */
export const NOTIFY_FLOW_CHANGED = `SELECT pg_notify('${FLOW_CHANGES_CHANNEL}', $1)`;
