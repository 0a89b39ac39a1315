import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError, exitWithParent, loadConfig, notifyReady } from '@hookflow/store';
import { createWorkerApp } from './bootstrap';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createWorkerApp(config);
  exitWithParent(() => app.close());
  new Logger('Hookflow').log(
    `worker running (concurrency ${config.workerConcurrency}, queue on ${config.redisUrl ? 'Redis' : 'PostgreSQL'})`,
  );
  notifyReady();
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
