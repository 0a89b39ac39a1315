import { Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from '../common/api-key.guard';
import { ApiManagement } from '../common/openapi.decorators';
import { DestinationsOpenApi } from './destinations.openapi';
import { DestinationsService } from './destinations.service';

@Controller('api/destinations')
@UseGuards(ApiKeyGuard)
@ApiManagement('destinations')
export class DestinationsController {
  constructor(private readonly destinations: DestinationsService) {}

  @Get()
  @DestinationsOpenApi.list()
  list(@Query('state') state?: unknown) {
    return this.destinations.list(state);
  }

  @Get(':id')
  @DestinationsOpenApi.get()
  get(@Param('id') id: string) {
    return this.destinations.get(id);
  }

  @Post(':id/pause')
  @DestinationsOpenApi.pause()
  @HttpCode(200)
  pause(@Param('id') id: string) {
    return this.destinations.pause(id);
  }

  @Post(':id/resume')
  @DestinationsOpenApi.resume()
  @HttpCode(200)
  resume(@Param('id') id: string) {
    return this.destinations.resume(id);
  }
}
