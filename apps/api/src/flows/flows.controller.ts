import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseIntPipe,
  Patch,
  Post,
  Put,
  Query,
  UseGuards,
} from '@nestjs/common';
import { ApiKeyGuard } from '../common/api-key.guard';
import { parseLimit } from '../common/query';
import { FlowsService } from './flows.service';

@Controller('api/flows')
@UseGuards(ApiKeyGuard)
export class FlowsController {
  constructor(private readonly flows: FlowsService) {}

  @Post()
  create(@Body() body: unknown) {
    return this.flows.create(body);
  }

  @Post('validate')
  @HttpCode(200)
  validate(@Body() body: unknown) {
    const { warnings } = this.flows.validate(body);
    return { valid: true, warnings };
  }

  @Get()
  list(@Query('limit') limit?: string, @Query('cursor') cursor?: string) {
    return this.flows.list(parseLimit(limit), cursor);
  }

  @Get(':slug')
  get(@Param('slug') slug: string) {
    return this.flows.get(slug);
  }

  @Put(':slug')
  replace(@Param('slug') slug: string, @Body() body: unknown) {
    return this.flows.replace(slug, body);
  }

  @Patch(':slug')
  patch(@Param('slug') slug: string, @Body() body: { enabled?: unknown } | undefined) {
    return this.flows.setEnabled(slug, body?.enabled);
  }

  @Delete(':slug')
  @HttpCode(204)
  async remove(@Param('slug') slug: string): Promise<void> {
    await this.flows.remove(slug);
  }

  @Get(':slug/versions')
  versions(@Param('slug') slug: string) {
    return this.flows.versions(slug);
  }

  @Get(':slug/versions/:version')
  version(@Param('slug') slug: string, @Param('version', ParseIntPipe) version: number) {
    return this.flows.version(slug, version);
  }
}
