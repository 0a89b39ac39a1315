import { applyDecorators, RequestMethod, SetMetadata, UseInterceptors } from '@nestjs/common';
import { METHOD_METADATA } from '@nestjs/common/constants';
import { ApiBody, ApiQuery, ApiResponse, ApiSecurity, ApiTags, type SchemaObject } from '@nestjs/swagger';
import type { ApiKeyScope } from '@hookflow/store';
import { ErrorCode } from './app-error';
import { RequestBodyCheck } from './request-body-check';
import { ref, type SchemaName } from './openapi.schemas';

/** Name of the security scheme of the management API key in the OpenAPI document. */
export const API_KEY_SCHEME = 'bearer';
/** Name of the security scheme of the browser session cookie (`POST /api/session`). */
export const SESSION_SCHEME = 'session';
/** Name of the security scheme of `METRICS_TOKEN`. */
export const METRICS_SCHEME = 'metrics';

/** Metadata key of the API key scope a management route needs (read by `ApiKeyGuard`). */
export const REQUIRED_SCOPE = 'hookflow:required-scope';

/** Class decorator: the tag, and each route's key scope (`read` for GET, else `write`) from its metadata. */
export function ApiManagement(tag: string, options: { scope?: ApiKeyScope } = {}): ClassDecorator {
  return (target) => {
    ApiTags(tag)(target);
    UseInterceptors(RequestBodyCheck)(target);
    const proto = target.prototype as object;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const descriptor = Object.getOwnPropertyDescriptor(proto, name)!;
      if (name === 'constructor' || typeof descriptor.value !== 'function') continue;
      const method = Reflect.getMetadata(METHOD_METADATA, descriptor.value) as RequestMethod | undefined;
      if (method === undefined) continue;
      const scope = options.scope ?? (method === RequestMethod.GET ? 'read' : 'write');
      applyDecorators(
        SetMetadata(REQUIRED_SCOPE, scope),
        // Either requirement will do: a bearer key, or a session cookie (whose key has the scope).
        ApiSecurity(API_KEY_SCHEME, [scope]),
        ApiSecurity(SESSION_SCHEME, [scope]),
        ApiErrorResponse(
          401,
          'No valid API key nor session; the answer carries `WWW-Authenticate: Bearer`.',
          ErrorCode.Unauthorized,
        ),
        ApiErrorResponse(
          403,
          `The API key's scope is below \`${scope}\`; the message names the scope needed. With the session ` +
            'cookie: the request came from another site, or (not GET) lacks the right `X-CSRF-Token`.',
          ErrorCode.InsufficientScope,
          ErrorCode.OriginMismatch,
          ErrorCode.CsrfTokenMissing,
          ErrorCode.CsrfTokenInvalid,
        ),
      )(proto, name, descriptor);
    }
  };
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

/** A JSON request body of a component schema, with the 413 any body can get. */
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

/** `since` and `until` of a figures window: the last 24 hours unless given. */
export function ApiTimeWindow() {
  return applyDecorators(
    ApiQuery({
      name: 'since',
      required: false,
      description: 'Start of the window (ISO 8601); default 24 hours before `until`.',
      schema: { type: 'string', format: 'date-time' },
    }),
    ApiQuery({
      name: 'until',
      required: false,
      description: 'End of the window (ISO 8601), excluded; default now.',
      schema: { type: 'string', format: 'date-time' },
    }),
  );
}
