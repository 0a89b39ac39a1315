import path from 'node:path';
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
const DEFAULT_DATA_DIR = './.data';

/** An empty variable (`PORT=`) counts as unset, as in most shells' habits. */
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(unsetIfEmpty, schema.optional());

const envSchema = z.object({
  PORT: z.preprocess(
    unsetIfEmpty,
    z.coerce
      .number({ error: 'must be a port number' })
      .int('must be a whole port number')
      .min(1, 'must be from 1 to 65535')
      .max(65535, 'must be from 1 to 65535')
      .default(3000),
  ),
  DATABASE_URL: optional(
    z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' }),
  ),
  REDIS_URL: optional(z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' })),
  HOOKFLOW_DATA_DIR: optional(z.string()),
  HOOKFLOW_API_KEY: optional(z.string().min(16, 'must be at least 16 characters')),
  // Its format is checked by the apps, which use it.
  HOOKFLOW_MASTER_KEY: optional(z.string()),
  LOG_LEVEL: z.preprocess(
    unsetIfEmpty,
    z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('log'),
  ),
  // The apps' grace period for work in flight; the launcher waits it out before killing them.
  SHUTDOWN_GRACE_MS: z.preprocess(
    unsetIfEmpty,
    z.coerce
      .number({ error: 'must be a number of milliseconds' })
      .int('must be a whole number of milliseconds')
      .positive('must be a whole number of milliseconds')
      .default(30_000),
  ),
});

export interface LauncherConfig {
  port: number;
  /** Unset: the launcher runs the embedded PostgreSQL. */
  databaseUrl?: string;
  redisUrl?: string;
  /** Absolute, so the apps find the same directory whatever their working directory. */
  dataDir: string;
  /** Set: the cluster stays in HOOKFLOW_DATA_DIR; unset, root may keep it under /var/lib/hookflow. */
  dataDirSet: boolean;
  /** Unset: the key is read from, or created in, `<dataDir>/api-key`. */
  apiKey?: string;
  /** Unset with the embedded database: read from, or created in, `<dataDir>/master-key`. */
  masterKey?: string;
  /** PostgreSQL's own log lines are shown at debug and verbose. */
  logLevel: (typeof LOG_LEVELS)[number];
  /** SHUTDOWN_GRACE_MS, which the apps read too: how long they may drain after a stop signal. */
  shutdownGraceMs: number;
}

export class LauncherConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super('Invalid configuration:\n' + problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n'));
    this.name = 'LauncherConfigError';
  }
}

/** Reads the launcher's variables (the apps validate the rest); throws naming every bad one. */
export function loadLauncherConfig(env: NodeJS.ProcessEnv, cwd: string = process.cwd()): LauncherConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    // Values are not echoed: DATABASE_URL and HOOKFLOW_API_KEY carry secrets.
    throw new LauncherConfigError(
      parsed.error.issues.map((issue) => ({ variable: String(issue.path[0]), message: issue.message })),
    );
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    dataDir: path.resolve(cwd, e.HOOKFLOW_DATA_DIR ?? DEFAULT_DATA_DIR),
    dataDirSet: e.HOOKFLOW_DATA_DIR !== undefined,
    apiKey: e.HOOKFLOW_API_KEY,
    masterKey: e.HOOKFLOW_MASTER_KEY,
    logLevel: e.LOG_LEVEL,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
  };
}
