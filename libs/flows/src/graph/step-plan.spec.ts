import type { FlowDefinition, StepDef } from '../model/flow-definition';
import { compileTrigger } from '../trigger/compile-trigger';
import { planSteps } from './step-plan';

const steps: StepDef[] = [
  { id: 'shape', type: 'transform', expression: '$' },
  {
    id: 'other',
    type: 'transform',
    expression: '$',
    needs: [],
    retry: { attempts: 3, delay: '2s' },
    timeout: '5s',
  },
  {
    id: 'send',
    type: 'action',
    connector: 'http',
    with: { url: 'https://example.com' },
    needs: ['shape', 'other'],
  },
];

describe('planSteps', () => {
  it('gives every step a row and hands the roots to the queue with their retry policy and timeout', () => {
    expect(planSteps({ steps })).toEqual({
      steps: [
        { id: 'shape', root: true },
        { id: 'other', root: true },
        { id: 'send', root: false },
      ],
      roots: [
        {
          id: 'shape',
          policy: { attempts: 1, backoff: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000 },
          timeoutMs: 30_000,
        },
        {
          id: 'other',
          policy: { attempts: 3, backoff: 'exponential', delayMs: 2000, maxDelayMs: 3_600_000 },
          timeoutMs: 5000,
        },
      ],
    });
  });

  it("is a webhook trigger's plan too, and needs nothing of the trigger", () => {
    const definition: FlowDefinition = { slug: 'unit', trigger: { type: 'webhook' }, steps };
    const { steps: rows, roots } = compileTrigger(definition);
    expect(planSteps({ steps })).toEqual({ steps: rows, roots });
  });
});
