import type { StepType } from '../model/flow-definition';
import type { StepStatus } from '../model/step-status';
import { StepGraph, StepGraphError, type GraphStep } from './step-graph';

/** order -> big-only -> (billing, shipping, inventory) -> report (joins all three). */
const fanOut: GraphStep[] = [
  { id: 'order', type: 'transform' },
  { id: 'big-only', type: 'filter' },
  { id: 'billing', type: 'action', needs: ['big-only'] },
  { id: 'shipping', type: 'action', needs: ['big-only'] },
  { id: 'inventory', type: 'action', needs: ['big-only'] },
  { id: 'report', type: 'action', needs: ['billing', 'shipping', 'inventory'] },
];

const graph = new StepGraph(fanOut);
type Statuses = Record<string, StepStatus>;

describe('StepGraph structure', () => {
  it('keeps ids in definition order', () => {
    expect(graph.ids).toEqual(['order', 'big-only', 'billing', 'shipping', 'inventory', 'report']);
  });

  it.each([
    ['order', [], ['big-only']],
    ['big-only', ['order'], ['billing', 'shipping', 'inventory']],
    ['billing', ['big-only'], ['report']],
    ['report', ['billing', 'shipping', 'inventory'], []],
  ])('%s needs %p and has dependents %p', (id, needs, dependents) => {
    expect(graph.needsOf(id)).toEqual(needs);
    expect(graph.dependentsOf(id)).toEqual(dependents);
  });

  it('treats an omitted needs as the previous step and the first step as a root', () => {
    const chain = new StepGraph([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
    expect(chain.needsOf('b')).toEqual(['a']);
    expect(chain.needsOf('c')).toEqual(['b']);
    expect(chain.roots()).toEqual(['a']);
  });

  it('treats needs: [] as needing only the trigger (several roots)', () => {
    const parallel = new StepGraph([{ id: 'a' }, { id: 'b', needs: [] }, { id: 'c', needs: ['a', 'b'] }]);
    expect(parallel.roots()).toEqual(['a', 'b']);
  });

  it('lists ancestors and descendants in definition order', () => {
    expect(graph.ancestorsOf('report')).toEqual(['order', 'big-only', 'billing', 'shipping', 'inventory']);
    expect(graph.descendantsOf('big-only')).toEqual(['billing', 'shipping', 'inventory', 'report']);
    expect(graph.descendantsOf('report')).toEqual([]);
  });

  it('answers dependsOn like ancestorsOf, for every pair', () => {
    for (const id of graph.ids)
      for (const other of graph.ids)
        expect([id, other, graph.dependsOn(id, other)]).toEqual([
          id,
          other,
          graph.ancestorsOf(id).includes(other),
        ]);
    expect(graph.dependsOn('report', 'nope')).toBe(false);
    expect(() => graph.dependsOn('nope', 'order')).toThrow(/unknown step 'nope'/);
  });

  it('answers dependsOn across bitset words (more than 32 steps)', () => {
    const ids = Array.from({ length: 70 }, (_, i) => `s${i}`);
    // s69 needs s40 only; s40 chains back to s0; s41..s68 hang off s0 alone.
    const steps: GraphStep[] = ids.map((id, i) => ({
      id,
      needs: i === 0 ? [] : i === 69 ? ['s40'] : i > 40 ? ['s0'] : [`s${i - 1}`],
    }));
    const wide = new StepGraph(steps);
    expect(wide.dependsOn('s69', 's0')).toBe(true);
    expect(wide.dependsOn('s69', 's33')).toBe(true);
    expect(wide.dependsOn('s69', 's40')).toBe(true);
    expect(wide.dependsOn('s69', 's41')).toBe(false);
    expect(wide.dependsOn('s68', 's0')).toBe(true);
    expect(wide.dependsOn('s68', 's1')).toBe(false);
  });

  it('returns copies, not its own arrays', () => {
    graph.needsOf('report').push('x');
    expect(graph.needsOf('report')).toHaveLength(3);
  });

  it('throws on an unknown id', () => {
    expect(() => graph.needsOf('nope')).toThrow(/unknown step 'nope'/);
  });

  it.each<[string, GraphStep[], RegExp, number]>([
    ['a duplicate id', [{ id: 'a' }, { id: 'a' }], /duplicate step id 'a'/, 1],
    ['an unknown need', [{ id: 'a' }, { id: 'b', needs: ['x'] }], /needs unknown step 'x'/, 1],
    [
      'a cycle',
      [
        { id: 'a', needs: ['b'] },
        { id: 'b', needs: ['a'] },
      ],
      /cycle: a -> b -> a/,
      0,
    ],
    ['a self-loop', [{ id: 'a', needs: ['a'] }], /cycle: a -> a/, 0],
    [
      'a cycle behind a healthy step',
      [{ id: 'a' }, { id: 'b', needs: ['a', 'c'] }, { id: 'c', needs: ['b'] }],
      /cycle: b -> c -> b/,
      1,
    ],
  ])('rejects %s', (_name, steps, message, index) => {
    const build = () => new StepGraph(steps);
    expect(build).toThrow(StepGraphError);
    expect(build).toThrow(message);
    try {
      build();
    } catch (err) {
      expect((err as StepGraphError).stepIndex).toBe(index);
    }
  });
});

describe('StepGraph.advance', () => {
  it.each<[string, Statuses, string[], string[]]>([
    ['a new run starts with the roots', {}, ['order'], []],
    ['a running step blocks its dependents', { order: 'running' }, [], []],
    ['a retrying step blocks its dependents', { order: 'retrying' }, [], []],
    ['success unlocks the next step', { order: 'succeeded' }, ['big-only'], []],
    [
      'fan-out: a passing filter unlocks all three branches',
      { order: 'succeeded', 'big-only': 'succeeded' },
      ['billing', 'shipping', 'inventory'],
      [],
    ],
    [
      'join waits for every branch',
      {
        order: 'succeeded',
        'big-only': 'succeeded',
        billing: 'succeeded',
        shipping: 'succeeded',
        inventory: 'running',
      },
      [],
      [],
    ],
    [
      'join runs once all branches succeeded',
      {
        order: 'succeeded',
        'big-only': 'succeeded',
        billing: 'succeeded',
        shipping: 'succeeded',
        inventory: 'succeeded',
      },
      ['report'],
      [],
    ],
    [
      'a filtered step skips the whole chain after it in one call',
      { order: 'succeeded', 'big-only': 'filtered' },
      [],
      ['billing', 'shipping', 'inventory', 'report'],
    ],
    [
      'a failed branch skips the join but not its siblings',
      { order: 'succeeded', 'big-only': 'succeeded', billing: 'failed' },
      ['shipping', 'inventory'],
      ['report'],
    ],
    [
      'a cancelled step skips its dependents',
      { order: 'cancelled' },
      [],
      ['big-only', 'billing', 'shipping', 'inventory', 'report'],
    ],
    [
      'finished and already skipped steps are not reported again',
      {
        order: 'succeeded',
        'big-only': 'filtered',
        billing: 'skipped',
        shipping: 'skipped',
        inventory: 'skipped',
        report: 'skipped',
      },
      [],
      [],
    ],
    [
      'only pending steps become ready',
      {
        order: 'succeeded',
        'big-only': 'succeeded',
        billing: 'running',
        shipping: 'succeeded',
        inventory: 'pending',
      },
      ['inventory'],
      [],
    ],
  ])('%s', (_name, statuses, ready, skip) => {
    expect(graph.advance(statuses)).toEqual({ ready, skip });
  });

  it('does not modify the statuses it is given', () => {
    const statuses: Statuses = { order: 'failed' };
    graph.advance(statuses);
    expect(statuses).toEqual({ order: 'failed' });
  });

  it('handles several roots and a join of a skipped and a running branch', () => {
    const g = new StepGraph([
      { id: 'a', needs: [] },
      { id: 'b', needs: [] },
      { id: 'c', needs: ['a', 'b'] },
    ]);
    expect(g.advance({})).toEqual({ ready: ['a', 'b'], skip: [] });
    expect(g.advance({ a: 'failed', b: 'running' })).toEqual({ ready: [], skip: ['c'] });
  });
});

describe('StepGraph.advance with join: "any"', () => {
  /** big and small filter the trigger side by side; notify joins whichever passed; audit follows it. */
  const anyJoin = new StepGraph([
    { id: 'big', type: 'filter', needs: [] },
    { id: 'small', type: 'filter', needs: [] },
    { id: 'notify', type: 'action', needs: ['big', 'small'], join: 'any' },
    { id: 'audit', type: 'action', needs: ['notify'] },
  ]);

  it('waits while a need is still open, even when another succeeded', () => {
    expect(anyJoin.advance({ big: 'succeeded', small: 'running' })).toEqual({ ready: [], skip: [] });
    expect(anyJoin.advance({ big: 'succeeded' })).toEqual({ ready: ['small'], skip: [] });
  });

  it.each<[Statuses, string[]]>([
    [{ big: 'succeeded', small: 'filtered' }, ['notify']],
    [{ big: 'skipped', small: 'succeeded' }, ['notify']],
    [{ big: 'succeeded', small: 'succeeded' }, ['notify']],
  ])('runs once every need is settled and one succeeded: %p', (statuses, ready) => {
    expect(anyJoin.advance(statuses)).toEqual({ ready, skip: [] });
  });

  it('is skipped, with what follows, when no need succeeded', () => {
    expect(anyJoin.advance({ big: 'filtered', small: 'filtered' })).toEqual({
      ready: [],
      skip: ['notify', 'audit'],
    });
  });

  it('is skipped as soon as a need failed or was cancelled, as an all-join is', () => {
    expect(anyJoin.advance({ big: 'failed', small: 'running' }).skip).toEqual(['notify', 'audit']);
    expect(anyJoin.advance({ big: 'succeeded', small: 'cancelled' }).skip).toEqual(['notify', 'audit']);
  });

  it('counts a need skipped in the same pass as settled', () => {
    const g = new StepGraph([
      { id: 'gate', type: 'filter', needs: [] },
      { id: 'behind', needs: ['gate'] },
      { id: 'other', needs: [] },
      { id: 'join', needs: ['behind', 'other'], join: 'any' },
    ]);
    expect(g.advance({ gate: 'filtered', other: 'succeeded' })).toEqual({
      ready: ['join'],
      skip: ['behind'],
    });
  });

  it('answers joinOf for every step, and throws on an unknown one', () => {
    expect(anyJoin.joinOf('notify')).toBe('any');
    expect(anyJoin.joinOf('audit')).toBe('all');
    expect(() => anyJoin.joinOf('nope')).toThrow("unknown step 'nope'");
  });

  it('ends the run succeeded when the join delivered after a filtered branch', () => {
    expect(
      anyJoin.settle({ big: 'filtered', small: 'succeeded', notify: 'succeeded', audit: 'succeeded' })
        .runStatus,
    ).toBe('succeeded');
  });
});

describe('StepGraph with a router', () => {
  /** route -> big | small (paths); notify joins either (any); after needs the router itself. */
  const routed = new StepGraph([
    { id: 'route', type: 'router', paths: [{ name: 'big' }, { name: 'small' }] },
    { id: 'sales', type: 'action', needs: ['route.big'] },
    { id: 'shop', type: 'action', needs: ['route.small'] },
    { id: 'notify', type: 'action', needs: ['sales', 'shop'], join: 'any' },
    { id: 'after', type: 'transform', needs: ['route'] },
  ]);

  it('counts a path as its router for order, ancestors and dependents', () => {
    expect(routed.needsOf('sales')).toEqual(['route.big']);
    expect(routed.dependentsOf('route')).toEqual(['sales', 'shop', 'after']);
    expect(routed.ancestorsOf('notify')).toEqual(['route', 'sales', 'shop']);
    expect(routed.dependsOn('notify', 'route')).toBe(true);
  });

  it('waits on its router, then runs what is on the paths taken and skips the rest', () => {
    expect(routed.advance({})).toEqual({ ready: ['route'], skip: [] });
    expect(routed.advance({ route: 'succeeded' }, { route: ['big'] })).toEqual({
      ready: ['sales', 'after'],
      skip: ['shop'],
    });
    expect(routed.advance({ route: 'succeeded' }, { route: ['big', 'small'] }).ready).toEqual([
      'sales',
      'shop',
      'after',
    ]);
  });

  it('runs the any-join after the path taken, and the run ends succeeded', () => {
    const statuses: Statuses = {
      route: 'succeeded',
      sales: 'succeeded',
      shop: 'skipped',
      after: 'succeeded',
    };
    expect(routed.advance(statuses, { route: ['big'] })).toEqual({ ready: ['notify'], skip: [] });
    expect(routed.settle({ ...statuses, notify: 'succeeded' }, { route: ['big'] }).runStatus).toBe(
      'succeeded',
    );
  });

  it('skips everything behind a router that took no path (filtered) or failed', () => {
    expect(routed.advance({ route: 'filtered' }, { route: [] }).skip).toEqual([
      'sales',
      'shop',
      'notify',
      'after',
    ]);
    expect(routed.advance({ route: 'failed' }).skip).toEqual(['sales', 'shop', 'notify', 'after']);
  });

  it.each([
    [[{ id: 'a' }, { id: 'b', needs: ['a.x'] }], "step 'b' needs unknown path 'a.x'"],
    [[{ id: 'b', needs: ['nope.x'] }], "step 'b' needs unknown step 'nope'"],
  ])('throws on a path that does not exist: %j', (steps, message) => {
    expect(() => new StepGraph(steps as GraphStep[])).toThrow(message);
  });
});

describe('StepGraph.runStatus', () => {
  const all = (status: StepStatus, overrides: Statuses = {}): Statuses => ({
    ...Object.fromEntries(graph.ids.map((id) => [id, status])),
    ...overrides,
  });

  it.each<[string, Statuses, 'succeeded' | 'failed' | 'filtered' | null]>([
    ['nothing has run yet', {}, null],
    ['a step still running', all('succeeded', { report: 'running' }), null],
    ['a step waiting for a retry', all('succeeded', { report: 'retrying' }), null],
    ['a pending step', all('succeeded', { report: 'pending' }), null],
    ['every step succeeded', all('succeeded'), 'succeeded'],
    ['a failure anywhere', all('succeeded', { shipping: 'failed', report: 'skipped' }), 'failed'],
    ['filter stopped everything', all('skipped', { order: 'succeeded', 'big-only': 'filtered' }), 'filtered'],
    [
      'one branch filtered but an action succeeded',
      all('succeeded', { billing: 'filtered', report: 'skipped' }),
      'succeeded',
    ],
    [
      'failure beats filtered',
      all('skipped', { order: 'succeeded', 'big-only': 'filtered', billing: 'failed' }),
      'failed',
    ],
  ])('%s', (_name, statuses, expected) => {
    expect(graph.runStatus(statuses)).toBe(expected);
  });

  it('uses the typeOf function when given', () => {
    const untyped = new StepGraph([{ id: 'check' }, { id: 'send', needs: [] }]);
    const statuses: Statuses = { check: 'filtered', send: 'succeeded' };
    const typeOf = (id: string): StepType => (id === 'send' ? 'action' : 'filter');
    expect(untyped.runStatus(statuses, typeOf)).toBe('succeeded');
    // Without types no step counts as an action, so the filter decides.
    expect(untyped.runStatus(statuses)).toBe('filtered');
  });

  it('is filtered when only transforms succeeded and a filter stopped a branch', () => {
    const g = new StepGraph([
      { id: 't', type: 'transform' },
      { id: 'f', type: 'filter' },
      { id: 'log', type: 'transform', needs: ['t'] },
    ]);
    expect(g.runStatus({ t: 'succeeded', f: 'filtered', log: 'succeeded' })).toBe('filtered');
  });
});

describe('StepGraph.settle', () => {
  const graph = new StepGraph([
    { id: 'order', type: 'transform' },
    { id: 'big', type: 'filter', needs: ['order'] },
    { id: 'billing', type: 'action', needs: ['big'] },
    { id: 'audit', type: 'action', needs: ['order'] },
  ]);

  it.each([
    [
      'a filter that stopped its branch, with the other branch still to run',
      { order: 'succeeded', big: 'filtered', billing: 'pending', audit: 'pending' },
      { ready: ['audit'], skip: ['billing'], runStatus: null },
    ],
    [
      'everything settled, one action delivered',
      { order: 'succeeded', big: 'filtered', billing: 'pending', audit: 'succeeded' },
      { ready: [], skip: ['billing'], runStatus: 'succeeded' },
    ],
    [
      'a failure with nothing else left',
      { order: 'succeeded', big: 'succeeded', billing: 'failed', audit: 'succeeded' },
      { ready: [], skip: [], runStatus: 'failed' },
    ],
  ] as const)('%s', (_what, statuses, expected) => {
    expect(graph.settle(statuses)).toEqual(expected);
  });
});
