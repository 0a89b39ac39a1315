import { Body, Controller, Get, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import { SLUG_PATTERN } from '@hookflow/flows';
import type { FastifyReply } from 'fastify';
import { AppError } from '../common/app-error';
import { ApiKeyGuard } from '../common/api-key.guard';
import { ApiManagement } from '../common/openapi.decorators';
import { parseLimit } from '../common/query';
import { RunsOpenApi } from './runs.openapi';
import { RunStream } from './run-stream.service';
import { RunsService } from './runs.service';

const SLUG = new RegExp(SLUG_PATTERN);

@Controller('api/runs')
@UseGuards(ApiKeyGuard)
@ApiManagement('runs')
export class RunsController {
  constructor(
    private readonly runs: RunsService,
    private readonly changes: RunStream,
  ) {}

  @Get()
  @RunsOpenApi.list()
  list(
    @Query('flow') flow?: unknown,
    @Query('status') status?: unknown,
    @Query('since') since?: unknown,
    @Query('until') until?: unknown,
    @Query('q') q?: unknown,
    @Query('limit') limit?: unknown,
    @Query('cursor') cursor?: unknown,
  ) {
    return this.runs.list({ flow, status, since, until, q, limit: parseLimit(limit), cursor });
  }

  @Get('stream')
  @RunsOpenApi.stream()
  async stream(@Query('flow') flow: unknown, @Res() reply: FastifyReply): Promise<void> {
    if (flow !== undefined && (typeof flow !== 'string' || !SLUG.test(flow))) {
      throw AppError.invalid('/flow', 'must be a flow slug');
    }
    await this.changes.admit();
    // Written to the socket from here on: Fastify's reply would wait for one body and end.
    reply.hijack();
    this.changes.attach(reply.raw, flow || undefined);
  }

  @Post('retry')
  @RunsOpenApi.retryMany()
  @HttpCode(202)
  retryMany(@Body() body: unknown) {
    return this.runs.retryMany(body);
  }

  @Get(':id')
  @RunsOpenApi.get()
  get(@Param('id') id: string) {
    return this.runs.get(id);
  }

  @Post(':id/retry')
  @RunsOpenApi.retry()
  @HttpCode(202)
  retry(@Param('id') id: string) {
    return this.runs.retry(id);
  }

  @Post(':id/replay')
  @RunsOpenApi.replay()
  @HttpCode(202)
  replay(@Param('id') id: string, @Query('version') version?: string) {
    return this.runs.replay(id, version);
  }

  @Post(':id/cancel')
  @RunsOpenApi.cancel()
  @HttpCode(200)
  cancel(@Param('id') id: string) {
    return this.runs.cancel(id);
  }
}
