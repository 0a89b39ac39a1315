import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from '../common/api-key.guard';
import { parseLimit } from '../common/query';
import { RunsService } from './runs.service';

@Controller('api/runs')
@UseGuards(ApiKeyGuard)
export class RunsController {
  constructor(private readonly runs: RunsService) {}

  @Get()
  list(
    @Query('flow') flow?: string,
    @Query('status') status?: string,
    @Query('limit') limit?: string,
    @Query('cursor') cursor?: string,
  ) {
    return this.runs.list({ flow, status, limit: parseLimit(limit), cursor });
  }

  @Post('retry')
  @HttpCode(202)
  retryMany(@Body() body: unknown) {
    return this.runs.retryMany(body);
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return this.runs.get(id);
  }

  @Post(':id/retry')
  @HttpCode(202)
  retry(@Param('id') id: string) {
    return this.runs.retry(id);
  }

  @Post(':id/replay')
  @HttpCode(202)
  replay(@Param('id') id: string, @Query('version') version?: string) {
    return this.runs.replay(id, version);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  cancel(@Param('id') id: string) {
    return this.runs.cancel(id);
  }
}
