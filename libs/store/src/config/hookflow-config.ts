import { z } from 'zod';

/**
 * The one place that reads `process.env`. Both apps validate their environment at start and stop
 * with a message naming the variable when a value is bad.
 */
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const envSchema = z.object({
  NODE_ENV: z.string().default('production'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  HOOKFLOW_API_KEY: z.string().min(16, 'must be at least 16 characters'),
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
  WORKER_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  MAX_BODY_BYTES: positiveInt(1024 * 1024),
  RECONCILE_INTERVAL_MS: positiveInt(10_000),
  RECONCILE_STALE_MS: positiveInt(30_000),
  FLOWS_DIR: z.string().default('./flows'),
  FLOWS_WATCH: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'log', 'debug', 'verbose']).default('log'),
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
  queuePrefix: string;
  workerConcurrency: number;
  workerHealthPort: number;
  maxBodyBytes: number;
  reconcileIntervalMs: number;
  reconcileStaleMs: number;
  /** Folder of `*.flow.json` files loaded at start; absent folder = none. */
  flowsDir: string;
  /** Reload flow files when they change (development). */
  flowsWatch: boolean;
  logLevel: 'fatal' | 'error' | 'warn' | 'log' | 'debug' | 'verbose';
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
        // Values are never echoed: DATABASE_URL and HOOKFLOW_API_KEY carry secrets.
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
    queuePrefix: e.QUEUE_PREFIX,
    workerConcurrency: e.WORKER_CONCURRENCY,
    workerHealthPort: e.WORKER_HEALTH_PORT,
    maxBodyBytes: e.MAX_BODY_BYTES,
    reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
    reconcileStaleMs: e.RECONCILE_STALE_MS,
    flowsDir: e.FLOWS_DIR,
    flowsWatch: e.FLOWS_WATCH,
    logLevel: e.LOG_LEVEL,
    ...overrides,
  };
}

/** Injection token for the typed config object. */
export const HOOKFLOW_CONFIG = Symbol('HOOKFLOW_CONFIG');
