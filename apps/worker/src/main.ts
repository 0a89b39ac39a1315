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
import { createWorkerApp } from './bootstrap';
import { HealthServer } from './health/health-server';
import { GracefulShutdown } from './maintenance/graceful-shutdown';

async function main(): Promise<void> {
  // Under the launcher: exit with it, even while still starting.
  followLauncher();
  const config = loadConfig();
  applyHeapGrowth(config.heapGrowthPercent);
  const app = await createWorkerApp(config);
  const logger = new Logger('Hookflow');
  // SIGTERM: readiness 503 at once, no new steps, those in flight get SHUTDOWN_GRACE_MS, exit 0;
  // with Redis unreachable, as soon as no step is in flight.
  stopGracefully(
    async () => {
      const drain = app.get(GracefulShutdown);
      drain.begin();
      await Promise.race([app.close(), drain.nothingLeftButTheQueue()]);
    },
    { graceMs: config.shutdownGraceMs, log: (line) => logger.log(line) },
  );
  logger.log(
    `worker running (concurrency ${config.workerConcurrency}, queue on ${config.redisUrl ? 'Redis' : 'PostgreSQL'}); ` +
      `health and metrics on http://127.0.0.1:${app.get(HealthServer).port}`,
  );
  notifyReady();
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
