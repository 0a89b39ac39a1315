import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import {
  ApiMetrics,
  HOOKFLOW_CONFIG,
  metricsAccess,
  type HookflowConfig,
  type MetricsAccess,
} from '@hookflow/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ErrorCode } from '../common/app-error';
import { ApiErrorResponse, METRICS_SCHEME } from '../common/openapi.decorators';

/** Prometheus text at `/metrics`: public unless `METRICS_TOKEN` is set (docs/operations.md#metrics). */
@Controller('metrics')
@ApiTags('health')
export class MetricsController {
  private readonly allowed: MetricsAccess;

  constructor(
    private readonly metrics: ApiMetrics,
    @Inject(HOOKFLOW_CONFIG) config: HookflowConfig,
  ) {
    this.allowed = metricsAccess(config.metricsToken);
  }

  @Get()
  @ApiOperation({
    summary: 'Metrics',
    description:
      "The API's metrics in the Prometheus text format (webhooks received, ingest latency). No API key; " +
      'with `METRICS_TOKEN` set, `Authorization: Bearer <METRICS_TOKEN>`.',
  })
  // Either no credential (METRICS_TOKEN unset) or the metrics token.
  @ApiSecurity({})
  @ApiSecurity(METRICS_SCHEME)
  @ApiResponse({
    status: 200,
    description: 'Prometheus text exposition format 0.0.4.',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  @ApiErrorResponse(
    401,
    '`METRICS_TOKEN` is set and the request does not carry it; the answer carries `WWW-Authenticate: Bearer`.',
    ErrorCode.Unauthorized,
  )
  async metricsText(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (!this.allowed(req.headers.authorization)) {
      throw new AppError(
        ErrorCode.Unauthorized,
        'metrics need the metrics token: Authorization: Bearer <token>',
        [],
        {
          'www-authenticate': 'Bearer',
        },
      );
    }
    const { registry } = this.metrics;
    await reply.header('content-type', registry.contentType).send(await registry.metrics());
  }
}
