import { StepGraph } from '../graph/step-graph';
import type { RunStatus, StepStatus } from '../model/step-status';
import { afterStepEnd, retryOf, type RunView, type StepState } from './run-state';

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
