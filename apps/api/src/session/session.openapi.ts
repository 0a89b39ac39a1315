import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiSecurity, type SchemaObject } from '@nestjs/swagger';
import { API_KEY_SCOPES } from '@hookflow/store';
import { ErrorCode } from '../common/app-error';
import { ApiErrorResponse, SESSION_SCHEME } from '../common/openapi.decorators';

const sessionInfo: SchemaObject = {
  type: 'object',
  required: ['scope', 'keyId', 'keyName', 'csrfToken', 'expiresAt'],
  additionalProperties: false,
  properties: {
    scope: { type: 'string', enum: [...API_KEY_SCOPES], description: "The signed-in key's scope." },
    keyId: {
      type: ['string', 'null'],
      format: 'uuid',
      description: 'The key signed in with; null for the bootstrap `HOOKFLOW_API_KEY`.',
    },
    keyName: { type: 'string', description: "The key's name (`HOOKFLOW_API_KEY` for the bootstrap key)." },
    csrfToken: {
      type: 'string',
      description: 'Send it as `X-CSRF-Token` on every POST, PUT, PATCH and DELETE made with the cookie.',
    },
    expiresAt: {
      type: 'string',
      format: 'date-time',
      description:
        'When the session ends at the latest (7 days after sign-in); 12 hours unused end it sooner.',
    },
  },
};
const cookieHeader = {
  'Set-Cookie': {
    description:
      '`hookflow_session=<token>; HttpOnly; SameSite=Strict; Path=/; Max-Age=604800` (`Secure` over https).',
    schema: { type: 'string' },
  },
};
const crossSite = () =>
  ApiErrorResponse(
    403,
    'The request came from another site (`Origin` or `Sec-Fetch-Site: cross-site`).',
    ErrorCode.OriginMismatch,
  );

/** OpenAPI decorators of SessionController, one per route. */
export const SessionOpenApi = {
  signIn: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Sign in from a browser',
        description:
          'Trades an API key for a session cookie (no `Authorization` header needed). Failed sign-ins are ' +
          'limited per client address: past 10 in 5 minutes, 429 `rate_limited` with `Retry-After`.',
      }),
      ApiBody({
        required: true,
        schema: {
          type: 'object',
          required: ['key'],
          additionalProperties: false,
          properties: { key: { type: 'string', minLength: 1, maxLength: 1024, description: 'An API key.' } },
        },
      }),
      ApiResponse({ status: 200, description: 'Signed in.', schema: sessionInfo, headers: cookieHeader }),
      ApiErrorResponse(
        400,
        '`key` is missing or not a string, or the body has a field not listed here.',
        ErrorCode.InvalidRequest,
        ErrorCode.InvalidBody,
      ),
      ApiErrorResponse(401, 'The key is not a valid API key.', ErrorCode.Unauthorized),
      crossSite(),
      ApiErrorResponse(413, 'The body is larger than 4 KiB.', ErrorCode.PayloadTooLarge),
      ApiErrorResponse(
        429,
        'Too many failed sign-ins from this address; `Retry-After`.',
        ErrorCode.RateLimited,
      ),
    ),

  current: () =>
    applyDecorators(
      ApiOperation({
        summary: 'The current session',
        description:
          "The session cookie's session, as sign-in answered it: a reloaded page gets its CSRF token here.",
      }),
      ApiSecurity(SESSION_SCHEME),
      ApiResponse({ status: 200, description: 'Signed in.', schema: sessionInfo }),
      ApiErrorResponse(401, 'No session cookie, or its session ended.', ErrorCode.Unauthorized),
      crossSite(),
    ),

  signOut: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Sign out',
        description:
          'Ends the session and removes the cookie; answers 204 also when there was no live session.',
      }),
      // With the cookie, or without one (nothing to end).
      ApiSecurity({}),
      ApiSecurity(SESSION_SCHEME),
      ApiResponse({ status: 204, description: 'Signed out.', headers: cookieHeader }),
      crossSite(),
    ),
};
