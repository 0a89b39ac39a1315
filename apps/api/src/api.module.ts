import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { createConnectorRegistry } from '@hookflow/connectors';
import { expressionSandboxProvider } from '@hookflow/sandbox';
import { ApiMetrics, type HookflowConfig } from '@hookflow/platform';
import {
  AnswerChannel,
  QueueConnectionLog,
  QueueConnectionState,
  RedisPolicyCheck,
  STEP_QUEUE,
  StepQueue,
  type QueueConnection,
} from '@hookflow/queue';
import { StoreModule } from '@hookflow/store';
import { AppErrorFilter } from './common/app-error.filter';
import { RequestBodyCheck } from './common/request-body-check';
import { RequestTextPipe } from './common/request-text';
import { CONNECTOR_CATALOG } from './common/tokens';
import { FlowFilesLoader } from './flow-files/flow-files.loader';
import { FlowStepStatsService } from './flows/flow-step-stats.service';
import { FlowEventsService } from './flows/flow-events.service';
import { FlowSyncService } from './flows/flow-sync.service';
import { FlowTestService } from './flows/flow-test.service';
import { FlowAlertsController } from './flows/flow-alerts.controller';
import { FlowAlertsService } from './flows/flow-alerts.service';
import { FlowsController } from './flows/flows.controller';
import { FlowsService } from './flows/flows.service';
import { ManualRunService } from './flows/manual-run.service';
import { Draining } from './health/draining';
import { HealthController } from './health/health.controller';
import { MetricsController } from './metrics/metrics.controller';
import { ApiKeyVerifier } from './keys/api-key-verifier';
import { ApiKeysController } from './keys/api-keys.controller';
import { ApiKeysService } from './keys/api-keys.service';
import { SessionController } from './session/session.controller';
import { SessionsService } from './session/sessions.service';
import { RunsController } from './runs/runs.controller';
import { RunStream } from './runs/run-stream.service';
import { RunsService } from './runs/runs.service';
import { DestinationsController } from './destinations/destinations.controller';
import { DestinationsService } from './destinations/destinations.service';
import { StatsController } from './stats/stats.controller';
import { StatsService } from './stats/stats.service';
import { SecretsController } from './secrets/secrets.controller';
import { SecretsService } from './secrets/secrets.service';
import { SubscriptionsController } from './subscriptions/subscriptions.controller';
import { SubscriptionsService } from './subscriptions/subscriptions.service';
import { IngressController } from './triggers/ingress.controller';
import { IngressService } from './triggers/ingress.service';
import { QueueHealth } from './triggers/queue-health';
import { RespondWaits } from './triggers/respond-waits';
import { TriggerCache } from './triggers/trigger-cache';
import { VerifyFailures } from './triggers/verify-failures';

@Module({})
export class ApiModule {
  static forRoot(config: HookflowConfig, queue: QueueConnection): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        StoreModule.forRoot(config, 'hookflow-api'),
        BullModule.forRoot({ connection: queue.connection as never, prefix: queue.prefix }),
        BullModule.registerQueue({ name: STEP_QUEUE }),
      ],
      controllers: [
        IngressController,
        FlowsController,
        RunsController,
        StatsController,
        DestinationsController,
        HealthController,
        MetricsController,
        SecretsController,
        SubscriptionsController,
        FlowAlertsController,
        ApiKeysController,
        SessionController,
      ],
      providers: [
        { provide: APP_FILTER, useClass: AppErrorFilter },
        { provide: APP_PIPE, useClass: RequestTextPipe },
        // The API never sends with connectors; it reads their schemas to validate `with` at save time.
        { provide: CONNECTOR_CATALOG, useFactory: () => createConnectorRegistry({}) },
        // One registry per application instance: API and worker may share a process.
        { provide: ApiMetrics, useFactory: () => new ApiMetrics() },
        // Dedupe expressions answer senders: past a second of waiting for a host, accept without dedupe.
        expressionSandboxProvider(config, { maxWaitMs: 1000 }),
        TriggerCache,
        StepQueue,
        QueueConnectionState,
        QueueConnectionLog,
        QueueHealth,
        IngressService,
        AnswerChannel,
        RespondWaits,
        VerifyFailures,
        Draining,
        FlowsService,
        FlowAlertsService,
        SubscriptionsService,
        FlowSyncService,
        FlowTestService,
        FlowEventsService,
        FlowStepStatsService,
        ManualRunService,
        FlowFilesLoader,
        RunsService,
        StatsService,
        DestinationsService,
        RunStream,
        SecretsService,
        ApiKeyVerifier,
        RequestBodyCheck,
        ApiKeysService,
        SessionsService,
        RedisPolicyCheck,
      ],
    };
  }
}
