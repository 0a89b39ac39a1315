import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from '../common/api-key.guard';
import { ApiManagement } from '../common/openapi.decorators';
import { parseLimit } from '../common/query';
import { RunsOpenApi } from './runs.openapi';
import { RunsService } from './runs.service';

@Controller('api/runs')
@UseGuards(ApiKeyGuard)
@ApiManagement('runs')
export class RunsController {
  constructor(private readonly runs: RunsService) {}

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
