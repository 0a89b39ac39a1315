import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiResponse, type SchemaObject } from '@nestjs/swagger';
import { API_KEY_SCOPES } from '@hookflow/store';
import { ErrorCode } from '../common/app-error';
import { ApiErrorResponse, ApiNotFound } from '../common/openapi.decorators';

const scope: SchemaObject = {
  type: 'string',
  enum: [...API_KEY_SCOPES],
  description:
    '`read`: GET only. `write`: also changes flows, runs and secrets. `admin`: also manages API keys.',
};
const keyInfo = {
  id: { type: 'string', format: 'uuid' },
  name: { type: 'string' },
  scope,
  createdAt: { type: 'string', format: 'date-time' },
} as const;

/** OpenAPI decorators of ApiKeysController, one per route. */
export const ApiKeysOpenApi = {
  create: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Create an API key',
        description:
          'The key is in this answer only: it is stored as a SHA-256 hash and cannot be shown again. Its scope ' +
          "may be the caller's own or lower (403 `insufficient_scope` above it); without one it is `read`.",
      }),
      ApiBody({
        required: true,
        schema: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200 },
            scope: { ...scope, default: 'read' },
          },
        },
      }),
      ApiResponse({
        status: 201,
        description: 'The new key.',
        schema: {
          type: 'object',
          required: ['id', 'name', 'scope', 'key', 'createdAt'],
          additionalProperties: false,
          properties: { ...keyInfo, key: { type: 'string', pattern: '^hfk_[A-Za-z0-9_-]{43}$' } },
        },
      }),
      ApiErrorResponse(
        400,
        '`name` is missing or not valid, `scope` is not a scope, or the body has a field not listed here.',
        ErrorCode.InvalidRequest,
        ErrorCode.InvalidBody,
      ),
      ApiErrorResponse(413, 'The body is larger than the server accepts.', ErrorCode.PayloadTooLarge),
    ),

  list: () =>
    applyDecorators(
      ApiOperation({
        summary: 'List API keys',
        description:
          'Without the keys themselves. The bootstrap `HOOKFLOW_API_KEY` (scope `admin`) is not listed; keys made ' +
          'before scopes existed are `admin`.',
      }),
      ApiResponse({
        status: 200,
        description: 'Every key, oldest first.',
        schema: {
          type: 'object',
          required: ['items'],
          properties: {
            items: {
              type: 'array',
              items: {
                type: 'object',
                required: ['id', 'name', 'scope', 'createdAt', 'lastUsedAt'],
                additionalProperties: false,
                properties: {
                  ...keyInfo,
                  lastUsedAt: {
                    type: ['string', 'null'],
                    format: 'date-time',
                    description: 'To the minute.',
                  },
                },
              },
            },
          },
        },
      }),
    ),

  delete: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Delete an API key',
        description: 'Refused at once by this API replica, and by the others within 5 seconds.',
      }),
      ApiParam({ name: 'id', description: 'Key id.', schema: { type: 'string', format: 'uuid' } }),
      ApiResponse({ status: 204, description: 'Deleted.' }),
      ApiNotFound('API key'),
    ),
};
