import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from '../common/api-key.guard';
import { ApiManagement } from '../common/openapi.decorators';
import { StatsOpenApi } from './stats.openapi';
import { StatsService } from './stats.service';

@Controller('api/stats')
@UseGuards(ApiKeyGuard)
@ApiManagement('stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get()
  @StatsOpenApi.get()
  get(
    @Query('since') since?: unknown,
    @Query('until') until?: unknown,
    @Query('bucket') bucket?: unknown,
    @Query('flow') flow?: unknown,
    @Query('top') top?: unknown,
  ) {
    return this.stats.get({ since, until, bucket, flow, top });
  }
}
