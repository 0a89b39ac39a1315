import { StepGraph } from '../graph/step-graph';
import type { RunStatus, StepStatus } from '../model/step-status';
import { MAX_LOOP_OUTPUT_BYTES } from '../validation/flow-limits';
import { afterLoopStart, afterStepEnd, retryOf, type RunView, type StepState } from './run-state';

// order -> big-only (filter) -> billing, shipping (fan-out) -> done (join); note is a second root.
const graph = new StepGraph([
  { id: 'order', type: 'transform' },
  { id: 'big-only', type: 'filter' },
  { id: 'billing', type: 'action', needs: ['big-only'] },
  { id: 'shipping', type: 'action', needs: ['big-only'] },
  { id: 'done', type: 'action', needs: ['billing', 'shipping'] },
  { id: 'note', type: 'transform', needs: [] },
]);

type Short = StepStatus | `${StepStatus}+q` | 'running!';

/** `status`, `status+q` (handed to the queue), `running!` (held by a live claim). */
function view(steps: Record<string, Short>, status: RunStatus = 'running'): RunView {
  const states: Record<string, StepState> = {};
  for (const id of graph.ids) {
    const short = steps[id] ?? 'pending';
    const held = short === 'running!';
    const enqueued = held || short.endsWith('+q') || !['pending'].includes(short);
    states[id] = { status: short.replace(/\+q|!/, '') as StepStatus, attempts: 1, enqueued, held };
  }
  return { version: 7, status, steps: states };
}

describe('afterStepEnd', () => {
  it.each<[string, Record<string, Short>, string, 'succeeded' | 'failed' | 'filtered', object]>([
    [
      'a step makes the next one ready',
      { order: 'running!', note: 'succeeded' },
      'order',
      'succeeded',
      { enqueue: ['big-only'], skip: [], runStatus: null },
    ],
    [
      'a fan-out readies every branch',
      { order: 'succeeded', 'big-only': 'running!', note: 'succeeded' },
      'big-only',
      'succeeded',
      { enqueue: ['billing', 'shipping'], skip: [], runStatus: null },
    ],
    [
      'a join waits for its last branch',
      {
        order: 'succeeded',
        'big-only': 'succeeded',
        billing: 'running!',
        shipping: 'running!',
        note: 'succeeded',
      },
      'billing',
      'succeeded',
      { enqueue: [], skip: [], runStatus: null },
    ],
    [
      'the last branch readies the join, once',
      {
        order: 'succeeded',
        'big-only': 'succeeded',
        billing: 'succeeded',
        shipping: 'running!',
        note: 'succeeded',
      },
      'shipping',
      'succeeded',
      { enqueue: ['done'], skip: [], runStatus: null },
    ],
    [
      'a join already handed over is not handed over again',
      {
        order: 'succeeded',
        'big-only': 'succeeded',
        billing: 'succeeded',
        shipping: 'running!',
        done: 'pending+q',
        note: 'succeeded',
      },
      'shipping',
      'succeeded',
      { enqueue: [], skip: [], runStatus: null },
    ],
    [
      'a filter skips everything after it and ends the run filtered',
      { order: 'succeeded', 'big-only': 'running!', note: 'succeeded' },
      'big-only',
      'filtered',
      { enqueue: [], skip: ['billing', 'shipping', 'done'], runStatus: 'filtered' },
    ],
    [
      'a failed branch skips the join; the other branch still runs',
      {
        order: 'succeeded',
        'big-only': 'succeeded',
        billing: 'running!',
        shipping: 'running!',
        note: 'succeeded',
      },
      'billing',
      'failed',
      { enqueue: [], skip: ['done'], runStatus: null },
    ],
    [
      'the run fails once nothing is left',
      {
        order: 'succeeded',
        'big-only': 'succeeded',
        billing: 'failed',
        shipping: 'running!',
        done: 'skipped',
        note: 'succeeded',
      },
      'shipping',
      'succeeded',
      { enqueue: [], skip: [], runStatus: 'failed' },
    ],
    [
      'a root already handed over keeps the run going',
      {
        order: 'succeeded',
        'big-only': 'succeeded',
        billing: 'succeeded',
        shipping: 'succeeded',
        done: 'running!',
        note: 'pending+q',
      },
      'done',
      'succeeded',
      { enqueue: [], skip: [], runStatus: null },
    ],
    [
      'and with its last root',
      {
        order: 'succeeded',
        'big-only': 'succeeded',
        billing: 'succeeded',
        shipping: 'succeeded',
        done: 'succeeded',
        note: 'running!',
      },
      'note',
      'succeeded',
      { enqueue: [], skip: [], runStatus: 'succeeded' },
    ],
  ])('%s', (_name, steps, stepId, end, expected) => {
    expect(afterStepEnd(graph, view(steps), stepId, end)).toEqual(expected);
  });

  it('moves nothing in a run that is no longer live', () => {
    expect(afterStepEnd(graph, view({ order: 'running!' }, 'cancelled'), 'order', 'succeeded')).toEqual({
      enqueue: [],
      skip: [],
      runStatus: null,
    });
  });
});

describe('retryOf', () => {
  it.each<[string, Record<string, Short>, RunStatus, object | null]>([
    ['a running run cannot be retried', { order: 'running!' }, 'running', null],
    ['a succeeded run cannot be retried', {}, 'succeeded', null],
    [
      'reopens the failed step and what it skipped, not what succeeded',
      {
        order: 'succeeded',
        'big-only': 'succeeded',
        billing: 'failed',
        shipping: 'succeeded',
        done: 'skipped',
        note: 'succeeded',
      },
      'failed',
      { reopen: ['billing', 'done'], enqueue: ['billing'], skip: [], runStatus: 'queued' },
    ],
    [
      'reopens a step whose worker lost its lease, and leaves one still held',
      {
        order: 'succeeded',
        'big-only': 'succeeded',
        billing: 'running',
        shipping: 'running!',
        note: 'cancelled',
      },
      'cancelled',
      { reopen: ['billing', 'done', 'note'], enqueue: ['billing', 'note'], skip: [], runStatus: 'queued' },
    ],
    [
      'keeps behind a filter what the filter skipped',
      {
        order: 'succeeded',
        'big-only': 'filtered',
        billing: 'skipped',
        shipping: 'skipped',
        done: 'skipped',
        note: 'failed',
      },
      'failed',
      { reopen: ['note'], enqueue: ['note'], skip: ['billing', 'shipping', 'done'], runStatus: 'queued' },
    ],
  ])('%s', (_name, steps, status, expected) => {
    expect(retryOf(graph, view(steps, status))).toEqual(expected);
  });
});

describe('a router in the run state', () => {
  const routed = new StepGraph([
    { id: 'route', type: 'router', paths: [{ name: 'big' }, { name: 'small' }] },
    { id: 'sales', type: 'action', needs: ['route.big'] },
    { id: 'shop', type: 'action', needs: ['route.small'] },
    { id: 'done', type: 'action', needs: ['sales', 'shop'], join: 'any' },
  ]);
  const state = (status: StepStatus, routes?: string[]): StepState => ({
    status,
    attempts: 1,
    enqueued: status !== 'pending',
    held: false,
    ...(routes ? { routes } : {}),
  });

  it('readies the path the router took as it ends, and skips the other', () => {
    const before: RunView = {
      version: 3,
      status: 'running',
      steps: {
        route: state('running'),
        sales: state('pending'),
        shop: state('pending'),
        done: state('pending'),
      },
    };
    expect(afterStepEnd(routed, before, 'route', 'succeeded', ['small'])).toEqual({
      enqueue: ['shop'],
      skip: ['sales'],
      runStatus: null,
    });
  });

  it('reads the paths taken from the view when a later step ends', () => {
    const later: RunView = {
      version: 5,
      status: 'running',
      steps: {
        route: state('succeeded', ['small']),
        sales: state('skipped'),
        shop: state('running'),
        done: state('pending'),
      },
    };
    expect(afterStepEnd(routed, later, 'shop', 'succeeded')).toEqual({
      enqueue: ['done'],
      skip: [],
      runStatus: null,
    });
    expect(afterStepEnd(routed, later, 'shop', 'failed')).toEqual({
      enqueue: [],
      skip: ['done'],
      runStatus: 'failed',
    });
  });

  it('retries a failed step on the path taken and leaves the other path skipped', () => {
    const failed: RunView = {
      version: 6,
      status: 'failed',
      steps: {
        route: state('succeeded', ['small']),
        sales: state('skipped'),
        shop: state('failed'),
        done: state('skipped'),
      },
    };
    expect(retryOf(routed, failed)).toEqual({
      reopen: ['shop', 'done'],
      enqueue: ['shop'],
      skip: ['sales'],
      runStatus: 'queued',
    });
  });
});

describe('loops', () => {
  // start -> each (foreach: shape -> post) -> after; two items at once.
  const loopGraph = new StepGraph([
    { id: 'start', type: 'transform' },
    {
      id: 'each',
      type: 'foreach',
      concurrency: 2,
      steps: [
        { id: 'shape', type: 'transform' },
        { id: 'post', type: 'action' },
      ],
    },
    { id: 'after', type: 'action' },
  ]);
  const loopGraphKeepGoing = new StepGraph([
    { id: 'each', type: 'foreach', continueOnError: true, steps: [{ id: 'post', type: 'action' }] },
  ]);

  /** Rows as `status` or `status+q` (handed to the queue); `bytes` for item rows that ended. */
  function loopView(rows: Record<string, Short>, bytes: Record<string, number> = {}): RunView {
    const steps: Record<string, StepState> = {};
    for (const [id, short] of Object.entries(rows)) {
      const held = short === 'running!';
      const enqueued = held || short.endsWith('+q') || short !== 'pending';
      steps[id] = { status: short.replace(/\+q|!/, '') as StepStatus, attempts: 1, enqueued, held };
      if (bytes[id] !== undefined) steps[id].bytes = bytes[id];
    }
    return { version: 3, status: 'running', steps };
  }

  it('starts as many items as its concurrency, each at its first step', () => {
    const view = loopView({ start: 'succeeded', each: 'running!', after: 'pending' });
    expect(afterLoopStart(loopGraph, view, 'each', 3)).toEqual({
      skip: [],
      enqueue: ['each[0].shape', 'each[1].shape'],
      runStatus: null,
    });
  });

  it('ends an empty loop at once, succeeded with no rows, and moves the run on', () => {
    const view = loopView({ start: 'succeeded', each: 'running!', after: 'pending' });
    expect(afterLoopStart(loopGraph, view, 'each', 0)).toEqual({
      skip: [],
      enqueue: ['after'],
      runStatus: null,
      loopEnd: { stepId: 'each', status: 'succeeded', error: null, rows: [] },
    });
  });

  const items = (three: Short[][]) =>
    Object.fromEntries(
      three.flatMap(([shape, post], i) => [
        [`each[${i}].shape`, shape],
        [`each[${i}].post`, post],
      ]),
    );

  it('moves an item to its next step, and starts the next item once one finished', () => {
    const rows = {
      start: 'succeeded',
      each: 'waiting',
      after: 'pending',
      ...items([
        ['succeeded', 'running!'],
        ['running!', 'pending'],
        ['pending', 'pending'],
      ]),
    } as Record<string, Short>;
    expect(afterStepEnd(loopGraph, loopView(rows), 'each[1].shape', 'succeeded', undefined, 10)).toEqual({
      skip: [],
      enqueue: ['each[1].post'],
      runStatus: null,
    });
    expect(afterStepEnd(loopGraph, loopView(rows), 'each[0].post', 'succeeded', undefined, 10)).toEqual({
      skip: [],
      enqueue: ['each[2].shape'],
      runStatus: null,
    });
  });

  it('skips the rest of a failed item, and fails the loop only once the others finished', () => {
    const rows = {
      start: 'succeeded',
      each: 'waiting',
      after: 'pending',
      ...items([
        ['running!', 'pending'],
        ['succeeded', 'succeeded'],
        ['succeeded', 'succeeded'],
      ]),
    } as Record<string, Short>;
    expect(afterStepEnd(loopGraph, loopView(rows), 'each[0].shape', 'failed')).toEqual({
      skip: ['each[0].post', 'after'],
      enqueue: [],
      runStatus: 'failed',
      loopEnd: {
        stepId: 'each',
        status: 'failed',
        error: {
          code: 'loop_items_failed',
          message: '1 of 3 items failed (item 0); the others finished',
          retryable: false,
        },
        rows: [null, 'each[1].post', 'each[2].post'],
      },
    });
  });

  it('with continueOnError, succeeds with null for the failed items', () => {
    const view = loopView({ each: 'waiting', 'each[0].post': 'failed', 'each[1].post': 'running!' });
    expect(afterStepEnd(loopGraphKeepGoing, view, 'each[1].post', 'succeeded', undefined, 2)).toMatchObject({
      runStatus: 'succeeded',
      loopEnd: { stepId: 'each', status: 'succeeded', error: null, rows: [null, 'each[1].post'] },
    });
  });

  it("fails a loop whose items' results are larger than a loop's output may be", () => {
    const half = MAX_LOOP_OUTPUT_BYTES / 2;
    const view = loopView(
      { each: 'waiting', 'each[0].post': 'succeeded', 'each[1].post': 'running!' },
      {
        'each[0].post': half,
      },
    );
    expect(
      afterStepEnd(loopGraphKeepGoing, view, 'each[1].post', 'succeeded', undefined, half),
    ).toMatchObject({
      runStatus: 'failed',
      loopEnd: { status: 'failed', error: { code: 'output_too_large' } },
    });
  });

  it('a retry reopens the loop and the items that did not succeed, not the ones that did', () => {
    const rows = {
      start: 'succeeded',
      each: 'failed',
      after: 'skipped',
      ...items([
        ['succeeded', 'failed'],
        ['succeeded', 'succeeded'],
        ['failed', 'skipped'],
      ]),
    } as Record<string, Short>;
    const view = { ...loopView(rows), status: 'failed' as const };
    expect(retryOf(loopGraph, view)).toEqual({
      reopen: ['each', 'each[0].post', 'each[2].shape', 'each[2].post', 'after'],
      enqueue: ['each'],
      skip: [],
      runStatus: 'queued',
    });
    // The loop run again starts what is left of its items, at most two at once.
    const again = loopView({
      ...rows,
      each: 'running!',
      after: 'pending',
      'each[0].post': 'pending',
      'each[2].shape': 'pending',
      'each[2].post': 'pending',
    });
    expect(afterLoopStart(loopGraph, again, 'each', 3)).toEqual({
      skip: [],
      enqueue: ['each[0].post', 'each[2].shape'],
      runStatus: null,
    });
  });

  it('a retry keeps to the concurrency: items left half done wait for a place like items not started', () => {
    const row = (status: StepStatus, enqueued = status !== 'pending', held = false): StepState => ({
      status,
      attempts: 1,
      enqueued,
      held,
    });
    const steps: Record<string, StepState> = {
      start: row('succeeded'),
      each: row('failed'),
      after: row('skipped'),
    };
    for (let i = 0; i < 5; i++) {
      steps[`each[${i}].shape`] = row('succeeded');
      steps[`each[${i}].post`] = row('failed');
    }
    const retry = retryOf(loopGraph, { version: 1, status: 'failed', steps })!;
    const after: Record<string, StepState> = { ...steps };
    for (const id of retry.reopen) after[id] = row('pending', retry.enqueue.includes(id));
    after.each = row('running', true, true);
    const start = afterLoopStart(loopGraph, { version: 2, status: 'running', steps: after }, 'each', 5)!;
    expect(start.enqueue).toEqual(['each[0].post', 'each[1].post']);
    after['each[0].post'] = row('running', true, true);
    after['each[1].post'] = row('running', true, true);
    const view = { version: 3, status: 'running' as const, steps: after };
    expect(afterStepEnd(loopGraph, view, 'each[0].post', 'succeeded', undefined, 2)!.enqueue).toEqual([
      'each[2].post',
    ]);
  });

  it('a loop run again on fewer items than it has rows goes on over all of its rows', () => {
    const one = new StepGraph([{ id: 'each', type: 'foreach', steps: [{ id: 'post', type: 'action' }] }]);
    const view = loopView({ each: 'running!', 'each[0].post': 'succeeded', 'each[1].post': 'pending' });
    expect(afterLoopStart(one, view, 'each', 1)).toEqual({
      skip: [],
      enqueue: ['each[1].post'],
      runStatus: null,
    });
  });

  it("counts an action of a loop's items: a run whose loop sent a request does not end filtered", () => {
    const gated = new StepGraph([
      { id: 'gate', type: 'filter', needs: [] },
      { id: 'each', type: 'foreach', needs: [], steps: [{ id: 'post', type: 'action' }] },
    ]);
    const view = loopView({ gate: 'filtered', each: 'waiting', 'each[0].post': 'running!' });
    expect(afterStepEnd(gated, view, 'each[0].post', 'succeeded', undefined, 5)!.runStatus).toBe('succeeded');
    const nothingSent = loopView({ gate: 'filtered', each: 'waiting', 'each[0].post': 'running!' });
    expect(afterStepEnd(gated, nothingSent, 'each[0].post', 'failed')!.runStatus).toBe('failed');
  });
});
