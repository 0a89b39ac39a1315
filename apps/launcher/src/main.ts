import path from 'node:path';
import {
  APP_NODE_FLAGS,
  startEmbeddedPostgres,
  withMallocTunables,
  type EmbeddedPostgres,
} from '@hookflow/platform/embedded';
import { readOrCreateApiKey } from './api-key.file';
import { readOrCreateMasterKey } from './master-key.file';
import { AppSupervisor, type AppExit } from './app.supervisor';
import { loadLauncherConfig, LauncherConfigError, type LauncherConfig } from './launcher.config';

/** The launcher's backstop past SHUTDOWN_GRACE_MS before it kills the apps (they exit at grace + 5 s). */
const APP_STOP_MARGIN_MS = 10_000;
/** Signals this close together are one request (under npm, one Ctrl-C may arrive twice). */
const REPEAT_SIGNAL_WINDOW_MS = 1_000;
const READY_WARNING_AFTER_MS = 60_000;

const say = (line: string) => console.log(`hookflow: ${line}`);
const complain = (line: string) => console.error(`hookflow: ${line}`);

/** `npm start`: API and worker, with the embedded PostgreSQL and generated keys when not configured. */
async function main(): Promise<number> {
  const config = loadLauncherConfig(process.env);
  const shutdown = listenForShutdown();

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(config.port),
    HOOKFLOW_DATA_DIR: config.dataDir,
  };
  // The launcher reads an empty variable as unset; the apps must see it the same way.
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'HOOKFLOW_API_KEY', 'HOOKFLOW_MASTER_KEY', 'LOG_LEVEL']) {
    if (env[name] === '') delete env[name];
  }
  let database: EmbeddedPostgres | undefined;
  if (!config.databaseUrl) {
    database = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      // Only the default ./.data may have its cluster kept elsewhere (as root, in a private checkout).
      relocateCluster: !config.dataDirSet,
      // Should the launcher die, the apps drain and the database waits for them as long as the launcher would.
      clientGraceMs: config.shutdownGraceMs + APP_STOP_MARGIN_MS,
      logger: say,
      postgresLog: ['debug', 'verbose'].includes(config.logLevel)
        ? (line) => say(`[postgres] ${line}`)
        : undefined,
    });
    env.DATABASE_URL = database.url;
  }
  try {
    if (!config.apiKey) {
      const keyFile = await readOrCreateApiKey(config.dataDir);
      env.HOOKFLOW_API_KEY = keyFile.key;
      env.HOOKFLOW_API_KEY_FILE = shownPath(keyFile.path);
      printKeyUsage(keyFile.path, keyFile.created, config.port);
    }
    if (!config.masterKey) {
      if (database) {
        // Beside the embedded database it protects, so the two are kept (and lost) together.
        const masterKey = await readOrCreateMasterKey(config.dataDir);
        env.HOOKFLOW_MASTER_KEY = masterKey.key;
        say(`secret store key ${masterKey.created ? 'created in' : 'kept in'} ${shownPath(masterKey.path)}`);
      } else {
        say(
          'secrets are off: set HOOKFLOW_MASTER_KEY to use them (it is only generated for the embedded database)',
        );
      }
    }
    if (shutdown.requested()) return 0;
    return await runApps(config, env, shutdown);
  } finally {
    await database?.stop();
  }
}

async function runApps(config: LauncherConfig, env: NodeJS.ProcessEnv, shutdown: Shutdown): Promise<number> {
  const dist = path.resolve(__dirname, '..', '..');
  const supervisor = new AppSupervisor(
    [
      { name: 'api', script: path.join(dist, 'api', 'src', 'main.js'), nodeFlags: APP_NODE_FLAGS },
      { name: 'worker', script: path.join(dist, 'worker', 'src', 'main.js'), nodeFlags: APP_NODE_FLAGS },
    ],
    withMallocTunables(env),
  );
  supervisor.start();
  shutdown.onForce(() => supervisor.kill());
  void supervisor.ready.then(() => say(`running at http://localhost:${config.port} (Ctrl+C stops it)`));
  const readyWarning = setTimeout(
    () => complain(`still waiting for ${supervisor.notReady().join(' and ')} to be ready`),
    READY_WARNING_AFTER_MS,
  );
  readyWarning.unref();
  void supervisor.ready.then(() => clearTimeout(readyWarning));

  const first = await Promise.race([
    supervisor.firstExit.then((exit) => ({ exit })),
    shutdown.signal.then((signal) => ({ signal })),
  ]);
  clearTimeout(readyWarning);

  if ('signal' in first) {
    say(`stopping (${first.signal})`);
    const exits = await supervisor.stop(
      first.signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM',
      config.shutdownGraceMs + APP_STOP_MARGIN_MS,
    );
    const unclean = exits.filter(
      (exit) => exit.code !== 0 && exit.signal !== 'SIGINT' && exit.signal !== 'SIGTERM',
    );
    for (const exit of unclean) complain(`the ${exit.name} did not stop cleanly (${describeExit(exit)})`);
    return unclean.length ? 1 : 0;
  }
  complain(`the ${first.exit.name} stopped unexpectedly (${describeExit(first.exit)}); stopping everything`);
  await supervisor.stop('SIGTERM', config.shutdownGraceMs + APP_STOP_MARGIN_MS);
  return 1;
}

interface Shutdown {
  /** The first stop signal received. */
  signal: Promise<NodeJS.Signals>;
  requested(): boolean;
  /** Called on a repeated stop signal: the user insists. */
  onForce(action: () => void): void;
}

function listenForShutdown(): Shutdown {
  let first: { signal: NodeJS.Signals; at: number } | undefined;
  let force = () => undefined as void;
  let resolveSignal!: (signal: NodeJS.Signals) => void;
  const signal = new Promise<NodeJS.Signals>((resolve) => (resolveSignal = resolve));
  const handle = (received: NodeJS.Signals) => {
    if (!first) {
      first = { signal: received, at: Date.now() };
      resolveSignal(received);
    } else if (Date.now() - first.at > REPEAT_SIGNAL_WINDOW_MS) {
      say('stopping now (killing the apps)');
      force();
    }
  };
  for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(name, handle);
  return {
    signal,
    requested: () => first !== undefined,
    onForce: (action) => (force = action),
  };
}

function printKeyUsage(file: string, created: boolean, port: number): void {
  const shown = shownPath(file);
  say(`API key ${created ? 'created in' : 'kept in'} ${shown}; use it like this:`);
  const quoted = /^[\w./-]+$/.test(shown) ? shown : `'${shown.replace(/'/g, `'\\''`)}'`;
  console.log(`  curl -H "Authorization: Bearer $(cat ${quoted})" http://localhost:${port}/api/flows`);
  say(`dashboard: http://localhost:${port}/ (sign in with the key in ${shown})`);
}

/** Relative to the working directory when inside it, for shorter lines. */
function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

function describeExit(exit: AppExit): string {
  if (exit.signal) return `signal ${exit.signal}`;
  return exit.code === null ? 'could not be started' : `exit code ${exit.code}`;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    complain(error instanceof LauncherConfigError ? error.message : `cannot start: ${errorMessage(error)}`);
    process.exit(1);
  },
);

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
