import type { Connector, ConnectorContext, ConnectorRegistry } from '../model/connector';
import type { FlowDefinition } from '../model/flow-definition';
import type { RunContext } from '../model/run-context';
import { validateFlow } from '../validation/validate-flow';
import { compileFlow, InvalidFlowError } from './compile-flow';
import { InProcessEvaluator } from '../transform/expression-evaluator';
import { executeStep, secretPlaceholder } from './execute-step';

const expressions = new InProcessEvaluator();

/** `with.sign.secret` names a secret: counted like `{{secret}}` names, replaced by the value only when sending. */
const calls: Array<{ input: Record<string, unknown>; ctx: ConnectorContext }> = [];
const http: Connector = {
  key: 'http',
  schema: {
    type: 'object',
    required: ['url'],
    properties: {
      url: { type: 'string' },
      json: {},
      headers: { type: 'object' },
      sign: {
        type: 'object',
        required: ['secret'],
        properties: { secret: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } },
      },
    },
  },
  execute: async (input, ctx) => {
    calls.push({ input, ctx });
    return { status: 200 };
  },
};
const connectors: ConnectorRegistry = { get: (k) => (k === 'http' ? http : undefined), keys: () => ['http'] };

const def: FlowDefinition = {
  slug: 'signed',
  trigger: { type: 'webhook' },
  steps: [
    {
      id: 'ship',
      type: 'action',
      connector: 'http',
      with: {
        url: 'https://ship.example.com/hooks',
        headers: { authorization: "Bearer {{secret 'SHIP_TOKEN'}}" },
        json: '{{input}}',
        sign: { secret: 'SHIP_WHSEC' },
      },
    },
    { id: 'plain', type: 'action', connector: 'http', with: { url: 'https://x.example.com' } },
  ],
};
const ctx: RunContext = {
  trigger: { body: { id: 1 }, headers: {}, query: {}, method: 'POST', receivedAt: '2026-01-01T00:00:00Z' },
  steps: {},
  run: { id: 'run-1', flow: 'signed' },
} as unknown as RunContext;
const secrets = { SHIP_TOKEN: 'tok', SHIP_WHSEC: 'whsec_c2VjcmV0LXZhbHVlLTE2Ynl0ZXM=' };

describe('with.sign.secret', () => {
  const flow = compileFlow(def);

  beforeEach(() => {
    calls.length = 0;
  });

  it("counts the name into the step's and the flow's secretNames", () => {
    expect(flow.step('ship').secretNames).toEqual(['SHIP_TOKEN', 'SHIP_WHSEC']);
    expect(flow.step('plain').secretNames).toEqual([]);
    expect(flow.secretNames).toEqual(['SHIP_TOKEN', 'SHIP_WHSEC']);
  });

  it('hands the connector the value in place of the name', async () => {
    const outcome = await executeStep(flow, 'ship', ctx, { connectors, expressions, secrets });
    expect(outcome.status).toBe('succeeded');
    expect(calls).toHaveLength(1);
    expect(calls[0].input.sign).toEqual({ secret: secrets.SHIP_WHSEC });
    expect(calls[0].ctx.idempotencyKey).toBe('run-1_ship');
  });

  it('shows the placeholder in a dry run, never the value', async () => {
    for (const given of [secrets, undefined]) {
      const outcome = await executeStep(flow, 'ship', ctx, {
        connectors,
        expressions,
        secrets: given,
        dryRun: true,
      });
      expect(outcome).toMatchObject({
        status: 'succeeded',
        output: { dryRun: true, request: { sign: { secret: secretPlaceholder('SHIP_WHSEC') } } },
      });
      expect(JSON.stringify(outcome)).not.toContain(secrets.SHIP_WHSEC);
    }
    expect(calls).toHaveLength(0);
  });

  it.each([
    ['a run', false],
    ['a dry run', true],
  ])('fails finally in %s when the secret is missing', async (_name, dryRun) => {
    const outcome = await executeStep(flow, 'ship', ctx, {
      connectors,
      expressions,
      secrets: { SHIP_TOKEN: 'tok' },
      dryRun,
    });
    expect(outcome).toMatchObject({
      status: 'failed',
      error: {
        code: 'template_error',
        retryable: false,
        message: "with/sign/secret: secret 'SHIP_WHSEC' is not defined",
      },
    });
    expect(calls).toHaveLength(0);
  });

  it('refuses a name that is not a secret name when compiling', () => {
    const bad = structuredClone(def);
    (bad.steps[0] as { with: Record<string, unknown> }).with.sign = { secret: 'whsec_abc=' };
    expect(() => compileFlow(bad)).toThrow(InvalidFlowError);
    expect(() => compileFlow(bad)).toThrow('/steps/0/with/sign/secret');
  });

  it('is a validation error when it is a template', () => {
    const bad = structuredClone(def);
    (bad.steps[0] as { with: Record<string, unknown> }).with.sign = { secret: "{{secret 'SHIP_WHSEC'}}" };
    expect(validateFlow(bad)).toMatchObject({
      valid: false,
      errors: [{ path: '/steps/0/with/sign/secret', message: expect.stringContaining('not a template') }],
    });
  });
});
