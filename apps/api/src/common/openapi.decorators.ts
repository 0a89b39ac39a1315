import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiResponse, ApiTags, type SchemaObject } from '@nestjs/swagger';
import { ErrorCode } from './app-error';
import { ref, type SchemaName } from './openapi.schemas';

/** Name of the security scheme of the management API key in the OpenAPI document. */
export const API_KEY_SCHEME = 'bearer';
/** Name of the security scheme of `METRICS_TOKEN`. */
export const METRICS_SCHEME = 'metrics';

/** A management controller: its tag, the bearer key, and the 401 every one of its routes answers without one. */
export function ApiManagement(tag: string): ClassDecorator {
  return applyDecorators(
    ApiTags(tag),
    ApiBearerAuth(API_KEY_SCHEME),
    ApiErrorResponse(
      401,
      'No valid API key; the answer carries `WWW-Authenticate: Bearer`.',
      ErrorCode.Unauthorized,
    ),
  );
}

/** The standard error body, narrowed to `codes`. */
export function errorSchema(...codes: ErrorCode[]): SchemaObject {
  return {
    allOf: [ref('Error'), { type: 'object', properties: { error: { type: 'string', enum: codes } } }],
  };
}

/** An error answer of the standard shape whose `error` is one of `codes`. */
export function ApiErrorResponse(status: number, description: string, ...codes: ErrorCode[]) {
  return ApiResponse({
    status,
    description: `${codes.map((c) => `\`${c}\``).join(', ')}: ${description}`,
    schema: errorSchema(...codes),
  });
}

/** A successful JSON answer of a component schema. */
export function ApiJsonResponse(status: number, schema: SchemaName, description: string) {
  return ApiResponse({ status, description, schema: ref(schema) });
}

/**
 * A JSON request body of a component schema. Any body can be malformed JSON (400 `invalid_body`)
 * or larger than the server accepts (413), so those two answers come with it.
 */
export function ApiJsonBody(schema: SchemaName, options: { description?: string; required?: boolean } = {}) {
  return applyDecorators(
    ApiBody({ schema: ref(schema), required: options.required ?? true, description: options.description }),
    ApiErrorResponse(413, 'The body is larger than the server accepts.', ErrorCode.PayloadTooLarge),
  );
}

/** 404 for a flow slug or run id that does not exist (deleted flows included). */
export function ApiNotFound(what: string) {
  return ApiErrorResponse(404, `No such ${what}.`, ErrorCode.NotFound);
}
