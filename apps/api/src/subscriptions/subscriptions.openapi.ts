import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiQuery, ApiResponse, type SchemaObject } from '@nestjs/swagger';
import { OPS_EVENT_TYPES } from '@hookflow/flows';
import { ErrorCode } from '../common/app-error';
import { ApiErrorResponse, ApiNotFound } from '../common/openapi.decorators';
import {
  FLOW_PATTERN,
  MAX_SUBSCRIPTION_DESCRIPTION_LENGTH,
  MAX_SUBSCRIPTION_FLOW_PATTERNS,
  MAX_SUBSCRIPTION_URL_LENGTH,
} from './subscriptions.service';

const fields: Record<string, SchemaObject> = {
  url: {
    type: 'string',
    format: 'uri',
    maxLength: MAX_SUBSCRIPTION_URL_LENGTH,
    description: 'Where events are POSTed (http or https); the SSRF guard applies when they are sent.',
  },
  events: {
    type: 'array',
    minItems: 1,
    items: { type: 'string', enum: [...OPS_EVENT_TYPES] },
    description: 'The event types sent.',
  },
  flows: {
    type: 'array',
    maxItems: MAX_SUBSCRIPTION_FLOW_PATTERNS,
    items: { type: 'string', pattern: FLOW_PATTERN },
    description:
      'Flow slugs, `*` standing for any characters (`orders-*`): events about other flows are not sent. Empty: every flow. Events about no flow (destinations) are always sent.',
  },
  description: { type: ['string', 'null'], maxLength: MAX_SUBSCRIPTION_DESCRIPTION_LENGTH },
  enabled: {
    type: 'boolean',
    description: 'A disabled subscription is sent nothing (its pending deliveries fail).',
  },
};
const subscription: SchemaObject = {
  type: 'object',
  required: ['id', 'url', 'events', 'flows', 'description', 'enabled', 'createdAt', 'updatedAt'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', format: 'uuid' },
    ...fields,
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
};
const secret: SchemaObject = {
  type: 'string',
  pattern: '^whsec_[A-Za-z0-9+/]+=*$',
  description:
    'The Standard Webhooks signing secret: in this answer only (stored encrypted, never shown again).',
};
const id = ApiParam({
  name: 'id',
  description: 'Subscription id.',
  schema: { type: 'string', format: 'uuid' },
});
const invalid = ApiErrorResponse(
  400,
  'A field is not valid (the message and `details` name it), or the body has a field not listed here.',
  ErrorCode.InvalidRequest,
  ErrorCode.InvalidBody,
);
const tooLarge = ApiErrorResponse(
  413,
  'The body is larger than the server accepts.',
  ErrorCode.PayloadTooLarge,
);
const unavailable = ApiErrorResponse(
  503,
  'No `HOOKFLOW_MASTER_KEY` is configured, so no signing secret can be stored.',
  ErrorCode.Unavailable,
);

/** OpenAPI decorators of SubscriptionsController, one per route. */
export const SubscriptionsOpenApi = {
  create: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Subscribe a URL to operational events',
        description:
          'Each event is POSTed as JSON, signed with Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`). The signing secret is in this answer only.',
      }),
      ApiBody({
        required: true,
        schema: {
          type: 'object',
          required: ['url', 'events'],
          additionalProperties: false,
          properties: fields,
        },
      }),
      ApiResponse({
        status: 201,
        description: 'The subscription, with its secret.',
        schema: {
          ...subscription,
          required: [...(subscription.required ?? []), 'secret'],
          properties: { ...subscription.properties, secret },
        },
      }),
      invalid,
      tooLarge,
      unavailable,
    ),

  list: () =>
    applyDecorators(
      ApiOperation({ summary: 'List subscriptions', description: 'Oldest first; never their secrets.' }),
      ApiResponse({
        status: 200,
        description: 'Every subscription.',
        schema: {
          type: 'object',
          required: ['items'],
          properties: { items: { type: 'array', items: subscription } },
        },
      }),
    ),

  get: () =>
    applyDecorators(
      ApiOperation({ summary: 'Get a subscription' }),
      id,
      ApiResponse({ status: 200, description: 'The subscription.', schema: subscription }),
      ApiNotFound('subscription'),
    ),

  update: () =>
    applyDecorators(
      ApiOperation({ summary: 'Change a subscription', description: 'Only the fields given change.' }),
      id,
      ApiBody({
        required: true,
        schema: { type: 'object', additionalProperties: false, properties: fields },
      }),
      ApiResponse({ status: 200, description: 'The subscription as it is now.', schema: subscription }),
      invalid,
      tooLarge,
      ApiNotFound('subscription'),
    ),

  delete: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Delete a subscription',
        description: 'With its deliveries, pending ones too.',
      }),
      id,
      ApiResponse({ status: 204, description: 'Deleted.' }),
      ApiNotFound('subscription'),
    ),

  rotateSecret: () =>
    applyDecorators(
      ApiOperation({
        summary: "Rotate a subscription's signing secret",
        description:
          'The new secret signs every delivery from now on, retries included; it is in this answer only.',
      }),
      id,
      ApiResponse({
        status: 200,
        description: 'The new secret.',
        schema: {
          type: 'object',
          required: ['id', 'secret'],
          additionalProperties: false,
          properties: { id: { type: 'string', format: 'uuid' }, secret },
        },
      }),
      ApiNotFound('subscription'),
      unavailable,
    ),

  deliveries: () =>
    applyDecorators(
      ApiOperation({
        summary: "A subscription's recent deliveries",
        description: 'Newest first; finished ones are kept 7 days.',
      }),
      id,
      ApiQuery({
        name: 'limit',
        required: false,
        schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
      }),
      ApiResponse({
        status: 200,
        description: 'The deliveries.',
        schema: {
          type: 'object',
          required: ['items'],
          properties: {
            items: {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                required: [
                  'id',
                  'eventId',
                  'eventType',
                  'status',
                  'attempts',
                  'nextAt',
                  'lastStatus',
                  'lastError',
                  'createdAt',
                  'deliveredAt',
                ],
                properties: {
                  id: { type: 'string' },
                  eventId: {
                    type: ['string', 'null'],
                    description: 'The operational event (its `webhook-id` is derived from it).',
                  },
                  eventType: { type: 'string', enum: [...OPS_EVENT_TYPES] },
                  status: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
                  attempts: { type: 'integer', description: 'Tries so far (8 at most).' },
                  nextAt: {
                    type: ['string', 'null'],
                    format: 'date-time',
                    description: 'When a pending one is tried next.',
                  },
                  lastStatus: { type: ['integer', 'null'], description: "The receiver's last HTTP status." },
                  lastError: { type: ['string', 'null'] },
                  createdAt: { type: 'string', format: 'date-time' },
                  deliveredAt: { type: ['string', 'null'], format: 'date-time' },
                },
              },
            },
          },
        },
      }),
      ApiErrorResponse(400, '`limit` is not a whole number from 1 to 200.', ErrorCode.InvalidRequest),
      ApiNotFound('subscription'),
    ),
};
