import { TemplateError, compileTemplateTree, inspectTemplateTree, type TemplateData } from './template';

const data: TemplateData = {
  input: { sku: 'a b/c', qty: 0, empty: '', nothing: null, name: 'Zoë' },
  trigger: { headers: { 'x-id': 'h-1' }, body: {} },
  steps: {
    order: { id: 'o-1', total: 12.5, paid: true, items: [{ sku: 'x' }, { sku: 'y' }], tags: ['a', 'b'] },
  },
  run: { id: 'run-1', flow: 'order-fanout' },
};

const typed = { typedPaths: ['json'] };

function render(value: unknown, secrets?: Record<string, string>, d: TemplateData = data): unknown {
  return compileTemplateTree(value, typed).render(d, secrets);
}

function renderJson(value: unknown, secrets?: Record<string, string>): unknown {
  return (render({ json: value }, secrets) as { json: unknown }).json;
}

describe('single-mustache typing in typed paths', () => {
  it.each<[string, unknown, unknown]>([
    ['a number', '{{steps.order.total}}', 12.5],
    ['a boolean', '{{steps.order.paid}}', true],
    ['zero stays zero', '{{input.qty}}', 0],
    ['an object', '{{steps.order}}', data.steps!.order],
    ['an array', '{{steps.order.items}}', [{ sku: 'x' }, { sku: 'y' }]],
    ['an array element', '{{steps.order.items.[1].sku}}', 'y'],
    ['whitespace around the mustache', '  {{ steps.order.total }}  ', 12.5],
    ['triple-stash', '{{{steps.order.total}}}', 12.5],
    ['this', '{{this.run.id}}', 'run-1'],
    ['@root', '{{@root.run.flow}}', 'order-fanout'],
    ['a key needing brackets', '{{trigger.headers.[x-id]}}', 'h-1'],
    ['missing -> null', '{{steps.nope.total}}', null],
    ['null stays null', '{{input.nothing}}', null],
    ['a helper result keeps its type', '{{default input.missing 3}}', 3],
    [
      'a helper with a sub-expression',
      '{{default input.empty (default input.nothing steps.order.tags)}}',
      ['a', 'b'],
    ],
    ['json helper returns text', '{{json steps.order.tags}}', '["a","b"]'],
    ['lookup keeps the type', '{{lookup steps.order.items 1}}', { sku: 'y' }],
    ['lookup with a missing key', '{{lookup steps input.missing}}', null],
    ['lookup does not reach prototypes', '{{lookup steps "constructor"}}', null],
    ['text mixed with a mustache stays text', 'total: {{steps.order.total}}', 'total: 12.5'],
    ['two mustaches are text', '{{steps.order.id}}{{steps.order.total}}', 'o-112.5'],
    ['a block is text', '{{#if steps.order.paid}}yes{{/if}}', 'yes'],
    ['a string without mustaches', 'plain', 'plain'],
    ['string length (own property)', '{{steps.order.id.length}}', 3],
  ])('%s', (_name, template, expected) => {
    expect(renderJson(template)).toEqual(expected);
  });

  it('walks nested objects and arrays and keeps non-string leaves', () => {
    expect(
      renderJson({
        orderId: '{{steps.order.id}}',
        amount: '{{steps.order.total}}',
        lines: ['{{steps.order.items.[0]}}', 'sku-{{steps.order.items.[1].sku}}', 7, null, false],
        meta: { n: 1, label: 'run {{run.id}}' },
      }),
    ).toEqual({
      orderId: 'o-1',
      amount: 12.5,
      lines: [{ sku: 'x' }, 'sku-y', 7, null, false],
      meta: { n: 1, label: 'run run-1' },
    });
  });

  it('makes a single mustache the whole typed value', () => {
    expect(render({ json: '{{steps.order.items}}' })).toEqual({ json: [{ sku: 'x' }, { sku: 'y' }] });
  });

  it('renders a typed path given as a pointer too', () => {
    const tree = compileTemplateTree(
      { payload: { n: '{{steps.order.total}}' } },
      { typedPaths: ['/payload'] },
    );
    expect(tree.render(data)).toEqual({ payload: { n: 12.5 } });
  });

  it('returns a fresh copy on every render', () => {
    const tree = compileTemplateTree({ json: { a: [1] } }, typed);
    const first = tree.render(data) as { json: { a: number[] } };
    first.json.a.push(2);
    expect(tree.render(data)).toEqual({ json: { a: [1] } });
  });
});

describe('text rendering outside typed paths', () => {
  it.each<[string, unknown, unknown]>([
    ['a number becomes text', '{{steps.order.total}}', '12.5'],
    ['missing becomes empty', '{{steps.nope}}', ''],
    ['no HTML escaping', '{{input.sku}} & <b>', 'a b/c & <b>'],
    ['unicode', 'hi {{input.name}}', 'hi Zoë'],
    ['urlencode', 'https://x/{{urlencode input.sku}}', 'https://x/a%20b%2Fc'],
    ['base64 of UTF-8', '{{base64 input.name}}', Buffer.from('Zoë').toString('base64')],
    ['json', '{{json steps.order.tags}}', '["a","b"]'],
    ['json of nothing', '{{json steps.nope}}', 'null'],
    ['default picks the fallback for ""', '{{default input.empty "none"}}', 'none'],
    ['default keeps 0', '{{default input.qty 5}}', '0'],
    ['default with several fallbacks', '{{default input.nothing input.empty "last"}}', 'last'],
    ['each block', '{{#each steps.order.items}}{{sku}};{{/each}}', 'x;y;'],
    ['lookup helper', '{{lookup steps.order.tags 1}}', 'b'],
  ])('%s', (_name, template, expected) => {
    expect(render({ url: template })).toEqual({ url: expected });
  });
});

describe('prototype safety', () => {
  it.each([
    '{{constructor.name}}',
    '{{__proto__}}',
    '{{steps.constructor}}',
    '{{steps.order.constructor.name}}',
    '{{input.toString}}',
    '{{lookup steps "constructor"}}',
    '{{#with steps}}{{constructor.name}}{{/with}}',
  ])('%s renders nothing as text', (template) => {
    expect(render({ url: template })).toEqual({ url: '' });
  });

  it.each(['{{constructor}}', '{{__proto__}}', '{{steps.order.constructor}}', '{{steps.hasOwnProperty}}'])(
    '%s resolves to null in a typed path',
    (template) => {
      expect(renderJson(template)).toBeNull();
    },
  );

  it('keeps a __proto__ key as plain data', () => {
    const out = render(JSON.parse('{"json": {"__proto__": {"polluted": "{{run.id}}"}}}')) as {
      json: Record<string, unknown>;
    };
    expect(Object.prototype.hasOwnProperty.call(out.json, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads only own properties of the data', () => {
    const inherited = Object.create({ secret: 'leak' }) as Record<string, unknown>;
    expect(render({ url: '{{input.secret}}', json: '{{input.secret}}' }, {}, { input: inherited })).toEqual({
      url: '',
      json: null,
    });
  });
});

describe('secret helper', () => {
  const secrets = { BILLING_TOKEN: 's3cr3t', OTHER: 'o' };

  it('renders a secret inside text', () => {
    expect(render({ headers: { Authorization: "Bearer {{secret 'BILLING_TOKEN'}}" } }, secrets)).toEqual({
      headers: { Authorization: 'Bearer s3cr3t' },
    });
  });

  it('renders a secret as a typed value', () => {
    expect(renderJson("{{secret 'OTHER'}}", secrets)).toBe('o');
  });

  it('lists the secret names a tree uses', () => {
    const tree = compileTemplateTree(
      { a: "{{secret 'B'}}", b: ["{{secret 'A'}} {{secret 'B'}}"], json: { c: "{{secret 'C'}}" } },
      typed,
    );
    expect(tree.secretNames).toEqual(['A', 'B', 'C']);
  });

  it.each([
    ['in text', { url: "x{{secret 'MISSING'}}" }, '/url'],
    ['in a typed value', { json: { token: "{{secret 'MISSING'}}" } }, '/json/token'],
  ])('fails %s for an unknown secret with the pointer', (_name, tree, pointer) => {
    const compiled = compileTemplateTree(tree, typed);
    expect(() => compiled.render(data, secrets)).toThrow(
      new TemplateError("secret 'MISSING' is not defined", pointer),
    );
    try {
      compiled.render(data, secrets);
    } catch (err) {
      expect(err).toBeInstanceOf(TemplateError);
      expect((err as TemplateError).pointer).toBe(pointer);
    }
  });

  it('does not expose secrets through @data', () => {
    expect(render({ url: '{{@secrets.BILLING_TOKEN}}{{@root.secrets}}' }, secrets)).toEqual({ url: '' });
  });

  it('keeps renders apart: secrets of one render are not seen by the next', () => {
    const tree = compileTemplateTree({ url: "{{secret 'OTHER'}}" }, typed);
    expect(tree.render(data, secrets)).toEqual({ url: 'o' });
    expect(() => tree.render(data, {})).toThrow(/not defined/);
  });
});

describe('compile-time problems', () => {
  it.each<[string, unknown, Array<{ pointer: string; message: RegExp }>]>([
    [
      'a parse error',
      { url: 'x{{steps.order' },
      [{ pointer: '/url', message: /does not parse: Parse error on line 1/ }],
    ],
    ['an unclosed block', { a: { b: '{{#if x}}y' } }, [{ pointer: '/a/b', message: /does not parse/ }]],
    [
      'an unknown helper',
      { json: '{{upper input.name}}' },
      [{ pointer: '/json', message: /unknown helper 'upper'/ }],
    ],
    [
      'a dynamic secret name',
      { url: '{{secret input.name}}' },
      [{ pointer: '/url', message: /takes one quoted secret name/ }],
    ],
    [
      'an invalid secret name',
      { url: "{{secret 'no-dash'}}" },
      [{ pointer: '/url', message: /not a valid secret name/ }],
    ],
    ['a partial', { url: '{{> other}}' }, [{ pointer: '/url', message: /partials are not supported/ }]],
    [
      'escaped pointer tokens',
      { headers: { 'a/b~c': '{{#each}}' } },
      [{ pointer: '/headers/a~1b~0c', message: /does not parse/ }],
    ],
    [
      'several problems at once',
      { a: '{{', b: ['ok', '{{nope 1}}'] },
      [
        { pointer: '/a', message: /does not parse/ },
        { pointer: '/b/1', message: /unknown helper 'nope'/ },
      ],
    ],
  ])('%s', (_name, tree, expected) => {
    const { issues } = inspectTemplateTree(tree, typed);
    expect(issues).toHaveLength(expected.length);
    expected.forEach((e, i) => {
      expect(issues[i].pointer).toBe(e.pointer);
      expect(issues[i].message).toMatch(e.message);
    });
    expect(() => compileTemplateTree(tree, typed)).toThrow(TemplateError);
  });

  it('lists references to step outputs, outside context-changing blocks', () => {
    const tree = compileTemplateTree(
      {
        url: 'https://x/{{steps.order.id}}/{{urlencode steps.billing.ref}}',
        json: { a: '{{@root.steps.shipping}}', b: '{{#each steps.items}}{{steps.inner}}{{/each}}' },
      },
      typed,
    );
    expect(tree.stepRefs).toEqual([
      { pointer: '/url', stepId: 'order' },
      { pointer: '/url', stepId: 'billing' },
      { pointer: '/json/a', stepId: 'shipping' },
      { pointer: '/json/b', stepId: 'items' },
    ]);
  });
});

describe('the render budget', () => {
  const items = Array.from({ length: 100 }, (_, i) => i);
  const big = { items, text: 'x'.repeat(100_000) };

  function failure(value: unknown): TemplateError {
    let err: unknown;
    try {
      render(value, undefined, { input: big });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TemplateError);
    return err as TemplateError;
  }

  it('stops nested {{#each}} that would repeat a million times', () => {
    const loop =
      '{{#each input.items}}{{#each ../input.items}}{{#each ../../input.items}}.{{/each}}{{/each}}{{/each}}';
    expect(failure({ body: loop })).toMatchObject({
      pointer: '/body',
      message: expect.stringMatching(/more than 100000 times/),
    });
  });

  it('stops a helper that writes a large value again and again', () => {
    const loop = '{{#each input.items}}{{#each ../input.items}}{{json ../../input}}{{/each}}{{/each}}';
    expect(failure({ body: loop })).toMatchObject({ message: expect.stringMatching(/characters of text/) });
  });

  it('stops a typed helper call too, once the render has spent its text', () => {
    const repeated = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, '{{json input}}']));
    expect(failure({ json: repeated })).toMatchObject({
      message: expect.stringMatching(/characters of text/),
    });
  });

  it('gives every render its own budget', () => {
    const tree = compileTemplateTree(
      { body: '{{#each input.items}}{{#each ../input.items}}.{{/each}}{{/each}}' },
      typed,
    );
    for (let i = 0; i < 20; i++)
      expect((tree.render({ input: big }) as { body: string }).body).toHaveLength(10_000);
  });
});
