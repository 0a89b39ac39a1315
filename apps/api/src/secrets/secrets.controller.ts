import { Body, Controller, Delete, Get, HttpCode, Param, Put, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from '../common/api-key.guard';
import { ApiManagement } from '../common/openapi.decorators';
import { SecretsOpenApi } from './secrets.openapi';
import { SecretsService } from './secrets.service';

@Controller('api/secrets')
@UseGuards(ApiKeyGuard)
@ApiManagement('secrets')
export class SecretsController {
  constructor(private readonly secrets: SecretsService) {}

  @Get()
  @SecretsOpenApi.list()
  list() {
    return this.secrets.list();
  }

  @Put(':name')
  @SecretsOpenApi.put()
  @HttpCode(204)
  async put(@Param('name') name: string, @Body() body: unknown): Promise<void> {
    await this.secrets.put(name, body);
  }

  @Delete(':name')
  @SecretsOpenApi.delete()
  @HttpCode(204)
  async delete(@Param('name') name: string): Promise<void> {
    await this.secrets.delete(name);
  }
}
