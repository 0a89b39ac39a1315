import { applyDecorators, Controller, Get, Param, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiResponse } from '@nestjs/swagger';
import { ApiKeyGuard } from '../common/api-key.guard';
import { ApiManagement, ApiNotFound } from '../common/openapi.decorators';
import { FlowAlertsService } from './flow-alerts.service';

const stateOpenApi = () =>
  applyDecorators(
    ApiOperation({
      summary: "A flow's alert rule and its throttle window",
      description:
        'The rule of the current version (null without one), when a message last went out, when the open window ends and the failures counted in it, told when it ends.',
    }),
    ApiParam({ name: 'slug', description: 'Flow slug.', schema: { type: 'string' } }),
    ApiResponse({
      status: 200,
      description: 'The state.',
      schema: {
        type: 'object',
        required: ['rule', 'lastSentAt', 'windowEndsAt', 'pending'],
        additionalProperties: false,
        properties: {
          rule: {
            type: ['object', 'null'],
            required: ['connector', 'throttle', 'throttleMs'],
            properties: {
              connector: { type: 'string', enum: ['slack', 'discord', 'teams', 'http'] },
              throttle: { type: ['string', 'integer'] },
              throttleMs: { type: 'integer' },
            },
          },
          lastSentAt: { type: ['string', 'null'], format: 'date-time' },
          windowEndsAt: { type: ['string', 'null'], format: 'date-time' },
          pending: { type: 'integer' },
        },
      },
    }),
    ApiNotFound('flow'),
  );

/** `GET /api/flows/:slug/alerts`, apart from FlowsController: the alert rules' own room. */
@Controller('api/flows')
@UseGuards(ApiKeyGuard)
@ApiManagement('flows')
export class FlowAlertsController {
  constructor(private readonly alerts: FlowAlertsService) {}

  @Get(':slug/alerts')
  @stateOpenApi()
  state(@Param('slug') slug: string) {
    return this.alerts.state(slug);
  }
}
