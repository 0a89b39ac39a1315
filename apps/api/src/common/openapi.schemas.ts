import type { ReferenceObject, SchemaObject } from '@nestjs/swagger';
import type { AttemptOutcome } from '@hookflow/store';
import {
  flowJsonSchema,
  STEP_TYPES,
  type RunStatus,
  type StepErrorCode,
  type StepStatus,
} from '@hookflow/flows';
import { ErrorCode } from './app-error';

// The REST API's JSON shapes as OpenAPI 3.1 components; test/e2e/openapi.e2e-spec.ts checks real
// answers against them, so change them with the code.

/** The names of the component schemas; `ref(name)` points at one. */
export type SchemaName =
  | 'Error'
  | 'ErrorDetail'
  | 'FlowDocument'
  | 'FlowView'
  | 'FlowPage'
  | 'FlowPatch'
  | 'ValidationResult'
  | 'FlowVersionList'
  | 'FlowVersion'
  | 'SyncRequest'
  | 'SyncPlan'
  | 'TestRequest'
  | 'TestDefinitionRequest'
  | 'TestResult'
  | 'TestStep'
  | 'TestItem'
  | 'ManualRunRequest'
  | 'ManualRunResult'
  | 'FlowStepStats'
  | 'StepError'
  | 'InboundEvent'
  | 'EventPage'
  | 'RunSummary'
  | 'RunPage'
  | 'RunDetail'
  | 'RunEvent'
  | 'RunStep'
  | 'Attempt'
  | 'AttemptRequest'
  | 'AttemptResponse'
  | 'RetryResult'
  | 'ReplayResult'
  | 'CancelResult'
  | 'BulkRetryRequest'
  | 'BulkRetryResult'
  | 'IngressAccepted'
  | 'IngressDuplicate'
  | 'Stats'
  | 'StatsFlow'
  | 'StatsDestination'
  | 'Destination'
  | 'DestinationList'
  | 'HealthLive'
  | 'HealthReady';

export function ref(name: SchemaName): ReferenceObject {
  return { $ref: `#/components/schemas/${name}` };
}

// Records keyed by the union types make the compiler reject a missing or unknown value.
const RUN_STATUSES: Record<RunStatus, true> = {
  queued: true,
  running: true,
  succeeded: true,
  failed: true,
  filtered: true,
  cancelled: true,
};
const STEP_STATUSES: Record<StepStatus, true> = {
  pending: true,
  running: true,
  retrying: true,
  waiting: true,
  succeeded: true,
  failed: true,
  filtered: true,
  skipped: true,
  cancelled: true,
};
const STEP_ERROR_CODES: Record<StepErrorCode, true> = {
  transform_error: true,
  filter_error: true,
  code_error: true,
  too_many_items: true,
  loop_items_failed: true,
  expression_timeout: true,
  expression_depth: true,
  expression_too_large: true,
  output_too_large: true,
  expression_unavailable: true,
  template_error: true,
  connector_not_found: true,
  invalid_config: true,
  network_error: true,
  timeout: true,
  http_error: true,
  blocked: true,
  tls_error: true,
  attempts_exhausted: true,
  outcome_unstorable: true,
  requeue_limit: true,
  destination_disabled: true,
  internal_error: true,
  cancelled: true,
};
const ATTEMPT_OUTCOMES: Record<AttemptOutcome, true> = {
  succeeded: true,
  filtered: true,
  retrying: true,
  failed: true,
};

export const RUN_STATUS_VALUES = Object.keys(RUN_STATUSES) as RunStatus[];

const str = (description: string, extra: SchemaObject = {}): SchemaObject => ({
  type: 'string',
  description,
  ...extra,
});
const int = (description: string, extra: SchemaObject = {}): SchemaObject => ({
  type: 'integer',
  description,
  ...extra,
});
const time = (description: string): SchemaObject => ({ type: 'string', format: 'date-time', description });
const nullable = (schema: SchemaObject): SchemaObject => ({
  ...schema,
  type: [schema.type as string, 'null'],
});
const anyJson = (description: string): SchemaObject => ({ description });
const uuid = (description: string): SchemaObject => str(description, { format: 'uuid' });
const object = (
  properties: Record<string, SchemaObject | ReferenceObject>,
  required: string[] = Object.keys(properties),
  description?: string,
): SchemaObject => ({ type: 'object', ...(description ? { description } : {}), required, properties });
/** A closed request object, matching what RequestBodyCheck enforces. */
const requestObject = (
  properties: Record<string, SchemaObject | ReferenceObject>,
  required: string[] = Object.keys(properties),
  description?: string,
): SchemaObject => ({ ...object(properties, required, description), additionalProperties: false });
/** Every property required but `optional`. */
const objectWithOptional = (
  properties: Record<string, SchemaObject | ReferenceObject>,
  optional: string[],
): SchemaObject =>
  object(
    properties,
    Object.keys(properties).filter((key) => !optional.includes(key)),
  );
const page = (item: SchemaName, description: string): SchemaObject =>
  object(
    {
      items: { type: 'array', items: ref(item) },
      nextCursor: nullable(str('Pass as `cursor` for the next page; null on the last page.')),
    },
    ['items', 'nextCursor'],
    description,
  );

/** The flow schema in the OpenAPI dialect: no draft-07 `$schema`/`$id`, no editor-only keywords. */
export function flowDocumentSchema(): SchemaObject {
  const { $schema: _dialect, $id: _id, ...rest } = flowJsonSchema;
  return withoutEditorKeywords(rest) as SchemaObject;
}

const EDITOR_KEYWORDS = new Set(['errorMessage', 'patternErrorMessage']);
/** Keys under which the values are schemas named by property, not keywords. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions']);

function withoutEditorKeywords(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutEditorKeywords);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (EDITOR_KEYWORDS.has(key)) continue;
    out[key] =
      SCHEMA_MAPS.has(key) && value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutEditorKeywords(v)]))
        : key === 'default' || key === 'examples' || key === 'enum' || key === 'const'
          ? value
          : withoutEditorKeywords(value);
  }
  return out;
}

const headersSchema: SchemaObject = {
  type: 'object',
  description:
    'Request headers by lower-case name; credentials and signatures (authorization, cookies, tokens, signature headers) show as `[redacted]`.',
  additionalProperties: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
};

/** A count per run status. */
function runCounts(what: string): Record<string, SchemaObject> {
  return Object.fromEntries(
    RUN_STATUS_VALUES.map((status) => [status, int(`${what}, now ${status}.`, { minimum: 0 })]),
  );
}

/** An attempt's request or response headers, as stored (`captureExchange`). */
function exchangeHeaders(what: string): SchemaObject {
  return {
    type: 'object',
    description: `${what} headers by lower-case name (at most 64, values cut at 2,048 characters); credentials and signatures show as \`[redacted]\`, secrets the step used as \`[secret NAME]\`.`,
    additionalProperties: { type: 'string' },
  };
}

const fileChange = {
  slug: str('Flow slug.'),
  path: str('The file path as given in the request.'),
};

/** A sample request for a dry run, alone (`TestRequest`) or with an unsaved flow (`TestDefinitionRequest`). */
const testRequestProperties: Record<string, SchemaObject> = {
  body: anyJson('The sample request body (any JSON).'),
  rawBody: str(
    'Instead of `body`: the body as sent (XML, a form, text), parsed by `contentType` (or the `content-type` header) as ingress parses it.',
  ),
  contentType: str("`rawBody`'s type, e.g. `application/xml`; default the `content-type` header."),
  headers: {
    type: 'object',
    description: 'Sample request headers.',
    additionalProperties: { type: 'string' },
  },
  query: { type: 'object', description: 'Sample query parameters.' },
  method: str("Sample method; default the trigger's first method."),
  dryRun: {
    type: 'boolean',
    enum: [true],
    default: true,
    description: 'Always true: actions are rendered, never sent (`hookflow test --live` sends).',
  },
};

const schemas: Record<SchemaName, SchemaObject> = {
  ErrorDetail: object(
    {
      file: str('The flow file the problem is in (sync only).'),
      path: str('JSON pointer into the request body (or into that file) the problem is about.', {
        examples: ['/steps/2/with/url'],
      }),
      message: str('What is wrong there.'),
    },
    ['path', 'message'],
  ),
  Error: object(
    {
      error: str('Error code.', { enum: Object.values(ErrorCode) }),
      message: str('A sentence for a human.'),
      details: { type: 'array', items: ref('ErrorDetail') },
    },
    ['error', 'message', 'details'],
    'Every refusal of the API, with a code from a fixed list.',
  ),
  FlowDocument: flowDocumentSchema(),
  FlowView: object(
    {
      slug: str('The flow slug.'),
      name: nullable(str('Human name, from the definition.')),
      description: nullable(str('Free text, from the definition.')),
      version: int('The current version (1, 2, ...); every changed definition is a new one.', { minimum: 1 }),
      enabled: { type: 'boolean', description: 'A disabled flow answers 409 on its trigger URL.' },
      triggerUrl: nullable(
        str(
          'The public URL that starts runs; secret, rotate it if it leaks. Null for a schedule or a poll.',
          {
            format: 'uri',
          },
        ),
      ),
      nextFireAt: nullable({
        type: 'array',
        description:
          'A schedule or a poll: its next three fire times (empty while the flow is disabled). Null for a webhook.',
        items: time('A fire time.'),
      }),
      source: str('`api`, or the path of the flow file that owns the flow (then API edits answer 409).'),
      definition: ref('FlowDocument'),
      createdAt: time('When the flow was created.'),
      updatedAt: time('Last change of the flow.'),
      warnings: {
        type: 'array',
        description: 'Only in the answer to a create or replace: problems that did not stop the save.',
        items: object({ path: str('JSON pointer.'), message: str('The warning.') }),
      },
    },
    [
      'slug',
      'name',
      'description',
      'version',
      'enabled',
      'triggerUrl',
      'nextFireAt',
      'source',
      'definition',
      'createdAt',
      'updatedAt',
    ],
    'A flow as the API shows it.',
  ),
  FlowPage: page('FlowView', 'Flows by slug.'),
  FlowPatch: requestObject({
    enabled: { type: 'boolean', description: 'Whether the trigger URL accepts requests.' },
  }),
  ValidationResult: object(
    {
      valid: { type: 'boolean', enum: [true] },
      warnings: {
        type: 'array',
        description: 'Problems that do not stop the flow from being saved.',
        items: object({ path: str('JSON pointer.'), message: str('The warning.') }),
      },
    },
    undefined,
    'The document is valid (an invalid one answers 400 `invalid_flow`).',
  ),
  FlowVersionList: object({
    items: {
      type: 'array',
      description: 'Newest first.',
      items: object({
        version: int('Version number.', { minimum: 1 }),
        checksum: str('Checksum of the canonical definition.'),
        createdAt: time('When the version was made.'),
        current: { type: 'boolean', description: 'New runs use this version.' },
      }),
    },
  }),
  FlowVersion: object(
    {
      version: int('Version number.', { minimum: 1 }),
      checksum: str('Checksum of the canonical definition.'),
      createdAt: time('When the version was made.'),
      definition: ref('FlowDocument'),
    },
    undefined,
    'One immutable version of a flow.',
  ),
  SyncRequest: requestObject(
    {
      files: {
        type: 'array',
        description: 'Every flow file, e.g. the `*.flow.json` files of a repository.',
        items: requestObject({
          path: str('Path of the file; owns the flow from now on.', { minLength: 1 }),
          definition: ref('FlowDocument'),
        }),
      },
      prune: {
        type: 'boolean',
        default: false,
        description: 'Disable (never delete) file-owned flows whose file is not in `files`.',
      },
      dryRun: { type: 'boolean', default: false, description: 'Only plan; change nothing.' },
    },
    ['files'],
  ),
  SyncPlan: object(
    {
      dryRun: { type: 'boolean', description: 'True when nothing was changed.' },
      created: {
        type: 'array',
        items: object({ ...fileChange, version: int('The new version.', { minimum: 1 }) }),
      },
      updated: {
        type: 'array',
        items: object({
          ...fileChange,
          fromVersion: int('Version before.', { minimum: 1 }),
          toVersion: int('Version after (the same when only ownership or `enabled` change).', { minimum: 1 }),
          changes: { type: 'array', items: { type: 'string' }, description: 'A readable diff summary.' },
        }),
      },
      unchanged: { type: 'array', items: object(fileChange) },
      disabled: {
        type: 'array',
        description: 'File-owned flows disabled by `prune`.',
        items: object({ slug: str('Flow slug.'), source: str('The file that owned it.') }),
      },
    },
    undefined,
    'The plan (dry run) or what was done.',
  ),
  TestRequest: requestObject(testRequestProperties, [], 'A sample webhook request to run the flow on.'),
  TestDefinitionRequest: requestObject(
    { definition: ref('FlowDocument'), ...testRequestProperties },
    ['definition'],
    'An unsaved flow document and a sample request.',
  ),
  TestResult: object(
    {
      flow: str('Flow slug.'),
      dryRun: { type: 'boolean', enum: [true] },
      status: str('How the run would end.', { enum: ['succeeded', 'failed', 'filtered'] }),
      steps: { type: 'array', description: 'Every step, in definition order.', items: ref('TestStep') },
      response: nullable(
        object(
          {
            status: int('HTTP status.', { minimum: 200, maximum: 599 }),
            headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'Headers.' },
            body: str('The body as sent.'),
          },
          undefined,
          "What the respond step would answer the webhook's sender; null when the run does not reach it (the trigger's default answer then). Only for a flow with a respond step.",
        ),
      ),
    },
    ['flow', 'dryRun', 'status', 'steps'],
    'A run of the flow in the API process: nothing is sent and nothing is stored.',
  ),
  TestStep: object(
    {
      id: str('Step id.'),
      type: str('Step type.', { enum: [...STEP_TYPES] }),
      status: str('Step status.', { enum: Object.keys(STEP_STATUSES) }),
      input: anyJson("The step's input; null for a step that did not run."),
      output: anyJson("The step's output."),
      error: ref('StepError'),
      request: anyJson("An action's rendered connector options (secrets masked)."),
      routes: { type: 'array', items: { type: 'string' }, description: "A router's paths taken." },
      logs: { type: 'array', items: { type: 'string' }, description: "A code step's console.log lines." },
      items: { type: 'array', description: "A foreach step: each item's steps.", items: ref('TestItem') },
    },
    ['id', 'type', 'status', 'input'],
  ),
  TestItem: object(
    {
      index: int("The item's index, from 0.", { minimum: 0 }),
      status: str("How the item's steps ended.", { enum: ['succeeded', 'failed', 'filtered'] }),
      steps: { type: 'array', description: "The loop's steps for this item.", items: ref('TestStep') },
    },
    undefined,
    'One item of a foreach step in a dry run.',
  ),
  ManualRunRequest: requestObject(
    {
      body: anyJson('The body the steps see (`$trigger.body`), any JSON; default null.'),
      headers: {
        type: 'object',
        description:
          'Headers by name (stored lower-case, at most `MAX_HEADER_COUNT` of them and `MAX_HEADER_BYTES` in all); ' +
          'credentials and signatures are stored and shown as `[redacted]`.',
        additionalProperties: { type: 'string' },
      },
      query: {
        type: 'object',
        description: 'Query parameters: a value, or a list of values for a repeated one.',
        additionalProperties: {
          anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }],
        },
      },
    },
    [],
    'The request to run the flow on, as if its trigger had received it; every field optional.',
  ),
  ManualRunResult: object(
    { runId: uuid('The run started.'), eventId: uuid('The stored request, method `MANUAL`.') },
    undefined,
    'The run is stored and queued; follow it at `GET /api/runs/{runId}` (the `Location` header).',
  ),
  FlowStepStats: object(
    {
      since: time('Runs created at or after this time.'),
      until: time('Runs created before this time.'),
      steps: {
        type: 'array',
        description:
          "One entry per step id that has rows in the window, by id; a loop's steps count once per item.",
        items: object({
          id: str('Step id (a loop item step by its id in the loop).'),
          total: int('Step rows of runs created in the window.', { minimum: 0 }),
          succeeded: int('Ended succeeded.', { minimum: 0 }),
          failed: int('Ended failed.', { minimum: 0 }),
          filtered: int('Ended filtered.', { minimum: 0 }),
          skipped: int('Ended skipped.', { minimum: 0 }),
          failureRate: nullable({
            type: 'number',
            minimum: 0,
            maximum: 1,
            description: '`failed / total`; null when the step has no rows.',
          }),
        }),
      },
    },
    undefined,
    'How each step of the flow ended in the runs created in the window.',
  ),
  StepError: object(
    {
      code: str('Error code.', { enum: Object.keys(STEP_ERROR_CODES) }),
      message: str('What went wrong.'),
      retryable: { type: 'boolean', description: 'Whether another attempt may succeed.' },
      retryAfterMs: int('The receiver asked to wait this long (Retry-After).', { minimum: 0 }),
      status: int('HTTP status of the response, where there was one.'),
    },
    ['code', 'message', 'retryable'],
  ),
  InboundEvent: object(
    {
      id: uuid('Event id.'),
      method: str('HTTP method, or `MANUAL` for a run started by hand (`POST /api/flows/{slug}/run`).'),
      headers: headersSchema,
      query: {
        type: 'object',
        description: 'Query parameters as received (redacted as headers are).',
        additionalProperties: true,
      },
      bodyPreview: nullable(str('The start of the raw body as text.')),
      bodyBytes: int('Size of the stored body (refused bodies are cut to 4 KiB).', { minimum: 0 }),
      contentType: nullable(str('Content-Type of the request.')),
      sourceIp: nullable(str('Address of the sender.')),
      receivedAt: time('When it arrived.'),
      statusCode: int('The status the trigger answered.'),
      accepted: { type: 'boolean', description: 'False for a refused request.' },
      reason: nullable(
        str('Error code of a refusal; for a poll, `polled` (its summary is the body) or `poll_failed`.'),
      ),
      runId: nullable(uuid('The run it started.')),
    },
    undefined,
    'A request a trigger received, accepted or refused.',
  ),
  EventPage: page('InboundEvent', 'Newest first.'),
  RunSummary: object({
    id: uuid('Run id.'),
    flow: str('Flow slug.'),
    version: int('The flow version the run is pinned to.'),
    status: str('Run status.', { enum: RUN_STATUS_VALUES }),
    eventId: nullable(uuid('The event that started it.')),
    createdAt: time('When the run was created.'),
    startedAt: nullable(time('When its first step started.')),
    finishedAt: nullable(time('When it ended.')),
    durationMs: nullable(int('From start to end; null until it has both.', { minimum: 0 })),
  }),
  RunPage: page('RunSummary', 'Newest first.'),
  RunDetail: object(
    {
      id: uuid('Run id.'),
      flow: str('Flow slug.'),
      version: nullable(int('The flow version the run is pinned to.')),
      status: str('Run status.', { enum: RUN_STATUS_VALUES }),
      createdAt: time('When the run was created.'),
      startedAt: nullable(time('When its first step started.')),
      finishedAt: nullable(time('When it ended.')),
      originRunId: nullable(uuid('The run this one replays.')),
      event: { anyOf: [ref('RunEvent'), { type: 'null' }] },
      steps: { type: 'array', description: 'In definition order.', items: ref('RunStep') },
    },
    undefined,
    'A run with its event and every step.',
  ),
  RunEvent: object(
    {
      id: uuid('Event id.'),
      method: str('HTTP method, or `MANUAL` for a run started by hand (`POST /api/flows/{slug}/run`).'),
      headers: headersSchema,
      query: { type: 'object', description: 'Query parameters.' },
      body: anyJson('The parsed body (JSON, form and XML become objects; other text stays text).'),
      contentType: nullable(str('Content-Type of the request.')),
      sourceIp: nullable(str('Address of the sender.')),
      receivedAt: time('When it arrived.'),
    },
    undefined,
    'The request that started the run.',
  ),
  RunStep: objectWithOptional(
    {
      id: str('Step id.'),
      status: str('Step status.', { enum: Object.keys(STEP_STATUSES) }),
      input: anyJson('The step input; null until it ran.'),
      output: anyJson('The step output; null until it succeeded.'),
      error: { anyOf: [ref('StepError'), { type: 'null' }] },
      startedAt: nullable(time('When its latest attempt started.')),
      finishedAt: nullable(time('When it ended.')),
      resumeAt: nullable(
        time('A delay step: when it resumes (status `waiting`) or resumed; null otherwise.'),
      ),
      routes: { type: 'array', items: { type: 'string' }, description: "A router's paths taken." },
      loop: str("A loop item's step (id `<loop>[<index>].<step>`): its foreach step."),
      index: int("A loop item's step: the item's index, from 0.", { minimum: 0 }),
      step: str("A loop item's step: its id in the loop."),
      items: object(
        {
          count: int('Items the loop found.', { minimum: 0 }),
          failed: {
            type: 'array',
            items: { type: 'integer' },
            description: 'Indexes of the items that failed.',
          },
        },
        undefined,
        'A foreach step whose items started.',
      ),
      attempts: { type: 'array', items: ref('Attempt') },
    },
    ['routes', 'loop', 'index', 'step', 'items'],
  ),
  Attempt: objectWithOptional(
    {
      n: int('Attempt number, from 1.', { minimum: 1 }),
      startedAt: time('When it started.'),
      durationMs: int('How long it took.', { minimum: 0 }),
      outcome: str('How it ended.', { enum: Object.keys(ATTEMPT_OUTCOMES) }),
      error: { anyOf: [ref('StepError'), { type: 'null' }] },
      responseStatus: nullable(int("The receiver's HTTP status.")),
      logs: { type: 'array', items: { type: 'string' }, description: "A code step's console.log lines." },
      request: {
        anyOf: [ref('AttemptRequest'), { type: 'null' }],
        description: 'An action: the request it sent; null for other steps and a request never built.',
      },
      response: {
        anyOf: [ref('AttemptResponse'), { type: 'null' }],
        description:
          'An action: the response it got; null when none came back (refused, unreachable, timed out).',
      },
      destination: nullable(str('An action: `host:port` of its URL (before redirects).')),
    },
    ['logs'],
  ),
  AttemptRequest: object(
    {
      method: str('HTTP method.'),
      url: str(
        'The URL sent, secrets the step used shown as `[secret NAME]`, userinfo as `[redacted]`; its first 8,192 characters.',
      ),
      headers: exchangeHeaders('Sent'),
      body: nullable(str('The body as text, its first 16 KiB of UTF-8; null when there was none.')),
      bodyBytes: int('Size of the whole body as sent.', { minimum: 0 }),
      bodyTruncated: { type: 'boolean', description: '`body` is not all of it.' },
    },
    undefined,
    'What an attempt sent, secrets masked.',
  ),
  AttemptResponse: object(
    {
      status: int('HTTP status.'),
      headers: exchangeHeaders('Received'),
      body: nullable(str('The body as text, its first 16 KiB of UTF-8; null when it was not read.')),
      bodyBytes: int('Bytes of the body read (the http connector reads at most 1 MiB).', { minimum: 0 }),
      bodyTruncated: { type: 'boolean', description: '`body` is not all of it.' },
      durationMs: int('From sending the request to the end of the body.', { minimum: 0 }),
    },
    undefined,
    'What an attempt got back, secrets masked.',
  ),
  RetryResult: object({
    runId: uuid('The same run.'),
    retried: { type: 'array', items: { type: 'string' }, description: 'Ids of the steps that run again.' },
  }),
  ReplayResult: object({ runId: uuid('The new run.') }),
  CancelResult: object({ runId: uuid('The run.'), status: str('Its new status.', { enum: ['cancelled'] }) }),
  BulkRetryRequest: requestObject(
    {
      flow: str('Only runs of this flow (slug); every flow when absent.', { minLength: 1 }),
      status: str('Runs in this status.', { enum: ['failed', 'cancelled'], default: 'failed' }),
      since: time('Runs created at or after this time.'),
      until: time('Runs created before this time.'),
      q: str(
        'Only runs with this value in their trigger body or a step output, as `GET /api/runs?q=` finds them.',
        {
          minLength: 1,
          maxLength: 200,
        },
      ),
    },
    [],
  ),
  BulkRetryResult: object({ count: int('How many runs were retried.', { minimum: 0 }) }),
  IngressAccepted: object(
    { runId: uuid('The run started.'), eventId: uuid('The stored request.') },
    undefined,
    "The default answer; a trigger's `respond` replaces status, headers and body.",
  ),
  IngressDuplicate: object(
    {
      runId: uuid('The run the first request with this dedupe key started.'),
      duplicate: { type: 'boolean', enum: [true] },
    },
    undefined,
    'A repeated delivery: it started no run.',
  ),
  Stats: object(
    {
      since: time('Start of the window.'),
      until: time('End of the window (excluded).'),
      bucket: str('Size of a bucket.', { enum: ['minute', 'hour', 'day'] }),
      totals: object(runCounts('Runs created in the window')),
      series: {
        type: 'array',
        description: 'Every bucket of the window, oldest first (zeros where none), by run `createdAt`.',
        items: object({ at: time('Start of the bucket.'), ...runCounts('Runs created in the bucket') }),
      },
      flowCount: int('Flows with runs in the window; `flows` lists at most `top` of them.'),
      destinationCount: int(
        'Destinations attempted in the window; `destinations` lists at most `top` of them.',
      ),
      flows: {
        type: 'array',
        description: 'Flows with runs in the window, most failed runs first, then most runs (at most `top`).',
        items: ref('StatsFlow'),
      },
      destinations: {
        type: 'array',
        description:
          "Destinations of actions' attempts started in the window, most failed first, then most attempts (at most `top`).",
        items: ref('StatsDestination'),
      },
    },
    undefined,
    'Run and delivery figures over a time window.',
  ),
  StatsFlow: object({
    flow: str('Flow slug.'),
    total: int('Runs created in the window.', { minimum: 0 }),
    failed: int('Of them, failed.', { minimum: 0 }),
    failureRate: { type: 'number', minimum: 0, maximum: 1, description: '`failed / total`.' },
    p50Ms: nullable(int('Median run duration (`finishedAt - createdAt`) of its finished runs.')),
    p99Ms: nullable(int('99th percentile of the same.')),
    series: {
      type: 'array',
      description: 'Every bucket of the window.',
      items: object({
        at: time('Start of the bucket.'),
        total: int('Runs created in the bucket.', { minimum: 0 }),
        failed: int('Of them, failed.', { minimum: 0 }),
        p50Ms: nullable(int('Median duration of those finished.')),
        p99Ms: nullable(int('99th percentile of the same.')),
      }),
    },
  }),
  StatsDestination: object({
    destination: str("`host:port` of the actions' URL."),
    attempts: int('Attempts started in the window.', { minimum: 0 }),
    failed: int('Of them, failed or retried.', { minimum: 0 }),
    failureRate: { type: 'number', minimum: 0, maximum: 1, description: '`failed / attempts`.' },
    p50Ms: nullable(int('Median attempt duration.')),
    p99Ms: nullable(int('99th percentile of the same.')),
    lastStatus: nullable(int('HTTP status of the latest attempt (null: no response).')),
    lastAttemptAt: nullable(time('When the latest attempt started.')),
    lastError: {
      anyOf: [object({ code: str('Error code.'), message: str('What went wrong.') }), { type: 'null' }],
      description: 'The error of the latest attempt in the window that failed or was retried.',
    },
    series: {
      type: 'array',
      description: 'Every bucket of the window.',
      items: object({
        at: time('Start of the bucket.'),
        attempts: int('Attempts started in the bucket.', { minimum: 0 }),
        failed: int('Of them, failed or retried.', { minimum: 0 }),
        p50Ms: nullable(int('Median attempt duration.')),
        p99Ms: nullable(int('99th percentile of the same.')),
      }),
    },
  }),
  Destination: object({
    id: uuid('Destination id.'),
    host: str("`host:port` of the actions' URL."),
    state: str(
      'healthy; paused (steps wait in the queue); disabled (waiting steps fail `destination_disabled`).',
      {
        enum: ['healthy', 'paused', 'disabled'],
      },
    ),
    pausedBy: nullable(
      str('Who paused it: the circuit breaker, or by hand (no probes until resumed).', {
        enum: ['breaker', 'hand'],
      }),
    ),
    consecutiveFailures: int('Failures in a row, across all workers.', { minimum: 0 }),
    failureRate: nullable({
      type: 'number',
      minimum: 0,
      maximum: 1,
      description:
        "Share of the last hour's attempts that reached it and failed (5xx, 429, connection errors, timeouts); null without attempts.",
    }),
    recentAttempts: int('Attempts of the last hour that reached it.', { minimum: 0 }),
    lastSuccessAt: nullable(time('When it last answered after failing.')),
    lastFailureAt: nullable(time('When it last failed.')),
    lastError: {
      anyOf: [
        objectWithOptional(
          { code: str('Error code.'), message: str('What went wrong.'), status: int('HTTP status.') },
          ['status'],
        ),
        { type: 'null' },
      ],
      description: 'The error of its latest failure.',
    },
    failingSince: nullable(time('When its current run of failures began.')),
    pausedUntil: nullable(time('End of the cool-down; then one probe decides.')),
    cooldownMs: nullable(
      int('The cool-down of the current pause (doubles with each failed probe, up to an hour).'),
    ),
    waitingSteps: int('Steps of live runs waiting in the queue for it.', { minimum: 0 }),
    createdAt: time('Its first failure.'),
    updatedAt: time('Last change.'),
  }),
  DestinationList: object({ items: { type: 'array', items: ref('Destination') } }),
  HealthLive: object({ status: str('Always ok.', { enum: ['ok'] }) }),
  HealthReady: object(
    {
      status: str('ok when every dependency answers; draining once the API has started to stop.', {
        enum: ['ok', 'unavailable', 'draining'],
      }),
      database: str('PostgreSQL (absent while draining).', { enum: ['ok', 'unavailable'] }),
      queue: str('The queue backend (absent while draining).', { enum: ['ok', 'unavailable'] }),
    },
    ['status'],
  ),
};

/** The component schemas of the OpenAPI document. */
export const OPENAPI_SCHEMAS: Readonly<Record<SchemaName, SchemaObject>> = schemas;
