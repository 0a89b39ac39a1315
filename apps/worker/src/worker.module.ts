import { BullModule, getQueueToken } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { createConnectorRegistry, createOutboundAgent } from '@hookflow/connectors';
import { expressionSandboxProvider } from '@hookflow/sandbox';
import { WorkerMetrics, type HookflowConfig } from '@hookflow/platform';
import {
  AnswerChannel,
  QueueConnectionLog,
  QueueConnectionState,
  RedisPolicyCheck,
  STEP_QUEUE,
  StepQueue,
  TRIGGER_QUEUE,
  TriggerSchedules,
  type QueueConnection,
} from '@hookflow/queue';
import { StoreModule } from '@hookflow/store';
import type { Queue } from 'bullmq';
import { HealthServer } from './health/health-server';
import { GracefulShutdown } from './maintenance/graceful-shutdown';
import { Reconciler } from './maintenance/reconciler';
import { RetentionPruner } from './maintenance/retention-pruner';
import { OpsDeliveries } from './ops/ops-deliveries';
import { OpsDispatcher } from './ops/ops-dispatcher';
import { OpsSender } from './ops/ops-sender';
import { RunProgress } from './runs/run-progress';
import { BundledSteps } from './steps/bundled-steps';
import { CompiledFlowCache } from './steps/compiled-flow-cache';
import { DestinationBreaker } from './steps/destination-breaker';
import { DestinationGate } from './steps/destination-gate';
import { InlineChain } from './steps/inline-chain';
import { StepRunner } from './steps/step-runner';
import { StepSecrets } from './steps/step-secrets';
import { StepProcessor } from './steps/step.processor';
import { CONNECTORS } from './steps/tokens';
import { Poller } from './triggers/poller';
import { TriggerProcessor } from './triggers/trigger.processor';
import { TriggerRuns } from './triggers/trigger-runs';
import { TriggerSync } from './triggers/trigger-sync';

@Module({})
export class WorkerModule {
  static forRoot(config: HookflowConfig, queue: QueueConnection): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        // Every running step holds a connection at moments; fewer than the concurrency would make steps wait on the pool.
        StoreModule.forRoot(
          { ...config, databasePoolSize: Math.max(config.databasePoolSize, config.workerConcurrency + 4) },
          'hookflow-worker',
          { synchronousCommit: config.workerSynchronousCommit },
        ),
        BullModule.forRoot({ connection: queue.connection as never, prefix: queue.prefix }),
        BullModule.registerQueue({ name: STEP_QUEUE }, { name: TRIGGER_QUEUE }),
      ],
      providers: [
        {
          provide: CONNECTORS,
          // The SSRF guard lives in the agent; OUTBOUND_ALLOW opens its exceptions.
          useFactory: () =>
            createConnectorRegistry({
              dispatcher: createOutboundAgent({ allow: config.outboundAllow }),
              // A response body is cut where a step's output would be too large to keep.
              maxResponseBytes: config.maxStepOutputBytes,
            }),
        },
        expressionSandboxProvider(config),
        {
          provide: WorkerMetrics,
          // One registry per application instance (API and worker may share a process); queue depth is read on scrape.
          useFactory: (queue: Queue) => new WorkerMetrics((...states) => queue.getJobCounts(...states)),
          inject: [getQueueToken(STEP_QUEUE)],
        },
        StepQueue,
        QueueConnectionState,
        AnswerChannel,
        CompiledFlowCache,
        RunProgress,
        StepSecrets,
        StepRunner,
        InlineChain,
        BundledSteps,
        DestinationBreaker,
        DestinationGate,
        StepProcessor,
        Reconciler,
        GracefulShutdown,
        RetentionPruner,
        HealthServer,
        TriggerSchedules,
        TriggerRuns,
        TriggerSync,
        Poller,
        TriggerProcessor,
        OpsDeliveries,
        OpsDispatcher,
        OpsSender,
        RedisPolicyCheck,
        QueueConnectionLog,
      ],
    };
  }
}
