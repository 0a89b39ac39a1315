import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from '../common/api-key.guard';
import { ApiManagement } from '../common/openapi.decorators';
import { ApiKeysOpenApi } from './api-keys.openapi';
import { ApiKeysService } from './api-keys.service';

@Controller('api/keys')
@UseGuards(ApiKeyGuard)
@ApiManagement('keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiKeysOpenApi.create()
  @HttpCode(201)
  create(@Body() body: unknown) {
    return this.keys.create(body);
  }

  @Get()
  @ApiKeysOpenApi.list()
  list() {
    return this.keys.list();
  }

  @Delete(':id')
  @ApiKeysOpenApi.delete()
  @HttpCode(204)
  async delete(@Param('id') id: string): Promise<void> {
    await this.keys.delete(id);
  }
}
