import type { Connector, ConnectorRegistry } from '../model/connector';
import type { ValidationIssue } from '../model/flow-definition';
import { validateFlow } from './validate-flow';

/** A stand-in for libs/connectors' http connector (libs/flows may not import it). */
const scalars = [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }];
const http: Connector = {
  key: 'http',
  schema: {
    type: 'object',
    required: ['url'],
    additionalProperties: false,
    properties: {
      method: { enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] },
      url: { type: 'string', minLength: 1 },
      headers: { type: 'object', additionalProperties: { type: 'string' } },
      query: {
        type: 'object',
        additionalProperties: { anyOf: [...scalars, { type: 'array', items: { anyOf: scalars } }] },
      },
      json: {},
      body: { type: 'string' },
      timeoutMs: { type: 'integer', minimum: 1 },
    },
    not: { required: ['json', 'body'] },
  },
  execute: async () => null,
};
const slack: Connector = { key: 'slack', schema: { type: 'object' }, execute: async () => null };
const connectors: ConnectorRegistry = {
  get: (key) => [http, slack].find((c) => c.key === key),
  keys: () => ['http', 'slack'],
};

type Doc = Record<string, any>;

function base(): Doc {
  return {
    slug: 'order-fanout',
    trigger: { type: 'webhook' },
    steps: [
      { id: 'order', type: 'transform', expression: "{ 'id': id, 'total': amount / 100 }" },
      { id: 'big-only', type: 'filter', condition: 'total >= 50' },
      {
        id: 'billing',
        type: 'action',
        connector: 'http',
        with: {
          method: 'POST',
          url: 'https://billing.example.com/orders/{{steps.order.id}}',
          json: { amount: '{{steps.order.total}}' },
        },
      },
    ],
  };
}

function withChange(change: (d: Doc) => void): Doc {
  const d = base();
  change(d);
  return d;
}

function errorsOf(doc: unknown, useConnectors = true): ValidationIssue[] {
  const result = validateFlow(doc, useConnectors ? { connectors } : {});
  if (result.valid)
    throw new Error(`expected errors, got a valid flow (warnings: ${JSON.stringify(result.warnings)})`);
  return result.errors;
}

function warningsOf(doc: unknown): ValidationIssue[] {
  const result = validateFlow(doc, { connectors });
  if (!result.valid) throw new Error(`expected a valid flow, got ${JSON.stringify(result.errors)}`);
  return result.warnings;
}

describe('validateFlow: valid documents', () => {
  it('accepts the base flow without warnings and returns it', () => {
    const doc = base();
    expect(validateFlow(doc, { connectors })).toEqual({ valid: true, flow: doc, warnings: [] });
  });

  it('accepts a flow using every part of the format', () => {
    const example = {
      $schema: '../schema/flow.schema.json',
      slug: 'order-fanout',
      name: 'New order to billing, shipping and inventory',
      enabled: true,
      trigger: {
        type: 'webhook',
        methods: ['POST'],
        verify: { scheme: 'stripe', secret: 'STRIPE_WHSEC', tolerance: '5m' },
        dedupe: { header: 'webhook-id' },
        allowIps: ['203.0.113.0/24'],
        rateLimit: { limit: 100, per: '1s' },
        maxBodyBytes: 1048576,
        respond: { status: 202 },
      },
      steps: [
        {
          id: 'order',
          type: 'transform',
          expression:
            "{ 'id': data.object.id, 'total': data.object.amount / 100, 'email': data.object.receipt_email }",
        },
        { id: 'big-only', type: 'filter', condition: 'total >= 50' },
        {
          id: 'billing',
          type: 'action',
          connector: 'http',
          needs: ['big-only'],
          with: {
            method: 'POST',
            url: 'https://billing.example.com/orders/{{steps.order.id}}',
            headers: { Authorization: "Bearer {{secret 'BILLING_TOKEN'}}" },
            json: { orderId: '{{steps.order.id}}', amount: '{{steps.order.total}}' },
          },
          retry: { attempts: 8, backoff: 'exponential', delay: '2s', maxDelay: '1h' },
          timeout: '10s',
        },
        {
          id: 'shipping',
          type: 'action',
          connector: 'http',
          needs: ['big-only'],
          with: {
            method: 'POST',
            url: 'https://ship.example.com/hooks',
            json: '{{steps.order}}',
            sign: { secret: 'SHIP_WHSEC' },
          },
        },
        {
          id: 'inventory',
          type: 'action',
          connector: 'http',
          needs: ['big-only'],
          with: {
            method: 'PUT',
            url: 'https://stock.example.com/reserve',
            body: 'sku={{urlencode input.sku}}',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          },
        },
      ],
    };
    // Without a registry the connector options are not checked (`sign` is not in the stand-in schema).
    expect(validateFlow(example)).toMatchObject({ valid: true, warnings: [] });
  });

  it('allows $schema, name and description on top and name and description on steps', () => {
    const doc = withChange((d) => {
      Object.assign(d, { $schema: 'x', name: 'N', description: 'D', enabled: false });
      Object.assign(d.steps[0], { name: 'n', description: 'd' });
    });
    expect(validateFlow(doc, { connectors })).toMatchObject({ valid: true });
  });

  it.each([
    ['token in a header', { scheme: 'token', secret: 'TOKEN', header: 'X-Token' }],
    ['token in the query', { scheme: 'token', secret: 'TOKEN', query: 'token' }],
    [
      'hmac with every option',
      {
        scheme: 'hmac',
        secret: 'KEY',
        header: 'X-Sig',
        algorithm: 'sha512',
        encoding: 'base64',
        prefix: 'sha512=',
        timestampHeader: 'X-Ts',
        signedContent: '{timestamp}.{body}',
        tolerance: 60000,
      },
    ],
    ['standard-webhooks', { scheme: 'standard-webhooks', secret: 'WHSEC' }],
    ['slack with tolerance', { scheme: 'slack', secret: 'SLACK_SIGNING', tolerance: '2m' }],
    ['github', { scheme: 'github', secret: 'GH' }],
    ['shopify', { scheme: 'shopify', secret: 'SHOP' }],
  ])('accepts verify: %s', (_name, verify) => {
    expect(validateFlow(withChange((d) => (d.trigger.verify = verify)))).toMatchObject({ valid: true });
  });

  it.each([['::1'], ['2001:db8::/32'], ['::ffff:192.0.2.1'], ['2001:db8:0:0:0:0:0:1'], ['0.0.0.0/0']])(
    'accepts allowIps %s',
    (ip) => {
      expect(validateFlow(withChange((d) => (d.trigger.allowIps = [ip])))).toMatchObject({ valid: true });
    },
  );

  it('accepts templates where the connector schema wants another type or value', () => {
    const doc = withChange((d) => {
      d.steps[2].with = {
        method: '{{input.method}}',
        url: 'https://x.example.com',
        headers: '{{steps.order.headers}}',
        query: { page: '{{input.page}}', tags: ['{{input.tag}}', 2] },
        timeoutMs: '{{input.timeout}}',
      };
    });
    expect(validateFlow(doc, { connectors })).toMatchObject({ valid: true });
  });
});

describe('validateFlow: errors with their JSON pointers', () => {
  it.each<[string, unknown, ValidationIssue[]]>([
    ['a document that is not an object', null, [{ path: '', message: 'must be an object' }]],
    ['a missing slug', withChange((d) => delete d.slug), [{ path: '/slug', message: 'is required' }]],
    [
      'a slug that is not URL-safe',
      withChange((d) => (d.slug = 'My Flow')),
      [
        {
          path: '/slug',
          message: 'must be 1 to 63 lowercase letters, digits or dashes, starting with a letter or digit',
        },
      ],
    ],
    [
      'a slug longer than 63 characters',
      withChange((d) => (d.slug = 'a'.repeat(64))),
      [
        {
          path: '/slug',
          message: 'must be 1 to 63 lowercase letters, digits or dashes, starting with a letter or digit',
        },
      ],
    ],
    [
      'a join on a step with one need',
      withChange((d) => ((d.steps as Doc[])[2].join = 'any')),
      [
        {
          path: '/steps/2/join',
          message: 'applies to a step with several needs: list at least two in needs',
        },
      ],
    ],
    [
      'a join that is neither all nor any',
      withChange((d) => Object.assign((d.steps as Doc[])[2], { needs: ['order', 'big-only'], join: 'some' })),
      [{ path: '/steps/2/join', message: "must be one of 'all', 'any'" }],
    ],
    [
      'a need on a path of a step that is not a router',
      withChange((d) => ((d.steps as Doc[])[2].needs = ['order.big'])),
      [{ path: '/steps/2/needs/0', message: "step 'order' is not a router; only a router has paths" }],
    ],
    [
      'a need on a path the router does not have',
      withChange((d) => {
        (d.steps as Doc[])[1] = {
          id: 'big-only',
          type: 'router',
          paths: [{ name: 'large', when: 'total > 1' }],
        };
        (d.steps as Doc[])[2].needs = ['big-only.lrge'];
      }),
      [
        {
          path: '/steps/2/needs/0',
          message: "router 'big-only' has no path 'lrge'; did you mean 'big-only.large'?",
        },
      ],
    ],
    [
      'router paths with one name twice and two fallbacks',
      withChange((d) => {
        (d.steps as Doc[])[1] = {
          id: 'big-only',
          type: 'router',
          paths: [{ name: 'a' }, { name: 'a', when: 'total > 1' }, { name: 'b' }],
        };
      }),
      [
        {
          path: '/steps/1/paths/1/name',
          message: "duplicates the name of path 0 ('a'); path names must be unique",
        },
        {
          path: '/steps/1/paths/2',
          message: 'is a second fallback (a path without when, as path 0 is); a router takes one at most',
        },
      ],
    ],
    [
      'a router path condition that is not JSONata',
      withChange((d) => {
        (d.steps as Doc[])[1] = { id: 'big-only', type: 'router', paths: [{ name: 'a', when: 'total >' }] };
      }),
      [{ path: '/steps/1/paths/0/when', message: expect.stringMatching(/^is not valid JSONata: /) }],
    ],
    [
      'a router without paths',
      withChange((d) => ((d.steps as Doc[])[1] = { id: 'big-only', type: 'router', paths: [] })),
      [{ path: '/steps/1/paths', message: 'must not be empty' }],
    ],
    [
      'a misspelt top-level property',
      withChange((d) => (d.nmae = 'x')),
      [{ path: '/nmae', message: "is not allowed; did you mean 'name'?" }],
    ],
    [
      'a property name that needs pointer escaping',
      withChange((d) => (d['a/b~c'] = 1)),
      [{ path: '/a~1b~0c', message: 'is not allowed' }],
    ],
    [
      'an empty step list',
      withChange((d) => (d.steps = [])),
      [{ path: '/steps', message: 'must not be empty' }],
    ],
    [
      'a transform without expression (only the transform branch speaks)',
      withChange((d) => delete d.steps[0].expression),
      [{ path: '/steps/0/expression', message: 'is required' }],
    ],
    [
      'a filter without condition',
      withChange((d) => delete d.steps[1].condition),
      [{ path: '/steps/1/condition', message: 'is required' }],
    ],
    [
      'an action without connector and with',
      withChange((d) => (d.steps[2] = { id: 'billing', type: 'action' })),
      [
        { path: '/steps/2/connector', message: 'is required' },
        { path: '/steps/2/with', message: 'is required' },
      ],
    ],
    [
      'a misspelt step property',
      withChange((d) => {
        d.steps[0].expresion = d.steps[0].expression;
        delete d.steps[0].expression;
      }),
      [
        { path: '/steps/0/expression', message: 'is required' },
        { path: '/steps/0/expresion', message: "is not allowed; did you mean 'expression'?" },
      ],
    ],
    [
      'a property of another step type',
      withChange((d) => (d.steps[1].expression = 'x')),
      [{ path: '/steps/1/expression', message: 'is not allowed' }],
    ],
    [
      'an unknown step type (no noise from the variants)',
      withChange((d) => (d.steps[0].type = 'transfrom')),
      [
        {
          path: '/steps/0/type',
          message:
            "must be one of 'transform', 'filter', 'action', 'delay', 'router', 'code', 'foreach', 'respond'; did you mean 'transform'?",
        },
      ],
    ],
    [
      'a missing step type',
      withChange((d) => delete d.steps[0].type),
      [{ path: '/steps/0/type', message: 'is required' }],
    ],
    [
      'a step id with capitals',
      withChange((d) => (d.steps[0].id = 'Order')),
      [
        {
          path: '/steps/0/id',
          message:
            'must start with a lowercase letter or digit and contain only lowercase letters, digits, _ and -',
        },
      ],
    ],
    [
      'a duplicate step id (reported on the second)',
      withChange((d) => (d.steps[2].id = 'order')),
      [{ path: '/steps/2/id', message: "duplicates the id of step 0 ('order'); step ids must be unique" }],
    ],
    [
      'needs naming an unknown step',
      withChange((d) => (d.steps[2].needs = ['big-only', 'ordr'])),
      [{ path: '/steps/2/needs/1', message: "unknown step 'ordr'; did you mean 'order'?" }],
    ],
    [
      'needs naming the step itself',
      withChange((d) => (d.steps[1].needs = ['big-only'])),
      [{ path: '/steps/1/needs/0', message: 'a step cannot need itself' }],
    ],
    [
      'needs naming a later step',
      withChange((d) => (d.steps[1].needs = ['order', 'billing'])),
      [
        {
          path: '/steps/1/needs/1',
          message: "step 'billing' comes later in the list; a step can only need steps defined before it",
        },
      ],
    ],
    [
      'needs listing a step twice',
      withChange((d) => (d.steps[2].needs = ['order', 'order'])),
      [{ path: '/steps/2/needs/1', message: 'repeats item 0' }],
    ],
    [
      'needs that is not a list',
      withChange((d) => (d.steps[2].needs = 'order')),
      [{ path: '/steps/2/needs', message: 'must be an array' }],
    ],
    [
      'a transform that does not compile',
      withChange((d) => (d.steps[0].expression = "{ 'a': ")),
      [
        {
          path: '/steps/0/expression',
          message: `is not valid JSONata: Expected "}" before end of expression (S0203, at position 7, near '(end)')`,
        },
      ],
    ],
    [
      'a filter condition that does not compile',
      withChange((d) => (d.steps[1].condition = 'total >')),
      [
        {
          path: '/steps/1/condition',
          message: expect.stringMatching(/^is not valid JSONata: .*at position/) as any,
        },
      ],
    ],
    [
      'a template that does not parse',
      withChange((d) => (d.steps[2].with.url = 'https://x/{{steps.order.id')),
      [
        {
          path: '/steps/2/with/url',
          message: expect.stringMatching(/^template does not parse: Parse error/) as any,
        },
      ],
    ],
    [
      'a template deep in with, behind a key needing escaping',
      withChange((d) => (d.steps[2].with.headers = { 'X/Trace~Id': '{{#if a}}' })),
      [
        {
          path: '/steps/2/with/headers/X~1Trace~0Id',
          message: expect.stringMatching(/^template does not parse/) as any,
        },
      ],
    ],
    [
      'a template in a json array calling an unknown helper',
      withChange((d) => (d.steps[2].with.json = { lines: ['ok', '{{upper input.sku}}'] })),
      [
        {
          path: '/steps/2/with/json/lines/1',
          message: expect.stringMatching(/^unknown helper 'upper'/) as any,
        },
      ],
    ],
    [
      'an unknown connector',
      withChange((d) => (d.steps[2].connector = 'htp')),
      [{ path: '/steps/2/connector', message: "unknown connector 'htp'; did you mean 'http'?" }],
    ],
    [
      'an unknown connector with no near match',
      withChange((d) => (d.steps[2].connector = 'teams')),
      [{ path: '/steps/2/connector', message: "unknown connector 'teams' (available: http, slack)" }],
    ],
    [
      'connector options missing a required field',
      withChange((d) => delete d.steps[2].with.url),
      [{ path: '/steps/2/with/url', message: 'is required' }],
    ],
    [
      'connector options with a wrong literal',
      withChange((d) => (d.steps[2].with.method = 'POTS')),
      [
        {
          path: '/steps/2/with/method',
          message: "must be one of 'GET', 'POST', 'PUT', 'PATCH', 'DELETE'; did you mean 'POST'?",
        },
      ],
    ],
    [
      'connector options with an unknown field',
      withChange((d) => (d.steps[2].with.hedaers = {})),
      [{ path: '/steps/2/with/hedaers', message: "is not allowed; did you mean 'headers'?" }],
    ],
    [
      'connector options of the wrong type (no template)',
      withChange((d) => (d.steps[2].with.timeoutMs = 'soon')),
      [{ path: '/steps/2/with/timeoutMs', message: 'must be an integer' }],
    ],
    [
      'connector options failing an anyOf (one sentence, no branch noise)',
      withChange((d) => (d.steps[2].with.query = { page: { n: 1 } })),
      [
        {
          path: '/steps/2/with/query/page',
          message: 'must be a string, a number, true or false or an array',
        },
      ],
    ],
    [
      'connector options failing a not',
      withChange((d) => (d.steps[2].with.body = 'x')),
      [{ path: '/steps/2/with', message: "must not have both 'json' and 'body'" }],
    ],
    [
      'a retry with bad values',
      withChange((d) => (d.steps[2].retry = { attempts: 0, backoff: 'linear', delay: '1 s', jitter: true })),
      [
        { path: '/steps/2/retry/jitter', message: 'is not allowed' },
        { path: '/steps/2/retry/attempts', message: 'must be at least 1' },
        { path: '/steps/2/retry/backoff', message: "must be one of 'exponential', 'fixed'" },
        {
          path: '/steps/2/retry/delay',
          message: "must be a duration such as '250ms', '10s', '5m', '1h', '1d' or whole milliseconds",
        },
      ],
    ],
    [
      'a timeout that is not a duration',
      withChange((d) => (d.steps[2].timeout = 1.5)),
      [
        {
          path: '/steps/2/timeout',
          message: "must be a duration such as '250ms', '10s', '5m', '1h', '1d' or whole milliseconds",
        },
      ],
    ],
    [
      'a zero timeout',
      withChange((d) => (d.steps[2].timeout = '0s')),
      [{ path: '/steps/2/timeout', message: 'must be longer than 0' }],
    ],
    [
      'a missing trigger',
      withChange((d) => delete d.trigger),
      [{ path: '/trigger', message: 'is required' }],
    ],
    [
      'a trigger of an unknown type',
      withChange((d) => (d.trigger.type = 'cron')),
      [{ path: '/trigger/type', message: "must be one of 'webhook', 'schedule', 'poll', 'event'" }],
    ],
    [
      'a schedule with both cron and every',
      withChange((d) => (d.trigger = { type: 'schedule', cron: '* * * * *', every: '1m' })),
      [{ path: '/trigger', message: "must have exactly one of 'cron' or 'every'" }],
    ],
    [
      'a schedule with neither cron nor every',
      withChange((d) => (d.trigger = { type: 'schedule', catchUp: true })),
      [{ path: '/trigger', message: "must have exactly one of 'cron' or 'every'" }],
    ],
    [
      'a time zone without cron',
      withChange((d) => (d.trigger = { type: 'schedule', every: '1m', timezone: 'UTC' })),
      [{ path: '/trigger/cron', message: "is required when 'timezone' is present" }],
    ],
    [
      'a schedule every 500 ms',
      withChange((d) => (d.trigger = { type: 'schedule', every: '500ms' })),
      [{ path: '/trigger/every', message: 'must be at least 1s' }],
    ],
    [
      'a cron expression out of range',
      withChange((d) => (d.trigger = { type: 'schedule', cron: '0 25 * * *' })),
      [
        {
          path: '/trigger/cron',
          message: 'is not a valid cron expression: Constraint error, got value 25 expected range 0-23',
        },
      ],
    ],
    [
      'a webhook option on a schedule',
      withChange((d) => (d.trigger = { type: 'schedule', every: '1h', methods: ['POST'] })),
      [{ path: '/trigger/methods', message: 'is not allowed' }],
    ],
    [
      'a poll without request and key',
      withChange((d) => (d.trigger = { type: 'poll', every: '1m' })),
      [
        { path: '/trigger/request', message: 'is required' },
        { path: '/trigger/key', message: 'is required' },
      ],
    ],
    [
      'a poll whose items are not JSONata',
      withChange(
        (d) =>
          (d.trigger = {
            type: 'poll',
            every: '1m',
            request: { url: 'https://x.example' },
            items: 'a[',
            key: 'id',
          }),
      ),
      [{ path: '/trigger/items', message: expect.stringContaining('is not valid JSONata') }],
    ],
    [
      'a lowercase method',
      withChange((d) => (d.trigger.methods = ['POST', 'post'])),
      [
        {
          path: '/trigger/methods/1',
          message:
            "must be one of 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'; did you mean 'POST'?",
        },
      ],
    ],
    [
      'an unknown verify scheme',
      withChange((d) => (d.trigger.verify = { scheme: 'sripe', secret: 'S' })),
      [
        {
          path: '/trigger/verify/scheme',
          message:
            "must be one of 'token', 'hmac', 'standard-webhooks', 'stripe', 'github', 'shopify', 'slack'; did you mean 'stripe'?",
        },
      ],
    ],
    [
      'a verify without secret',
      withChange((d) => (d.trigger.verify = { scheme: 'stripe' })),
      [{ path: '/trigger/verify/secret', message: 'is required' }],
    ],
    [
      'a secret value where its name belongs',
      withChange((d) => (d.trigger.verify = { scheme: 'stripe', secret: 'whsec_abc/123' })),
      [
        {
          path: '/trigger/verify/secret',
          message:
            'must be the name of a secret (letters, digits and _, not starting with a digit), never its value',
        },
      ],
    ],
    [
      'a tolerance on a scheme without timestamps',
      withChange((d) => (d.trigger.verify = { scheme: 'github', secret: 'GH', tolerance: '5m' })),
      [{ path: '/trigger/verify/tolerance', message: 'is not allowed' }],
    ],
    [
      'hmac without header and with a bad algorithm',
      withChange((d) => (d.trigger.verify = { scheme: 'hmac', secret: 'K', algorithm: 'md5' })),
      [
        { path: '/trigger/verify/header', message: 'is required' },
        { path: '/trigger/verify/algorithm', message: "must be one of 'sha1', 'sha256', 'sha512'" },
      ],
    ],
    [
      'a token read from both header and query',
      withChange((d) => (d.trigger.verify = { scheme: 'token', secret: 'T', header: 'X', query: 'q' })),
      [{ path: '/trigger/verify', message: "takes either 'header' or 'query', not both" }],
    ],
    [
      'a dedupe with both header and expression',
      withChange((d) => (d.trigger.dedupe = { header: 'id', expression: 'body.id' })),
      [
        {
          path: '/trigger/dedupe',
          message: "must be an object with exactly one of 'header' or 'expression'",
        },
      ],
    ],
    [
      'a dedupe expression that does not compile',
      withChange((d) => (d.trigger.dedupe = { expression: 'body.(' })),
      [
        {
          path: '/trigger/dedupe/expression',
          message: expect.stringMatching(/^is not valid JSONata/) as any,
        },
      ],
    ],
    [
      'addresses that are not IPs',
      withChange(
        (d) => (d.trigger.allowIps = ['10.0.0.0/8', '300.1.1.1', '10.0.0.0/33', '1:::2', 'example.com']),
      ),
      [
        {
          path: '/trigger/allowIps/1',
          message: "must be an IP address or CIDR range such as '203.0.113.0/24'",
        },
        {
          path: '/trigger/allowIps/2',
          message: "must be an IP address or CIDR range such as '203.0.113.0/24'",
        },
        {
          path: '/trigger/allowIps/4',
          message: "must be an IP address or CIDR range such as '203.0.113.0/24'",
        },
        {
          path: '/trigger/allowIps/3',
          message: "must be an IP address or CIDR range such as '203.0.113.0/24'",
        },
      ],
    ],
    [
      'a rate limit without window and with zero limit',
      withChange((d) => (d.trigger.rateLimit = { limit: 0 })),
      [
        { path: '/trigger/rateLimit/per', message: 'is required' },
        { path: '/trigger/rateLimit/limit', message: 'must be at least 1' },
      ],
    ],
    [
      'a zero rate limit window',
      withChange((d) => (d.trigger.rateLimit = { limit: 5, per: 0 })),
      [{ path: '/trigger/rateLimit/per', message: 'must be at least 1s' }],
    ],
    [
      'a non-2xx respond status',
      withChange((d) => (d.trigger.respond = { status: 500 })),
      [{ path: '/trigger/respond/status', message: 'must be at most 299' }],
    ],
    [
      'a zero body limit',
      withChange((d) => (d.trigger.maxBodyBytes = 0)),
      [{ path: '/trigger/maxBodyBytes', message: 'must be at least 1' }],
    ],
  ])('%s', (_name, doc, expected) => {
    expect(errorsOf(doc)).toEqual(expected);
  });

  it('checks connectors only when a registry is given', () => {
    const doc = withChange((d) => (d.steps[2].connector = 'nope'));
    expect(validateFlow(doc)).toMatchObject({ valid: true });
    expect(errorsOf(doc)).toEqual([
      { path: '/steps/2/connector', message: expect.stringMatching(/unknown connector/) },
    ]);
  });

  it('reports schema and semantic problems together', () => {
    const doc = withChange((d) => {
      d.slug = '-bad';
      d.steps[0].expression = '(';
      d.steps[2].needs = ['nope'];
      d.steps[2].with.url = '{{';
    });
    expect(errorsOf(doc).map((e) => e.path)).toEqual([
      '/slug',
      '/steps/2/needs/0',
      '/steps/0/expression',
      '/steps/2/with/url',
    ]);
  });

  it.each([
    [undefined],
    ['flow'],
    [42],
    [[]],
    [{ steps: 'x' }],
    [{ steps: [null, 1, 'x', { id: 5 }] }],
    [{ trigger: [] }],
  ])('never throws, even for %p', (doc) => {
    expect(() => validateFlow(doc, { connectors })).not.toThrow();
    expect(validateFlow(doc, { connectors }).valid).toBe(false);
  });
});

describe('validateFlow: warnings', () => {
  it.each<[string, (d: Doc) => void, ValidationIssue[]]>([
    [
      'retry on a transform',
      (d) => (d.steps[0].retry = { attempts: 3 }),
      [
        {
          path: '/steps/0/retry/attempts',
          message: 'has no effect: transform errors are final and never retried',
        },
      ],
    ],
    [
      'a delay longer than maxDelay',
      (d) => (d.steps[2].retry = { delay: '2h', maxDelay: '1h' }),
      [{ path: '/steps/2/retry/delay', message: 'is longer than maxDelay, which caps every delay' }],
    ],
    [
      'a template reading a step that is not a dependency',
      (d) => {
        d.steps.push({ id: 'audit', type: 'transform', needs: ['order'], expression: '$' });
        d.steps[2].with.headers = { 'X-Audit': '{{steps.audit.id}}' };
      },
      [
        {
          path: '/steps/2/with/headers/X-Audit',
          message:
            "reads the output of step 'audit', which this step does not depend on; add it to needs or the value may be missing",
        },
      ],
    ],
    [
      'an expression reading an unknown step',
      (d) => (d.steps[1].condition = '$steps.ordr.total > 1'),
      [
        {
          path: '/steps/1/condition',
          message: "reads the output of unknown step 'ordr', which is always missing; did you mean 'order'?",
        },
      ],
    ],
    [
      'an expression reading its own output',
      (d) => (d.steps[0].expression = '$steps.order'),
      [
        {
          path: '/steps/0/expression',
          message: 'reads the output of this step itself, which does not exist yet',
        },
      ],
    ],
  ])('%s', (_name, change, expected) => {
    expect(warningsOf(withChange(change))).toEqual(expected);
  });

  it('warns about a join of all its needs on two paths of a router that takes one, and a retry of a router', () => {
    const doc = withChange((d) => {
      (d.steps as Doc[])[1] = {
        id: 'big-only',
        type: 'router',
        retry: { attempts: 3 },
        paths: [{ name: 'a', when: 'total > 1' }, { name: 'b' }],
      };
      (d.steps as Doc[])[2].needs = ['big-only.a', 'big-only.b'];
    });
    expect(warningsOf(doc)).toEqual(
      expect.arrayContaining([
        {
          path: '/steps/1/retry/attempts',
          message: 'has no effect: router errors are final and never retried',
        },
        {
          path: '/steps/2/needs',
          message: `needs two paths of router 'big-only', which takes one (mode first): the step never runs; use join: "any"`,
        },
      ]),
    );
  });

  it('checks the rest of a flow whose router paths are malformed', () => {
    const doc = withChange((d) => {
      (d.steps as Doc[])[1] = { id: 'big-only', type: 'router', paths: 'x' };
      (d.steps as Doc[])[0].expression = 'total >';
    });
    expect(errorsOf(doc).map((e) => e.path)).toEqual(['/steps/1/paths', '/steps/0/expression']);
  });

  it('warns when a value from the request sits in the host of a URL', () => {
    const doc = withChange((d) => (d.steps[2].with.url = 'https://{{input.tenant}}.example.com/orders'));
    expect(warningsOf(doc)).toEqual([
      {
        path: '/steps/2/with/url',
        message:
          '{{input.tenant}} puts data from the request (input.tenant) in the host: a sender can make this step call any address; write the host out or keep it in a secret',
      },
    ]);
  });

  it('does not warn about steps reached through needs transitively', () => {
    const doc = withChange((d) => {
      d.steps[2].needs = ['big-only'];
      d.steps[2].with.json = { a: '{{steps.order.id}}', b: '{{@root.steps.big-only}}' };
    });
    expect(warningsOf(doc)).toEqual([]);
  });
});

describe('generic hmac signed content must cover what it protects', () => {
  const flowWith = (verify: Record<string, unknown>) => ({
    slug: 'hmac-rules',
    trigger: { type: 'webhook', verify: { scheme: 'hmac', secret: 'S', header: 'x-sig', ...verify } },
    steps: [{ id: 'a', type: 'transform', expression: '$' }],
  });

  it.each([
    [{ signedContent: '{timestamp}', timestampHeader: 'x-ts' }, '{body}'],
    [{ signedContent: 'constant' }, '{body}'],
    [{ signedContent: '{body}', timestampHeader: 'x-ts' }, '{timestamp}'],
  ])('refuses %j', (verify, missing) => {
    const result = validateFlow(flowWith(verify));
    expect(result.valid).toBe(false);
    if (!result.valid) {
      expect(result.errors).toContainEqual({
        path: '/trigger/verify/signedContent',
        message: expect.stringContaining(missing),
      });
    }
  });

  it('accepts the timestamp and the body signed together', () => {
    expect(
      validateFlow(flowWith({ signedContent: '{timestamp}.{body}', timestampHeader: 'x-ts' })).valid,
    ).toBe(true);
  });
});

describe('validateFlow: foreach loops', () => {
  /** An order, a loop over its lines (a router, an action on one path, a join of both), a summary. */
  function loopFlow(): Doc {
    return {
      slug: 'order-lines',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'order', type: 'transform', expression: "{ 'id': id, 'lines': lines }" },
        {
          id: 'each',
          type: 'foreach',
          items: 'lines',
          concurrency: 4,
          maxItems: 200,
          continueOnError: true,
          steps: [
            {
              id: 'size',
              type: 'router',
              paths: [{ name: 'big', when: 'qty >= 10 and $index < 100' }, { name: 'small' }],
            },
            {
              id: 'post',
              type: 'action',
              needs: ['size.big'],
              connector: 'http',
              with: {
                url: 'https://lines.example.com/orders/{{steps.order.id}}/lines/{{index}}',
                json: { sku: '{{item.sku}}', qty: '{{input.qty}}' },
              },
              retry: { attempts: 3 },
            },
            {
              id: 'note',
              type: 'transform',
              needs: ['post', 'size.small'],
              join: 'any',
              expression: "{ 'sku': $item.sku, 'sent': $exists($steps.post) }",
            },
          ],
        },
        { id: 'summary', type: 'transform', expression: "{ 'lines': $count($steps.each) }" },
      ],
    };
  }

  function loopWith(change: (d: Doc) => void): Doc {
    const d = loopFlow();
    change(d);
    return d;
  }

  const secondLoop = (d: Doc, steps: Doc[]) =>
    d.steps.push({ id: 'again', type: 'foreach', needs: ['order'], items: 'lines', steps });

  it('accepts a loop with a router, concurrency, maxItems and continueOnError, without warnings', () => {
    const doc = loopFlow();
    expect(validateFlow(doc, { connectors })).toEqual({ valid: true, flow: doc, warnings: [] });
  });

  it.each<[string, Doc, ValidationIssue[]]>([
    [
      "a loop's step with the id of a step outside it",
      loopWith((d) => (d.steps[1].steps[2].id = 'order')),
      [
        {
          path: '/steps/1/steps/2/id',
          message:
            "duplicates the id of step 0 ('order'); step ids must be unique in the whole flow, loops' steps included",
        },
      ],
    ],
    [
      "a step after a loop with the id of one of the loop's steps",
      loopWith((d) => (d.steps[2].id = 'note')),
      [
        {
          path: '/steps/2/id',
          message:
            "duplicates the id of step 2 of loop 'each' ('note'); step ids must be unique in the whole flow, loops' steps included",
        },
      ],
    ],
    [
      "a loop's step with the id of another loop's step",
      loopWith((d) => secondLoop(d, [{ id: 'post', type: 'transform', expression: '$' }])),
      [
        {
          path: '/steps/3/steps/0/id',
          message:
            "duplicates the id of step 1 of loop 'each' ('post'); step ids must be unique in the whole flow, loops' steps included",
        },
      ],
    ],
    [
      "a loop's step needing a step outside the loop",
      loopWith((d) => (d.steps[1].steps[0].needs = ['order'])),
      [
        {
          path: '/steps/1/steps/0/needs/0',
          message:
            "step 'order' is outside loop 'each'; a loop's steps may only need steps of the same loop (to wait for it, put it in the loop's needs)",
        },
      ],
    ],
    [
      "a loop's step needing its loop",
      loopWith((d) => (d.steps[1].steps[0].needs = ['each'])),
      [
        {
          path: '/steps/1/steps/0/needs/0',
          message:
            "a loop's steps may only need steps of the same loop, not the loop itself: the first of them gets the item as its input",
        },
      ],
    ],
    [
      "a loop's step needing a step of another loop",
      loopWith((d) =>
        secondLoop(d, [{ id: 'again-post', type: 'transform', needs: ['post'], expression: '$' }]),
      ),
      [
        {
          path: '/steps/3/steps/0/needs/0',
          message: "step 'post' is inside loop 'each'; a loop's steps may only need steps of the same loop",
        },
      ],
    ],
    [
      "a loop's step needing an unknown step",
      loopWith((d) => (d.steps[1].steps[2].needs = ['pots', 'size.small'])),
      [
        {
          path: '/steps/1/steps/2/needs/0',
          message:
            "unknown step 'pots' in loop 'each' (a loop's steps may only need steps of the same loop); did you mean 'post'?",
        },
      ],
    ],
    [
      "a loop's step needing a path its router does not have",
      loopWith((d) => (d.steps[1].steps[1].needs = ['size.bgi'])),
      [
        {
          path: '/steps/1/steps/1/needs/0',
          message: "router 'size' has no path 'bgi'; did you mean 'size.big'?",
        },
      ],
    ],
    [
      "a step outside a loop needing one of the loop's steps",
      loopWith((d) => (d.steps[2].needs = ['note'])),
      [
        {
          path: '/steps/2/needs/0',
          message:
            "step 'note' is inside loop 'each'; steps outside a loop see its output as steps.each: need 'each'",
        },
      ],
    ],
    [
      'a cycle inside a loop',
      loopWith((d) => (d.steps[1].steps[0].needs = ['note'])),
      [
        {
          path: '/steps/1/steps/0/needs/0',
          message: "step 'note' comes later in the list; a step can only need steps defined before it",
        },
      ],
    ],
    [
      'items that do not compile',
      loopWith((d) => (d.steps[1].items = 'lines[')),
      [{ path: '/steps/1/items', message: expect.stringMatching(/^is not valid JSONata: /) as any }],
    ],
    [
      "a loop's transform, router path and template that do not compile",
      loopWith((d) => {
        d.steps[1].steps[0].paths[0].when = 'qty >';
        d.steps[1].steps[1].with.url = 'https://x.example.com/{{item.sku';
        d.steps[1].steps[2].expression = "{ 'a': ";
      }),
      [
        {
          path: '/steps/1/steps/0/paths/0/when',
          message: expect.stringMatching(/^is not valid JSONata: /) as any,
        },
        {
          path: '/steps/1/steps/1/with/url',
          message: expect.stringMatching(/^template does not parse/) as any,
        },
        {
          path: '/steps/1/steps/2/expression',
          message: expect.stringMatching(/^is not valid JSONata: /) as any,
        },
      ],
    ],
    [
      "a loop's router with two fallbacks and an action with a wrong connector option",
      loopWith((d) => {
        d.steps[1].steps[0].paths[0] = { name: 'big' };
        d.steps[1].steps[1].with.method = 'POTS';
      }),
      [
        {
          path: '/steps/1/steps/0/paths/1',
          message: 'is a second fallback (a path without when, as path 0 is); a router takes one at most',
        },
        {
          path: '/steps/1/steps/1/with/method',
          message: "must be one of 'GET', 'POST', 'PUT', 'PATCH', 'DELETE'; did you mean 'POST'?",
        },
      ],
    ],
    [
      "a loop's code step without code",
      loopWith((d) => (d.steps[1].steps[2] = { id: 'note', type: 'code', needs: ['post'], code: '' })),
      [{ path: '/steps/1/steps/2/code', message: 'must not be empty' }],
    ],
    [
      'a delay and a foreach inside a loop',
      loopWith((d) => {
        d.steps[1].steps.push({ id: 'wait', type: 'delay', for: '1m' });
        d.steps[1].steps.push({ id: 'inner', type: 'foreach', items: '$', steps: [] });
      }),
      [
        {
          path: '/steps/1/steps/3/type',
          message:
            "must be one of 'transform', 'filter', 'action', 'router', 'code': a loop's steps cannot be a delay, a respond step or another foreach",
        },
        {
          path: '/steps/1/steps/4/type',
          message:
            "must be one of 'transform', 'filter', 'action', 'router', 'code': a loop's steps cannot be a delay, a respond step or another foreach",
        },
      ],
    ],
    [
      "a misspelt type of a loop's step",
      loopWith((d) => (d.steps[1].steps[2].type = 'transfrom')),
      [
        {
          path: '/steps/1/steps/2/type',
          message:
            "must be one of 'transform', 'filter', 'action', 'router', 'code'; did you mean 'transform'?",
        },
      ],
    ],
    [
      "a loop's step with a property of another step type",
      loopWith((d) => (d.steps[1].steps[2].items = 'x')),
      [{ path: '/steps/1/steps/2/items', message: 'is not allowed' }],
    ],
    [
      'a loop without items and steps',
      loopWith((d) => {
        delete d.steps[1].items;
        delete d.steps[1].steps;
      }),
      [
        { path: '/steps/1/items', message: 'is required' },
        { path: '/steps/1/steps', message: 'is required' },
      ],
    ],
    [
      'a loop without steps',
      loopWith((d) => (d.steps[1].steps = [])),
      [{ path: '/steps/1/steps', message: 'must not be empty' }],
    ],
    [
      'a loop with too many steps',
      loopWith((d) => {
        d.steps[1].steps = Array.from({ length: 51 }, (_, i) => ({
          id: `s${i}`,
          type: 'transform',
          expression: '$',
        }));
      }),
      [{ path: '/steps/1/steps', message: 'must have at most 50 items' }],
    ],
    [
      'a concurrency, a maxItems and a continueOnError out of bounds',
      loopWith((d) =>
        Object.assign(d.steps[1], { concurrency: 101, maxItems: 5001, continueOnError: 'yes' }),
      ),
      [
        { path: '/steps/1/concurrency', message: 'must be at most 100' },
        { path: '/steps/1/maxItems', message: 'must be at most 2000' },
        { path: '/steps/1/continueOnError', message: 'must be true or false' },
      ],
    ],
    [
      'a zero concurrency and maxItems',
      loopWith((d) => Object.assign(d.steps[1], { concurrency: 0, maxItems: 0 })),
      [
        { path: '/steps/1/concurrency', message: 'must be at least 1' },
        { path: '/steps/1/maxItems', message: 'must be at least 1' },
      ],
    ],
  ])('%s', (_name, doc, expected) => {
    expect(errorsOf(doc)).toEqual(expected);
  });

  it("checks a loop's connectors only when a registry is given", () => {
    const doc = loopWith((d) => (d.steps[1].steps[1].connector = 'htp'));
    expect(validateFlow(doc)).toMatchObject({ valid: true });
    expect(errorsOf(doc)).toEqual([
      { path: '/steps/1/steps/1/connector', message: "unknown connector 'htp'; did you mean 'http'?" },
    ]);
  });

  it.each<[string, (d: Doc) => void, ValidationIssue[]]>([
    [
      'retry on a loop and on its transform',
      (d) => {
        d.steps[1].retry = { attempts: 3 };
        d.steps[1].steps[2].retry = { attempts: 2 };
      },
      [
        {
          path: '/steps/1/retry/attempts',
          message: 'has no effect: foreach errors are final and never retried',
        },
        {
          path: '/steps/1/steps/2/retry/attempts',
          message: 'has no effect: transform errors are final and never retried',
        },
      ],
    ],
    [
      "a loop's step reading a step it does not depend on",
      (d) => (d.steps[1].steps[1].with.headers = { 'X-Note': '{{steps.note.sku}}' }),
      [
        {
          path: '/steps/1/steps/1/with/headers/X-Note',
          message:
            "reads the output of step 'note', which this step does not depend on; add it to needs or the value may be missing",
        },
      ],
    ],
    [
      "a loop's step reading a step its loop does not depend on, and the loop itself",
      (d) => {
        d.steps[1].needs = [];
        d.steps[1].items = '$steps.order.lines';
        d.steps[1].steps[2].expression = '[$steps.summary, $steps.each]';
      },
      [
        {
          path: '/steps/1/items',
          message:
            "reads the output of step 'order', which this step does not depend on; add it to needs or the value may be missing",
        },
        {
          path: '/steps/1/steps/1/with/url',
          message:
            "reads the output of step 'order', which loop 'each' does not depend on; add it to the loop's needs or the value may be missing",
        },
        {
          path: '/steps/1/steps/2/expression',
          message:
            "reads the output of step 'summary', which loop 'each' does not depend on; add it to the loop's needs or the value may be missing",
        },
        {
          path: '/steps/1/steps/2/expression',
          message:
            "reads the output of its own loop 'each', which does not exist until every item has finished",
        },
      ],
    ],
    [
      "a step after a loop reading one of the loop's steps",
      (d) => (d.steps[2].expression = '$steps.post'),
      [
        {
          path: '/steps/2/expression',
          message:
            "reads the output of step 'post' of loop 'each', which only that loop's steps see; steps outside it see its output as steps.each",
        },
      ],
    ],
  ])('warns about %s', (_name, change, expected) => {
    expect(warningsOf(loopWith(change))).toEqual(expected);
  });
});

describe('validateFlow: respond steps', () => {
  /** The base flow with a respond step after the transform, the rest going on after it. */
  function respondWith(change: (d: Doc) => void = () => {}): Doc {
    const d = base();
    d.steps.splice(1, 0, {
      id: 'reply',
      type: 'respond',
      status: 200,
      headers: { 'X-Order': '{{steps.order.id}}' },
      json: { ok: true, order: '{{steps.order}}' },
    });
    change(d);
    return d;
  }

  it('accepts a respond step with json, or with a text body, and a respondTimeout, without warnings', () => {
    expect(warningsOf(respondWith((d) => (d.trigger.respondTimeout = '3s')))).toEqual([]);
    expect(
      warningsOf(
        respondWith((d) => {
          delete d.steps[1].json;
          delete d.steps[1].headers;
          d.steps[1].body = 'Order {{steps.order.id}} received';
        }),
      ),
    ).toEqual([]);
  });

  it.each<[string, (d: Doc) => void, ValidationIssue[]]>([
    [
      'neither json nor body',
      (d) => delete d.steps[1].json,
      [
        {
          path: '/steps/1',
          message: "takes exactly one of 'json' or 'body' (at most 256 KiB once rendered)",
        },
      ],
    ],
    [
      'both json and body',
      (d) => (d.steps[1].body = 'ok'),
      [
        {
          path: '/steps/1',
          message: "takes exactly one of 'json' or 'body' (at most 256 KiB once rendered)",
        },
      ],
    ],
    [
      'a status that is not an answer',
      (d) => (d.steps[1].status = 101),
      [{ path: '/steps/1/status', message: 'must be at least 200' }],
    ],
    [
      'headers the server sets, in any case',
      (d) =>
        (d.steps[1].headers = { 'Content-Length': '5', 'transfer-encoding': 'chunked', Connection: 'x' }),
      [
        {
          path: '/steps/1/headers/Content-Length',
          message: "is set by the server (framing and connection headers are never a flow's to send)",
        },
        {
          path: '/steps/1/headers/transfer-encoding',
          message: "is set by the server (framing and connection headers are never a flow's to send)",
        },
        {
          path: '/steps/1/headers/Connection',
          message: "is set by the server (framing and connection headers are never a flow's to send)",
        },
      ],
    ],
    [
      'a header value with a line break',
      (d) => (d.steps[1].headers = { 'X-A': 'a\r\nSet-Cookie: x=1' }),
      [{ path: '/steps/1/headers/X-A', message: 'must not contain a line break or NUL character' }],
    ],
    [
      'a secret in the answer, which goes to whoever calls',
      (d) => {
        d.steps[1].headers = { 'X-Token': "{{secret 'TOKEN'}}" };
        d.steps[1].json = { ok: true, nested: ["{{secret 'OTHER'}}"] };
      },
      [
        {
          path: '/steps/1/headers/X-Token',
          message: 'may not use secrets: the answer goes to whoever calls the trigger URL',
        },
        {
          path: '/steps/1/json/nested/0',
          message: 'may not use secrets: the answer goes to whoever calls the trigger URL',
        },
      ],
    ],
    [
      'a template that does not parse',
      (d) => (d.steps[1].json = { text: '{{#if x}}open' }),
      [{ path: '/steps/1/json/text', message: expect.stringContaining('template does not parse') }],
    ],
    [
      'two respond steps',
      (d) => d.steps.push({ id: 'again', type: 'respond', needs: ['order'], body: 'twice' }),
      [
        {
          path: '/steps/4/type',
          message:
            'is a second respond step (step 1 is one); a webhook is answered once, so a flow has one at most',
        },
      ],
    ],
    [
      'a respond step in a loop',
      (d) =>
        (d.steps[2] = {
          id: 'each',
          type: 'foreach',
          items: '$',
          steps: [{ id: 'inner', type: 'respond', body: 'x' }],
        }),
      [
        {
          path: '/steps/2/steps/0/type',
          message:
            "must be one of 'transform', 'filter', 'action', 'router', 'code': a loop's steps cannot be a delay, a respond step or another foreach",
        },
      ],
    ],
    [
      'a respondTimeout over 30s',
      (d) => (d.trigger.respondTimeout = '31s'),
      [{ path: '/trigger/respondTimeout', message: 'must be at most 30s' }],
    ],
  ])('refuses %s', (_name, change, expected) => {
    expect(errorsOf(respondWith(change))).toEqual(expected);
  });

  it.each<[string, Record<string, unknown>]>([
    ['a schedule', { type: 'schedule', every: '1h' }],
    ['a poll', { type: 'poll', every: '5m', request: { url: 'https://shop.example.com/orders' }, key: 'id' }],
  ])('refuses a respond step under %s, which no request waits on', (_name, trigger) => {
    const type = trigger.type as string;
    expect(errorsOf(respondWith((d) => (d.trigger = trigger)))).toEqual([
      {
        path: '/steps/1/type',
        message: `answers the webhook that started the run; this flow's trigger is '${type}', which no one waits on`,
      },
    ]);
    expect(errorsOf(respondWith((d) => (d.trigger = { ...trigger, respondTimeout: '5s' })))).toContainEqual(
      expect.objectContaining({ path: '/trigger/respondTimeout' }),
    );
  });

  it.each<[string, (d: Doc) => void, ValidationIssue[]]>([
    [
      'a respondTimeout without a respond step',
      (d) => {
        d.steps.splice(1, 1);
        d.trigger.respondTimeout = '5s';
      },
      [{ path: '/trigger/respondTimeout', message: 'has no effect: the flow has no respond step' }],
    ],
    [
      'a respond step behind a delay',
      (d) => d.steps.splice(1, 0, { id: 'wait', type: 'delay', for: '1m' }),
      [
        {
          path: '/steps/2',
          message:
            "comes after delay step 'wait': the sender is answered the trigger's default once respondTimeout passes, before this step runs",
        },
      ],
    ],
    [
      'a respond step reading a step it does not depend on',
      (d) => {
        d.steps.push({ id: 'audit', type: 'transform', needs: ['order'], expression: '$' });
        d.steps[1].json = '{{steps.audit}}';
      },
      [
        {
          path: '/steps/1/json',
          message:
            "reads the output of step 'audit', which this step does not depend on; add it to needs or the value may be missing",
        },
      ],
    ],
    [
      'retry on a respond step',
      (d) => (d.steps[1].retry = { attempts: 2 }),
      [
        {
          path: '/steps/1/retry/attempts',
          message: 'has no effect: respond errors are final and never retried',
        },
      ],
    ],
  ])('warns about %s', (_name, change, expected) => {
    expect(warningsOf(respondWith(change))).toEqual(expected);
  });
});
