import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ErrorCode } from '../common/app-error';
import { ApiErrorResponse, ApiJsonResponse, errorSchema } from '../common/openapi.decorators';

/** OpenAPI decorators of the public trigger endpoint. */
export function IngressOpenApi() {
  return applyDecorators(
    ApiTags('triggers'),
    ApiOperation({
      summary: 'Start a run (trigger URL)',
      description:
        'The public trigger URL of a flow; no API key. Accepts the methods the trigger lists (default POST; a GET ' +
        'trigger takes its data from the query string). JSON, form and XML bodies are parsed, other text is kept ' +
        "as text. The trigger's checks run in this order: method, enabled, headers, body size, source address, " +
        'rate limit, signature, body parsing, dedupe. A trigger that verifies signatures counts only requests ' +
        'whose signature passed against its rate limit; past `VERIFY_FAILURE_LIMIT` failures an address gets ' +
        '429 for its failing requests. Every request, accepted or refused, is recorded for ' +
        '`GET /api/flows/{slug}/events`, but failures past that limit.',
    }),
    ApiParam({
      name: 'key',
      description: 'The secret trigger key from `triggerUrl`.',
      schema: { type: 'string' },
    }),
    ApiConsumes('application/json', 'application/x-www-form-urlencoded', 'application/xml', 'text/plain'),
    ApiBody({ required: false, description: 'The webhook payload, in any content type.', schema: {} }),
    ApiJsonResponse(
      202,
      'IngressAccepted',
      "Accepted: the run is stored and queued. A trigger's `respond` answers its own 2xx status, headers and body instead. " +
        "A flow with a respond step holds the request until the run reaches that step (at most the trigger's " +
        '`respondTimeout`) and answers what the step rendered: its status (200 to 599), headers and body; when the ' +
        'run does not reach it in time, or cannot, the answer is this one.',
    ),
    ApiJsonResponse(
      200,
      'IngressDuplicate',
      "A duplicate: the trigger's dedupe key was seen within the dedupe window; no new run. A trigger whose " +
        '`respond` has a body answers a duplicate as it answered the first delivery (status, headers, body); ' +
        'one without answers this, with `respond.status` if it sets one.',
    ),
    ApiErrorResponse(
      400,
      'The body does not parse as its declared content type, or nests too deeply.',
      ErrorCode.InvalidBody,
    ),
    ApiErrorResponse(
      401,
      "The request's signature is missing or wrong, or its timestamp is outside the tolerance.",
      ErrorCode.SignatureMissing,
      ErrorCode.SignatureMismatch,
      ErrorCode.TimestampOutOfTolerance,
    ),
    ApiErrorResponse(403, "The source address is not in the trigger's `allowIps`.", ErrorCode.Forbidden),
    ApiErrorResponse(404, 'No trigger with this key (a deleted flow, or a rotated key).', ErrorCode.NotFound),
    ApiResponse({
      status: 405,
      description:
        '`method_not_allowed`: The trigger does not accept this method; `Allow` lists the ones it does.',
      headers: { Allow: { description: 'The accepted methods.', schema: { type: 'string' } } },
      schema: errorSchema(ErrorCode.MethodNotAllowed),
    }),
    ApiErrorResponse(409, 'The flow is disabled.', ErrorCode.FlowDisabled),
    ApiErrorResponse(
      413,
      "The body is larger than the trigger's `maxBodyBytes` or the server's limit.",
      ErrorCode.PayloadTooLarge,
    ),
    ApiResponse({
      status: 429,
      description:
        "`rate_limited`: Over the trigger's `rateLimit`, or this address failed the trigger's signature check " +
        'too often (`VERIFY_FAILURE_LIMIT`); `Retry-After` says when to try again.',
      headers: { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer' } } },
      schema: errorSchema(ErrorCode.RateLimited),
    }),
    ApiErrorResponse(431, 'Too many request headers, or too many bytes of them.', ErrorCode.HeadersTooLarge),
    ApiErrorResponse(
      503,
      'Nothing was accepted; retry later (`Retry-After` says when for the queue and the database): the queue ' +
        'or the database is unavailable, or the secret the trigger verifies with cannot be read now.',
      ErrorCode.QueueUnavailable,
      ErrorCode.DatabaseUnavailable,
      ErrorCode.Unavailable,
    ),
  );
}
