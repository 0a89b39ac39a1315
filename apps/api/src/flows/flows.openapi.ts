import { applyDecorators } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiResponse } from '@nestjs/swagger';
import { SLUG_PATTERN } from '@hookflow/flows';
import { ErrorCode } from '../common/app-error';
import {
  ApiErrorResponse,
  ApiJsonBody,
  ApiJsonResponse,
  ApiNotFound,
  errorSchema,
  ApiTimeWindow,
} from '../common/openapi.decorators';
import { ref } from '../common/openapi.schemas';

const slug = ApiParam({
  name: 'slug',
  description: 'Flow slug.',
  schema: { type: 'string', pattern: SLUG_PATTERN },
});
const limit = ApiQuery({
  name: 'limit',
  required: false,
  description: 'Page size.',
  schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
});
const cursor = ApiQuery({
  name: 'cursor',
  required: false,
  description: '`nextCursor` of the previous page.',
  schema: { type: 'string' },
});
const notFound = ApiNotFound('flow');
const fileManaged = ApiErrorResponse(
  409,
  'The flow is owned by a flow file (named in the message); change the file instead.',
  ErrorCode.FileManaged,
);
const invalidFlow = ApiErrorResponse(
  400,
  'The document is invalid, with a JSON pointer and a message per problem in `details`; or the body is not JSON.',
  ErrorCode.InvalidFlow,
  ErrorCode.InvalidBody,
);
const invalidRequest = (description: string) =>
  ApiErrorResponse(400, description, ErrorCode.InvalidRequest, ErrorCode.InvalidBody);
const invalidQuery = (description: string) => ApiErrorResponse(400, description, ErrorCode.InvalidRequest);

/** OpenAPI decorators of FlowsController, one per route. */
export const FlowsOpenApi = {
  create: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Create a flow',
        description: 'Saves a flow document as version 1 of a new flow.',
      }),
      ApiJsonBody('FlowDocument'),
      ApiJsonResponse(201, 'FlowView', 'The new flow with its trigger URL.'),
      invalidFlow,
      ApiErrorResponse(409, 'A live flow already has this slug.', ErrorCode.Conflict),
    ),

  validate: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Validate a flow document',
        description: 'Checks a document and saves nothing.',
      }),
      ApiJsonBody('FlowDocument'),
      ApiJsonResponse(200, 'ValidationResult', 'The document is valid.'),
      invalidFlow,
    ),

  sync: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Sync flow files',
        description:
          'Plans (`dryRun`) or applies a set of flow files, all or nothing. Flows created or changed are owned by ' +
          'their file; `prune` disables file-owned flows whose file is missing. What CI pipelines call.',
      }),
      ApiJsonBody('SyncRequest'),
      ApiJsonResponse(200, 'SyncPlan', 'The plan, or what was done.'),
      ApiErrorResponse(
        400,
        'The request is malformed or has a field not listed here, or a file is invalid (`invalid_flow`: each ' +
          'detail names the `file` and a JSON pointer into it); nothing was changed.',
        ErrorCode.InvalidRequest,
        ErrorCode.InvalidFlow,
        ErrorCode.InvalidBody,
      ),
    ),

  testUnsaved: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Dry-run an unsaved flow',
        description:
          'Runs a flow document on a sample request in the API process; actions are rendered, not sent.',
      }),
      ApiJsonBody('TestDefinitionRequest'),
      ApiJsonResponse(200, 'TestResult', "Every step's input, output and status."),
      ApiErrorResponse(
        400,
        'The definition is missing or invalid, or the sample request is malformed (`dryRun: false` included) ' +
          'or has a field not listed here.',
        ErrorCode.InvalidRequest,
        ErrorCode.InvalidFlow,
        ErrorCode.InvalidBody,
      ),
    ),

  list: () =>
    applyDecorators(
      ApiOperation({ summary: 'List flows', description: 'Live flows by slug, a page at a time.' }),
      limit,
      cursor,
      ApiJsonResponse(200, 'FlowPage', 'A page of flows.'),
      invalidQuery('`limit` or `cursor` is not valid.'),
    ),

  get: () =>
    applyDecorators(
      ApiOperation({ summary: 'Get a flow' }),
      slug,
      ApiJsonResponse(200, 'FlowView', 'The flow and its current definition.'),
      notFound,
    ),

  replace: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Replace a flow definition',
        description:
          "Saves a new version when the definition changed. The body's `slug` may be left out; when present it " +
          "must be the URL's.",
      }),
      slug,
      ApiJsonBody('FlowDocument'),
      ApiJsonResponse(200, 'FlowView', 'The flow with its current version.'),
      invalidFlow,
      notFound,
      fileManaged,
    ),

  patch: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Enable or disable a flow',
        description: "A disabled flow's trigger URL answers 409 `flow_disabled`.",
      }),
      slug,
      ApiJsonBody('FlowPatch'),
      ApiJsonResponse(200, 'FlowView', 'The flow.'),
      invalidRequest('`enabled` is not a boolean, or the body has another field.'),
      notFound,
      fileManaged,
    ),

  remove: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Delete a flow',
        description: 'Its trigger URL answers 404 from now on; its runs and events are kept.',
      }),
      slug,
      ApiResponse({ status: 204, description: 'Deleted.' }),
      notFound,
      fileManaged,
    ),

  versions: () =>
    applyDecorators(
      ApiOperation({ summary: 'List the versions of a flow' }),
      slug,
      ApiJsonResponse(200, 'FlowVersionList', 'Every version, newest first.'),
      notFound,
    ),

  version: () =>
    applyDecorators(
      ApiOperation({ summary: 'Get one version of a flow' }),
      slug,
      ApiParam({ name: 'version', description: 'Version number.', schema: { type: 'integer', minimum: 1 } }),
      ApiJsonResponse(200, 'FlowVersion', 'The version and its definition.'),
      invalidQuery('`version` is not a whole number.'),
      ApiNotFound('flow or version'),
    ),

  export: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Export a flow as its file',
        description:
          'The canonical `*.flow.json` content of the current definition: fixed key order, two-space ' +
          'indentation, a final newline. Importing it back changes nothing, byte for byte.',
      }),
      slug,
      ApiResponse({
        status: 200,
        description: 'The file content.',
        content: { 'application/json': { schema: ref('FlowDocument') } },
      }),
      notFound,
    ),

  rotate: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Rotate the trigger URL',
        description: 'Gives the flow a new unguessable trigger key; the old URL answers 404 at once.',
      }),
      slug,
      ApiJsonResponse(200, 'FlowView', 'The flow with its new `triggerUrl`.'),
      notFound,
    ),

  test: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Dry-run a flow',
        description:
          'Runs the current definition on a sample request in the API process: nothing is sent and nothing ' +
          'is stored; actions show the request they would send, secrets masked.',
      }),
      slug,
      ApiJsonBody('TestRequest', { required: false }),
      ApiJsonResponse(200, 'TestResult', "Every step's input, output and status."),
      invalidRequest(
        'The sample request is malformed (`dryRun: false` included) or has a field not listed here.',
      ),
      notFound,
    ),

  run: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Run a flow by hand',
        description:
          "Starts a real run of the flow's current version on the request given, as if its trigger had received " +
          'it, whatever the trigger type and also when the flow is disabled. None of the trigger checks apply ' +
          '(signature, allowIps, rateLimit, dedupe). The event is stored with method `MANUAL`.',
      }),
      slug,
      ApiJsonBody('ManualRunRequest', { required: false }),
      ApiResponse({
        status: 202,
        description: 'The run is stored and its first steps queued.',
        schema: ref('ManualRunResult'),
        headers: { Location: { description: 'The run: `/api/runs/{runId}`.', schema: { type: 'string' } } },
      }),
      invalidRequest(
        'A field is malformed or out of bounds (the detail names it), the body is not JSON, or it has a field ' +
          'not listed here.',
      ),
      notFound,
      ApiResponse({
        status: 503,
        description: `\`${ErrorCode.QueueUnavailable}\`: the queue is known to be down; nothing was stored.`,
        schema: errorSchema(ErrorCode.QueueUnavailable),
        headers: { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer' } } },
      }),
    ),

  events: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Inspect received requests',
        description:
          'Every request the trigger received, accepted or refused (with its reason), newest first.',
      }),
      slug,
      ApiQuery({
        name: 'accepted',
        required: false,
        description: '`false` for refusals only, `true` for accepted requests only.',
        schema: { type: 'string', enum: ['true', 'false'] },
      }),
      limit,
      cursor,
      ApiJsonResponse(200, 'EventPage', 'A page of requests.'),
      invalidQuery('`accepted`, `limit` or `cursor` is not valid.'),
      notFound,
    ),

  replayEvent: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Replay a refused request',
        description:
          "Starts a run of the flow's current version from a request its trigger refused (body, headers, " +
          'query as stored, headers redacted), as if it had been accepted. The checks that refused it, ' +
          'signature verification included, are not run again: a write-scoped key asked for it. Only a ' +
          'request refused after its body was read, with its body kept whole (under 4 KiB), qualifies.',
      }),
      slug,
      ApiParam({
        name: 'eventId',
        description: 'Event id (from the inspector).',
        schema: { type: 'string' },
      }),
      ApiResponse({
        status: 202,
        description: 'The run is stored and its first steps queued.',
        schema: ref('ManualRunResult'),
        headers: { Location: { description: 'The run: `/api/runs/{runId}`.', schema: { type: 'string' } } },
      }),
      ApiNotFound('flow or event'),
      ApiErrorResponse(
        409,
        '`conflict`: the request started or was answered with a run (replay that run), its body was not kept ' +
          'whole, or it does not parse; `flow_disabled`: the flow is disabled.',
        ErrorCode.Conflict,
        ErrorCode.FlowDisabled,
      ),
      ApiResponse({
        status: 503,
        description: `\`${ErrorCode.QueueUnavailable}\`: the queue is known to be down; nothing was stored.`,
        schema: errorSchema(ErrorCode.QueueUnavailable),
        headers: { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer' } } },
      }),
    ),

  stepStats: () =>
    applyDecorators(
      ApiOperation({
        summary: "Count how a flow's steps ended",
        description:
          'Per step: rows, succeeded, failed, filtered, skipped and the failure rate, over the runs created ' +
          'in the window (default: the last 24 hours; at most 31 days).',
      }),
      slug,
      ApiTimeWindow(),
      ApiJsonResponse(200, 'FlowStepStats', 'Counts per step.'),
      invalidQuery(
        '`since` or `until` is not a time, `until` is not after `since`, or they are over 31 days apart.',
      ),
      notFound,
    ),
};
