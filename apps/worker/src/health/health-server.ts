import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  HOOKFLOW_CONFIG,
  metricsAccess,
  readiness,
  WorkerMetrics,
  type HookflowConfig,
  type MetricsAccess,
} from '@hookflow/platform';
import { StepQueue } from '@hookflow/queue';
import { DatabaseHealth } from '@hookflow/store';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GracefulShutdown } from '../maintenance/graceful-shutdown';

/** The worker's only HTTP server: /health/live, /health/ready and /metrics (behind METRICS_TOKEN if set). */
@Injectable()
export class HealthServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Health');
  private server: Server | undefined;
  private readonly metricsAllowed: MetricsAccess;

  constructor(
    private readonly database: DatabaseHealth,
    private readonly queue: StepQueue,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
    private readonly metrics: WorkerMetrics,
    private readonly shutdown: GracefulShutdown,
  ) {
    this.metricsAllowed = metricsAccess(config.metricsToken);
  }

  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.server = createServer((req, res) => {
      if (req.url === '/metrics') {
        if (!this.metricsAllowed(req.headers.authorization)) {
          const body = {
            error: 'unauthorized',
            message: 'metrics need the metrics token: Authorization: Bearer <token>',
            details: [],
          };
          res
            .writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' })
            .end(JSON.stringify(body));
          return;
        }
        const { registry } = this.metrics;
        void registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
          (err: Error) => {
            this.logger.warn(`metrics not collected: ${err.message}`);
            res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics not collected\n');
          },
        );
        return;
      }
      void this.answer(req.url ?? '').then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject).listen(this.config.workerHealthPort, '127.0.0.1', resolve);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)));
  }

  private async answer(url: string): Promise<{ status: number; body: unknown }> {
    if (url === '/health/live') return { status: 200, body: { status: 'ok' } };
    if (url !== '/health/ready')
      return { status: 404, body: { error: 'not_found', message: 'no such route' } };
    // Stopping: balancers and orchestrators should stop counting on this worker at once.
    if (this.shutdown.draining) return { status: 503, body: { status: 'draining' } };
    const { ok, body } = await readiness(
      { database: () => this.database.ping(), queue: () => this.queue.ping() },
      (line) => this.logger.warn(line),
    );
    return { status: ok ? 200 : 503, body };
  }
}
