import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  createHookflowLogger,
  selectQueueBackend,
  type HookflowConfig,
  type LogDestination,
} from '@hookflow/store';
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
  // Exit with process.exit once closed, rather than re-raising the signal: the 'exit' event is
  // what flushes the asynchronous log writer, so the last lines are not lost.
  app.enableShutdownHooks([], { useProcessExit: true });
  await app.init();
  return app;
}
