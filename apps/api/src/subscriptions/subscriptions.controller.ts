import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { ApiKeyGuard } from '../common/api-key.guard';
import { ApiManagement } from '../common/openapi.decorators';
import { parseLimit } from '../common/query';
import { SubscriptionsOpenApi } from './subscriptions.openapi';
import { SubscriptionsService } from './subscriptions.service';

@Controller('api/subscriptions')
@UseGuards(ApiKeyGuard)
// Changes take `write`, like secrets: a subscription holds a signing secret and sends data out.
@ApiManagement('subscriptions')
export class SubscriptionsController {
  constructor(private readonly subscriptions: SubscriptionsService) {}

  @Post()
  @SubscriptionsOpenApi.create()
  @HttpCode(201)
  create(@Body() body: unknown) {
    return this.subscriptions.create(body);
  }

  @Get()
  @SubscriptionsOpenApi.list()
  list() {
    return this.subscriptions.list();
  }

  @Get(':id')
  @SubscriptionsOpenApi.get()
  get(@Param('id') id: string) {
    return this.subscriptions.get(id);
  }

  @Patch(':id')
  @SubscriptionsOpenApi.update()
  update(@Param('id') id: string, @Body() body: unknown) {
    return this.subscriptions.update(id, body);
  }

  @Delete(':id')
  @SubscriptionsOpenApi.delete()
  @HttpCode(204)
  async delete(@Param('id') id: string): Promise<void> {
    await this.subscriptions.delete(id);
  }

  @Post(':id/rotate-secret')
  @SubscriptionsOpenApi.rotateSecret()
  @HttpCode(200)
  rotateSecret(@Param('id') id: string) {
    return this.subscriptions.rotateSecret(id);
  }

  @Get(':id/deliveries')
  @SubscriptionsOpenApi.deliveries()
  deliveries(@Param('id') id: string, @Query('limit') limit?: string) {
    return this.subscriptions.deliveriesOf(id, parseLimit(limit));
  }
}
