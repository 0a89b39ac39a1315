import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiResponse } from '@nestjs/swagger';
import { SECRET_NAME_PATTERN } from '@hookflow/flows';
import { ErrorCode } from '../common/app-error';
import { ApiErrorResponse, ApiNotFound } from '../common/openapi.decorators';
import { MAX_SECRET_VALUE_BYTES } from './secrets.service';

const name = ApiParam({
  name: 'name',
  description: 'Secret name, as templates use it: `{{secret "NAME"}}`.',
  schema: { type: 'string', pattern: SECRET_NAME_PATTERN },
});
const unavailable = ApiErrorResponse(
  503,
  'No `HOOKFLOW_MASTER_KEY` is configured, so the secret store is off.',
  ErrorCode.Unavailable,
);
const badName = ApiErrorResponse(
  400,
  'The name or the value is not valid, or the body has a field besides `value`.',
  ErrorCode.InvalidRequest,
  ErrorCode.InvalidBody,
);

/** OpenAPI decorators of SecretsController, one per route. */
export const SecretsOpenApi = {
  list: () =>
    applyDecorators(
      ApiOperation({
        summary: 'List secrets',
        description: 'Names and dates only: values are never returned.',
      }),
      ApiResponse({
        status: 200,
        description: 'Every secret, by name.',
        schema: {
          type: 'object',
          required: ['items'],
          properties: {
            items: {
              type: 'array',
              items: {
                type: 'object',
                required: ['name', 'createdAt', 'updatedAt'],
                additionalProperties: false,
                properties: {
                  name: { type: 'string' },
                  createdAt: { type: 'string', format: 'date-time' },
                  updatedAt: { type: 'string', format: 'date-time' },
                },
              },
            },
          },
        },
      }),
      unavailable,
    ),

  put: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Create or replace a secret',
        description: 'Stored encrypted (AES-256-GCM); redacted as `[secret NAME]` from run data and logs.',
      }),
      name,
      ApiBody({
        required: true,
        schema: {
          type: 'object',
          required: ['value'],
          additionalProperties: false,
          properties: {
            value: { type: 'string', minLength: 1, description: `At most ${MAX_SECRET_VALUE_BYTES} bytes.` },
          },
        },
      }),
      ApiResponse({ status: 204, description: 'Stored.' }),
      badName,
      ApiErrorResponse(413, 'The body is larger than the server accepts.', ErrorCode.PayloadTooLarge),
      unavailable,
    ),

  delete: () =>
    applyDecorators(
      ApiOperation({ summary: 'Delete a secret' }),
      name,
      ApiResponse({ status: 204, description: 'Deleted.' }),
      ApiErrorResponse(400, 'The name is not valid.', ErrorCode.InvalidRequest),
      ApiNotFound('secret'),
      unavailable,
    ),
};
