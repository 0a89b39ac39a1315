import 'reflect-metadata';
import '@hookflow/platform/preload';
import { Logger } from '@nestjs/common';
import {
  applyHeapGrowth,
  ConfigError,
  followLauncher,
  loadConfig,
  notifyReady,
  stopGracefully,
} from '@hookflow/platform';
import { createApiApp, logStartup } from './bootstrap';
import { Draining } from './health/draining';

async function main(): Promise<void> {
  // Under the launcher: exit with it, even while still starting.
  followLauncher();
  const config = loadConfig();
  applyHeapGrowth(config.heapGrowthPercent);
  const app = await createApiApp(config);
  const logger = new Logger('Hookflow');
  // SIGTERM: readiness 503 at once; the listener closes (new connections are refused) and the
  // requests in flight get SHUTDOWN_GRACE_MS to finish; exit 0.
  stopGracefully(
    async () => {
      app.get(Draining).begin();
      await app.close();
    },
    { graceMs: config.shutdownGraceMs, log: (line) => logger.log(line) },
  );
  await app.listen(config.port, config.host);
  logStartup(config, config.redisUrl ? 'Redis' : 'PostgreSQL');
  notifyReady();
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
