import {
  ConnectorError,
  type Connector,
  type ConnectorContext,
  type ConnectorRegistry,
} from '../model/connector';
import type { FlowDefinition, StepDef } from '../model/flow-definition';
import type { TriggerData } from '../model/run-context';
import type { StepStatus } from '../model/step-status';
import { compileFlow } from './compile-flow';
import { runFlowInProcess } from './run-in-process';
import { InProcessEvaluator } from '../transform/expression-evaluator';

const expressions = new InProcessEvaluator();

type Call = { input: Record<string, unknown>; ctx: ConnectorContext };

/** An `http` stand-in that records its calls; a url containing `fail` answers a 503. */
function fakeRegistry() {
  const calls: Call[] = [];
  const connector: Connector = {
    key: 'http',
    schema: { type: 'object', required: ['url'], properties: { url: { type: 'string' } } },
    execute: async (input, ctx) => {
      calls.push({ input, ctx });
      if (String(input.url).includes('fail')) {
        throw new ConnectorError('http_error', 'receiver answered 503', true, { status: 503 });
      }
      return { status: 200, headers: {}, body: { received: input.json ?? null } };
    },
  };
  const registry: ConnectorRegistry = {
    get: (key) => (key === 'http' ? connector : undefined),
    keys: () => ['http'],
  };
  return { calls, registry };
}

const trigger = (body: unknown): TriggerData => ({
  body,
  query: {},
  headers: {},
  method: 'POST',
  receivedAt: '2024-01-01T00:00:00.000Z',
});

const post = (id: string, needs: string[] | undefined, url = `https://${id}.example.com`): StepDef => ({
  id,
  type: 'action',
  connector: 'http',
  ...(needs ? { needs } : {}),
  with: { method: 'POST', url, json: { id: '{{input.id}}', run: '{{run.id}}' } },
});

const flow = (...steps: StepDef[]): FlowDefinition => ({
  slug: 'test-flow',
  trigger: { type: 'webhook' },
  steps,
});

interface Case {
  name: string;
  def: FlowDefinition;
  body: unknown;
  dryRun: boolean;
  status: 'succeeded' | 'failed' | 'filtered';
  steps: Record<string, StepStatus>;
  /** Ids of the action steps whose connector was called, in call order. */
  calls: string[];
}

const order = { id: 'o1', total: 80 };

const cases: Case[] = [
  {
    name: 'fan-out in a dry run',
    def: flow(
      { id: 'order', type: 'transform', expression: '$' },
      post('billing', ['order']),
      post('shipping', ['order']),
      post('inventory', ['order']),
    ),
    body: order,
    dryRun: true,
    status: 'succeeded',
    steps: { order: 'succeeded', billing: 'succeeded', shipping: 'succeeded', inventory: 'succeeded' },
    calls: [],
  },
  {
    name: 'fan-out live',
    def: flow(
      { id: 'order', type: 'transform', expression: '$' },
      post('billing', ['order']),
      post('shipping', ['order']),
    ),
    body: order,
    dryRun: false,
    status: 'succeeded',
    steps: { order: 'succeeded', billing: 'succeeded', shipping: 'succeeded' },
    calls: ['billing', 'shipping'],
  },
  {
    name: 'a join after two roots',
    def: flow(
      { id: 'a', type: 'transform', needs: [], expression: '{ "id": id }' },
      { id: 'b', type: 'transform', needs: [], expression: 'total' },
      { id: 'both', type: 'transform', needs: ['a', 'b'], expression: '{ "id": a.id, "total": b }' },
      post('send', ['both']),
    ),
    body: order,
    dryRun: false,
    status: 'succeeded',
    steps: { a: 'succeeded', b: 'succeeded', both: 'succeeded', send: 'succeeded' },
    calls: ['send'],
  },
  {
    name: 'a false filter',
    def: flow(
      { id: 'order', type: 'transform', expression: '$' },
      { id: 'big', type: 'filter', condition: 'total > 100' },
      post('billing', undefined),
      { id: 'after', type: 'transform', expression: '$' },
    ),
    body: order,
    dryRun: false,
    status: 'filtered',
    steps: { order: 'succeeded', big: 'filtered', billing: 'skipped', after: 'skipped' },
    calls: [],
  },
  {
    name: 'a failed transform skipping its dependents only',
    def: flow(
      { id: 'broken', type: 'transform', needs: [], expression: '1 + "a"' },
      post('first', ['broken']),
      { id: 'then', type: 'transform', needs: ['first'], expression: '$' },
      post('other', []),
      { id: 'join', type: 'transform', needs: ['then', 'other'], expression: '$' },
    ),
    body: order,
    dryRun: false,
    status: 'failed',
    steps: { broken: 'failed', first: 'skipped', then: 'skipped', other: 'succeeded', join: 'skipped' },
    calls: ['other'],
  },
  {
    name: 'a retryable connector failure, tried once',
    def: flow(post('flaky', [], 'https://fail.example.com'), post('next', undefined)),
    body: order,
    dryRun: false,
    status: 'failed',
    steps: { flaky: 'failed', next: 'skipped' },
    calls: ['flaky'],
  },
  {
    name: 'a connector failure in a dry run (never called)',
    def: flow(post('flaky', [], 'https://fail.example.com'), post('next', undefined)),
    body: order,
    dryRun: true,
    status: 'succeeded',
    steps: { flaky: 'succeeded', next: 'succeeded' },
    calls: [],
  },
];

describe('runFlowInProcess', () => {
  it.each(cases)('$name', async (c) => {
    const { calls, registry } = fakeRegistry();
    const result = await runFlowInProcess(compileFlow(c.def), trigger(c.body), {
      connectors: registry,
      expressions,
      dryRun: c.dryRun,
      runId: 'run-1',
    });
    expect(result.status).toBe(c.status);
    expect(result.steps.map((s) => s.id)).toEqual(c.def.steps.map((s) => s.id));
    expect(Object.fromEntries(result.steps.map((s) => [s.id, s.status]))).toEqual(c.steps);
    expect(calls.map((call) => call.ctx.stepId)).toEqual(c.calls);
    for (const step of result.steps) {
      expect(step.type).toBe(c.def.steps.find((s) => s.id === step.id)!.type);
      if (step.status === 'skipped') expect(step).toEqual({ ...step, input: null, output: null });
      expect('error' in step).toBe(step.status === 'failed');
      expect('request' in step).toBe(c.dryRun && step.type === 'action' && step.status !== 'skipped');
    }
  });

  it('shows the rendered request and keeps the output in a dry run', async () => {
    const { registry } = fakeRegistry();
    const def = flow({
      id: 'send',
      type: 'action',
      connector: 'http',
      with: {
        url: 'https://x.example.com/{{input.id}}',
        headers: { Authorization: "Bearer {{secret 'TOKEN'}}" },
        json: { total: '{{input.total}}', run: '{{run.id}}' },
      },
    });
    const result = await runFlowInProcess(compileFlow(def), trigger(order), {
      connectors: registry,
      expressions,
      dryRun: true,
      runId: 'run-7',
      secrets: { TOKEN: 'real-value' },
    });
    const request = {
      url: 'https://x.example.com/o1',
      headers: { Authorization: 'Bearer [secret TOKEN]' },
      json: { total: 80, run: 'run-7' },
    };
    expect(result).toEqual({
      status: 'succeeded',
      steps: [
        {
          id: 'send',
          type: 'action',
          status: 'succeeded',
          input: order,
          output: { dryRun: true, request },
          request,
        },
      ],
    });
    expect(JSON.stringify(result)).not.toContain('real-value');
  });

  it('fails a step whose secret is missing, even in a dry run', async () => {
    const { registry } = fakeRegistry();
    const def = flow({
      id: 'send',
      type: 'action',
      connector: 'http',
      with: { url: "https://x.example.com/{{secret 'NOPE'}}" },
    });
    const result = await runFlowInProcess(compileFlow(def), trigger(order), {
      connectors: registry,
      expressions,
      dryRun: true,
      secrets: {},
    });
    expect(result.status).toBe('failed');
    expect(result.steps[0]).toMatchObject({ status: 'failed', error: { code: 'template_error' } });
  });

  it('passes live outputs, the join input and the run id along', async () => {
    const { calls, registry } = fakeRegistry();
    const def = cases.find((c) => c.name === 'a join after two roots')!.def;
    const result = await runFlowInProcess(compileFlow(def), trigger(order), {
      connectors: registry,
      expressions,
      dryRun: false,
      runId: 'run-9',
    });
    const byId = Object.fromEntries(result.steps.map((s) => [s.id, s]));
    expect(byId.both.input).toEqual({ a: { id: 'o1' }, b: 80 });
    expect(byId.send.output).toEqual({
      status: 200,
      headers: {},
      body: { received: { id: 'o1', run: 'run-9' } },
    });
    expect(calls[0].ctx).toMatchObject({ runId: 'run-9', attempt: 1, idempotencyKey: 'run-9_send' });
  });

  it('runs an any-join once after a filtered branch, with only the branch that passed as input', async () => {
    const { calls, registry } = fakeRegistry();
    const def = flow(
      { id: 'big', type: 'filter', needs: [], condition: 'total >= 100' },
      { id: 'small', type: 'filter', needs: [], condition: 'total < 100' },
      { ...post('notify', ['big', 'small']), join: 'any' },
    );
    const result = await runFlowInProcess(compileFlow(def), trigger(order), {
      connectors: registry,
      expressions,
      dryRun: false,
    });
    const byId = Object.fromEntries(result.steps.map((s) => [s.id, s]));
    expect(result.status).toBe('succeeded');
    expect(byId.big.status).toBe('filtered');
    expect(byId.notify).toMatchObject({ status: 'succeeded', input: { small: order } });
    expect(calls).toHaveLength(1);
  });

  it.each<[string, 'first' | 'all', number, string[], Record<string, StepStatus>]>([
    ['first, a big order', 'first', 150, ['big'], { big: 'succeeded', vip: 'skipped', rest: 'skipped' }],
    ['all, a big order', 'all', 150, ['big', 'vip'], { big: 'succeeded', vip: 'succeeded', rest: 'skipped' }],
    [
      'first, a small order: the fallback',
      'first',
      20,
      ['rest'],
      { big: 'skipped', vip: 'skipped', rest: 'succeeded' },
    ],
  ])("routes by the paths' conditions (%s)", async (_name, mode, total, routes, steps) => {
    const { calls, registry } = fakeRegistry();
    const def = flow(
      {
        id: 'route',
        type: 'router',
        mode,
        paths: [
          { name: 'rest' },
          { name: 'big', when: 'total >= 100' },
          { name: 'vip', when: 'total >= 120' },
        ],
      },
      post('big', ['route.big']),
      post('vip', ['route.vip']),
      post('rest', ['route.rest']),
    );
    const result = await runFlowInProcess(compileFlow(def), trigger({ id: 'o1', total }), {
      connectors: registry,
      expressions,
      dryRun: false,
    });
    const byId = Object.fromEntries(result.steps.map((s) => [s.id, s]));
    expect(result.status).toBe('succeeded');
    expect(byId.route).toMatchObject({ status: 'succeeded', output: { id: 'o1', total }, routes });
    expect(Object.fromEntries(result.steps.slice(1).map((s) => [s.id, s.status]))).toEqual(steps);
    expect(calls.map((c) => c.input.url)).toEqual(routes.map((r) => `https://${r}.example.com`));
  });

  it('ends a router that takes no path filtered, and one whose condition throws failed, naming the path', async () => {
    const { registry } = fakeRegistry();
    const run = (when: string) =>
      runFlowInProcess(
        compileFlow(
          flow({ id: 'route', type: 'router', paths: [{ name: 'big', when }] }, post('big', ['route.big'])),
        ),
        trigger(order),
        { connectors: registry, expressions, dryRun: false },
      );
    const none = await run('total > 1000');
    expect(none.status).toBe('filtered');
    expect(none.steps[0]).toMatchObject({ status: 'filtered', routes: [] });
    expect(none.steps[1].status).toBe('skipped');
    const broken = await run('$error("no")');
    expect(broken.status).toBe('failed');
    expect(broken.steps[0].error).toMatchObject({
      code: 'filter_error',
      message: expect.stringMatching(/^path 'big': /),
    });
  });

  it('runs a step called constructor like any other (no prototype key is taken for a status)', async () => {
    const { registry } = fakeRegistry();
    const def = flow(
      { id: 'constructor', type: 'transform', expression: '$' },
      { id: 'join', type: 'transform', needs: ['constructor'], expression: '$' },
    );
    const result = await runFlowInProcess(compileFlow(def), trigger(order), {
      connectors: registry,
      expressions,
      dryRun: true,
    });
    expect(result.status).toBe('succeeded');
    expect(result.steps.map((s) => [s.id, s.status, s.input])).toEqual([
      ['constructor', 'succeeded', order],
      ['join', 'succeeded', order],
    ]);
  });

  it('records the error of a failed live attempt without retrying', async () => {
    const { calls, registry } = fakeRegistry();
    const def = flow({ ...post('flaky', [], 'https://fail.example.com'), retry: { attempts: 5 } } as StepDef);
    const result = await runFlowInProcess(compileFlow(def), trigger(order), {
      connectors: registry,
      expressions,
      dryRun: false,
    });
    expect(calls).toHaveLength(1);
    expect(result.steps[0].error).toEqual({
      code: 'http_error',
      message: 'receiver answered 503',
      retryable: true,
      status: 503,
    });
    expect(calls[0].ctx.runId).toMatch(/^test-[0-9a-f-]{36}$/);
  });
});

describe('runFlowInProcess: a respond step', () => {
  const respondFlow = flow(
    { id: 'order', type: 'transform', expression: "{ 'id': id, 'big': total >= 50 }" },
    { id: 'big', type: 'filter', condition: 'big' },
    { id: 'reply', type: 'respond', json: { text: 'Order {{steps.order.id}}', order: '{{steps.order}}' } },
    post('after', ['reply']),
  );

  it("gives the answer the webhook's sender would get, and runs the steps after it", async () => {
    const { registry } = fakeRegistry();
    const result = await runFlowInProcess(compileFlow(respondFlow), trigger(order), {
      connectors: registry,
      expressions,
      dryRun: true,
    });
    expect(result.status).toBe('succeeded');
    expect(result.response).toEqual({
      status: 200,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'x-content-type-options': 'nosniff',
        'content-security-policy': 'sandbox',
      },
      body: JSON.stringify({ text: 'Order o1', order: { id: 'o1', big: true } }),
    });
    expect(result.steps.find((s) => s.id === 'reply')!.output).toEqual(result.response);
    expect(result.steps.find((s) => s.id === 'after')!.status).toBe('succeeded');
  });

  it('gives null when the run does not reach it (the trigger answers its default then)', async () => {
    const { registry } = fakeRegistry();
    const result = await runFlowInProcess(compileFlow(respondFlow), trigger({ ...order, total: 1 }), {
      connectors: registry,
      expressions,
      dryRun: true,
    });
    expect(result.status).toBe('filtered');
    expect(result.response).toBeNull();
  });

  it('gives no response at all for a flow without a respond step', async () => {
    const { registry } = fakeRegistry();
    const result = await runFlowInProcess(compileFlow(flow(post('a', undefined))), trigger(order), {
      connectors: registry,
      expressions,
      dryRun: true,
    });
    expect('response' in result).toBe(false);
  });
});

describe('runFlowInProcess: loops', () => {
  const lines = {
    order: {
      id: 'A-7',
      lines: [
        { sku: 'a', qty: 2 },
        { sku: 'b', qty: 30 },
        { sku: 'c', qty: 1 },
      ],
    },
  };
  const loop = (extra: Record<string, unknown> = {}, steps: StepDef[] = []): StepDef =>
    ({
      id: 'each',
      type: 'foreach',
      items: 'order.lines',
      ...extra,
      steps: [
        {
          id: 'line',
          type: 'transform',
          expression: "{ 'sku': sku, 'n': $index, 'of': $trigger.body.order.id }",
        },
        { id: 'size', type: 'router', paths: [{ name: 'bulk', when: '$item.qty >= 10' }, { name: 'one' }] },
        {
          id: 'post',
          type: 'action',
          connector: 'http',
          needs: ['size.bulk', 'size.one'],
          join: 'any',
          with: { url: 'https://{{item.sku}}.example.com/{{index}}', json: { qty: '{{item.qty}}' } },
        },
        ...steps,
      ],
    }) as StepDef;

  it("runs each item's steps, shows them per item, and gives the next step the results in item order", async () => {
    const { calls, registry } = fakeRegistry();
    const after: StepDef = { id: 'after', type: 'transform', expression: '$count($)' };
    const result = await runFlowInProcess(compileFlow(flow(loop(), after)), trigger(lines), {
      connectors: registry,
      expressions,
      dryRun: false,
      runId: 'r1',
    });
    expect(result.status).toBe('succeeded');
    expect(calls.map((c) => [c.input.url, c.input.json, c.ctx.idempotencyKey])).toEqual([
      ['https://a.example.com/0', { qty: 2 }, 'r1_each[0].post'],
      ['https://b.example.com/1', { qty: 30 }, 'r1_each[1].post'],
      ['https://c.example.com/2', { qty: 1 }, 'r1_each[2].post'],
    ]);
    const [each, last] = result.steps;
    expect(each.output).toEqual(
      [0, 1, 2].map((i) => ({ status: 200, headers: {}, body: { received: { qty: [2, 30, 1][i] } } })),
    );
    expect(each.items!.map((item) => [item.index, item.status, item.steps.map((s) => s.status)])).toEqual([
      [0, 'succeeded', ['succeeded', 'succeeded', 'succeeded']],
      [1, 'succeeded', ['succeeded', 'succeeded', 'succeeded']],
      [2, 'succeeded', ['succeeded', 'succeeded', 'succeeded']],
    ]);
    expect(each.items![1].steps[0]).toMatchObject({
      input: { sku: 'b', qty: 30 },
      output: { sku: 'b', n: 1, of: 'A-7' },
    });
    expect(each.items!.map((item) => item.steps[1].routes)).toEqual([['one'], ['bulk'], ['one']]);
    expect(last).toMatchObject({ id: 'after', status: 'succeeded', output: 3 });
  });

  it('lets the other items finish when one fails, then fails the loop; continueOnError keeps null for it', async () => {
    const failing = {
      order: {
        lines: [
          { sku: 'a', qty: 1 },
          { sku: 'fail', qty: 1 },
          { sku: 'c', qty: 1 },
        ],
      },
    };
    const { calls, registry } = fakeRegistry();
    const failed = await runFlowInProcess(compileFlow(flow(loop())), trigger(failing), {
      connectors: registry,
      expressions,
      dryRun: false,
    });
    expect(calls).toHaveLength(3);
    expect(failed.status).toBe('failed');
    expect(failed.steps[0]).toMatchObject({
      status: 'failed',
      error: { code: 'loop_items_failed', message: '1 of 3 items failed (item 1); the others finished' },
    });
    expect(failed.steps[0].items!.map((item) => item.status)).toEqual(['succeeded', 'failed', 'succeeded']);

    const kept = await runFlowInProcess(
      compileFlow(flow(loop({ continueOnError: true }))),
      trigger(failing),
      {
        connectors: fakeRegistry().registry,
        expressions,
        dryRun: false,
      },
    );
    expect(kept.status).toBe('succeeded');
    expect((kept.steps[0].output as unknown[]).map((o) => o === null)).toEqual([false, true, false]);
  });

  it('gives a code step in a loop its item and index', async () => {
    const def = flow({
      id: 'each',
      type: 'foreach',
      items: 'order.lines',
      steps: [
        {
          id: 'calc',
          type: 'code',
          code: 'return { at: index, total: item.qty * 10, same: input === item }',
        },
      ],
    } as StepDef);
    const result = await runFlowInProcess(compileFlow(def), trigger(lines), {
      connectors: fakeRegistry().registry,
      expressions,
      dryRun: true,
    });
    expect(result.steps[0].output).toEqual([
      { at: 0, total: 20, same: false },
      { at: 1, total: 300, same: false },
      { at: 2, total: 10, same: false },
    ]);
  });

  it('takes one value as one item and nothing as none, and refuses more items than maxItems', async () => {
    const run = (body: unknown, extra: Record<string, unknown> = {}) =>
      runFlowInProcess(compileFlow(flow(loop(extra))), trigger(body), {
        connectors: fakeRegistry().registry,
        expressions,
        dryRun: true,
      });
    const one = await run({ order: { lines: { sku: 'x', qty: 1 } } });
    expect(one.steps[0].items).toHaveLength(1);
    const none = await run({ order: {} });
    expect(none.steps[0]).toMatchObject({ status: 'succeeded', output: [], items: [] });
    const tooMany = await run(lines, { maxItems: 2 });
    expect(tooMany.steps[0]).toMatchObject({
      status: 'failed',
      error: { code: 'too_many_items', message: 'items gave 3 items; this loop takes at most 2 (maxItems)' },
    });
  });
});
