import { SECRET_NAME_PATTERN } from '@hookflow/flows';

/** Methods the http connector sends; `with.method` is matched case-insensitively. */
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

type QueryScalar = string | number | boolean;

/** Most redirect hops `followRedirects` may allow. */
export const MAX_FOLLOW_REDIRECTS = 10;

/** The `with` options of an `http` action step, after template rendering. */
export interface HttpWith {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  query?: Record<string, QueryScalar | QueryScalar[]>;
  json?: unknown;
  body?: string;
  /** Redirect hops to follow (default 0: a 3xx is the outcome); every hop passes the SSRF guard again. */
  followRedirects?: number;
  /** Standard Webhooks signing; the engine replaces the flow's secret name with its value (`whsec_...`). */
  sign?: { secret: string };
}

// anyOf rather than a type array keeps the schema valid under ajv's strictTypes.
const queryScalars = [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }];

/** JSON Schema of the http `with` options; no `format: uri`, as the validator sees unrendered templates. */
export const httpWithSchema: Record<string, unknown> = {
  type: 'object',
  required: ['url'],
  additionalProperties: false,
  properties: {
    method: { enum: [...HTTP_METHODS, ...HTTP_METHODS.map((m) => m.toLowerCase())] },
    url: { type: 'string', minLength: 1 },
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    query: {
      type: 'object',
      additionalProperties: { anyOf: [...queryScalars, { type: 'array', items: { anyOf: queryScalars } }] },
    },
    json: {},
    body: { type: 'string' },
    followRedirects: { type: 'integer', minimum: 0, maximum: MAX_FOLLOW_REDIRECTS },
    sign: {
      type: 'object',
      required: ['secret'],
      additionalProperties: false,
      properties: { secret: { type: 'string', pattern: SECRET_NAME_PATTERN } },
    },
  },
  // `properties` repeated so ajv's strictRequired mode accepts the `required` inside `not`.
  not: { required: ['json', 'body'], properties: { json: true, body: true } },
};
