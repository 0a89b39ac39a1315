import { jest } from '@jest/globals';
import type { ConnectorRegistry } from '../model/connector';
import type { FlowDefinition, StepDef } from '../model/flow-definition';
import type { RunContext } from '../model/run-context';
import { canonicalFlowJson } from '../model/canonical';
import { validateFlow } from '../validation/validate-flow';
import { InvalidFlowError, compileFlow } from './compile-flow';
import { executeStep } from './execute-step';
import { runFlowInProcess } from './run-in-process';
import { InProcessEvaluator } from '../transform/expression-evaluator';

const expressions = new InProcessEvaluator();

const NOW = Date.parse('2030-01-01T00:00:00.000Z');
const noConnectors: ConnectorRegistry = { get: () => undefined, keys: () => [] };

function flowWith(...steps: unknown[]): FlowDefinition {
  return { slug: 'delayed', trigger: { type: 'webhook' }, steps } as FlowDefinition;
}

const ctx: RunContext = {
  trigger: {
    body: { at: '2030-01-01T00:05:00Z', ms: NOW + 1234, n: 3 },
    query: {},
    headers: {},
    method: 'POST',
    receivedAt: new Date(NOW).toISOString(),
  },
  steps: {},
  run: { id: 'r1', flow: 'delayed' },
};

describe('delay step: validation', () => {
  it.each<[string, unknown, string[]]>([
    ['for', { id: 'wait', type: 'delay', for: '10m' }, []],
    ['for in milliseconds', { id: 'wait', type: 'delay', for: 2000 }, []],
    ['until', { id: 'wait', type: 'delay', until: '$.at' }, []],
    ['neither', { id: 'wait', type: 'delay' }, ["/steps/0: takes exactly one of 'for' or 'until'"]],
    [
      'both',
      { id: 'wait', type: 'delay', for: '1s', until: '$.at' },
      ["/steps/0: takes exactly one of 'for' or 'until'"],
    ],
    ['a bad duration', { id: 'wait', type: 'delay', for: 'soon' }, ['/steps/0/for']],
    ['bad JSONata', { id: 'wait', type: 'delay', until: '$.at +' }, ['/steps/0/until']],
    ['an action field', { id: 'wait', type: 'delay', for: '1s', connector: 'http' }, ['/steps/0']],
  ])('%s', (_name, step, expected) => {
    const result = validateFlow(flowWith(step));
    const errors = result.valid ? [] : result.errors.map((e) => `${e.path}: ${e.message}`);
    expect(errors).toHaveLength(expected.length);
    expected.forEach((prefix, i) => expect(errors[i].startsWith(prefix)).toBe(true));
  });

  it('warns when until reads a step it does not depend on', () => {
    const result = validateFlow(
      flowWith(
        { id: 'a', type: 'transform', expression: '$' },
        { id: 'wait', type: 'delay', needs: [], until: '$steps.a.at' },
      ),
    );
    expect(result.valid && result.warnings.map((w) => w.path)).toEqual(['/steps/1/until']);
  });

  it('accepts per-step destination limits on actions only', () => {
    const action = {
      id: 'send',
      type: 'action',
      connector: 'http',
      with: { url: 'https://example.com' },
      destination: { concurrency: 2, rate: { limit: 10, per: '1s' } },
    };
    expect(validateFlow(flowWith(action)).valid).toBe(true);
    expect(validateFlow(flowWith({ ...action, destination: { concurrency: 0 } })).valid).toBe(false);
    expect(validateFlow(flowWith({ ...action, destination: {} })).valid).toBe(false);
    expect(
      validateFlow(flowWith({ id: 'w', type: 'delay', for: '1s', destination: { concurrency: 1 } })).valid,
    ).toBe(false);
  });

  it('keeps for/until and destination in canonical key order', () => {
    const text = canonicalFlowJson(
      flowWith(
        { until: '$.at', type: 'delay', id: 'wait' },
        { destination: { concurrency: 1 }, with: { url: 'u' }, connector: 'http', type: 'action', id: 's' },
      ),
    );
    expect(text.indexOf('"type": "delay"')).toBeLessThan(text.indexOf('"until"'));
    expect(text.indexOf('"with"')).toBeLessThan(text.indexOf('"destination"'));
  });
});

describe('delay step: compile and execute', () => {
  async function resumeAt(step: StepDef, c: RunContext = ctx) {
    const flow = compileFlow(flowWith(step));
    return executeStep(flow, step.id, c, { connectors: noConnectors, expressions, nowMs: NOW });
  }

  it.each<[string, StepDef, number]>([
    ['for 10m', { id: 'w', type: 'delay', for: '10m' }, NOW + 600_000],
    ['for in ms', { id: 'w', type: 'delay', for: 2000 }, NOW + 2000],
    ['until ISO text', { id: 'w', type: 'delay', until: '$.at' }, Date.parse('2030-01-01T00:05:00Z')],
    ['until epoch ms', { id: 'w', type: 'delay', until: '$.ms' }, NOW + 1234],
    ['until from $trigger', { id: 'w', type: 'delay', until: '$trigger.body.ms + 1' }, NOW + 1235],
    [
      'until in the past',
      { id: 'w', type: 'delay', until: '"2001-01-01T00:00:00Z"' },
      Date.parse('2001-01-01'),
    ],
  ])('%s', async (_name, step, expected) => {
    const outcome = await resumeAt(step);
    expect(outcome).toEqual({
      status: 'succeeded',
      input: ctx.trigger.body,
      output: ctx.trigger.body,
      resumeAtMs: expected,
    });
  });

  it.each<[string, string]>([
    ['nothing', '$.missing'],
    ['a non-date string', '"tomorrow-ish"'],
    ['an object', '{"a": 1}'],
  ])('fails final when until gives %s', async (_name, until) => {
    const outcome = await resumeAt({ id: 'w', type: 'delay', until });
    expect(outcome.status).toBe('failed');
    expect(outcome.status === 'failed' && outcome.error).toMatchObject({
      code: 'transform_error',
      retryable: false,
    });
    expect(outcome.status === 'failed' && outcome.error.message).toMatch(/^until: gave .*ISO 8601/);
  });

  it('resumes exactly a year ahead', async () => {
    const outcome = await resumeAt({ id: 'w', type: 'delay', until: `${NOW + 365 * 86_400_000}` });
    expect(outcome).toMatchObject({ status: 'succeeded', resumeAtMs: NOW + 365 * 86_400_000 });
  });

  it.each<[string, string]>([
    ['a time a year and a millisecond ahead', `${NOW + 365 * 86_400_000 + 1}`],
    ['a year far ahead', '"9999-12-31T00:00:00Z"'],
    ['a number no date can hold', '1e300'],
  ])('fails final, naming the limit, when until gives %s', async (_name, until) => {
    const outcome = await resumeAt({ id: 'w', type: 'delay', until });
    expect(outcome).toMatchObject({
      status: 'failed',
      error: { code: 'transform_error', retryable: false },
    });
    expect(outcome.status === 'failed' && outcome.error.message).toMatch(
      /^until: gave .+, more than 365d ahead; a delay waits at most 365d$/,
    );
  });

  it('compiles a bad until to an InvalidFlowError at its pointer', () => {
    expect(() => compileFlow(flowWith({ id: 'w', type: 'delay', until: '(' }))).toThrow(InvalidFlowError);
    try {
      compileFlow(flowWith({ id: 'w', type: 'delay', until: '(' }));
    } catch (err) {
      expect((err as InvalidFlowError).path).toBe('/steps/0/until');
    }
  });

  it('gets one attempt by default, like other non-action steps', () => {
    expect(compileFlow(flowWith({ id: 'w', type: 'delay', for: '1s' })).retryPolicy('w').attempts).toBe(1);
  });

  it('passes through without waiting in an in-process (test) run', async () => {
    const flow = compileFlow(
      flowWith({ id: 'w', type: 'delay', for: '1h' }, { id: 't', type: 'transform', expression: 'n * 2' }),
    );
    // On a clock that only moves when told: a run that waited for the hour would never end, and
    // one that armed a timer for it would leave that timer pending.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    let result;
    try {
      result = await runFlowInProcess(flow, ctx.trigger, {
        connectors: noConnectors,
        expressions,
        dryRun: true,
      });
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
    expect(result.status).toBe('succeeded');
    expect(result.steps.map((s) => [s.id, s.status, s.output])).toEqual([
      ['w', 'succeeded', ctx.trigger.body],
      ['t', 'succeeded', 6],
    ]);
  });
});
