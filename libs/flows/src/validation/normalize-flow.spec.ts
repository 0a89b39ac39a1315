import type { FlowDefinition } from '../model/flow-definition';
import { normalizeFlow } from './normalize-flow';

const minimal: FlowDefinition = {
  slug: 's',
  trigger: { type: 'webhook' },
  steps: [{ id: 'a', type: 'transform', expression: '$' }],
};

describe('normalizeFlow', () => {
  it('writes out the documented defaults', () => {
    expect(normalizeFlow(minimal)).toEqual({
      slug: 's',
      enabled: true,
      trigger: { type: 'webhook', methods: ['POST'], maxBodyBytes: 1048576, respond: { status: 202 } },
      steps: [{ id: 'a', type: 'transform', expression: '$' }],
    });
  });

  it('keeps explicit values and does not touch its argument', () => {
    const def: FlowDefinition = {
      ...minimal,
      enabled: false,
      trigger: {
        type: 'webhook',
        methods: ['GET'],
        maxBodyBytes: 10,
        respond: { status: 200, body: { ok: true } },
      },
    };
    const copy = structuredClone(def);
    expect(normalizeFlow(def)).toMatchObject({
      enabled: false,
      trigger: { methods: ['GET'], maxBodyBytes: 10, respond: { status: 200, body: { ok: true } } },
    });
    expect(def).toEqual(copy);
  });
});
