import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeyGuard } from '../common/api-key.guard';
import { AppError } from '../common/app-error';
import { ApiManagement } from '../common/openapi.decorators';
import { parseLimit } from '../common/query';
import { FlowEventsService } from './flow-events.service';
import { FlowStepStatsService } from './flow-step-stats.service';
import { FlowSyncService, type FlowFile } from './flow-sync.service';
import { FlowTestService, type TestRequest } from './flow-test.service';
import { FlowsOpenApi } from './flows.openapi';
import { FlowsService } from './flows.service';
import { ManualRunService } from './manual-run.service';

@Controller('api/flows')
@UseGuards(ApiKeyGuard)
@ApiManagement('flows')
export class FlowsController {
  constructor(
    private readonly flows: FlowsService,
    private readonly sync: FlowSyncService,
    private readonly tester: FlowTestService,
    private readonly events: FlowEventsService,
    private readonly manualRuns: ManualRunService,
    private readonly stepStats: FlowStepStatsService,
  ) {}

  @Post()
  @FlowsOpenApi.create()
  create(@Body() body: unknown) {
    return this.flows.create(body);
  }

  @Post('validate')
  @FlowsOpenApi.validate()
  @HttpCode(200)
  async validate(@Body() body: unknown) {
    const { warnings } = await this.flows.check(body);
    return { valid: true, warnings };
  }

  @Post('sync')
  @FlowsOpenApi.sync()
  @HttpCode(200)
  syncFiles(@Body() body: { files?: unknown; prune?: unknown; dryRun?: unknown } | undefined) {
    const files = body?.files;
    if (!Array.isArray(files)) throw AppError.invalid('/files', 'must be an array of { path, definition }');
    files.forEach((f: { path?: unknown; definition?: unknown } | null, i) => {
      if (!f || typeof f.path !== 'string' || f.path.length === 0) {
        throw AppError.invalid(`/files/${i}/path`, 'must be a non-empty string');
      }
      if (!f.definition || typeof f.definition !== 'object') {
        throw AppError.invalid(`/files/${i}/definition`, 'must be a flow document');
      }
    });
    for (const flag of ['prune', 'dryRun'] as const) {
      if (body?.[flag] !== undefined && typeof body[flag] !== 'boolean')
        throw AppError.invalid(`/${flag}`, 'must be true or false');
    }
    return this.sync.sync(files as FlowFile[], {
      prune: body?.prune === true,
      dryRun: body?.dryRun === true,
    });
  }

  @Post('test')
  @FlowsOpenApi.testUnsaved()
  @HttpCode(200)
  testUnsaved(@Body() body: (TestRequest & { definition?: unknown }) | undefined) {
    if (!body?.definition) throw AppError.invalid('/definition', 'is required: the flow document to test');
    const { definition } = this.flows.validate(body.definition);
    return this.tester.run(definition, body);
  }

  @Get()
  @FlowsOpenApi.list()
  list(@Query('limit') limit?: string, @Query('cursor') cursor?: string) {
    return this.flows.list(parseLimit(limit), cursor);
  }

  @Get(':slug')
  @FlowsOpenApi.get()
  get(@Param('slug') slug: string) {
    return this.flows.get(slug);
  }

  @Put(':slug')
  @FlowsOpenApi.replace()
  replace(@Param('slug') slug: string, @Body() body: unknown) {
    return this.flows.replace(slug, body);
  }

  @Patch(':slug')
  @FlowsOpenApi.patch()
  patch(@Param('slug') slug: string, @Body() body: { enabled?: unknown } | undefined) {
    return this.flows.setEnabled(slug, body?.enabled);
  }

  @Delete(':slug')
  @FlowsOpenApi.remove()
  @HttpCode(204)
  async remove(@Param('slug') slug: string): Promise<void> {
    await this.flows.remove(slug);
  }

  @Get(':slug/versions')
  @FlowsOpenApi.versions()
  versions(@Param('slug') slug: string) {
    return this.flows.versions(slug);
  }

  @Get(':slug/versions/:version')
  @FlowsOpenApi.version()
  version(@Param('slug') slug: string, @Param('version') version: string) {
    if (!/^-?\d+$/.test(version)) throw AppError.invalid('/version', 'must be a whole number');
    return this.flows.version(slug, Number(version));
  }

  @Get(':slug/export')
  @FlowsOpenApi.export()
  @Header('content-type', 'application/json; charset=utf-8')
  export(@Param('slug') slug: string): Promise<string> {
    return this.flows.export(slug);
  }

  @Post(':slug/trigger/rotate')
  @FlowsOpenApi.rotate()
  @HttpCode(200)
  rotate(@Param('slug') slug: string) {
    return this.flows.rotateTrigger(slug);
  }

  @Post(':slug/test')
  @FlowsOpenApi.test()
  @HttpCode(200)
  async test(@Param('slug') slug: string, @Body() body: TestRequest | undefined) {
    return this.tester.run(await this.flows.definitionOf(slug), body ?? {});
  }

  @Post(':slug/run')
  @FlowsOpenApi.run()
  @HttpCode(202)
  async run(
    @Param('slug') slug: string,
    @Body() body: unknown,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const run = await this.manualRuns.start(slug, body, req.ip);
    void reply.header('location', `/api/runs/${run.runId}`);
    return run;
  }

  @Get(':slug/events')
  @FlowsOpenApi.events()
  listEvents(
    @Param('slug') slug: string,
    @Query('accepted') accepted?: string,
    @Query('limit') limit?: string,
    @Query('cursor') cursor?: string,
  ) {
    return this.events.list(slug, { accepted, limit: parseLimit(limit), cursor });
  }

  @Post(':slug/events/:eventId/replay')
  @FlowsOpenApi.replayEvent()
  @HttpCode(202)
  async replayEvent(
    @Param('slug') slug: string,
    @Param('eventId') eventId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const run = await this.manualRuns.replayRefused(slug, eventId);
    void reply.header('location', `/api/runs/${run.runId}`);
    return run;
  }

  @Get(':slug/steps/stats')
  @FlowsOpenApi.stepStats()
  stepStatsOf(@Param('slug') slug: string, @Query('since') since?: string, @Query('until') until?: string) {
    return this.stepStats.stats(slug, { since, until });
  }
}
