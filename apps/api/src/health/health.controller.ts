import { Controller, Get, HttpCode, Logger, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { readiness } from '@hookflow/platform';
import { StepQueue } from '@hookflow/queue';
import { DatabaseHealth } from '@hookflow/store';
import { ApiJsonResponse } from '../common/openapi.decorators';
import { Draining } from './draining';

const logger = new Logger('Health');

/** Liveness says the process answers; readiness that the database and the queue do too. */
@Controller('health')
@ApiTags('health')
export class HealthController {
  constructor(
    private readonly database: DatabaseHealth,
    private readonly queue: StepQueue,
    private readonly draining: Draining,
  ) {}

  @Get('live')
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness', description: 'The process answers. No API key.' })
  @ApiJsonResponse(200, 'HealthLive', 'Alive.')
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness',
    description: 'The database and the queue answer, and the API is not stopping. No API key.',
  })
  @ApiJsonResponse(200, 'HealthReady', 'Ready.')
  @ApiJsonResponse(
    503,
    'HealthReady',
    'The database or the queue does not answer, or the API is stopping (`status: draining`).',
  )
  async ready(@Res() reply: FastifyReply): Promise<void> {
    if (this.draining.active) {
      await reply.status(503).send({ status: 'draining' });
      return;
    }
    const { ok, body } = await readiness(
      { database: () => this.database.ping(), queue: () => this.queue.ping() },
      (line) => logger.warn(line),
    );
    await reply.status(ok ? 200 : 503).send(body);
  }
}
