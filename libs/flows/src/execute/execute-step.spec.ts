import { jest } from '@jest/globals';
import {
  ConnectorError,
  type Connector,
  type ConnectorContext,
  type ConnectorRegistry,
  type Exchange,
} from '../model/connector';
import type { FlowDefinition } from '../model/flow-definition';
import type { RunContext } from '../model/run-context';
import type { StepOutcome } from '../model/step-outcome';
import { compileFlow } from './compile-flow';
import { CONNECTOR_GRACE_MS, executeStep, secretPlaceholder, type ExecuteDeps } from './execute-step';
import { DEFAULT_EXPRESSION_BUDGET, ExpressionError } from '../transform/expression';
import {
  InProcessEvaluator,
  type ExpressionEvaluator,
  type ExpressionRequest,
} from '../transform/expression-evaluator';

const expressions = new InProcessEvaluator();

type Call = { input: Record<string, unknown>; ctx: ConnectorContext };

/** An in-test connector whose behaviour each test sets. */
function fakeConnector(
  behaviour: (input: Record<string, unknown>, ctx: ConnectorContext) => Promise<unknown>,
) {
  const calls: Call[] = [];
  const connector: Connector = {
    key: 'http',
    schema: {
      type: 'object',
      required: ['url'],
      properties: {
        url: { type: 'string', minLength: 1 },
        method: { type: 'string' },
        json: {},
        headers: { type: 'object' },
      },
    },
    execute: (input, ctx) => {
      calls.push({ input, ctx });
      return behaviour(input, ctx);
    },
  };
  const registry: ConnectorRegistry = {
    get: (k) => (k === 'http' ? connector : undefined),
    keys: () => ['http'],
  };
  return { calls, registry };
}

const def: FlowDefinition = {
  slug: 'order-fanout',
  trigger: { type: 'webhook' },
  steps: [
    {
      id: 'order',
      type: 'transform',
      expression:
        "{ 'id': id, 'total': amount / 100, 'via': $trigger.headers.`x-src`, 'run': $run.id, 'n': $count(items) }",
    },
    { id: 'big-only', type: 'filter', condition: 'total >= 50' },
    {
      id: 'billing',
      type: 'action',
      connector: 'http',
      with: {
        method: 'POST',
        url: 'https://billing.example.com/orders/{{urlencode steps.order.id}}',
        headers: { Authorization: "Bearer {{secret 'BILLING_TOKEN'}}" },
        json: { orderId: '{{steps.order.id}}', amount: '{{steps.order.total}}', order: '{{input}}' },
      },
      retry: { maxDelay: '30s' },
      timeout: '10s',
    },
    { id: 'nothing', type: 'transform', needs: [], expression: 'missing' },
    { id: 'seq', type: 'transform', needs: [], expression: 'items.sku' },
    { id: 'broken', type: 'transform', needs: [], expression: '1 + "a"' },
    { id: 'deep', type: 'transform', needs: [], expression: '($f := function($x){ 1 + $f($x+1) }; $f(0))' },
    {
      id: 'slow',
      type: 'transform',
      needs: [],
      timeout: '50ms',
      expression: '($l := function($n){ $l($n+1) }; $l(0))',
    },
    { id: 'broken-filter', type: 'filter', needs: [], condition: '$number("x") > 1' },
    { id: 'empty-filter', type: 'filter', needs: [], condition: 'items[sku = "zzz"]' },
    { id: 'other', type: 'action', connector: 'smtp', needs: [], with: { to: 'x' } },
    { id: 'blank-url', type: 'action', connector: 'http', needs: [], with: { url: '{{input.nope}}' } },
  ],
};
const flow = compileFlow(def);

const trigger = {
  body: { id: 'o 1', amount: 12500, items: [{ sku: 'a' }, { sku: 'b' }] },
  query: {},
  headers: { 'x-src': 'shop' },
  method: 'POST',
  receivedAt: '2024-01-01T00:00:00Z',
};
const order = { id: 'o 1', total: 125, via: 'shop', run: 'run-1', n: 2 };
const ctx: RunContext = {
  trigger,
  steps: { order, 'big-only': order },
  run: { id: 'run-1', flow: 'order-fanout' },
};
const secrets = { BILLING_TOKEN: 'tok' };

function deps(registry: ConnectorRegistry, extra: Partial<ExecuteDeps> = {}): ExecuteDeps {
  return { connectors: registry, expressions, secrets, ...extra };
}

const unused = fakeConnector(async () => {
  throw new Error('must not be called');
});

describe('executeStep: transform', () => {
  it('evaluates with the input and $trigger, $steps, $run bindings', async () => {
    await expect(executeStep(flow, 'order', ctx, deps(unused.registry))).resolves.toEqual({
      status: 'succeeded',
      input: trigger.body,
      output: order,
    });
  });

  it.each<[string, unknown]>([
    ['nothing', null],
    ['seq', ['a', 'b']],
  ])('normalizes the output of %s to JSON', async (stepId, output) => {
    const outcome = await executeStep(flow, stepId, ctx, deps(unused.registry));
    expect(outcome).toEqual({ status: 'succeeded', input: trigger.body, output });
    expect(JSON.stringify((outcome as { output: unknown }).output)).toBe(JSON.stringify(output));
  });

  it.each<[string, Partial<ExecuteDeps>, string, RegExp]>([
    ['broken', {}, 'transform_error', /T2002/],
    [
      'deep',
      { budget: { timeoutMs: 5000, maxDepth: 40, maxOutputBytes: 1024 } },
      'expression_depth',
      /40 function calls/,
    ],
    [
      'slow',
      { budget: { timeoutMs: 5000, maxDepth: 300, maxOutputBytes: 1024 } },
      'expression_timeout',
      /longer than 50ms/,
    ],
  ])('fails %s finally with %s', async (stepId, extra, code, message) => {
    const outcome = await executeStep(flow, stepId, ctx, deps(unused.registry, extra));
    expect(outcome).toEqual({
      status: 'failed',
      input: trigger.body,
      error: { code, message: expect.stringMatching(message), retryable: false },
    });
  });

  it('uses the default budget when none is given', async () => {
    const outcome = await executeStep(flow, 'deep', ctx, deps(unused.registry));
    // Stopped by a default bound, not by a stack overflow: the depth (about 60 ms here), or the
    // clock when the process stalls past the default time budget (a long GC pause of a loaded run).
    const byDepth = `more than ${DEFAULT_EXPRESSION_BUDGET.maxDepth} function calls`;
    const byClock = `longer than ${DEFAULT_EXPRESSION_BUDGET.timeoutMs}ms`;
    expect(outcome).toMatchObject({ status: 'failed' });
    const { error } = outcome as { error: { code: string; message: string } };
    expect([
      ['expression_depth', error.message.includes(byDepth)],
      ['expression_timeout', error.message.includes(byClock)],
    ]).toContainEqual([error.code, true]);
  });
});

describe('executeStep: filter', () => {
  it('passes its input through when the condition holds', async () => {
    await expect(executeStep(flow, 'big-only', ctx, deps(unused.registry))).resolves.toEqual({
      status: 'succeeded',
      input: order,
      output: order,
    });
  });

  it('ends filtered, output = input, when the condition is false', async () => {
    const small = { ...order, total: 10 };
    const outcome = await executeStep(
      flow,
      'big-only',
      { ...ctx, steps: { order: small } },
      deps(unused.registry),
    );
    expect(outcome).toEqual({ status: 'filtered', input: small, output: small });
  });

  it('ends filtered when the condition is empty', async () => {
    await expect(executeStep(flow, 'empty-filter', ctx, deps(unused.registry))).resolves.toMatchObject({
      status: 'filtered',
      output: trigger.body,
    });
  });

  it('reports a failing condition as a final filter_error', async () => {
    await expect(executeStep(flow, 'broken-filter', ctx, deps(unused.registry))).resolves.toMatchObject({
      status: 'failed',
      error: { code: 'filter_error', retryable: false },
    });
  });
});

describe('executeStep: action', () => {
  it('renders with and calls the connector with the attempt context', async () => {
    const fake = fakeConnector(async () => ({ status: 201, body: { ok: true } }));
    const outcome = await executeStep(flow, 'billing', ctx, deps(fake.registry));
    expect(outcome).toEqual({
      status: 'succeeded',
      input: order,
      output: { status: 201, body: { ok: true } },
    });
    expect(fake.calls).toHaveLength(1);
    const [{ input, ctx: callCtx }] = fake.calls;
    expect(input).toEqual({
      method: 'POST',
      url: 'https://billing.example.com/orders/o%201',
      headers: { Authorization: 'Bearer tok' },
      json: { orderId: 'o 1', amount: 125, order },
    });
    expect(callCtx).toEqual({
      runId: 'run-1',
      stepId: 'billing',
      attempt: 1,
      timeoutMs: 10_000,
      idempotencyKey: 'run-1_billing',
      signal: expect.any(AbortSignal),
      onExchange: expect.any(Function),
    });
  });

  it.each([
    ['succeeded', async () => ({ status: 200 })],
    [
      'failed',
      async () => {
        throw new ConnectorError('network_error', 'refused', true);
      },
    ],
  ])('puts the exchange its connector told on a %s outcome', async (status, end) => {
    const exchange: Exchange = {
      destination: 'billing.example.com:443',
      request: { method: 'POST', url: 'u', headers: {}, body: null, bodyBytes: 0, bodyTruncated: false },
      response: null,
    };
    const fake = fakeConnector(async (_input, callCtx) => {
      callCtx.onExchange?.(exchange);
      return end();
    });
    const outcome = await executeStep(flow, 'billing', ctx, deps(fake.registry));
    expect(outcome).toMatchObject({ status, exchange });
  });

  it('passes the attempt number and idempotency key it is given', async () => {
    const fake = fakeConnector(async () => null);
    await executeStep(flow, 'billing', ctx, deps(fake.registry, { attempt: 3, idempotencyKey: 'k' }));
    expect(fake.calls[0].ctx).toMatchObject({ attempt: 3, idempotencyKey: 'k' });
  });

  it.each<[string, () => unknown, StepOutcome]>([
    [
      'a retryable ConnectorError (Retry-After capped at maxDelay)',
      () =>
        new ConnectorError('http_error', 'HTTP 503', true, {
          status: 503,
          retryAfterMs: 120_000,
          output: { status: 503 },
        }),
      {
        status: 'failed',
        input: order,
        error: {
          code: 'http_error',
          message: 'HTTP 503',
          retryable: true,
          status: 503,
          retryAfterMs: 30_000,
        },
        output: { status: 503 },
      },
    ],
    [
      'a final ConnectorError',
      () => new ConnectorError('http_error', 'HTTP 404', false, { status: 404 }),
      {
        status: 'failed',
        input: order,
        error: { code: 'http_error', message: 'HTTP 404', retryable: false, status: 404 },
      },
    ],
    [
      'a network ConnectorError',
      () => new ConnectorError('network_error', 'ECONNRESET', true),
      {
        status: 'failed',
        input: order,
        error: { code: 'network_error', message: 'ECONNRESET', retryable: true },
      },
    ],
    [
      'a ConnectorError from another copy of the module',
      () =>
        Object.assign(new Error('boom'), {
          name: 'ConnectorError',
          code: 'timeout',
          retryable: true,
          extra: {},
        }),
      { status: 'failed', input: order, error: { code: 'timeout', message: 'boom', retryable: true } },
    ],
    [
      'any other error (a bug: final)',
      () => new TypeError('x is undefined'),
      {
        status: 'failed',
        input: order,
        error: {
          code: 'internal_error',
          message: "connector 'http' failed unexpectedly: x is undefined",
          retryable: false,
        },
      },
    ],
  ])('turns %s into a failed outcome', async (_name, makeError, expected) => {
    const fake = fakeConnector(async () => {
      throw makeError();
    });
    await expect(executeStep(flow, 'billing', ctx, deps(fake.registry))).resolves.toEqual(expected);
  });

  it('treats a connector that throws synchronously like one that rejects', async () => {
    const fake = fakeConnector(() => {
      throw new Error('sync');
    });
    await expect(executeStep(flow, 'billing', ctx, deps(fake.registry))).resolves.toMatchObject({
      status: 'failed',
      error: { code: 'internal_error', retryable: false },
    });
  });

  it('fails finally with connector_not_found for an unregistered connector', async () => {
    await expect(executeStep(flow, 'other', ctx, deps(unused.registry))).resolves.toEqual({
      status: 'failed',
      input: trigger.body,
      error: { code: 'connector_not_found', message: "connector 'smtp' is not available", retryable: false },
    });
  });

  it('fails finally with template_error naming the place of a missing secret', async () => {
    const outcome = await executeStep(flow, 'billing', ctx, deps(unused.registry, { secrets: {} }));
    expect(outcome).toEqual({
      status: 'failed',
      input: order,
      error: {
        code: 'template_error',
        message: "with/headers/Authorization: secret 'BILLING_TOKEN' is not defined",
        retryable: false,
      },
    });
  });

  it('fails finally with invalid_config when the rendered options break the connector schema', async () => {
    const outcome = await executeStep(flow, 'blank-url', ctx, deps(unused.registry));
    expect(outcome).toMatchObject({
      status: 'failed',
      error: {
        code: 'invalid_config',
        message: 'rendered options are invalid: with/url must not be empty',
        retryable: false,
      },
    });
  });

  it('in a dry run renders the request without calling the connector or revealing secrets', async () => {
    const outcome = await executeStep(flow, 'billing', ctx, deps(unused.registry, { dryRun: true }));
    expect(outcome).toEqual({
      status: 'succeeded',
      input: order,
      output: {
        dryRun: true,
        request: {
          method: 'POST',
          url: 'https://billing.example.com/orders/o%201',
          headers: { Authorization: `Bearer ${secretPlaceholder('BILLING_TOKEN')}` },
          json: { orderId: 'o 1', amount: 125, order },
        },
      },
    });
  });

  it('in a dry run without any secret values still renders placeholders', async () => {
    const outcome = await executeStep(flow, 'billing', ctx, {
      connectors: unused.registry,
      expressions,
      dryRun: true,
    });
    expect(outcome).toMatchObject({
      status: 'succeeded',
      output: { request: { headers: { Authorization: 'Bearer [secret BILLING_TOKEN]' } } },
    });
  });

  it('in a dry run reports a secret the caller says is missing', async () => {
    const outcome = await executeStep(
      flow,
      'billing',
      ctx,
      deps(unused.registry, { dryRun: true, secrets: {} }),
    );
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'template_error' } });
  });

  it('in a dry run still fails for an unregistered connector', async () => {
    await expect(
      executeStep(flow, 'other', ctx, deps(unused.registry, { dryRun: true })),
    ).resolves.toMatchObject({
      status: 'failed',
      error: { code: 'connector_not_found' },
    });
  });
});

describe('executeStep: cancellation and runaway connectors', () => {
  afterEach(() => jest.useRealTimers());

  it('does not call the connector when the signal is already aborted', async () => {
    const fake = fakeConnector(async () => null);
    const controller = new AbortController();
    controller.abort();
    const outcome = await executeStep(
      flow,
      'billing',
      ctx,
      deps(fake.registry, { signal: controller.signal }),
    );
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'cancelled', retryable: true } });
    expect(fake.calls).toHaveLength(0);
  });

  it('returns cancelled at once when the signal aborts, and aborts the connector', async () => {
    let connectorSignal: AbortSignal | undefined;
    const fake = fakeConnector((_input, c) => {
      connectorSignal = c.signal;
      return new Promise(() => undefined); // ignores its signal
    });
    const controller = new AbortController();
    const pending = executeStep(flow, 'billing', ctx, deps(fake.registry, { signal: controller.signal }));
    await new Promise((r) => setImmediate(r));
    controller.abort();
    await expect(pending).resolves.toEqual({
      status: 'failed',
      input: order,
      error: { code: 'cancelled', message: "step 'billing' was cancelled", retryable: true },
    });
    expect(connectorSignal?.aborted).toBe(true);
  });

  it('gives up on a connector that ignores its timeout, with a retryable timeout', async () => {
    jest.useFakeTimers();
    let connectorSignal: AbortSignal | undefined;
    const fake = fakeConnector((_input, c) => {
      connectorSignal = c.signal;
      return new Promise(() => undefined);
    });
    const pending = executeStep(flow, 'billing', ctx, deps(fake.registry));
    await jest.advanceTimersByTimeAsync(10_000 + CONNECTOR_GRACE_MS - 1);
    expect(connectorSignal?.aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await expect(pending).resolves.toEqual({
      status: 'failed',
      input: order,
      error: { code: 'timeout', message: "connector 'http' did not finish within 10000ms", retryable: true },
    });
    expect(connectorSignal?.aborted).toBe(true);
  });

  it('leaves no timer behind after a normal call', async () => {
    jest.useFakeTimers();
    const fake = fakeConnector(async () => 'ok');
    await executeStep(flow, 'billing', ctx, deps(fake.registry));
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('executeStep: never throws', () => {
  it('reports an unknown step as internal_error', async () => {
    await expect(executeStep(flow, 'ghost', ctx, deps(unused.registry))).resolves.toEqual({
      status: 'failed',
      input: null,
      error: { code: 'internal_error', message: "flow 'order-fanout' has no step 'ghost'", retryable: false },
    });
  });

  it('reports a registry that throws as internal_error, keeping the input', async () => {
    const registry: ConnectorRegistry = {
      get: () => {
        throw new Error('registry down');
      },
      keys: () => [],
    };
    await expect(executeStep(flow, 'billing', ctx, deps(registry))).resolves.toEqual({
      status: 'failed',
      input: order,
      error: { code: 'internal_error', message: 'registry down', retryable: false },
    });
  });
});

describe('executeStep: what crosses to the expression evaluator', () => {
  function recording(answer: () => Promise<unknown>) {
    const requests: ExpressionRequest[] = [];
    const evaluator: ExpressionEvaluator = {
      evaluate: (request) => {
        requests.push(request);
        return answer();
      },
      runCode: () => Promise.reject(new Error('no code here')),
    };
    return { requests, evaluator };
  }

  it('sends only the bindings the expression reads, and asks a filter for its truth only', async () => {
    const { requests, evaluator } = recording(async () => true);
    await executeStep(flow, 'order', ctx, { ...deps(unused.registry), expressions: evaluator });
    await executeStep(flow, 'big-only', ctx, { ...deps(unused.registry), expressions: evaluator });
    expect(Object.keys(requests[0].bindings!).sort()).toEqual(['run', 'trigger']);
    expect(requests[0].want).toBe('json');
    expect(requests[1]).toMatchObject({ source: 'total >= 50', bindings: {}, want: 'boolean' });
  });

  it.each<[string, string[]]>([
    ['$steps.order.total', ['order']],
    ['$steps.order.total + $steps.missing.n', ['order']],
    ['$count($keys($steps))', ['order', 'big-only']],
    ['$lookup($steps, "order")', ['order', 'big-only']],
  ])('sends of $steps only the outputs %s names', async (expression, sent) => {
    const { requests, evaluator } = recording(async () => null);
    const one = compileFlow({ ...def, steps: [{ id: 'x', type: 'transform', expression }] });
    await executeStep(one, 'x', ctx, { ...deps(unused.registry), expressions: evaluator });
    expect(Object.keys(requests[0].bindings!.steps as object)).toEqual(sent);
  });

  it.each<[ExpressionError['code'], boolean]>([
    ['output_too_large', false],
    ['expression_too_large', false],
    ['expression_unavailable', true],
  ])('maps %s from the evaluator to a step error (retryable: %s)', async (code, retryable) => {
    const { evaluator } = recording(() => Promise.reject(new ExpressionError(code, 'no')));
    const outcome = await executeStep(flow, 'order', ctx, {
      ...deps(unused.registry),
      expressions: evaluator,
    });
    expect(outcome).toEqual({
      status: 'failed',
      input: trigger.body,
      error: { code, message: 'no', retryable },
    });
  });
});

describe('executeStep: respond', () => {
  const respond = (step: Record<string, unknown>) =>
    compileFlow({
      ...def,
      steps: [def.steps[0], { id: 'reply', type: 'respond', ...step } as FlowDefinition['steps'][number]],
    });
  const run = (step: Record<string, unknown>, extra: Partial<ExecuteDeps> = {}) =>
    executeStep(respond(step), 'reply', ctx, deps(unused.registry, extra));

  it('renders json with typed values, headers as text, and status 200 by default', async () => {
    const outcome = await run({
      headers: { 'X-Order': '{{steps.order.id}}', 'Cache-Control': 'no-store' },
      json: { order: '{{steps.order}}', total: '{{input.total}}', text: 'Order {{input.id}}' },
    });
    expect(outcome).toEqual({
      status: 'succeeded',
      input: order,
      output: {
        status: 200,
        headers: {
          'x-order': 'o 1',
          'cache-control': 'no-store',
          'content-type': 'application/json; charset=utf-8',
          'x-content-type-options': 'nosniff',
          'content-security-policy': 'sandbox',
        },
        body: JSON.stringify({ order, total: 125, text: 'Order o 1' }),
      },
    });
  });

  it('renders a text body as text, with its own status and content type', async () => {
    await expect(
      run({ status: 422, headers: { 'Content-Type': 'text/csv' }, body: '{{input.id}},{{input.total}}' }),
    ).resolves.toMatchObject({
      status: 'succeeded',
      output: { status: 422, headers: { 'content-type': 'text/csv' }, body: 'o 1,125' },
    });
    await expect(run({ body: 'ok' })).resolves.toMatchObject({
      output: { headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'ok' },
    });
  });

  it('sends a whole value as JSON, a missing one as null, and nothing for a 204', async () => {
    await expect(run({ json: '{{steps.order.n}}' })).resolves.toMatchObject({ output: { body: '2' } });
    await expect(run({ json: '{{steps.nope}}' })).resolves.toMatchObject({ output: { body: 'null' } });
    await expect(run({ status: 204, json: { a: 1 } })).resolves.toMatchObject({
      output: { status: 204, body: '' },
    });
  });

  it.each<[string, Record<string, unknown>, Partial<ExecuteDeps>, string, RegExp]>([
    [
      'a header value from the request with a line break',
      { headers: { 'X-Via': '{{trigger.body.id}}\r\nSet-Cookie: a=1' }, body: 'x' },
      {},
      'template_error',
      /^\/headers\/X-Via: rendered a value HTTP does not allow/,
    ],
    [
      'a header value past U+00FF',
      { headers: { 'X-Name': '{{input.id}} ✓' }, body: 'x' },
      {},
      'template_error',
      /^\/headers\/X-Name/,
    ],
    [
      'an answer over the step output budget',
      { body: '{{#each trigger.body.items}}{{../input.id}}{{/each}}' },
      { budget: { ...DEFAULT_EXPRESSION_BUDGET, maxOutputBytes: 4 } },
      'output_too_large',
      /^\/body: rendered 6 bytes; an answer may have at most 4/,
    ],
    [
      'a secret it may not have (validation refuses it before)',
      { body: '{{input.id}}{{secret "X"}}' },
      {},
      'template_error',
      /^\/body: /,
    ],
  ])('fails %s, finally', async (_name, step, extra, code, message) => {
    await expect(run(step, extra)).resolves.toEqual({
      status: 'failed',
      input: order,
      error: { code, message: expect.stringMatching(message), retryable: false },
    });
  });
});
