import flowSchema from '../../../../schema/flow.schema.json' with { type: 'json' };
import { buildFlowGraph, itemNodeId, stepIdOfRow, TRIGGER_NODE } from './flow-graph';
import { pointerToPath, propertySuggestions, valueSuggestions, type SchemaNode } from './flow-schema';

const edgesOf = (definition: unknown) =>
  buildFlowGraph(definition).edges.map((e) =>
    e.label ? `${e.source} -${e.label}-> ${e.target}` : `${e.source} -> ${e.target}`,
  );

describe('buildFlowGraph', () => {
  it.each([
    [
      'a chain: each step needs the one before it, the first the trigger',
      [
        { id: 'a', type: 'transform' },
        { id: 'b', type: 'filter' },
      ],
      ['$trigger -> a', 'a -> b'],
    ],
    [
      'needs: [] hangs from the trigger (fan-out)',
      [
        { id: 'a', type: 'transform' },
        { id: 'b', type: 'filter', needs: [] },
      ],
      ['$trigger -> a', '$trigger -> b'],
    ],
    [
      'a join draws one edge per need',
      [
        { id: 'a', type: 'transform' },
        { id: 'b', type: 'transform', needs: [] },
        { id: 'c', type: 'action', needs: ['a', 'b'] },
      ],
      ['$trigger -> a', '$trigger -> b', 'a -> c', 'b -> c'],
    ],
    [
      'router paths label their edges; needing the router itself is unlabelled',
      [
        { id: 'route', type: 'router', paths: [{ name: 'big', when: 'x' }, { name: 'small' }] },
        { id: 'sales', type: 'action', needs: ['route.big'] },
        { id: 'shop', type: 'action', needs: ['route.small'] },
        { id: 'log', type: 'action', needs: ['route'] },
      ],
      ['$trigger -> route', 'route -big-> sales', 'route -small-> shop', 'route -> log'],
    ],
    [
      'needs naming an unknown, a later step or itself draw nothing',
      [
        { id: 'a', type: 'transform', needs: ['b', 'a', 'ghost'] },
        { id: 'b', type: 'transform' },
      ],
      ['a -> b'],
    ],
  ])('%s', (_name, steps, edges) => {
    expect(edgesOf({ slug: 'x', trigger: { type: 'webhook' }, steps })).toEqual(edges);
  });

  it('marks joins with how they wait and routers with their paths', () => {
    const { nodes } = buildFlowGraph({
      trigger: { type: 'schedule' },
      steps: [
        { id: 'route', type: 'router', paths: [{ name: 'big', when: 'x' }, { name: 'rest' }] },
        { id: 'a', type: 'action', needs: ['route.big'] },
        { id: 'b', type: 'action', needs: ['route.rest'] },
        { id: 'any', type: 'action', needs: ['a', 'b'], join: 'any' },
        { id: 'all', type: 'action', needs: ['a', 'b'] },
      ],
    });
    const byId = Object.fromEntries(nodes.map((n) => [n.id, n]));
    expect(byId[TRIGGER_NODE]).toMatchObject({ kind: 'trigger', type: 'schedule' });
    expect(byId.route).toMatchObject({
      kind: 'router',
      paths: [
        { name: 'big', fallback: false },
        { name: 'rest', fallback: true },
      ],
    });
    expect(byId.any.join).toBe('any');
    expect(byId.all.join).toBe('all');
    expect(byId.a.join).toBeUndefined();
  });

  it("draws a loop as a container of its steps, whose first steps hang from the loop's item", () => {
    const graph = buildFlowGraph({
      trigger: { type: 'webhook' },
      steps: [
        { id: 'order', type: 'transform' },
        {
          id: 'each',
          type: 'foreach',
          steps: [
            { id: 'big', type: 'filter' },
            { id: 'post', type: 'action' },
            { id: 'side', type: 'action', needs: [] },
          ],
        },
        { id: 'summary', type: 'transform' },
      ],
    });
    const item = itemNodeId('each');
    expect(graph.nodes.find((n) => n.id === 'each')?.kind).toBe('loop');
    expect(graph.nodes.filter((n) => n.parent === 'each').map((n) => n.id)).toEqual([
      item,
      'big',
      'post',
      'side',
    ]);
    expect(graph.edges.map((e) => `${e.source} -> ${e.target}`)).toEqual([
      '$trigger -> order',
      'order -> each',
      `${item} -> big`,
      'big -> post',
      `${item} -> side`,
      'each -> summary',
    ]);
  });

  it('takes a document still being typed without throwing', () => {
    for (const doc of [
      null,
      42,
      'x',
      {},
      { steps: 'no' },
      { steps: [null, { id: 3 }, { type: 'x' }, { id: 'ok' }] },
    ]) {
      expect(() => buildFlowGraph(doc)).not.toThrow();
    }
    expect(buildFlowGraph({ steps: [{ id: 'ok' }, { id: 'ok' }] }).nodes.map((n) => n.id)).toEqual([
      TRIGGER_NODE,
      'ok',
    ]);
  });

  it('reads a loop item row id as its step id', () => {
    expect(stepIdOfRow('each[3].post')).toBe('post');
    expect(stepIdOfRow('post')).toBe('post');
  });
});

describe('flow schema completion', () => {
  const schema = flowSchema as unknown as SchemaNode;

  it('suggests top-level properties not yet present', () => {
    const names = propertySuggestions(schema, { slug: 'x' }, [], ['slug']).map((s) => s.label);
    expect(names).toEqual(expect.arrayContaining(['trigger', 'steps', 'name', 'enabled']));
    expect(names).not.toContain('slug');
  });

  it("suggests a step's properties by its type, and enum values", () => {
    const doc = { steps: [{ id: 'a', type: 'router' }] };
    expect(propertySuggestions(schema, doc, ['steps', 0]).map((s) => s.label)).toEqual(
      expect.arrayContaining(['paths', 'mode', 'needs']),
    );
    expect(valueSuggestions(schema, doc, ['steps', 0, 'type']).map((s) => s.label)).toEqual(
      expect.arrayContaining(['"transform"', '"router"', '"foreach"']),
    );
    expect(
      valueSuggestions(schema, { trigger: { type: 'webhook' } }, ['trigger', 'type']).map((s) => s.label),
    ).toEqual(['"webhook"', '"schedule"', '"poll"', '"event"']);
  });

  it('reads JSON pointers as paths', () => {
    expect(pointerToPath('/steps/2/with/url')).toEqual(['steps', 2, 'with', 'url']);
    expect(pointerToPath('')).toEqual([]);
    expect(pointerToPath('/a~1b/~0c')).toEqual(['a/b', '~c']);
  });
});
