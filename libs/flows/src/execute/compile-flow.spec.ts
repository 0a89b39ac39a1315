import type { FlowDefinition } from '../model/flow-definition';
import type { RunContext } from '../model/run-context';
import { InvalidFlowError, compileFlow, stepInput } from './compile-flow';

const def: FlowDefinition = {
  slug: 'fan',
  trigger: { type: 'webhook' },
  steps: [
    { id: 'order', type: 'transform', expression: '{ "id": id }' },
    { id: 'gate', type: 'filter', condition: 'id != null', retry: { attempts: 2 }, timeout: '2s' },
    {
      id: 'billing',
      type: 'action',
      connector: 'http',
      with: { url: 'https://b.example.com', headers: { Authorization: "Bearer {{secret 'B_TOKEN'}}" } },
      retry: { attempts: 8, backoff: 'fixed', delay: '2s', maxDelay: '1m' },
      timeout: '10s',
    },
    {
      id: 'shipping',
      type: 'action',
      connector: 'http',
      needs: ['gate'],
      with: { url: "https://s.example.com/{{secret 'A_KEY'}}", json: { b: "{{secret 'B_TOKEN'}}" } },
    },
    { id: 'join', type: 'transform', needs: ['billing', 'shipping'], expression: '$' },
    { id: 'side', type: 'transform', needs: [], expression: '$' },
  ],
};

const ctx: RunContext = {
  trigger: { body: { id: 7 }, query: {}, headers: {}, method: 'POST', receivedAt: '2024-01-01T00:00:00Z' },
  steps: { order: { id: 7 }, gate: { id: 7 }, billing: { status: 200 } },
  run: { id: 'r1', flow: 'fan' },
};

describe('compileFlow', () => {
  const flow = compileFlow(def);

  it('exposes the definition, the graph and each compiled step', () => {
    expect(flow.definition).toBe(def);
    expect(flow.graph.ids).toEqual(['order', 'gate', 'billing', 'shipping', 'join', 'side']);
    expect(flow.step('order').type).toBe('transform');
    expect(flow.step('gate').type).toBe('filter');
    expect(flow.step('billing')).toMatchObject({
      type: 'action',
      def: def.steps[2],
      secretNames: ['B_TOKEN'],
    });
  });

  it('resolves retry policies and timeouts per step', () => {
    expect(flow.retryPolicy('billing')).toEqual({
      attempts: 8,
      backoff: 'fixed',
      delayMs: 2000,
      maxDelayMs: 60_000,
    });
    expect(flow.retryPolicy('shipping')).toEqual({
      attempts: 8,
      backoff: 'exponential',
      delayMs: 1000,
      maxDelayMs: 3_600_000,
    });
    expect(flow.retryPolicy('order').attempts).toBe(1);
    expect(flow.timeoutMs('billing')).toBe(10_000);
    expect(flow.timeoutMs('gate')).toBe(2000);
    expect(flow.timeoutMs('shipping')).toBe(30_000);
  });

  it('collects every secret name any template uses', () => {
    expect(flow.secretNames).toEqual(['A_KEY', 'B_TOKEN']);
  });

  it('throws for an unknown step id', () => {
    expect(() => flow.step('nope')).toThrow(/has no step 'nope'/);
  });

  it.each<[string, (d: FlowDefinition) => void, string]>([
    [
      'an expression',
      (d) => ((d.steps[0] as { expression: string }).expression = '{'),
      '/steps/0/expression',
    ],
    ['a condition', (d) => ((d.steps[1] as { condition: string }).condition = '('), '/steps/1/condition'],
    [
      'a template',
      (d) => ((d.steps[2] as { with: Record<string, unknown> }).with.headers = { 'A/B': '{{' }),
      '/steps/2/with/headers/A~1B',
    ],
    ['a retry delay', (d) => (d.steps[2].retry = { delay: 'soon' }), '/steps/2/retry'],
    ['a timeout', (d) => (d.steps[2].timeout = '1 s'), '/steps/2/timeout'],
    ['an unknown need', (d) => (d.steps[4].needs = ['ghost']), '/steps/4'],
    ['a cycle', (d) => (d.steps[0].needs = ['join']), '/steps/0'],
  ])('rejects %s with an InvalidFlowError at its path', (_name, change, path) => {
    const broken = structuredClone(def);
    change(broken);
    expect(() => compileFlow(broken)).toThrow(InvalidFlowError);
    try {
      compileFlow(broken);
    } catch (err) {
      expect((err as InvalidFlowError).path).toBe(path);
    }
  });
});

describe('stepInput', () => {
  const flow = compileFlow(def);

  it.each<[string, unknown]>([
    ['order', { id: 7 }],
    ['side', { id: 7 }],
    ['gate', { id: 7 }],
    ['billing', { id: 7 }],
    ['join', { billing: { status: 200 }, shipping: null }],
  ])('%s -> %p', (stepId, expected) => {
    expect(stepInput(flow, stepId, ctx)).toEqual(expected);
  });

  it('gives an any-join only the needs that succeeded, by their statuses where known', () => {
    const anyJoin = compileFlow({
      ...def,
      steps: def.steps.map((s) => (s.id === 'join' ? { ...s, join: 'any' as const } : s)),
    });
    expect(stepInput(anyJoin, 'join', ctx)).toEqual({ billing: { status: 200 } });
    const filtered: RunContext = {
      ...ctx,
      steps: { ...ctx.steps, shipping: { id: 7 } },
      statuses: { billing: 'succeeded', shipping: 'filtered' },
    };
    expect(stepInput(anyJoin, 'join', filtered)).toEqual({ billing: { status: 200 } });
  });

  it('gives null for a missing trigger body or need output', () => {
    const empty: RunContext = { ...ctx, trigger: { ...ctx.trigger, body: undefined }, steps: {} };
    expect(stepInput(flow, 'order', empty)).toBeNull();
    expect(stepInput(flow, 'gate', empty)).toBeNull();
  });
});
