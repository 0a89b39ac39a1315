import type { FlowDefinition, StepDef, TriggerDef } from '../model/flow-definition';
import { validateFlow } from '../validation/validate-flow';
import { compileTrigger, type CompiledTrigger } from './compile-trigger';

const send: StepDef = { id: 'send', type: 'action', connector: 'http', with: { url: 'https://example.com' } };

function flow(trigger: Omit<TriggerDef, 'type'>, steps: StepDef[] = [send]): FlowDefinition {
  return { slug: 'unit', trigger: { type: 'webhook', ...trigger }, steps };
}

/** What a trigger that sets nothing compiles to: the documented defaults. */
const DEFAULTS: Omit<CompiledTrigger, 'steps' | 'roots'> = {
  type: 'webhook',
  methods: new Set(['POST']),
  maxBodyBytes: 1_048_576,
  xmlArrays: [],
  reply: { status: 202, configuredStatus: undefined, headers: {}, body: undefined },
  droppedReplyHeaders: [],
  verify: null,
  credential: {},
  allowIps: null,
  rateLimit: null,
  dedupe: null,
  respondStep: null,
};

describe('compileTrigger', () => {
  it.each<[string, Omit<TriggerDef, 'type'>, Partial<CompiledTrigger>]>([
    ['nothing set: the defaults', {}, {}],
    ['methods', { methods: ['GET', 'PUT'] }, { methods: new Set(['GET', 'PUT']) }],
    ['a body limit', { maxBodyBytes: 10 }, { maxBodyBytes: 10 }],
    [
      'a respond with status, headers and a JSON body',
      { respond: { status: 200, headers: { 'X-Ack': 'yes' }, body: { ok: true } } },
      {
        reply: {
          status: 200,
          configuredStatus: 200,
          headers: { 'x-ack': 'yes', 'content-type': 'application/json; charset=utf-8' },
          body: '{"ok":true}',
        },
      },
    ],
    [
      'a text body',
      { respond: { body: 'OK' } },
      {
        reply: {
          status: 202,
          configuredStatus: undefined,
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          body: 'OK',
        },
      },
    ],
    [
      'respond headers the server sets, left out and named',
      { respond: { headers: { 'Content-Length': '1', 'x-kept': 'v' } } },
      {
        reply: { status: 202, configuredStatus: undefined, headers: { 'x-kept': 'v' }, body: undefined },
        droppedReplyHeaders: ['Content-Length'],
      },
    ],
    [
      "a token in a header: the header is the credential's",
      { verify: { scheme: 'token', secret: 'T', header: 'X-Hook-Token' } },
      {
        verify: { scheme: 'token', secret: 'T', header: 'X-Hook-Token' },
        credential: { header: 'x-hook-token' },
      },
    ],
    [
      "a token in the query: the parameter is the credential's",
      { verify: { scheme: 'token', secret: 'T', query: 'token' } },
      { verify: { scheme: 'token', secret: 'T', query: 'token' }, credential: { query: 'token' } },
    ],
    [
      "a generic HMAC: its signature header is the credential's",
      { verify: { scheme: 'hmac', secret: 'S', header: 'X-Signature' } },
      {
        verify: { scheme: 'hmac', secret: 'S', header: 'X-Signature' },
        credential: { header: 'x-signature' },
      },
    ],
    [
      'a preset: no carrier of its own',
      { verify: { scheme: 'stripe', secret: 'S' } },
      { verify: { scheme: 'stripe', secret: 'S' } },
    ],
    ['allowIps as written', { allowIps: ['203.0.113.0/24', '::1'] }, { allowIps: ['203.0.113.0/24', '::1'] }],
    [
      'a rate limit per minute',
      { rateLimit: { limit: 5, per: '1m' } },
      { rateLimit: { limit: 5, windowMs: 60_000 } },
    ],
    [
      'a rate limit in milliseconds',
      { rateLimit: { limit: 1, per: 1500 } },
      { rateLimit: { limit: 1, windowMs: 1500 } },
    ],
    ['dedupe by header', { dedupe: { header: 'X-Id' } }, { dedupe: { header: 'X-Id' } }],
    ['dedupe by expression', { dedupe: { expression: 'body.id' } }, { dedupe: { expression: 'body.id' } }],
  ])('%s', (_name, trigger, overrides) => {
    const def = flow(trigger);
    // Only validated definitions reach compileTrigger: every case is one a user could save.
    expect(validateFlow(def)).toMatchObject({ valid: true });
    const { steps: _steps, roots: _roots, ...compiled } = compileTrigger(def);
    expect(compiled).toEqual({ ...DEFAULTS, ...overrides });
  });

  it.each<[string, StepDef[], CompiledTrigger['steps'], CompiledTrigger['roots']]>([
    [
      'one action: a root with 8 attempts from 1s and 30s per attempt',
      [send],
      [{ id: 'send', root: true }],
      [
        {
          id: 'send',
          policy: { attempts: 8, backoff: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000 },
          timeoutMs: 30_000,
        },
      ],
    ],
    [
      'steps without needs, which run in order: only the first is a root, a transform with one attempt',
      [{ id: 'shape', type: 'transform', expression: '$' }, send],
      [
        { id: 'shape', root: true },
        { id: 'send', root: false },
      ],
      [
        {
          id: 'shape',
          policy: { attempts: 1, backoff: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000 },
          timeoutMs: 30_000,
        },
      ],
    ],
    [
      'a fan-out: two roots in definition order, with their own retry and timeout',
      [
        {
          ...send,
          id: 'b',
          retry: { attempts: 3, backoff: 'fixed', delay: '2s', maxDelay: '1m' },
          timeout: '5s',
        },
        { ...send, id: 'a', needs: [] },
        { id: 'join', type: 'transform', expression: '$', needs: ['a', 'b'] },
      ],
      [
        { id: 'b', root: true },
        { id: 'a', root: true },
        { id: 'join', root: false },
      ],
      [
        {
          id: 'b',
          policy: { attempts: 3, backoff: 'fixed', delayMs: 2000, maxDelayMs: 60_000 },
          timeoutMs: 5000,
        },
        {
          id: 'a',
          policy: { attempts: 8, backoff: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000 },
          timeoutMs: 30_000,
        },
      ],
    ],
  ])('steps of %s', (_name, steps, expectedSteps, expectedRoots) => {
    const def = flow({}, steps);
    expect(validateFlow(def)).toMatchObject({ valid: true });
    const compiled = compileTrigger(def);
    expect(compiled.steps).toEqual(expectedSteps);
    expect(compiled.roots).toEqual(expectedRoots);
  });

  it.each<[string, Omit<TriggerDef, 'type'>, CompiledTrigger['respondStep']]>([
    ['a respond step: waited for 10s by default', {}, { id: 'reply', timeoutMs: 10_000 }],
    [
      'a respond step with its own respondTimeout',
      { respondTimeout: '1500ms' },
      { id: 'reply', timeoutMs: 1500 },
    ],
  ])('%s', (_name, trigger, respondStep) => {
    const def = flow(trigger, [
      { id: 'reply', type: 'respond', json: { ok: true } },
      { ...send, needs: ['reply'] },
    ]);
    expect(validateFlow(def)).toMatchObject({ valid: true });
    expect(compileTrigger(def).respondStep).toEqual(respondStep);
  });

  it('leaves the definition as it was', () => {
    const def = flow({ respond: { headers: { 'X-A': '1' } }, rateLimit: { limit: 1, per: '1s' } });
    const before = structuredClone(def);
    compileTrigger(def);
    expect(def).toEqual(before);
  });
});
