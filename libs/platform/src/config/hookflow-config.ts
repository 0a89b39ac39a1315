import { isIP } from 'node:net';
import path from 'node:path';
import { DEFAULT_EXPRESSION_BUDGET, isDuration, parseDuration, type ExpressionBudget } from '@hookflow/flows';
import { z } from 'zod';
import { parseMasterKey } from './master-key';

/** A duration setting ('30s', or whole milliseconds) from `minMs` to `maxMs`. */
const durationIn = (minMs: number, maxMs: number, range: string) =>
  z
    .string()
    .refine((v) => isDuration(envDuration(v)) && inRange(parseDuration(envDuration(v)), minMs, maxMs), {
      message: `must be a duration from ${range}, or whole milliseconds`,
    });

/** The one place that reads `process.env`; the apps stop at start naming any bad variable. */
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const envSchema = z.object({
  NODE_ENV: z.string().default('production'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  HOOKFLOW_API_KEY: z.string().min(16, 'must be at least 16 characters'),
  // Where that key was read from, for the start line only; npm start sets it.
  HOOKFLOW_API_KEY_FILE: z.string().optional(),
  HOOKFLOW_MASTER_KEY: z
    .string()
    .transform((value, ctx) => {
      const key = parseMasterKey(value);
      if (!key)
        ctx.addIssue({ code: 'custom', message: 'must be 32 bytes written as base64 or as 64 hex digits' });
      return key ?? z.NEVER;
    })
    .optional(),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[a-z0-9_]+$/, 'use lower-case letters, digits and _')
    .default('hookflow'),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'use lower-case letters, digits and _')
    .default('public'),
  DATABASE_POOL_SIZE: positiveInt(10),
  WORKER_CONCURRENCY: positiveInt(16),
  // off (default): the worker's commits skip the wait for the disk; a database crash may forget the
  // last step results, which then run again. The API's commits always wait.
  WORKER_SYNCHRONOUS_COMMIT: z.enum(['on', 'off']).default('off'),
  WORKER_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  MAX_BODY_BYTES: positiveInt(1024 * 1024),
  // false; the proxies' addresses (`10.0.0.0/8,127.0.0.1`), whose X-Forwarded-For entries are believed;
  // or `true`, safe only when the proxy overwrites X-Forwarded-For rather than appending to it.
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((v, ctx) => {
      const value = v.trim();
      if (value === 'false' || value === '0') return false;
      if (value === 'true') return true;
      const list = value
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean);
      if (list.length > 0 && list.every((p) => isIP(p.split('/')[0]) !== 0 && /^[^/]+(\/\d{1,3})?$/.test(p)))
        return list;
      ctx.addIssue({
        code: 'custom',
        message: 'must be false, true, a hop count, or comma-separated proxy addresses/CIDRs',
      });
      return z.NEVER;
    }),
  // Exceptions to the outbound SSRF guard: host names (matched exactly against a URL's host) and
  // addresses/CIDRs (matched against the resolved address), comma-separated. Default: none.
  OUTBOUND_ALLOW: z
    .string()
    .default('')
    .transform((v, ctx) => {
      const entries = v
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean);
      const bad = entries.find((entry) => !isOutboundAllowEntry(entry));
      if (bad === undefined) return entries;
      ctx.addIssue({
        code: 'custom',
        message: `'${bad}' is not a host name, an address or a CIDR (use hooks.internal, 10.0.0.0/8, ::1)`,
      });
      return z.NEVER;
    }),
  MAX_HEADER_COUNT: positiveInt(100),
  MAX_HEADER_BYTES: positiveInt(12 * 1024),
  MAX_JSON_DEPTH: positiveInt(64),
  MAX_XML_DEPTH: positiveInt(64),
  SENSITIVE_HEADERS: z
    .string()
    .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~, -]*$/, 'use header names separated by commas')
    .default(''),
  DEDUPE_WINDOW: z
    .string()
    .refine(
      (v) => isDuration(envDuration(v)) && inRange(parseDuration(envDuration(v)), 1, 365 * 86_400_000),
      { message: "must be a duration from 1ms to '365d' such as '7d', '12h', or whole milliseconds" },
    )
    .default('7d'),
  // Per worker process: calls in flight to one destination (origin host:port), and optionally
  // calls started per window (`10/1s`, `600/1m`); a step's `destination` overrides both.
  DESTINATION_CONCURRENCY: positiveInt(8),
  // The circuit breaker (docs/outbound.md): failures in a row before a destination is paused, the
  // first cool-down (doubling per failed probe up to 1h), and how long failing disables it.
  DESTINATION_PAUSE_AFTER: positiveInt(20),
  DESTINATION_COOLDOWN: durationIn(100, 3_600_000, "'100ms' to '1h'").default('30s'),
  DESTINATION_DISABLE_AFTER: durationIn(1_000, 365 * 86_400_000, "'1s' to '365d'").default('5d'),
  DESTINATION_RATE: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const rate = parseRate(v);
      if (!rate) {
        ctx.addIssue({ code: 'custom', message: "must be '<calls>/<duration>' such as '10/1s' or '600/1m'" });
        return z.NEVER;
      }
      return rate;
    }),
  // Flow authors' expressions run in child processes (the sandbox): how many per app, and each one's heap.
  EXPRESSION_PROCESSES: z.coerce.number().int().min(1).max(16).default(1),
  EXPRESSION_MEMORY_MB: z.coerce.number().int().min(32).max(4096).default(128),
  // Webhook requests one API process holds open for respond steps; past it, the default answer at once.
  RESPOND_MAX_WAITING: z.coerce.number().int().min(0).max(100_000).default(1000),
  // Largest step output kept (a transform's result as JSON; an action's response body is cut there).
  MAX_STEP_OUTPUT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  // Failed signature checks one source address may cause per trigger and window (`20/1m`); `off`: no limit.
  VERIFY_FAILURE_LIMIT: z
    .string()
    .default('20/1m')
    .transform((v, ctx) => {
      if (v.trim() === 'off') return undefined;
      const rate = parseRate(v);
      if (!rate) {
        ctx.addIssue({
          code: 'custom',
          message: "must be '<failures>/<duration>' such as '20/1m', or 'off'",
        });
        return z.NEVER;
      }
      return rate;
    }),
  // Unset: /metrics (API and worker) answers anyone, as /health does.
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  RECONCILE_INTERVAL_MS: positiveInt(10_000),
  RECONCILE_STALE_MS: positiveInt(30_000),
  // On SIGTERM: how long work in flight (requests, steps) gets to finish before the process exits anyway.
  SHUTDOWN_GRACE_MS: positiveInt(30_000),
  // After each full collection V8 lets the heap grow to (1 + this/100) x what survived before the
  // next one; 0 leaves V8's own factor (up to 4x when collections are cheap).
  HEAP_GROWTH_PERCENT: z.coerce.number().int().min(0).max(300).default(20),
  // History (finished runs with their steps, attempts and events; refusals) is kept this many days; 0 keeps it forever.
  RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(30),
  RETENTION_INTERVAL: z
    .string()
    .refine((v) => isDuration(envDuration(v)) && inRange(parseDuration(envDuration(v)), 1000, 86_400_000), {
      message: "must be a duration from '1s' to '1d' such as '1h', or whole milliseconds",
    })
    .default('1h'),
  RETENTION_BATCH_SIZE: z.coerce.number().int().min(10).max(50_000).default(1000),
  FLOWS_DIR: z.string().default('./flows'),
  // The dashboard's build folder (index.html, assets/); unset: dist/apps/web next to the API's build.
  WEB_ROOT: z.string().optional(),
  FLOWS_WATCH: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'log', 'debug', 'verbose']).default('log'),
  // Unset: pretty when NODE_ENV=development, JSON lines otherwise.
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
});

export interface HookflowConfig {
  env: string;
  port: number;
  host: string;
  publicUrl: string;
  databaseUrl: string;
  databaseSchema: string;
  databasePoolSize: number;
  redisUrl?: string;
  apiKey: string;
  /** The file `HOOKFLOW_API_KEY` came from (npm start's), to tell the operator where the key is. */
  apiKeyFile?: string;
  /** AES-256-GCM key of the secret store; unset: the secret store is unavailable. */
  masterKey?: Buffer;
  queuePrefix: string;
  workerConcurrency: number;
  /** Whether the worker's database commits wait for the WAL to reach disk (WORKER_SYNCHRONOUS_COMMIT). */
  workerSynchronousCommit: boolean;
  workerHealthPort: number;
  maxBodyBytes: number;
  /** Fastify's trustProxy: who may name the client in X-Forwarded-For. */
  trustProxy: boolean | string[];
  /** OUTBOUND_ALLOW: hosts and CIDRs the outbound SSRF guard lets through (parsed by libs/connectors). */
  outboundAllow: string[];
  /** Most headers a trigger request may carry (431 beyond). */
  maxHeaderCount: number;
  /** Most bytes of header names and values a trigger request may carry (431 beyond). */
  maxHeaderBytes: number;
  /** Deepest nesting of a JSON webhook body (400 beyond). */
  maxJsonDepth: number;
  /** Deepest nesting of an XML webhook body (400 beyond). */
  maxXmlDepth: number;
  /** Header names (lower case) redacted from stored events besides the built-in credential headers. */
  sensitiveHeaders: string[];
  /** How long a trigger's dedupe key keeps a repeat from starting a run. */
  dedupeWindowMs: number;
  /** Failed signature checks allowed per trigger, source address and window; unset: no limit. */
  verifyFailureLimit?: { limit: number; perMs: number };
  /** Bearer token `/metrics` asks for (API and worker); unset: /metrics is public. */
  metricsToken?: string;
  /** Calls in flight to one destination (origin host:port) per worker process, unless a step says otherwise. */
  destinationConcurrency: number;
  /** Calls started per window to one destination per worker process; unset: no rate cap. */
  destinationRate?: { limit: number; perMs: number };
  /** Failures in a row (all workers) before a destination is paused. */
  destinationPauseAfter: number;
  /** A paused destination's first cool-down; it doubles with each failed probe, up to an hour. */
  destinationCooldownMs: number;
  /** How long a destination may keep failing before it is disabled. */
  destinationDisableAfterMs: number;
  /** Sandbox host processes per app (EXPRESSION_PROCESSES). */
  expressionProcesses: number;
  /** V8 heap of each sandbox host, MB. */
  expressionMemoryMb: number;
  /** Requests an API process holds open for respond steps at once (RESPOND_MAX_WAITING); 0: none. */
  respondMaxWaiting: number;
  /** Largest step output stored, bytes of JSON (MAX_STEP_OUTPUT_BYTES). */
  maxStepOutputBytes: number;
  /** A step's expressions' budget: the defaults, with MAX_STEP_OUTPUT_BYTES. */
  expressionBudget: ExpressionBudget;
  reconcileIntervalMs: number;
  reconcileStaleMs: number;
  /** How long a stopping process lets requests and steps in flight finish (SIGTERM, then exit 0). */
  shutdownGraceMs: number;
  /** V8's heap growth after a full collection, in percent of what survived; 0: V8's own. */
  heapGrowthPercent: number;
  /** Age past which finished runs, their events and refusals are deleted; 0: kept forever (no pruning at all). */
  retentionMs: number;
  /** How often the worker looks for history to prune. */
  retentionIntervalMs: number;
  /** Rows (runs, refusals, dedupe keys) deleted per statement, each statement its own short transaction. */
  retentionBatchSize: number;
  /** Folder of `*.flow.json` files loaded at start; absent folder = none. */
  flowsDir: string;
  /** Reload flow files when they change (development). */
  flowsWatch: boolean;
  /** The dashboard's build folder, absolute; unset: the API finds dist/apps/web itself. */
  webRoot?: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'log' | 'debug' | 'verbose';
  /** One JSON object per line (default), or readable lines for development. */
  logFormat: 'json' | 'pretty';
}

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super('Invalid configuration:\n' + problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment; throws `ConfigError` naming every bad variable. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<HookflowConfig> = {},
): HookflowConfig {
  // An empty variable (`REDIS_URL=`) counts as unset, as the launcher reads it too.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '?'),
        // Values are never echoed: DATABASE_URL, HOOKFLOW_API_KEY, HOOKFLOW_MASTER_KEY and METRICS_TOKEN carry secrets.
        message: issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message,
      })),
    );
  }
  const e = parsed.data;
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    databaseUrl: e.DATABASE_URL,
    databaseSchema: e.DATABASE_SCHEMA,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    redisUrl: e.REDIS_URL,
    apiKey: e.HOOKFLOW_API_KEY,
    apiKeyFile: e.HOOKFLOW_API_KEY_FILE || undefined,
    masterKey: e.HOOKFLOW_MASTER_KEY,
    queuePrefix: e.QUEUE_PREFIX,
    workerConcurrency: e.WORKER_CONCURRENCY,
    workerSynchronousCommit: e.WORKER_SYNCHRONOUS_COMMIT === 'on',
    workerHealthPort: e.WORKER_HEALTH_PORT,
    maxBodyBytes: e.MAX_BODY_BYTES,
    trustProxy: e.TRUST_PROXY,
    outboundAllow: e.OUTBOUND_ALLOW,
    maxHeaderCount: e.MAX_HEADER_COUNT,
    maxHeaderBytes: e.MAX_HEADER_BYTES,
    maxJsonDepth: e.MAX_JSON_DEPTH,
    maxXmlDepth: e.MAX_XML_DEPTH,
    sensitiveHeaders: e.SENSITIVE_HEADERS.split(',')
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name !== ''),
    dedupeWindowMs: parseDuration(envDuration(e.DEDUPE_WINDOW)),
    verifyFailureLimit: e.VERIFY_FAILURE_LIMIT,
    metricsToken: e.METRICS_TOKEN,
    destinationConcurrency: e.DESTINATION_CONCURRENCY,
    destinationRate: e.DESTINATION_RATE,
    destinationPauseAfter: e.DESTINATION_PAUSE_AFTER,
    destinationCooldownMs: parseDuration(envDuration(e.DESTINATION_COOLDOWN)),
    destinationDisableAfterMs: parseDuration(envDuration(e.DESTINATION_DISABLE_AFTER)),
    expressionProcesses: e.EXPRESSION_PROCESSES,
    expressionMemoryMb: e.EXPRESSION_MEMORY_MB,
    respondMaxWaiting: e.RESPOND_MAX_WAITING,
    maxStepOutputBytes: e.MAX_STEP_OUTPUT_BYTES,
    expressionBudget: { ...DEFAULT_EXPRESSION_BUDGET, maxOutputBytes: e.MAX_STEP_OUTPUT_BYTES },
    reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
    reconcileStaleMs: e.RECONCILE_STALE_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    heapGrowthPercent: e.HEAP_GROWTH_PERCENT,
    retentionMs: e.RETENTION_DAYS * 86_400_000,
    retentionIntervalMs: parseDuration(envDuration(e.RETENTION_INTERVAL)),
    retentionBatchSize: e.RETENTION_BATCH_SIZE,
    flowsDir: e.FLOWS_DIR,
    flowsWatch: e.FLOWS_WATCH,
    webRoot: e.WEB_ROOT === undefined ? undefined : path.resolve(e.WEB_ROOT),
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? (e.NODE_ENV === 'development' ? 'pretty' : 'json'),
    ...overrides,
  };
}

/** `10/1s` or `10/s` (calls per window) -> `{ limit, perMs }`; undefined when malformed. */
function parseRate(v: string): { limit: number; perMs: number } | undefined {
  const m = /^\s*(\d+)\s*\/\s*(\d*)(ms|s|m|h|d)\s*$/.exec(v);
  if (!m) return undefined;
  const limit = Number(m[1]);
  const perMs = parseDuration(`${m[2] === '' ? '1' : m[2]}${m[3]}`);
  return limit > 0 && perMs > 0 ? { limit, perMs } : undefined;
}

/** `hooks.internal`, `10.0.0.0/8`, `::1`, `[::1]/128`: a host name, or an address with an optional prefix length. */
function isOutboundAllowEntry(entry: string): boolean {
  const m = /^\[?([^\]/]+)\]?(?:\/(\d{1,3}))?$/.exec(entry);
  if (!m) return false;
  const family = isIP(m[1]);
  if (family !== 0) return m[2] === undefined || Number(m[2]) <= (family === 4 ? 32 : 128);
  return (
    m[2] === undefined &&
    /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i.test(entry)
  );
}

function inRange(n: number, min: number, max: number): boolean {
  return n >= min && n <= max;
}

/** `7d`, `12h` or whole milliseconds: environment values are strings, durations may be numbers. */
function envDuration(v: string): string | number {
  return /^\d+$/.test(v) ? Number(v) : v;
}

/** Injection token for the typed config object. */
export const HOOKFLOW_CONFIG = Symbol('HOOKFLOW_CONFIG');
