// The JSON Schema of a flow document (docs/flow-format.md, How the schema is written).
import { OPS_EVENT_TYPES } from '../events/ops-events';
import { DEFAULT_LOOP_CONCURRENCY } from '../graph/step-graph';
import type { LoopStepDef, StepType, TriggerType } from '../model/flow-definition';
import { DEFAULT_ACTION_ATTEMPTS, DEFAULT_POLL_ATTEMPTS } from '../retry/retry-policy';
import { DEFAULT_ALERT_THROTTLE } from '../events/alert-rules';
import { DURATION_PATTERN } from '../retry/duration';
import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_RESPOND_STATUS,
  DEFAULT_RESPOND_STEP_STATUS,
  DEFAULT_RESPOND_TIMEOUT_MS,
  DEFAULT_TRIGGER_METHODS,
} from './flow-defaults';
import {
  DEFAULT_LOOP_MAX_ITEMS,
  DURATION_RANGES,
  MAX_ALLOW_IPS,
  MAX_ROUTER_PATHS,
  MAX_CODE_LENGTH,
  MAX_DESCRIPTION_LENGTH,
  MAX_DESTINATION_CONCURRENCY,
  MAX_DESTINATION_RATE_LIMIT,
  MAX_EXPRESSION_LENGTH,
  MAX_FLOW_STEPS,
  MAX_HEADER_NAME_LENGTH,
  MAX_LOOP_CONCURRENCY,
  MAX_LOOP_ITEMS,
  MAX_LOOP_STEPS,
  MAX_NAME_LENGTH,
  MAX_RATE_LIMIT,
  MAX_RESPOND_HEADER_VALUE_LENGTH,
  MAX_RESPOND_HEADERS,
  MAX_RESPOND_STEP_BODY_BYTES,
  MAX_RETRY_ATTEMPTS,
  MAX_TEMPLATE_LENGTH,
  MAX_TRIGGER_BODY_BYTES,
  formatDuration,
  type DurationRange,
} from './flow-limits';

export const SLUG_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';
export const STEP_ID_PATTERN = '^[a-z0-9][a-z0-9_-]*$';
/** A need: a step id, or `<routerId>.<path>` for one path of a router. */
export const NEED_PATTERN = '^[a-z0-9][a-z0-9_-]*(\\.[a-z0-9][a-z0-9_-]*)?$';
export const SECRET_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,127}$';
export const CONNECTOR_KEY_PATTERN = '^[a-z0-9][a-z0-9_-]*$';
export const STEP_TYPES = [
  'transform',
  'filter',
  'action',
  'delay',
  'router',
  'code',
  'foreach',
  'respond',
] as const satisfies readonly StepType[];
/** The step types a `foreach` loop may hold (`LoopStepDef`): no delay, no respond, and no loop in a loop. */
export const LOOP_STEP_TYPES = [
  'transform',
  'filter',
  'action',
  'router',
  'code',
] as const satisfies readonly LoopStepDef['type'][];
export const TRIGGER_TYPES = [
  'webhook',
  'schedule',
  'poll',
  'event',
] as const satisfies readonly TriggerType[];
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export const VERIFY_SCHEMES = [
  'token',
  'hmac',
  'standard-webhooks',
  'stripe',
  'github',
  'shopify',
  'slack',
] as const;

const IPV4 = '(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV6 = '[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*';
/** IPv4 or IPv6 address, optionally with a CIDR prefix length (IPv6 is checked further in code). */
export const IP_OR_CIDR_PATTERN = `^(?:${IPV4}(?:/(?:3[0-2]|[12]?\\d))?|${IPV6}(?:/(?:12[0-8]|1[01]\\d|[1-9]?\\d))?)$`;

/** RFC 9110 token characters; a response header value may not carry CR, LF or NUL. */
const HEADER_NAME_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
const HEADER_VALUE_PATTERN = '^[^\\r\\n\\u0000]*$';

const DURATION_MESSAGE = "must be a duration such as '250ms', '10s', '5m', '1h', '1d' or whole milliseconds";

function duration(description: string, range: DurationRange): Record<string, unknown> {
  const span =
    range.minMs <= 1
      ? `At most ${formatDuration(range.maxMs)}.`
      : `From ${formatDuration(range.minMs)} to ${formatDuration(range.maxMs)}.`;
  return {
    description: `${description} ${span}`,
    type: ['string', 'integer'],
    pattern: DURATION_PATTERN,
    minimum: 0,
    maximum: range.maxMs,
    ...(range.minMs > 0 ? { minDuration: range.minMs } : {}),
    maxDuration: range.maxMs,
    examples: ['10s', '5m'],
    errorMessage: DURATION_MESSAGE,
    patternErrorMessage: DURATION_MESSAGE,
  };
}

function text(description: string, maxLength: number, minLength?: number): Record<string, unknown> {
  return { description, type: 'string', ...(minLength ? { minLength } : {}), maxLength };
}

function headerName(description: string): Record<string, unknown> {
  return text(description, MAX_HEADER_NAME_LENGTH, 1);
}

function secretName(description: string): Record<string, unknown> {
  return {
    description,
    type: 'string',
    pattern: SECRET_NAME_PATTERN,
    patternErrorMessage:
      'must be the name of a secret (letters, digits and _, not starting with a digit), never its value',
  };
}

function jsonata(description: string): Record<string, unknown> {
  return { description, type: 'string', minLength: 1, maxLength: MAX_EXPRESSION_LENGTH };
}

/** `if` `key` is one of `values`, `then` the object has exactly `properties` (plus the shared ones). */
function variant(
  key: string,
  values: readonly string[],
  shared: readonly string[],
  properties: Record<string, unknown>,
  required: string[] = [],
  more: Record<string, unknown> = {},
): Record<string, unknown> {
  const passThrough = Object.fromEntries(shared.map((name) => [name, {}]));
  return {
    if: {
      required: [key],
      properties: { [key]: values.length === 1 ? { const: values[0] } : { enum: [...values] } },
    },
    then: {
      ...(required.length > 0 ? { required } : {}),
      additionalProperties: false,
      properties: { ...passThrough, ...properties },
      ...more,
    },
  };
}

const headerNames = {
  type: 'string',
  maxLength: MAX_HEADER_NAME_LENGTH,
  pattern: HEADER_NAME_PATTERN,
  patternErrorMessage: "must be a header name (letters, digits and !#$%&'*+.^_`|~-)",
};

const tolerance = duration(
  'Reject a request whose signed timestamp is older than this. Default 5m.',
  DURATION_RANGES.verifyTolerance,
);

const verifySchema = {
  description:
    'Checks that a request really comes from the sender. `secret` names a secret in the secret store, never its value.',
  type: 'object',
  required: ['scheme', 'secret'],
  properties: {
    scheme: {
      description: 'How the request is verified.',
      enum: [...VERIFY_SCHEMES],
    },
    secret: secretName('Name of the secret in the secret store that holds the token or signing key.'),
  },
  allOf: [
    variant('scheme', ['token'], ['scheme', 'secret'], {
      header: headerName('Header that carries the token as is. Default: `Authorization: Bearer <token>`.'),
      query: headerName('Query parameter that carries the token (instead of a header).'),
    }),
    {
      if: { required: ['scheme'], properties: { scheme: { const: 'token' } } },
      then: {
        not: { required: ['header', 'query'] },
        errorMessage: "takes either 'header' or 'query', not both",
      },
    },
    variant(
      'scheme',
      ['hmac'],
      ['scheme', 'secret'],
      {
        header: headerName('Header that carries the signature.'),
        algorithm: { description: 'HMAC hash.', enum: ['sha1', 'sha256', 'sha512'], default: 'sha256' },
        encoding: { description: 'Encoding of the signature.', enum: ['hex', 'base64'], default: 'hex' },
        prefix: text('Text before the signature in the header, e.g. `sha256=`.', MAX_HEADER_NAME_LENGTH),
        timestampHeader: headerName(
          'Header that carries the signing timestamp (Unix seconds); enables `tolerance`.',
        ),
        signedContent: text(
          'What is signed: `{body}` is the raw body, `{timestamp}` the timestamp header. Default `{body}`, or `{timestamp}.{body}` with `timestampHeader`.',
          1024,
          1,
        ),
        tolerance,
      },
      ['header'],
    ),
    {
      if: {
        required: ['scheme', 'signedContent'],
        properties: {
          scheme: { const: 'hmac' },
          signedContent: { type: 'string', pattern: '\\{timestamp\\}' },
        },
      },
      then: { required: ['timestampHeader'] },
    },
    {
      // What is signed must cover the body, or a captured signature would authorise any body.
      if: { required: ['scheme', 'signedContent'], properties: { scheme: { const: 'hmac' } } },
      then: {
        properties: {
          signedContent: {
            type: 'string',
            pattern: '\\{body\\}',
            patternErrorMessage:
              'must contain {body}: a signature that does not cover the body can be replayed with any body',
          },
        },
      },
    },
    {
      // With a timestamp header, the timestamp must be signed too, or its tolerance protects nothing.
      if: {
        required: ['scheme', 'timestampHeader', 'signedContent'],
        properties: { scheme: { const: 'hmac' } },
      },
      then: {
        properties: {
          signedContent: {
            type: 'string',
            pattern: '\\{timestamp\\}',
            patternErrorMessage:
              'must contain {timestamp} when timestampHeader is set, or the timestamp is not signed',
          },
        },
      },
    },
    variant('scheme', ['standard-webhooks', 'stripe', 'slack'], ['scheme', 'secret'], { tolerance }),
    variant('scheme', ['github', 'shopify'], ['scheme', 'secret'], {}),
  ],
};

/** What a webhook trigger may hold besides its `type`. */
const webhookProperties = {
  methods: {
    description: 'HTTP methods the trigger URL accepts. GET triggers take their data from the query string.',
    type: 'array',
    minItems: 1,
    uniqueItems: true,
    items: { enum: [...HTTP_METHODS] },
    default: [...DEFAULT_TRIGGER_METHODS],
  },
  verify: verifySchema,
  dedupe: {
    description:
      'Starts no new run for a key already seen in the retention window: a `header` name, or a JSONata `expression` over the request.',
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
    properties: {
      header: headerName('Header whose value is the dedupe key.'),
      expression: jsonata('JSONata over `{ body, query, headers, method }` whose result is the dedupe key.'),
    },
    errorMessage: "must be an object with exactly one of 'header' or 'expression'",
  },
  allowIps: {
    description: 'Only these source addresses or CIDR ranges may call the trigger.',
    type: 'array',
    minItems: 1,
    maxItems: MAX_ALLOW_IPS,
    uniqueItems: true,
    items: {
      type: 'string',
      maxLength: 64,
      pattern: IP_OR_CIDR_PATTERN,
      patternErrorMessage: "must be an IP address or CIDR range such as '203.0.113.0/24'",
    },
  },
  rateLimit: {
    description: 'At most `limit` requests `per` window; more answer 429 with Retry-After.',
    type: 'object',
    required: ['limit', 'per'],
    additionalProperties: false,
    properties: {
      limit: {
        description: 'Requests allowed per window.',
        type: 'integer',
        minimum: 1,
        maximum: MAX_RATE_LIMIT,
      },
      per: duration('Length of the window.', DURATION_RANGES.rateLimitWindow),
    },
  },
  maxBodyBytes: {
    description: `Largest accepted request body; larger answers 413. Default ${DEFAULT_MAX_BODY_BYTES} (1 MiB), at most ${MAX_TRIGGER_BODY_BYTES}; the server's MAX_BODY_BYTES applies too.`,
    type: 'integer',
    minimum: 1,
    maximum: MAX_TRIGGER_BODY_BYTES,
    default: DEFAULT_MAX_BODY_BYTES,
  },
  xmlArrays: {
    description:
      'XML elements whose values are always arrays, even when one appears once: a name (`item`) or a dotted path from the root (`order.item`).',
    type: 'array',
    minItems: 1,
    maxItems: 100,
    uniqueItems: true,
    items: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[^\\s]+$' },
  },
  respond: {
    description: `What an accepted request answers instead of the default ${DEFAULT_RESPOND_STATUS} \`{ runId, eventId }\`.`,
    type: 'object',
    additionalProperties: false,
    properties: {
      status: { description: 'A 2xx status.', type: 'integer', minimum: 200, maximum: 299 },
      body: { description: 'Static response body (JSON), at most 64 KiB as JSON.' },
      headers: {
        description: `Static response headers, at most ${MAX_RESPOND_HEADERS}.`,
        type: 'object',
        maxProperties: MAX_RESPOND_HEADERS,
        propertyNames: headerNames,
        additionalProperties: {
          type: 'string',
          maxLength: MAX_RESPOND_HEADER_VALUE_LENGTH,
          pattern: HEADER_VALUE_PATTERN,
          patternErrorMessage: 'must not contain a line break or NUL character',
        },
      },
    },
  },
  respondTimeout: duration(
    `How long an accepted request waits for the flow's respond step before it gets the answer of \`respond\` (or ${DEFAULT_RESPOND_STATUS} \`{ runId, eventId }\`). Default ${formatDuration(DEFAULT_RESPOND_TIMEOUT_MS)}.`,
    DURATION_RANGES.respondTimeout,
  ),
};

const retrySchema = {
  description:
    'Retries of failed attempts. Transform, filter, router, code and foreach errors are final and never retried.',
  type: 'object',
  additionalProperties: false,
  properties: {
    attempts: {
      description: `Total tries including the first. Default ${DEFAULT_ACTION_ATTEMPTS} for actions, ${DEFAULT_POLL_ATTEMPTS} for a poll's request, 1 otherwise.`,
      type: 'integer',
      minimum: 1,
      maximum: MAX_RETRY_ATTEMPTS,
    },
    backoff: {
      description: '`exponential` (with full jitter) or `fixed`.',
      enum: ['exponential', 'fixed'],
      default: 'exponential',
    },
    delay: duration('Base delay between attempts. Default 1s.', DURATION_RANGES.retryDelay),
    maxDelay: duration(
      'Upper bound of one delay, Retry-After included. Default 1h.',
      DURATION_RANGES.retryDelay,
    ),
  },
};

const scheduleProperties = {
  cron: {
    description:
      'When to start a run: a cron expression of 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), e.g. `0 9 * * 1-5`, or `@hourly`, `@daily`, `@weekly`, `@monthly`.',
    type: 'string',
    minLength: 1,
    maxLength: 200,
  },
  timezone: {
    description: 'IANA time zone the `cron` fields are read in, e.g. `Europe/Berlin`. Default UTC.',
    type: 'string',
    minLength: 1,
    maxLength: 64,
  },
  every: duration(
    'Time between runs, counted from the epoch (`1h` fires on the hour).',
    DURATION_RANGES.scheduleEvery,
  ),
  catchUp: {
    description:
      'Start one run for a tick missed while no worker was running (the latest one), when they start again. Default false: missed ticks are dropped.',
    type: 'boolean',
    default: false,
  },
};

const pollProperties = {
  every: duration('Time between polls, counted from the epoch.', DURATION_RANGES.pollEvery),
  request: {
    description:
      "The request each poll sends: the options of an `http` action (`url`, `method`, `headers`, `query`, `json`...), through the outbound guard. Strings are Handlebars templates over `{ trigger }` (`trigger.body.scheduledAt`) with `{{secret 'NAME'}}`.",
    type: 'object',
  },
  items: jsonata(
    'JSONata over the response body giving the items: an array gives its elements, any other value one item, null none. Default `$`: the body.',
  ),
  key: jsonata(
    'JSONata over one item giving its key (e.g. `id`); an item whose key was seen before starts no run. Keys are kept as text, longer ones than 200 characters as their SHA-256.',
  ),
  initial: {
    description:
      '`skip` (the default): the first poll only records the keys it sees; `emit`: it starts a run for each item too.',
    enum: ['skip', 'emit'],
    default: 'skip',
  },
  retry: retrySchema,
  timeout: duration('Time budget of one try of the request. Default 30s.', DURATION_RANGES.stepTimeout),
};

const eventProperties = {
  on: {
    description:
      'The operational events that start a run, with the event as `trigger.body`: `run.failed`, `run.succeeded`, `destination.paused`, `destination.resumed`, `destination.disabled`, `trigger.refused`, `poll.failed`. Runs of event-triggered flows start no event-triggered flow, so error flows never loop.',
    type: 'array',
    minItems: 1,
    uniqueItems: true,
    items: { enum: [...OPS_EVENT_TYPES] },
  },
  flows: {
    description:
      'Slug patterns of the flows whose events start a run (`*` stands for any characters: `orders-*`). Default: every flow. Destination events concern no one flow and always match.',
    type: 'array',
    minItems: 1,
    maxItems: 100,
    uniqueItems: true,
    items: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[a-z0-9*-]+$' },
  },
};

const triggerSchema = {
  description:
    "How runs start: `webhook` (a unique URL under /hooks), `schedule` (a cron expression or an interval), `poll` (a request sent at an interval; each new item starts a run) or `event` (an operational event such as another flow's failed run: an error flow).",
  type: 'object',
  required: ['type'],
  properties: {
    type: { description: 'Trigger type.', enum: [...TRIGGER_TYPES] },
  },
  allOf: [
    variant('type', ['webhook'], ['type'], webhookProperties),
    // Exactly one of `cron` and `every`, and a time zone only for `cron`.
    variant('type', ['schedule'], ['type'], scheduleProperties, [], {
      allOf: [
        {
          oneOf: [
            { required: ['cron'], properties: { cron: {} } },
            { required: ['every'], properties: { every: {} } },
          ],
          errorMessage: "must have exactly one of 'cron' or 'every'",
        },
      ],
      dependencies: { timezone: ['cron'] },
    }),
    variant('type', ['poll'], ['type'], pollProperties, ['every', 'request', 'key']),
    variant('type', ['event'], ['type'], eventProperties, ['on']),
  ],
};

const destinationSchema = {
  description:
    "Caps on calls to this step's destination (origin host:port of its URL), counted over every step and flow calling it, per worker process. Default: DESTINATION_CONCURRENCY and DESTINATION_RATE. A call over a cap waits in the queue without holding a worker.",
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    concurrency: {
      description: 'Calls in flight at once.',
      type: 'integer',
      minimum: 1,
      maximum: MAX_DESTINATION_CONCURRENCY,
    },
    rate: {
      description: 'At most `limit` calls started `per` window.',
      type: 'object',
      required: ['limit', 'per'],
      additionalProperties: false,
      properties: {
        limit: {
          description: 'Calls allowed per window.',
          type: 'integer',
          minimum: 1,
          maximum: MAX_DESTINATION_RATE_LIMIT,
        },
        per: duration('Length of the window.', DURATION_RANGES.destinationWindow),
      },
    },
  },
};

const SHARED_STEP_PROPERTIES = ['id', 'type', 'name', 'description', 'needs', 'join', 'retry', 'timeout'];

/** What a step's own fields say about where it stands: in the flow's list or in a loop's. */
interface StepPlace {
  id: string;
  type: Record<string, unknown>;
  needs: string;
  maxNeeds: number;
}

function stepSchema(place: StepPlace, variants: Record<string, unknown>[]): Record<string, unknown> {
  return {
    type: 'object',
    required: ['id', 'type'],
    properties: {
      id: {
        description: place.id,
        type: 'string',
        pattern: STEP_ID_PATTERN,
        maxLength: 64,
        patternErrorMessage:
          'must start with a lowercase letter or digit and contain only lowercase letters, digits, _ and -',
      },
      type: place.type,
      name: text('Human name of the step.', MAX_NAME_LENGTH),
      description: text('Free text.', MAX_DESCRIPTION_LENGTH),
      needs: {
        description: place.needs,
        type: 'array',
        maxItems: place.maxNeeds,
        uniqueItems: true,
        items: {
          type: 'string',
          maxLength: 129,
          pattern: NEED_PATTERN,
          patternErrorMessage: 'must be the id of an earlier step, or "<routerId>.<path>"',
        },
      },
      join: {
        description:
          'For a step with several needs: `all` (the default) runs it once every need succeeded; `any` runs it once every need is settled and at least one succeeded (a filtered or skipped branch does not skip it, a failed one does), with the outputs of the needs that succeeded as its input.',
        enum: ['all', 'any'],
        default: 'all',
      },
      retry: retrySchema,
      timeout: duration('Time budget of one attempt. Default 30s.', DURATION_RANGES.stepTimeout),
    },
    allOf: variants,
  };
}

/** Each step type's `if`/`then`, but foreach's, whose steps are of these types. */
const STEP_VARIANTS: Record<Exclude<StepType, 'foreach'>, Record<string, unknown>[]> = {
  transform: [
    variant(
      'type',
      ['transform'],
      SHARED_STEP_PROPERTIES,
      {
        expression: jsonata(
          'JSONata over the input (`$`) with `$trigger`, `$steps` and `$run`; its result is the output.',
        ),
      },
      ['expression'],
    ),
  ],
  filter: [
    variant(
      'type',
      ['filter'],
      SHARED_STEP_PROPERTIES,
      {
        condition: jsonata(
          'JSONata condition; false or empty ends the step `filtered` and skips every step that depends on it.',
        ),
      },
      ['condition'],
    ),
  ],
  action: [
    variant(
      'type',
      ['action'],
      SHARED_STEP_PROPERTIES,
      {
        connector: {
          description: 'Key of the connector to call, e.g. `http`.',
          type: 'string',
          pattern: CONNECTOR_KEY_PATTERN,
          patternErrorMessage: 'must be a connector key such as "http"',
        },
        with: {
          description:
            "Options of the connector. Every string is a Handlebars template over `{ input, trigger, steps, run }`; in `json`, a string that is exactly one `{{ ... }}` keeps the value's type.",
          type: 'object',
        },
        destination: destinationSchema,
      },
      ['connector', 'with'],
    ),
  ],
  router: [
    variant(
      'type',
      ['router'],
      SHARED_STEP_PROPERTIES,
      {
        mode: {
          description:
            '`first` (the default): the first path whose `when` holds, else the fallback; `all`: every path whose `when` holds, else the fallback.',
          enum: ['first', 'all'],
          default: 'first',
        },
        paths: {
          description: `The ways on (1 to ${MAX_ROUTER_PATHS}), in order. A step on a path needs \`"<routerId>.<name>"\`; steps on paths not taken end \`skipped\`.`,
          type: 'array',
          minItems: 1,
          maxItems: MAX_ROUTER_PATHS,
          items: {
            type: 'object',
            required: ['name'],
            additionalProperties: false,
            properties: {
              name: {
                description: "The path's name, unique in the router.",
                type: 'string',
                maxLength: 64,
                pattern: STEP_ID_PATTERN,
                patternErrorMessage:
                  'must start with a lowercase letter or digit and contain only lowercase letters, digits, _ and -',
              },
              when: jsonata(
                'JSONata condition over the input (with `$trigger`, `$steps`, `$run`), read as a filter reads it. Left out: the fallback, taken when no other path is.',
              ),
            },
          },
        },
      },
      ['paths'],
    ),
  ],
  code: [
    variant(
      'type',
      ['code'],
      SHARED_STEP_PROPERTIES,
      {
        code: {
          description:
            "JavaScript run in a sandbox of its own (QuickJS): `input`, `trigger`, `steps` and `run` in scope, no require, process, network or timers; what it returns (as JSON) is the output. `console.log` lines are kept with the attempt. Time budget: 1s, or the step's `timeout`; memory: 32 MB.",
          type: 'string',
          minLength: 1,
          maxLength: MAX_CODE_LENGTH,
        },
      },
      ['code'],
    ),
  ],
  respond: [
    variant('type', ['respond'], SHARED_STEP_PROPERTIES, {
      status: {
        description: `HTTP status of the answer, 200 to 599. Default ${DEFAULT_RESPOND_STEP_STATUS}.`,
        type: 'integer',
        minimum: 200,
        maximum: 599,
        default: DEFAULT_RESPOND_STEP_STATUS,
      },
      headers: {
        description: `Headers of the answer (at most ${MAX_RESPOND_HEADERS}), each value a template; not the ones the server sets (content-length, transfer-encoding, connection...).`,
        type: 'object',
        maxProperties: MAX_RESPOND_HEADERS,
        propertyNames: headerNames,
        additionalProperties: {
          type: 'string',
          maxLength: MAX_TEMPLATE_LENGTH,
          pattern: HEADER_VALUE_PATTERN,
          patternErrorMessage: 'must not contain a line break or NUL character',
        },
      },
      json: {
        description:
          "The answer as JSON (`application/json`): every string is a Handlebars template over `{ input, trigger, steps, run }`; a string that is exactly one `{{ ... }}` keeps the value's type.",
      },
      body: {
        description: 'The answer as text (`text/plain`): a Handlebars template.',
        type: 'string',
        maxLength: MAX_TEMPLATE_LENGTH,
      },
    }),
    {
      if: { required: ['type'], properties: { type: { const: 'respond' } } },
      then: {
        oneOf: [{ required: ['json'] }, { required: ['body'] }],
        errorMessage: `takes exactly one of 'json' or 'body' (at most ${MAX_RESPOND_STEP_BODY_BYTES / 1024} KiB once rendered)`,
      },
    },
  ],
  delay: [
    variant('type', ['delay'], SHARED_STEP_PROPERTIES, {
      for: duration('How long the run waits here, e.g. `10m`.', DURATION_RANGES.delay),
      until: jsonata(
        `JSONata over the input (with \`$trigger\`, \`$steps\`, \`$run\`) giving the time to resume: ISO 8601 text or epoch milliseconds. A time in the past resumes at once; one more than ${formatDuration(DURATION_RANGES.delay.maxMs)} ahead fails the step.`,
      ),
    }),
    {
      if: { required: ['type'], properties: { type: { const: 'delay' } } },
      then: {
        oneOf: [{ required: ['for'] }, { required: ['until'] }],
        errorMessage: "takes exactly one of 'for' or 'until'",
      },
    },
  ],
};

// Told apart in `if`/`then`/`else` so that a typo still gets "did you mean" from the enum.
const loopStepType = {
  description:
    '`transform`, `filter`, `action`, `router` or `code`, as outside a loop; a loop holds no `delay`, no `respond` and no other `foreach`.',
  if: { enum: ['delay', 'respond', 'foreach'] },
  then: {
    not: {},
    errorMessage: `must be one of ${LOOP_STEP_TYPES.map((t) => `'${t}'`).join(', ')}: a loop's steps cannot be a delay, a respond step or another foreach`,
  },
  else: { enum: [...LOOP_STEP_TYPES] },
};

const loopStepSchema = stepSchema(
  {
    id: "Unique id of the step in the whole flow, loops' steps included. Later steps of the same item read its output as `steps.<id>`; runs show it once per item as `<loopId>[<index>].<id>`.",
    type: loopStepType,
    needs:
      'Ids of earlier steps of the same loop this step waits for, or `"<routerId>.<path>"` for one path of a router of the loop. Left out: the step before it (the item for the first step). `[]`: only the item.',
    maxNeeds: MAX_LOOP_STEPS,
  },
  LOOP_STEP_TYPES.flatMap((type) => STEP_VARIANTS[type]),
);

const foreachVariant = variant(
  'type',
  ['foreach'],
  SHARED_STEP_PROPERTIES,
  {
    items: jsonata(
      'JSONata over the input (with `$trigger`, `$steps`, `$run`) giving the items: an array gives its elements, any other value one item, null or nothing no item.',
    ),
    steps: {
      description: `The steps each item runs (1 to ${MAX_LOOP_STEPS}), a flow of their own: their needs name steps of this loop only, the first gets the item as its input, and they see \`item\` and \`index\` (\`$item\`, \`$index\` in JSONata). Steps after the loop see its output as \`steps.<loopId>\`: per item, the output of its last step that succeeded, or null.`,
      type: 'array',
      minItems: 1,
      maxItems: MAX_LOOP_STEPS,
      items: loopStepSchema,
    },
    concurrency: {
      description: `Items whose steps run at once, 1 to ${MAX_LOOP_CONCURRENCY}. Default ${DEFAULT_LOOP_CONCURRENCY}: one item after the other.`,
      type: 'integer',
      minimum: 1,
      maximum: MAX_LOOP_CONCURRENCY,
      default: DEFAULT_LOOP_CONCURRENCY,
    },
    maxItems: {
      description: `The most items the loop takes; more fail it \`too_many_items\`. Default ${DEFAULT_LOOP_MAX_ITEMS}, at most ${MAX_LOOP_ITEMS}.`,
      type: 'integer',
      minimum: 1,
      maximum: MAX_LOOP_ITEMS,
      default: DEFAULT_LOOP_MAX_ITEMS,
    },
    continueOnError: {
      description:
        'Succeed with `null` for the items that failed, instead of failing (`loop_items_failed`) once every item finished. Default false.',
      type: 'boolean',
      default: false,
    },
  },
  ['items', 'steps'],
);

const flowStepSchema = stepSchema(
  {
    id: 'Unique id of the step in the whole flow; other steps and templates refer to it (`steps.<id>`).',
    type: {
      description:
        '`transform` (JSONata result becomes the output), `filter` (JSONata condition stops the branch when false), `action` (a connector call), `delay` (waits, then passes its input on), `router` (chooses paths by condition), `code` (JavaScript in a sandbox), `foreach` (runs its own steps once per item of a list) or `respond` (answers the webhook with what it renders).',
      enum: [...STEP_TYPES],
    },
    needs:
      'Ids of earlier steps this step waits for, or `"<routerId>.<path>"` for one path of a router; never a step inside a loop (need the loop). Left out: the step before it (the trigger for the first step). `[]`: only the trigger.',
    maxNeeds: MAX_FLOW_STEPS,
  },
  [...Object.values(STEP_VARIANTS).flat(), foreachVariant],
);

/** `alerts`: a message on failure, throttled (docs/alerts.md#alert-rules). */
const alertsSchema: Record<string, unknown> = {
  description:
    "Messages about this flow's failed runs without writing a flow: the first failure is told at once, the ones within `throttle` after it are counted and told in one message when the window ends.",
  type: 'object',
  required: ['onFailure'],
  additionalProperties: false,
  properties: {
    onFailure: {
      description:
        'Where a failed run is told: a chat preset (`slack`, `discord`, `teams`) or any URL (`http`, a JSON POST).',
      type: 'object',
      required: ['connector', 'url'],
      additionalProperties: false,
      properties: {
        connector: {
          description: 'The connector the message goes through: `slack`, `discord`, `teams` or `http`.',
          enum: ['slack', 'discord', 'teams', 'http'],
        },
        url: {
          description:
            "The incoming-webhook URL, a template: usually `{{secret 'NAME'}}`, as the URL is the credential. Templates see no step, only the message (`trigger.body`).",
          type: 'string',
          minLength: 1,
          maxLength: MAX_TEMPLATE_LENGTH,
        },
        headers: {
          description: '`http` only: headers sent with the message (templates, e.g. an authorization).',
          type: 'object',
          maxProperties: MAX_RESPOND_HEADERS,
          propertyNames: { pattern: HEADER_NAME_PATTERN, maxLength: MAX_HEADER_NAME_LENGTH },
          additionalProperties: { type: 'string', maxLength: MAX_TEMPLATE_LENGTH },
        },
      },
    },
    throttle: {
      ...duration(
        `At most one message per window this long; failures within it are counted. Default ${DEFAULT_ALERT_THROTTLE}.`,
        DURATION_RANGES.alertThrottle,
      ),
      default: DEFAULT_ALERT_THROTTLE,
    },
  },
};

/** JSON Schema of a flow document (docs/flow-format.md). */
export const flowJsonSchema: Record<string, unknown> = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://hookflow.dev/schema/flow.schema.json',
  title: 'Hookflow flow',
  description:
    'One Hookflow flow: a trigger (a webhook, a schedule or a poll) and the steps its payload runs through (JSONata transforms and filters, connector actions).',
  type: 'object',
  required: ['slug', 'trigger', 'steps'],
  additionalProperties: false,
  properties: {
    $schema: { description: 'Path or URL of this schema, for editors.', type: 'string' },
    slug: {
      description: "The flow's stable name in URLs and files.",
      type: 'string',
      pattern: SLUG_PATTERN,
      patternErrorMessage:
        'must be 1 to 63 lowercase letters, digits or dashes, starting with a letter or digit',
    },
    name: text('Human name of the flow.', MAX_NAME_LENGTH),
    description: text('Free text.', MAX_DESCRIPTION_LENGTH),
    enabled: {
      description:
        'A disabled flow answers 409 on its trigger URL and neither fires nor polls. Default true.',
      type: 'boolean',
      default: true,
    },
    trigger: triggerSchema,
    steps: {
      description: `The steps, in order (at most ${MAX_FLOW_STEPS}). Each needs the one before it unless it lists \`needs\`.`,
      type: 'array',
      minItems: 1,
      maxItems: MAX_FLOW_STEPS,
      items: flowStepSchema,
    },
    alerts: alertsSchema,
  },
};
