import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import { openDatabase } from '../database/data-source';
import { DatabaseHealth } from '../database/database-health';
import { DestinationRepository } from '../repositories/destination.repository';
import { EventRepository } from '../repositories/event.repository';
import { FlowRepository } from '../repositories/flow.repository';
import { RunIntake, RunOperations, RunQueries, StepTransitions } from '../repositories/runs';
import { OpsEventRepository } from '../repositories/ops-event.repository';
import { AlertStateRepository } from '../repositories/alert-state.repository';
import { OpsDeliveryRepository } from '../repositories/ops-delivery.repository';
import { OpsSubscriptionRepository } from '../repositories/ops-subscription.repository';
import { PollRepository } from '../repositories/poll.repository';
import { RateLimitRepository } from '../repositories/rate-limit.repository';
import { SecretRepository } from '../repositories/secret.repository';
import { ApiKeyRepository } from '../repositories/api-key.repository';
import { ApiSessionRepository } from '../repositories/api-session.repository';
import { StatsRepository } from '../repositories/stats.repository';

class DatabaseCloser implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}

/** The typed config, the migrated DataSource and the repositories, for both apps. */
@Global()
@Module({})
export class StoreModule {
  static forRoot(
    config: HookflowConfig,
    applicationName: string,
    database: { synchronousCommit?: boolean } = {},
  ): DynamicModule {
    return {
      module: StoreModule,
      providers: [
        { provide: HOOKFLOW_CONFIG, useValue: config },
        {
          provide: DataSource,
          useFactory: () =>
            openDatabase({
              url: config.databaseUrl,
              schema: config.databaseSchema,
              poolSize: config.databasePoolSize,
              applicationName,
              ...database,
            }),
        },
        {
          provide: FlowRepository,
          useFactory: (ds: DataSource) => new FlowRepository(ds),
          inject: [DataSource],
        },
        ...[RunIntake, StepTransitions, RunOperations, RunQueries].map((Repository) => ({
          provide: Repository,
          useFactory: (ds: DataSource) => new Repository(ds),
          inject: [DataSource],
        })),
        {
          provide: EventRepository,
          useFactory: (ds: DataSource) => new EventRepository(ds),
          inject: [DataSource],
        },
        {
          provide: SecretRepository,
          useFactory: (ds: DataSource) => new SecretRepository(ds, config.masterKey),
          inject: [DataSource],
        },
        {
          provide: ApiKeyRepository,
          useFactory: (ds: DataSource) => new ApiKeyRepository(ds),
          inject: [DataSource],
        },
        {
          provide: ApiSessionRepository,
          useFactory: (ds: DataSource) => new ApiSessionRepository(ds),
          inject: [DataSource],
        },
        {
          provide: OpsEventRepository,
          useFactory: (ds: DataSource) => new OpsEventRepository(ds),
          inject: [DataSource],
        },
        {
          provide: DestinationRepository,
          useFactory: (ds: DataSource) => new DestinationRepository(ds, config.publicUrl),
          inject: [DataSource],
        },
        {
          provide: OpsSubscriptionRepository,
          useFactory: (ds: DataSource) => new OpsSubscriptionRepository(ds, config.masterKey),
          inject: [DataSource],
        },
        {
          provide: OpsDeliveryRepository,
          useFactory: (ds: DataSource) => new OpsDeliveryRepository(ds),
          inject: [DataSource],
        },
        {
          provide: AlertStateRepository,
          useFactory: (ds: DataSource, deliveries: OpsDeliveryRepository) =>
            new AlertStateRepository(ds, deliveries),
          inject: [DataSource, OpsDeliveryRepository],
        },
        {
          provide: PollRepository,
          useFactory: (ds: DataSource) => new PollRepository(ds),
          inject: [DataSource],
        },
        {
          provide: RateLimitRepository,
          useFactory: (ds: DataSource) => new RateLimitRepository(ds),
          inject: [DataSource],
        },
        {
          provide: StatsRepository,
          useFactory: (ds: DataSource) => new StatsRepository(ds),
          inject: [DataSource],
        },
        {
          provide: DatabaseHealth,
          useFactory: (ds: DataSource) => new DatabaseHealth(ds),
          inject: [DataSource],
        },
        DatabaseCloser,
      ],
      exports: [
        HOOKFLOW_CONFIG,
        DataSource,
        DatabaseHealth,
        FlowRepository,
        OpsEventRepository,
        DestinationRepository,
        OpsSubscriptionRepository,
        OpsDeliveryRepository,
        AlertStateRepository,
        RunIntake,
        StepTransitions,
        RunOperations,
        RunQueries,
        EventRepository,
        SecretRepository,
        ApiKeyRepository,
        ApiSessionRepository,
        RateLimitRepository,
        PollRepository,
        StatsRepository,
      ],
    };
  }
}
