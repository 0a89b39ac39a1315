import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiKeyGuard, Caller } from '../common/api-key.guard';
import { ApiManagement } from '../common/openapi.decorators';
import type { ApiCaller } from './api-key-scope';
import { ApiKeysOpenApi } from './api-keys.openapi';
import { ApiKeysService } from './api-keys.service';

@Controller('api/keys')
@UseGuards(ApiKeyGuard)
// Keys are for admins only: listing them shows who has access, and making one grants it.
@ApiManagement('keys', { scope: 'admin' })
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiKeysOpenApi.create()
  @HttpCode(201)
  create(@Body() body: unknown, @Caller() caller: ApiCaller) {
    return this.keys.create(body, caller);
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
