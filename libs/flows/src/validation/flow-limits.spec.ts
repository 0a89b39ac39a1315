import type { Connector, ConnectorRegistry } from '../model/connector';
import type { ValidationIssue } from '../model/flow-definition';
import { sizeIssue } from './definition-size';
import {
  DURATION_RANGES,
  MAX_FLOW_BYTES,
  MAX_FLOW_DEPTH,
  MAX_FLOW_STEPS,
  formatDuration,
} from './flow-limits';
import { validateFlow } from './validate-flow';

const http: Connector = {
  key: 'http',
  schema: { type: 'object', required: ['url'], properties: { url: { type: 'string' } } },
  execute: async () => null,
};
const connectors: ConnectorRegistry = {
  get: (key) => (key === 'http' ? http : undefined),
  keys: () => ['http'],
};

type Doc = Record<string, any>;

function base(): Doc {
  return {
    slug: 'bounded',
    trigger: { type: 'webhook' },
    steps: [
      { id: 'shape', type: 'transform', expression: '{ "id": id }' },
      { id: 'wait', type: 'delay', for: '10m' },
      {
        id: 'send',
        type: 'action',
        connector: 'http',
        with: { url: 'https://example.com/orders/{{steps.shape.id}}', json: '{{steps.shape}}' },
      },
    ],
  };
}

function withChange(change: (d: Doc) => void): Doc {
  const d = base();
  change(d);
  return d;
}

function errorsOf(doc: unknown): ValidationIssue[] {
  const result = validateFlow(doc, { connectors });
  if (result.valid) throw new Error('expected errors, got a valid flow');
  return result.errors;
}

/** A flow of `n` steps mixing every step type, each reading the one before it. */
function flowOf(n: number, prefix = 'step-'): Doc {
  const steps: Doc[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${prefix}${i}`;
    const before = `${prefix}${Math.max(0, i - 1)}`;
    if (i % 4 === 0) {
      const prev = i === 0 ? '$trigger.body' : `$steps.\`${before}\``;
      steps.push({ id, type: 'transform', expression: `{ "n": ${i}, "prev": ${prev} }` });
    } else if (i % 4 === 1) steps.push({ id, type: 'filter', condition: 'true' });
    else if (i % 4 === 2) steps.push({ id, type: 'delay', for: '1s', timeout: '5s' });
    else
      steps.push({
        id,
        type: 'action',
        connector: 'http',
        with: { url: `https://example.com/n/{{steps.${before}.n}}`, json: { n: '{{input.n}}' } },
        retry: { attempts: 3, delay: '1s', maxDelay: '1m' },
      });
  }
  return { slug: 'big', trigger: { type: 'webhook' }, steps };
}

describe('flow bounds: durations', () => {
  it.each([
    [
      'a step timeout over 1h',
      (d: Doc) => (d.steps[2].timeout = '999d'),
      '/steps/2/timeout',
      'must be at most 1h',
    ],
    [
      'a step timeout in ms over 1h',
      (d: Doc) => (d.steps[2].timeout = 3_600_001),
      '/steps/2/timeout',
      'must be at most 1h',
    ],
    [
      'a zero step timeout',
      (d: Doc) => (d.steps[2].timeout = 0),
      '/steps/2/timeout',
      'must be longer than 0',
    ],
    [
      'a delay over a year',
      (d: Doc) => (d.steps[1].for = '99999999d'),
      '/steps/1/for',
      'must be at most 365d',
    ],
    [
      'a delay too long to count',
      (d: Doc) => (d.steps[1].for = '99999999999999999999d'),
      '/steps/1/for',
      'must be at most 365d',
    ],
    [
      'a retry delay over a day',
      (d: Doc) => (d.steps[2].retry = { delay: '2d' }),
      '/steps/2/retry/delay',
      'must be at most 1d',
    ],
    [
      'a retry maxDelay over a day',
      (d: Doc) => (d.steps[2].retry = { maxDelay: 86_400_001 }),
      '/steps/2/retry/maxDelay',
      'must be at most 1d',
    ],
    [
      'a rate limit window over a day',
      (d: Doc) => (d.trigger.rateLimit = { limit: 1, per: '25h' }),
      '/trigger/rateLimit/per',
      'must be at most 1d',
    ],
    [
      'a rate limit window under a second',
      (d: Doc) => (d.trigger.rateLimit = { limit: 1, per: '500ms' }),
      '/trigger/rateLimit/per',
      'must be at least 1s',
    ],
    [
      'a verify tolerance over an hour',
      (d: Doc) => (d.trigger.verify = { scheme: 'stripe', secret: 'WHSEC', tolerance: '2h' }),
      '/trigger/verify/tolerance',
      'must be at most 1h',
    ],
    [
      'a zero verify tolerance',
      (d: Doc) => (d.trigger.verify = { scheme: 'stripe', secret: 'WHSEC', tolerance: 0 }),
      '/trigger/verify/tolerance',
      'must be at least 1s',
    ],
    [
      'a destination window over an hour',
      (d: Doc) => (d.steps[2].destination = { rate: { limit: 5, per: '2h' } }),
      '/steps/2/destination/rate/per',
      'must be at most 1h',
    ],
    [
      'a zero destination window',
      (d: Doc) => (d.steps[2].destination = { rate: { limit: 5, per: '0ms' } }),
      '/steps/2/destination/rate/per',
      'must be longer than 0',
    ],
  ])('refuses %s', (_name, change, path, message) => {
    expect(errorsOf(withChange(change))).toEqual([{ path, message }]);
  });

  it.each([
    ['a step timeout of exactly 1h', (d: Doc) => (d.steps[2].timeout = '1h')],
    ['a step timeout of 60m', (d: Doc) => (d.steps[2].timeout = '60m')],
    ['a delay of a year', (d: Doc) => (d.steps[1].for = '365d')],
    ['a zero delay', (d: Doc) => (d.steps[1].for = 0)],
    ['retry delays of a day', (d: Doc) => (d.steps[2].retry = { delay: '1d', maxDelay: 86_400_000 })],
  ])('accepts %s', (_name, change) => {
    expect(validateFlow(withChange(change), { connectors })).toMatchObject({ valid: true });
  });

  it('keeps every duration that reaches a timer below the 2^31-1 ms setTimeout limit', () => {
    for (const key of ['stepTimeout', 'retryDelay', 'verifyTolerance', 'destinationWindow'] as const)
      expect(DURATION_RANGES[key].maxMs).toBeLessThan(2 ** 31 - 1);
  });

  it('writes durations in the format', () => {
    expect([1, 1500, 1000, 3_600_000, 31_536_000_000].map(formatDuration)).toEqual([
      '1ms',
      '1500ms',
      '1s',
      '1h',
      '365d',
    ]);
  });
});

describe('flow bounds: counts and lengths', () => {
  it.each([
    [
      'an attempt count over 100',
      (d: Doc) => (d.steps[2].retry = { attempts: 101 }),
      '/steps/2/retry/attempts',
      'must be at most 100',
    ],
    [
      'a trigger body limit over 64 MiB',
      (d: Doc) => (d.trigger.maxBodyBytes = 64 * 1024 * 1024 + 1),
      '/trigger/maxBodyBytes',
      'must be at most 67108864',
    ],
    [
      'a rate limit over a million',
      (d: Doc) => (d.trigger.rateLimit = { limit: 1_000_001, per: '1s' }),
      '/trigger/rateLimit/limit',
      'must be at most 1000000',
    ],
    [
      'a destination rate over 10,000',
      (d: Doc) => (d.steps[2].destination = { rate: { limit: 10_001, per: '1s' } }),
      '/steps/2/destination/rate/limit',
      'must be at most 10000',
    ],
    [
      'an expression over 32,768 characters',
      (d: Doc) => (d.steps[0].expression = `"${'x'.repeat(32_767)}"`),
      '/steps/0/expression',
      'must be at most 32768 characters long',
    ],
    [
      'a dedupe expression over 32,768 characters',
      (d: Doc) => (d.trigger.dedupe = { expression: `"${'x'.repeat(32_767)}"` }),
      '/trigger/dedupe/expression',
      'must be at most 32768 characters long',
    ],
    [
      'a template over 32,768 characters',
      (d: Doc) => (d.steps[2].with.json = `{{input.id}}${'x'.repeat(32_768)}`),
      '/steps/2/with/json',
      'is a template of 32780 characters; a template may have at most 32768',
    ],
    [
      'a step name over 200 characters',
      (d: Doc) => (d.steps[0].name = 'n'.repeat(201)),
      '/steps/0/name',
      'must be at most 200 characters long',
    ],
    [
      'more than 50 respond headers',
      (d: Doc) =>
        (d.trigger.respond = {
          headers: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`x-h${i}`, 'v'])),
        }),
      '/trigger/respond/headers',
      'must have at most 50 properties',
    ],
    [
      'a respond header value over 8 KiB',
      (d: Doc) => (d.trigger.respond = { headers: { 'x-big': 'v'.repeat(8193) } }),
      '/trigger/respond/headers/x-big',
      'must be at most 8192 characters long',
    ],
    [
      'a respond header with a line break',
      (d: Doc) => (d.trigger.respond = { headers: { 'x-split': 'a\r\nset-cookie: x=1' } }),
      '/trigger/respond/headers/x-split',
      'must not contain a line break or NUL character',
    ],
    [
      'a respond body over 64 KiB',
      (d: Doc) => (d.trigger.respond = { body: { text: 'b'.repeat(64 * 1024) } }),
      '/trigger/respond/body',
      'is larger than 64 KiB as JSON',
    ],
  ])('refuses %s', (_name, change, path, message) => {
    expect(errorsOf(withChange(change))).toEqual([{ path, message }]);
  });

  it('refuses a respond header name that is not a token', () => {
    const errors = errorsOf(withChange((d) => (d.trigger.respond = { headers: { 'bad name': 'v' } })));
    expect(errors).toContainEqual({
      path: '/trigger/respond/headers',
      message: expect.stringMatching(/must be a header name/),
    });
  });
});

describe('flow bounds: the whole document', () => {
  it(`accepts a flow at the step limit (${MAX_FLOW_STEPS} steps of every type)`, () => {
    const result = validateFlow(flowOf(MAX_FLOW_STEPS), { connectors });
    expect(result).toMatchObject({ valid: true, warnings: [] });
  });

  it('accepts the step limit with every step needing every step before it', () => {
    const doc = flowOf(MAX_FLOW_STEPS, 's'); // 124,750 needs in 0.9 MiB
    doc.steps.forEach((step: Doc, i: number) => {
      if (i > 0) step.needs = Array.from({ length: i }, (_, k) => `s${k}`);
    });
    // The last step reads the first, a transitive dependency: no warning.
    doc.steps[MAX_FLOW_STEPS - 1].with.json = { first: '{{steps.s0.n}}' };
    expect(validateFlow(doc, { connectors })).toMatchObject({ valid: true, warnings: [] });
  });

  it('warns at the step limit about a reference to a step that is not a dependency', () => {
    const doc = flowOf(MAX_FLOW_STEPS);
    doc.steps.forEach((step: Doc, i: number) => {
      if (i > 0) step.needs = [];
    });
    doc.steps[MAX_FLOW_STEPS - 1].with.json = { late: `{{steps.step-${MAX_FLOW_STEPS - 2}.n}}` };
    const result = validateFlow(doc, { connectors });
    expect(result.valid).toBe(true);
    // Every action reads the step before it, which none depends on now.
    expect(result.valid && result.warnings.map((w) => w.path)).toContain(
      `/steps/${MAX_FLOW_STEPS - 1}/with/json/late`,
    );
  });

  it('accepts a wide and deep with tree full of templates', () => {
    const tree = (depth: number): unknown =>
      depth === 0
        ? '{{input.n}}/{{steps.step-0.n}}'
        : Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`k${i}`, tree(depth - 1)]));
    const doc = flowOf(4);
    doc.steps[3].with.json = tree(6); // 4,096 templates
    doc.steps[3].with.headers = Object.fromEntries(
      Array.from({ length: 2000 }, (_, i) => [`x-h${i}`, `{{steps.nope-${i}.n}}`]),
    );
    const result = validateFlow(doc, { connectors });
    expect(result.valid).toBe(true);
    expect(result.valid && result.warnings).toHaveLength(2000);
  });

  it('refuses one step more with one error naming the count', () => {
    expect(errorsOf(flowOf(MAX_FLOW_STEPS + 1))).toEqual([
      {
        path: '/steps',
        message: `has ${MAX_FLOW_STEPS + 1} steps; a flow may have at most ${MAX_FLOW_STEPS}`,
      },
    ]);
  });

  it('refuses a flow far above the limit before looking at any step', () => {
    // Broken everywhere else too: only the count is reported, so nothing else was checked.
    const doc = flowOf(15_000);
    doc.slug = '-bad';
    for (const step of doc.steps) step.expression = '(';
    expect(errorsOf(doc)).toEqual([
      { path: '/steps', message: `has 15000 steps; a flow may have at most ${MAX_FLOW_STEPS}` },
    ]);
  });

  it('refuses a document over 1 MiB of JSON, and nothing else about it', () => {
    const doc = withChange((d) => {
      d.slug = '-bad';
      d.description = 'd'.repeat(MAX_FLOW_BYTES);
    });
    expect(errorsOf(doc)).toEqual([{ path: '', message: 'is larger than 1 MiB as JSON' }]);
  });

  it('refuses a document nested too deep, at the first value too deep', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    const doc = withChange((d) => (d.steps[2].with.json = deep));
    const [error] = errorsOf(doc);
    expect(error.message).toBe(`is nested deeper than ${MAX_FLOW_DEPTH} levels`);
    // The document is level 1, /steps 2, /steps/2 3, its with 4, json 5: 60 more make 65.
    expect(error.path).toBe(`/steps/2/with/json${'/a'.repeat(MAX_FLOW_DEPTH - 4)}`);
  });

  it('reports a cycle as too deep instead of walking it forever', () => {
    const doc: Doc = base();
    doc.steps[2].with.json = doc.steps[2].with;
    expect(errorsOf(doc)[0].message).toBe(`is nested deeper than ${MAX_FLOW_DEPTH} levels`);
  });

  it('counts the bytes of compact JSON, multi-byte characters included', () => {
    const value = { name: 'é€😀', list: [1, true, null, 'a"b'] };
    const bytes = Buffer.byteLength(JSON.stringify(value));
    expect(sizeIssue(value, { maxBytes: bytes, maxDepth: 5 })).toBeUndefined();
    expect(sizeIssue(value, { maxBytes: bytes - 1, maxDepth: 5 })).toEqual({
      path: '',
      message: `is larger than ${bytes - 1} bytes as JSON`,
    });
  });
});
