import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createHookflowLogger, type HookflowConfig, type LogDestination } from '@hookflow/platform';
import { selectQueueBackend } from '@hookflow/queue';
import { WorkerModule } from './worker.module';

/** Builds and starts the worker: step processor, reconciler and health port. */
export async function createWorkerApp(
  config: HookflowConfig,
  options: { logDestination?: LogDestination } = {},
): Promise<INestApplicationContext> {
  const queue = selectQueueBackend(config, 'worker');
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, queue), {
    logger: createHookflowLogger({
      app: 'worker',
      level: config.logLevel,
      format: config.logFormat,
      destination: options.logDestination,
    }),
    abortOnError: false,
  });
  // No enableShutdownHooks: main.ts's stopGracefully owns SIGTERM and SIGINT, and no other signal is
  // trapped, so a V8 fatal error (SIGTRAP, SIGABRT) ends the process instead of hanging in a handler.
  await app.init();
  return app;
}
