import { applyDecorators } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiResponse } from '@nestjs/swagger';
import { SLUG_PATTERN } from '@hookflow/flows';
import { ErrorCode } from '../common/app-error';
import { ApiErrorResponse, ApiJsonBody, ApiJsonResponse, ApiNotFound } from '../common/openapi.decorators';
import { RUN_STATUS_VALUES } from '../common/openapi.schemas';

const id = ApiParam({ name: 'id', description: 'Run id.', schema: { type: 'string', format: 'uuid' } });
const notFound = ApiNotFound('run');
const notInStatus = (allowed: string) =>
  ApiErrorResponse(409, `The run is not ${allowed}; \`details\` names its status.`, ErrorCode.Conflict);

/** OpenAPI decorators of RunsController, one per route. */
export const RunsOpenApi = {
  list: () =>
    applyDecorators(
      ApiOperation({
        summary: 'List runs',
        description:
          'Newest first, a page at a time; `q` finds the runs with that value in their trigger body or in a step output.',
      }),
      ApiQuery({
        name: 'flow',
        required: false,
        description: 'Only runs of this flow (slug).',
        schema: { type: 'string', pattern: SLUG_PATTERN },
      }),
      ApiQuery({
        name: 'status',
        required: false,
        description: 'Only runs in this status.',
        schema: { type: 'string', enum: RUN_STATUS_VALUES },
      }),
      ApiQuery({
        name: 'since',
        required: false,
        description: 'Only runs created at or after this time.',
        schema: { type: 'string', format: 'date-time' },
      }),
      ApiQuery({
        name: 'until',
        required: false,
        description: 'Only runs created before this time.',
        schema: { type: 'string', format: 'date-time' },
      }),
      ApiQuery({
        name: 'q',
        required: false,
        description:
          'Only runs with a value equal to this anywhere in their trigger body or in a step output: a string ' +
          'value, or when `q` reads as a number, a number equal to it. Whole values, not parts of them.',
        schema: { type: 'string', minLength: 1, maxLength: 200 },
      }),
      ApiQuery({
        name: 'limit',
        required: false,
        description: 'Page size.',
        schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
      }),
      ApiQuery({
        name: 'cursor',
        required: false,
        description: '`nextCursor` of the previous page.',
        schema: { type: 'string' },
      }),
      ApiJsonResponse(200, 'RunPage', 'A page of runs.'),
      ApiErrorResponse(
        400,
        '`status`, `since`, `until` (not before `since`), `q` (over 200 characters), `limit` or `cursor` is not valid.',
        ErrorCode.InvalidRequest,
      ),
    ),

  stream: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Stream run changes',
        description:
          'Server-Sent Events: `event: run` each time a run is created or changes status, with `data` ' +
          '`{ "id", "flow", "status", "createdAt", "startedAt", "finishedAt" }`, within about 0.5 s; a ' +
          '`: ping` comment every 15 s; `retry: 3000`. Changes made before the stream opened are not sent ' +
          '(read them with `GET /api/runs`). A client that does not read (256 KiB behind) is disconnected.',
      }),
      ApiQuery({
        name: 'flow',
        required: false,
        description: 'Only runs of this flow (slug).',
        schema: { type: 'string', pattern: SLUG_PATTERN },
      }),
      ApiResponse({
        status: 200,
        description: 'The stream, open until the client or the server closes it.',
        content: {
          'text/event-stream': {
            schema: {
              type: 'string',
              description: 'event: run\ndata: {"id":"…","flow":"orders","status":"running",…}\n\n',
            },
          },
        },
      }),
      ApiErrorResponse(400, '`flow` is not a slug.', ErrorCode.InvalidRequest),
      ApiErrorResponse(
        503,
        'This API process serves its most streams (200), or is stopping: try again, or another replica.',
        ErrorCode.Unavailable,
      ),
    ),

  retryMany: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Retry many runs',
        description:
          'Retries the runs a filter finds (as `GET /api/runs` does: flow, time window, `q`) in a status (failed by default); ' +
          'each resumes from its failed steps.',
      }),
      ApiJsonBody('BulkRetryRequest'),
      ApiJsonResponse(202, 'BulkRetryResult', 'How many runs were retried.'),
      ApiErrorResponse(
        400,
        'The request is malformed (unknown `status`, bad times, `q` over 200 characters, a field not listed here).',
        ErrorCode.InvalidRequest,
        ErrorCode.InvalidBody,
      ),
      ApiNotFound('flow'),
      ApiErrorResponse(409, 'A pinned flow version no longer compiles.', ErrorCode.Conflict),
    ),

  get: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Get a run',
        description:
          "The run with its event and every step: status, input, output, error and attempts (and a router's `routes`, the paths it took).",
      }),
      id,
      ApiJsonResponse(200, 'RunDetail', 'The run.'),
      notFound,
    ),

  retry: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Retry a run',
        description:
          'Resumes a failed or cancelled run in place: its failed, cancelled and skipped steps run again with ' +
          'a fresh attempt budget; succeeded steps are not repeated.',
      }),
      id,
      ApiJsonResponse(202, 'RetryResult', 'The steps that run again.'),
      notFound,
      notInStatus('failed or cancelled'),
    ),

  replay: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Replay a run',
        description:
          "A new run from the same event (its `originRunId` is this run), on the version this run was pinned to or on the flow's current one.",
      }),
      id,
      ApiQuery({
        name: 'version',
        required: false,
        description: 'Which flow version the new run uses.',
        schema: { type: 'string', enum: ['pinned', 'latest'], default: 'pinned' },
      }),
      ApiJsonResponse(202, 'ReplayResult', 'The new run.'),
      ApiErrorResponse(400, '`version` is not `pinned` or `latest`.', ErrorCode.InvalidRequest),
      notFound,
      ApiErrorResponse(
        409,
        'The flow is disabled (`flow_disabled`) or deleted, the run has no stored event, or its version no longer compiles.',
        ErrorCode.Conflict,
        ErrorCode.FlowDisabled,
      ),
    ),

  cancel: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Cancel a run',
        description:
          'Stops a queued or running run: waiting steps never run and a delayed retry never fires.',
      }),
      id,
      ApiJsonResponse(200, 'CancelResult', 'The run is cancelled.'),
      notFound,
      notInStatus('queued or running'),
    ),
};
