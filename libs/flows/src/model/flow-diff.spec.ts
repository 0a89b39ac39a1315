import type { FlowDefinition, StepDef, WebhookTriggerDef } from './flow-definition';
import { diffFlows } from './flow-diff';

const base: FlowDefinition = {
  slug: 'orders',
  name: 'Orders',
  enabled: true,
  trigger: { type: 'webhook', methods: ['POST'] },
  steps: [
    { id: 'order', type: 'transform', expression: '$' },
    {
      id: 'billing',
      type: 'action',
      connector: 'http',
      needs: ['order'],
      with: { method: 'POST', url: 'https://billing.example.com', json: { id: '{{input.id}}' } },
    },
    {
      id: 'shipping',
      type: 'action',
      connector: 'http',
      needs: ['order'],
      with: { url: 'https://ship.example.com' },
    },
  ],
};

const edit = (change: (def: FlowDefinition) => void): FlowDefinition => {
  const copy = structuredClone(base);
  change(copy);
  return copy;
};
const billing = (def: FlowDefinition) => def.steps[1] as Extract<StepDef, { type: 'action' }>;

describe('diffFlows', () => {
  it.each<[string, FlowDefinition, string[]]>([
    ['nothing', structuredClone(base), []],
    [
      'only key order',
      {
        steps: base.steps,
        trigger: { methods: ['POST'], type: 'webhook' },
        enabled: true,
        name: 'Orders',
        slug: 'orders',
      },
      [],
    ],
    ['the name', edit((d) => (d.name = 'Orders v2')), ['name changed']],
    ['a new description', edit((d) => (d.description = 'x')), ['description changed']],
    ['enabled', edit((d) => (d.enabled = false)), ['enabled: true -> false']],
    ['enabled left out', edit((d) => delete d.enabled), ['enabled: true -> unset']],
    ['the slug', edit((d) => (d.slug = 'orders-2')), ['slug: "orders" -> "orders-2"']],
    [
      'trigger methods',
      edit((d) => ((d.trigger as WebhookTriggerDef).methods = ['POST', 'PUT'])),
      ['trigger changed (methods)'],
    ],
    [
      'trigger verify and dedupe',
      edit((d) => {
        (d.trigger as WebhookTriggerDef).dedupe = { header: 'webhook-id' };
        (d.trigger as WebhookTriggerDef).verify = { scheme: 'stripe', secret: 'S' };
      }),
      ['trigger changed (verify, dedupe)'],
    ],
    [
      'an added step',
      edit((d) => d.steps.push({ id: 'audit', type: 'transform', expression: '$' })),
      ["step 'audit' added"],
    ],
    ['a removed step', edit((d) => d.steps.splice(2, 1)), ["step 'shipping' removed"]],
    [
      'an expression',
      edit((d) => ((d.steps[0] as { expression: string }).expression = '$.id')),
      ["step 'order' changed (expression)"],
    ],
    [
      'with.url and retry',
      edit((d) => {
        billing(d).with.url = 'https://billing.example.com/v2';
        billing(d).retry = { attempts: 3 };
      }),
      ["step 'billing' changed (with.url, retry)"],
    ],
    [
      'deep inside with.json',
      edit((d) => ((billing(d).with.json as Record<string, unknown>).id = '{{input.orderId}}')),
      ["step 'billing' changed (with.json)"],
    ],
    ['the step order', edit((d) => d.steps.splice(1, 2, d.steps[2], d.steps[1])), ['steps reordered']],
    [
      'several things at once',
      edit((d) => {
        d.enabled = false;
        (d.trigger as WebhookTriggerDef).methods = ['GET'];
        d.steps.splice(2, 1);
        d.steps.push({ id: 'audit', type: 'filter', condition: 'true' });
        billing(d).needs = [];
      }),
      [
        'enabled: true -> false',
        'trigger changed (methods)',
        "step 'billing' changed (needs)",
        "step 'audit' added",
        "step 'shipping' removed",
      ],
    ],
  ])('reports %s', (_name, after, expected) => {
    expect(diffFlows(base, after)).toEqual(expected);
  });

  it('never calls different definitions unchanged', () => {
    const dup = edit((d) => d.steps.push({ id: 'order', type: 'transform', expression: '1' }));
    expect(diffFlows(base, dup).length).toBeGreaterThan(0);
  });
});
