import { canonicalFlowJson } from './canonical';
import type { FlowDefinition } from './flow-definition';

/** Written with every object's keys in an unhelpful order. */
const scrambled = {
  steps: [
    {
      timeout: '10s',
      retry: { maxDelay: '1h', attempts: 8 },
      with: {
        url: 'https://billing.example.com/orders',
        method: 'POST',
        json: { z: 1, a: { y: true, b: null } },
        headers: { 'x-b': '2', Authorization: 'Bearer {{secret "T"}}' },
      },
      connector: 'http',
      needs: ['order'],
      type: 'action',
      id: 'billing',
      zeta: 'unknown step key',
      alpha: 'unknown step key',
    },
    { type: 'transform', expression: '$', description: 'd', name: 'n', id: 'order' },
  ],
  trigger: {
    respond: { status: 202, body: { ok: true, id: 1 } },
    rateLimit: { per: '1s', limit: 100 },
    verify: { tolerance: '5m', secret: 'STRIPE_WHSEC', scheme: 'stripe' },
    extra: 1,
    methods: ['POST', 'GET'],
    type: 'webhook',
  },
  zz: 'unknown top-level key',
  enabled: true,
  aa: 'unknown top-level key',
  description: 'desc',
  name: 'Name',
  slug: 'order-fanout',
  $schema: '../schema/flow.schema.json',
} as unknown as FlowDefinition;

const expected = `{
  "$schema": "../schema/flow.schema.json",
  "slug": "order-fanout",
  "name": "Name",
  "description": "desc",
  "enabled": true,
  "trigger": {
    "type": "webhook",
    "methods": ["POST", "GET"],
    "verify": {
      "scheme": "stripe",
      "secret": "STRIPE_WHSEC",
      "tolerance": "5m"
    },
    "rateLimit": {
      "limit": 100,
      "per": "1s"
    },
    "respond": {
      "body": {
        "id": 1,
        "ok": true
      },
      "status": 202
    },
    "extra": 1
  },
  "steps": [
    {
      "id": "billing",
      "type": "action",
      "needs": ["order"],
      "connector": "http",
      "with": {
        "headers": {
          "Authorization": "Bearer {{secret \\"T\\"}}",
          "x-b": "2"
        },
        "json": {
          "a": {
            "b": null,
            "y": true
          },
          "z": 1
        },
        "method": "POST",
        "url": "https://billing.example.com/orders"
      },
      "retry": {
        "attempts": 8,
        "maxDelay": "1h"
      },
      "timeout": "10s",
      "alpha": "unknown step key",
      "zeta": "unknown step key"
    },
    {
      "id": "order",
      "name": "n",
      "description": "d",
      "type": "transform",
      "expression": "$"
    }
  ],
  "aa": "unknown top-level key",
  "zz": "unknown top-level key"
}
`;

describe('canonicalFlowJson', () => {
  it('orders flow, trigger and step keys as documented and sorts every other object', () => {
    expect(canonicalFlowJson(scrambled)).toBe(expected);
  });

  it('round-trips byte for byte', () => {
    const text = canonicalFlowJson(scrambled);
    expect(canonicalFlowJson(JSON.parse(text) as FlowDefinition)).toBe(text);
  });

  it('does not change its argument', () => {
    const copy = structuredClone(scrambled);
    canonicalFlowJson(scrambled);
    expect(scrambled).toEqual(copy);
  });

  // Prettier's JSON layout: short scalar arrays on one line, long ones one item per line, plain
  // numbers packed; non-empty objects always expanded.
  it.each<[string, unknown, string]>([
    ['an empty array and object', { a: [], b: {} }, '{\n  "a": [],\n  "b": {}\n}'],
    ['an array of scalars that fits', { a: [1, 'x', null, true] }, '{\n  "a": [1, "x", null, true]\n}'],
    [
      'an array of scalars that does not fit',
      { a: ['x'.repeat(60), 'y'.repeat(60)] },
      `{\n  "a": [\n    "${'x'.repeat(60)}",\n    "${'y'.repeat(60)}"\n  ]\n}`,
    ],
    ['an array holding an object', { a: [{ k: 1 }] }, '{\n  "a": [\n    {\n      "k": 1\n    }\n  ]\n}'],
    ['an array of pairs', { a: [[1, 2], [3]] }, '{\n  "a": [[1, 2], [3]]\n}'],
    [
      'a matrix',
      {
        a: [
          [1, 2],
          [3, 4],
        ],
      },
      '{\n  "a": [\n    [1, 2],\n    [3, 4]\n  ]\n}',
    ],
    ['a large exponent', { a: 1e21 }, '{\n  "a": 1e21\n}'],
    [
      'a long list of numbers',
      { a: Array.from({ length: 40 }, (_, i) => i * 1000) },
      [
        '{',
        '  "a": [',
        '    0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 11000, 12000, 13000, 14000, 15000,',
        '    16000, 17000, 18000, 19000, 20000, 21000, 22000, 23000, 24000, 25000, 26000, 27000, 28000, 29000, 30000,',
        '    31000, 32000, 33000, 34000, 35000, 36000, 37000, 38000, 39000',
        '  ]',
        '}',
      ].join('\n'),
    ],
  ])('lays out %s like prettier', (_name, json, text) => {
    const def = { slug: 's', trigger: { type: 'webhook' }, steps: [], json } as unknown as FlowDefinition;
    const out = canonicalFlowJson(def);
    const body = out.slice(out.indexOf('"json": ') + '"json": '.length, out.lastIndexOf('\n}'));
    expect(body).toBe(text.replace(/\n/g, '\n  '));
    expect(canonicalFlowJson(JSON.parse(out) as FlowDefinition)).toBe(out);
  });

  it('drops undefined values as JSON does and ends with a newline', () => {
    const def = { slug: 's', name: undefined, trigger: { type: 'webhook' }, steps: [] } as FlowDefinition;
    expect(canonicalFlowJson(def)).toBe(
      '{\n  "slug": "s",\n  "trigger": {\n    "type": "webhook"\n  },\n  "steps": []\n}\n',
    );
  });
});

describe('canonicalFlowJson of the same flow', () => {
  it('is blind to key order, and tells a change apart', () => {
    const reverse = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reverse)
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reverse(x)]),
            )
          : v;
    const reordered = reverse(scrambled) as FlowDefinition;
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(scrambled));
    expect(canonicalFlowJson(reordered)).toBe(expected);
    expect(canonicalFlowJson({ ...scrambled, enabled: false })).not.toBe(expected);
  });
});
