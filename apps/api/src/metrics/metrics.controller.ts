import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiMetrics } from '@hookflow/store';
import type { FastifyReply } from 'fastify';

/** Prometheus text at `/metrics`: public like /health, for a scraper on the operator's network. */
@Controller('metrics')
@ApiTags('health')
export class MetricsController {
  constructor(private readonly metrics: ApiMetrics) {}

  @Get()
  @ApiOperation({
    summary: 'Metrics',
    description:
      "The API's metrics in the Prometheus text format (webhooks received, ingest latency). No API key.",
  })
  @ApiResponse({
    status: 200,
    description: 'Prometheus text exposition format 0.0.4.',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  async metricsText(@Res() reply: FastifyReply): Promise<void> {
    const { registry } = this.metrics;
    await reply.header('content-type', registry.contentType).send(await registry.metrics());
  }
}
