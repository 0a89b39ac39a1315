import { type INestApplicationContext, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { selectQueueBackend, type HookflowConfig } from '@hookflow/store';
import { WorkerModule } from './worker.module';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** Builds and starts the worker: step processor, reconciler and health port. */
export async function createWorkerApp(config: HookflowConfig): Promise<INestApplicationContext> {
  const queue = selectQueueBackend(config, 'worker');
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, queue), {
    logger: LEVELS.slice(0, LEVELS.indexOf(config.logLevel) + 1),
    abortOnError: false,
  });
  app.enableShutdownHooks();
  await app.init();
  return app;
}
