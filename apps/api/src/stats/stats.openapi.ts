import { applyDecorators } from '@nestjs/common';
import { ApiOperation, ApiQuery } from '@nestjs/swagger';
import { SLUG_PATTERN } from '@hookflow/flows';
import { ErrorCode } from '../common/app-error';
import { ApiErrorResponse, ApiJsonResponse, ApiTimeWindow } from '../common/openapi.decorators';

/** OpenAPI decorators of StatsController. */
export const StatsOpenApi = {
  get: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Run and delivery figures',
        description:
          'Runs by status over a time window (at most 31 days, at most 1,500 buckets), per flow (failures, run duration percentiles) and per destination (attempts, failures, attempt duration percentiles, the last status and error).',
      }),
      ApiTimeWindow(),
      ApiQuery({
        name: 'bucket',
        required: false,
        description: 'Size of a bucket of the series; buckets start at whole minutes, hours, UTC days.',
        schema: { type: 'string', enum: ['minute', 'hour', 'day'], default: 'hour' },
      }),
      ApiQuery({
        name: 'flow',
        required: false,
        description: 'Only runs (and their attempts) of this flow (slug).',
        schema: { type: 'string', pattern: SLUG_PATTERN },
      }),
      ApiQuery({
        name: 'top',
        required: false,
        description:
          'Most flows and most destinations listed (those with most failures first); `flowCount` and `destinationCount` say how many there were.',
        schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
      }),
      ApiJsonResponse(200, 'Stats', 'The figures of the window.'),
      ApiErrorResponse(
        400,
        '`since`, `until`, `bucket`, `flow` or `top` is not valid, the window is over 31 days, or it has more than 1,500 buckets; `details` names the field.',
        ErrorCode.InvalidRequest,
      ),
    ),
};
