import { applyDecorators } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery } from '@nestjs/swagger';
import { ErrorCode } from '../common/app-error';
import { ApiErrorResponse, ApiJsonResponse, ApiNotFound } from '../common/openapi.decorators';

const id = ApiParam({
  name: 'id',
  description: 'Destination id.',
  schema: { type: 'string', format: 'uuid' },
});
const badId = ApiErrorResponse(400, '`id` is not a uuid; `details` names it.', ErrorCode.InvalidRequest);

/** OpenAPI decorators of DestinationsController, one per route. */
export const DestinationsOpenApi = {
  list: () =>
    applyDecorators(
      ApiOperation({
        summary: 'List destinations',
        description:
          'Destinations (`host:port`) that ever failed, with their circuit breaker state: the unwell first. A destination that never failed is healthy and not listed.',
      }),
      ApiQuery({
        name: 'state',
        required: false,
        description: 'Only destinations in this state.',
        schema: { type: 'string', enum: ['healthy', 'paused', 'disabled'] },
      }),
      ApiJsonResponse(200, 'DestinationList', 'The destinations.'),
      ApiErrorResponse(400, '`state` is not valid; `details` names it.', ErrorCode.InvalidRequest),
    ),
  get: () =>
    applyDecorators(
      ApiOperation({ summary: 'Get a destination' }),
      id,
      ApiJsonResponse(200, 'Destination', 'The destination.'),
      badId,
      ApiNotFound('destination'),
    ),
  pause: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Pause a destination',
        description:
          'Its steps wait in the queue (no attempts are spent) until it is resumed by hand; no probes. Fires `destination.paused`.',
      }),
      id,
      ApiJsonResponse(200, 'Destination', 'The destination, paused.'),
      badId,
      ApiNotFound('destination'),
    ),
  resume: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Resume a destination',
        description:
          'From paused or disabled: healthy again, its counts reset, and the steps waiting for it run. Fires `destination.resumed`. Steps that failed `destination_disabled` run again with a retry of their run.',
      }),
      id,
      ApiJsonResponse(200, 'Destination', 'The destination, healthy.'),
      badId,
      ApiNotFound('destination'),
    ),
};
