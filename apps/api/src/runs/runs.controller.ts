import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
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

  @Get(':id')
  get(@Param('id') id: string) {
    return this.runs.get(id);
  }
}
