import 'reflect-metadata';
import { ConfigError, exitWithParent, loadConfig, notifyReady } from '@hookflow/store';
import { createApiApp, logStartup } from './bootstrap';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApiApp(config);
  exitWithParent(() => app.close());
  await app.listen(config.port, config.host);
  logStartup(config, config.redisUrl ? 'Redis' : 'PostgreSQL');
  notifyReady();
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
