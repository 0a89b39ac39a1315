import { itemStepId, parseItemStepId } from '../graph/loop-items';
import { own, type FinishedRunStatus, type LoopGraph, type StepGraph } from '../graph/step-graph';
import type { StepError } from '../model/step-outcome';
import type { RunStatus, StepStatus } from '../model/step-status';
import { MAX_LOOP_OUTPUT_BYTES } from '../validation/flow-limits';

/** One step of a run as stored. */
export interface StepState {
  status: StepStatus;
  /** Claims made of it so far (attempt numbers count on across retries of the run). */
  attempts: number;
  /** Handed to the queue (or to a worker in process) for its current turn. */
  enqueued: boolean;
  /** A worker holds a live claim on it (`running` with a lease that has not lapsed). */
  held: boolean;
  /** A router that ended: the paths it took. */
  routes?: string[];
  /** A loop item's step that ended with an output: its size as stored (bytes of JSON). */
  bytes?: number;
}

/** A run's steps at one moment; every change bumps `version`, so a write at an old one is refused. */
export interface RunView {
  version: number;
  status: RunStatus;
  steps: Record<string, StepState>;
  /** Holds the steps outside loops and, for a loop item's step, those of its own item only (a claim's view). */
  partial?: boolean;
}

/** What a change to one step does to its run: the one write the store then makes. */
export interface RunTransition {
  /** Pending steps that can never run now. */
  skip: string[];
  /** Steps that became ready and are not handed to the queue yet: the caller hands them over. */
  enqueue: string[];
  /** The run's end, when nothing is left to do; null while something is. */
  runStatus: FinishedRunStatus | null;
  /** A loop whose last item this end finished (or a loop that started with nothing to do): its end. */
  loopEnd?: LoopEnd;
}

/** A `foreach` step's end, decided from its items; its output is put together from `rows` as stored. */
export interface LoopEnd {
  stepId: string;
  status: 'succeeded' | 'failed';
  error: StepError | null;
  /** Per item, the row whose output is the item's result; null for an item that did not succeed. */
  rows: (string | null)[];
}

/** The statuses a step ends an attempt with. */
export type StepEnd = Extract<StepStatus, 'succeeded' | 'failed' | 'filtered'>;

const LIVE_RUN: ReadonlySet<RunStatus> = new Set<RunStatus>(['queued', 'running']);

/** Whether the run still moves (its steps run); a cancelled or finished run only records. */
export function isLiveRun(status: RunStatus): boolean {
  return LIVE_RUN.has(status);
}

/** Each step's status, by id. */
export function statusesOf(view: RunView): Record<string, StepStatus> {
  const statuses: Record<string, StepStatus> = {};
  for (const [id, step] of Object.entries(view.steps)) statuses[id] = step.status;
  return statuses;
}

/** The paths the run's routers took, by router id. */
export function routesOf(view: RunView): Record<string, string[]> {
  const routes: Record<string, string[]> = {};
  for (const [id, step] of Object.entries(view.steps)) if (step.routes) routes[id] = step.routes;
  return routes;
}

/**
 * What follows for the run from a step's end (`routes`: a router's paths taken; `outputBytes`: the
 * size of a loop item step's output); in a run no longer live, nothing moves. Null when a partial
 * view does not say: the end finishes its loop item; decide on the whole view.
 */
export function afterStepEnd(
  graph: StepGraph,
  view: RunView,
  stepId: string,
  end: StepEnd,
  routes?: string[],
  outputBytes?: number,
): RunTransition | null {
  if (!isLiveRun(view.status)) return { skip: [], enqueue: [], runStatus: null };
  const item = parseItemStepId(stepId);
  if (item) {
    const change: RowChange = { id: stepId, status: end, routes, bytes: outputBytes };
    return afterLoopMoved(graph, view, item.loop, change);
  }
  const statuses = statusesOf(view);
  statuses[stepId] = end;
  const taken = routesOf(view);
  if (routes) taken[stepId] = routes;
  const { ready, skip, runStatus } = graph.settle(statuses, taken);
  return { skip, enqueue: notEnqueued(view, ready), runStatus };
}

/**
 * What follows from a `foreach` step that found `count` items: its row waits for them, and the
 * first items' ready steps are enqueued. Items a retry left finished are not run again. Null on
 * a partial view (it lacks the items a retry kept).
 */
export function afterLoopStart(
  graph: StepGraph,
  view: RunView,
  loopId: string,
  count: number,
): RunTransition | null {
  if (!isLiveRun(view.status)) return { skip: [], enqueue: [], runStatus: null };
  if (view.partial) return null;
  return afterLoopMoved(graph, view, loopId, { id: loopId, status: 'waiting' }, count);
}

function notEnqueued(view: RunView, ids: string[]): string[] {
  return ids.filter((id) => !own(view.steps, id)?.enqueued);
}

/** One row's change on top of a view: what the write being decided makes of it. */
interface RowChange {
  id: string;
  status: StepStatus;
  routes?: string[];
  bytes?: number;
}

/** One item of a loop: its rows by their ids in the loop, and whether any of them was handed over or ran. */
interface ItemRows {
  statuses: Record<string, StepStatus>;
  routes: Record<string, string[]>;
  bytes: Record<string, number>;
  started: boolean;
  /** Holds a place among the items running at once: a row runs, waits for a retry, is handed over, or just ended. */
  busy: boolean;
}

/** The items of loop `loopId` in the view (by index; holes for items without rows), with `change` applied. */
function itemRowsOf(view: RunView, loopId: string, change: RowChange): ItemRows[] {
  const items: ItemRows[] = [];
  const prefix = `${loopId}[`;
  for (const [id, row] of Object.entries(view.steps)) {
    const ref = id.startsWith(prefix) ? parseItemStepId(id) : null;
    if (!ref) continue;
    const { index, step } = ref;
    const item = (items[index] ??= { statuses: {}, routes: {}, bytes: {}, started: false, busy: false });
    const changed = id === change.id;
    const status = changed ? change.status : row.status;
    item.statuses[step] = status;
    item.started ||= status !== 'pending' || row.enqueued;
    // A retry leaves items started but idle (their unfinished rows pending, not handed over): those
    // wait for a place like items not started, so that a retry keeps to the loop's concurrency.
    item.busy ||= changed || BUSY.has(status) || (status === 'pending' && row.enqueued);
    const routes = changed && change.routes ? change.routes : row.routes;
    if (routes) item.routes[step] = routes;
    const bytes = changed && change.bytes !== undefined ? change.bytes : row.bytes;
    if (bytes !== undefined) item.bytes[step] = bytes;
  }
  return items;
}

/**
 * A loop's items moved (`change`: an item step's end, or the loop's own start with `count` items):
 * their steps made ready or skipped, more items started, and the loop's end once all finished.
 */
function afterLoopMoved(
  graph: StepGraph,
  view: RunView,
  loopId: string,
  change: RowChange,
  count?: number,
): RunTransition | null {
  const loop = graph.loopOf(loopId);
  if (!loop) throw new Error(`step '${loopId}' is not a loop`);
  const items = itemRowsOf(view, loopId, change);
  if (view.partial) return withinItem(loop, loopId, view, items, change);
  // A loop run again (a retry) keeps the rows it made: it goes on over all of them.
  const moved = advanceItems(loop, loopId, view, items, Math.max(count ?? 0, items.length));
  if (!moved.end) return { skip: moved.skip, enqueue: moved.enqueue, runStatus: null };
  // The loop ends with this write: the steps after it move as after any step's end (its items'
  // rows count too: an action of theirs that succeeded keeps the run from ending filtered).
  const statuses = statusesOf(view);
  statuses[change.id] = change.status;
  statuses[loopId] = moved.end.status;
  const outer = graph.settle(statuses, routesOf(view));
  return {
    skip: [...moved.skip, ...outer.skip],
    enqueue: [...moved.enqueue, ...notEnqueued(view, outer.ready)],
    runStatus: outer.runStatus,
    loopEnd: moved.end,
  };
}

/** On a view of one item: its next steps while it goes on; null once it finishes (the loop may move). */
function withinItem(
  loop: LoopGraph,
  loopId: string,
  view: RunView,
  items: ItemRows[],
  change: RowChange,
): RunTransition | null {
  const moved = settleItem(loop, loopId, parseItemStepId(change.id)!.index, items, view);
  return moved.result ? null : { skip: moved.skip, enqueue: moved.ready, runStatus: null };
}

/** One item's rows settled: those skipped and made ready (row ids), and its end once all are finished. */
function settleItem(
  loop: LoopGraph,
  loopId: string,
  index: number,
  items: ItemRows[],
  view: RunView,
): { skip: string[]; ready: string[]; result: FinishedRunStatus | null } {
  const item = items[index];
  const done = loop.graph.runStatus(item.statuses);
  if (done) return { skip: [], ready: [], result: done };
  const rowOf = (step: string) => itemStepId(loopId, index, step);
  const decision = loop.graph.settle(item.statuses, item.routes);
  return {
    skip: decision.skip.map(rowOf),
    ready: notEnqueued(view, decision.ready.map(rowOf)),
    result: decision.runStatus,
  };
}

/** An item's result: the last of the loop's steps (in their order) that succeeded, in an item that succeeded. */
export function itemResultStep(
  loop: StepGraph,
  result: FinishedRunStatus,
  statuses: Readonly<Record<string, StepStatus>>,
): string | undefined {
  if (result !== 'succeeded') return undefined;
  for (let k = loop.ids.length - 1; k >= 0; k--)
    if (own(statuses, loop.ids[k]) === 'succeeded') return loop.ids[k];
  return undefined;
}

const LISTED_ITEMS = 10;

/** A loop's error once all its items finished and those at `failed` (indexes) failed. */
export function loopItemsFailed(failed: number[], total: number): StepError {
  const listed = failed.slice(0, LISTED_ITEMS).join(', ') + (failed.length > LISTED_ITEMS ? ', ...' : '');
  const message = `${failed.length} of ${total} items failed (item ${listed}); the others finished`;
  return { code: 'loop_items_failed', message, retryable: false };
}

const BUSY: ReadonlySet<StepStatus> = new Set<StepStatus>(['running', 'retrying', 'waiting']);

/** One pass over the items; only the items under way are settled (a loop may hold thousands). */
function advanceItems(
  loop: LoopGraph,
  loopId: string,
  view: RunView,
  items: ItemRows[],
  n: number,
): { skip: string[]; enqueue: string[]; end: LoopEnd | null } {
  const skip: string[] = [];
  const enqueue: string[] = [];
  const results: FinishedRunStatus[] = new Array<FinishedRunStatus>(n);
  const waiting: number[] = [];
  /** Items a retry left half done, with the steps they go on with once they get a place. */
  const idle: string[][] = [];
  let active = 0;
  let finished = 0;
  for (let index = 0; index < n; index++) {
    const item = items[index];
    if (!item?.started) {
      waiting.push(index);
      continue;
    }
    const moved = settleItem(loop, loopId, index, items, view);
    skip.push(...moved.skip);
    if (moved.result) {
      results[index] = moved.result;
      finished++;
    } else if (item.busy) {
      active++;
      enqueue.push(...moved.ready);
    } else idle.push(moved.ready);
  }
  // An item not started yet begins at the loop's first steps.
  // Places left go first to items a retry left half done, then to items not started yet.
  const roots = loop.graph.roots();
  let places = Math.max(0, loop.concurrency - active);
  for (const ready of idle) {
    if (places-- <= 0) break;
    enqueue.push(...ready);
  }
  for (const index of waiting.slice(0, Math.max(0, places)))
    enqueue.push(...roots.map((step) => itemStepId(loopId, index, step)));
  if (finished < n) return { skip, enqueue, end: null };
  return { skip, enqueue, end: loopEndOf(loop, loopId, items, results) };
}

/** The loop's end once every item finished: each item's last step that succeeded gives its result. */
function loopEndOf(
  loop: LoopGraph,
  loopId: string,
  items: ItemRows[],
  results: FinishedRunStatus[],
): LoopEnd {
  let size = 1;
  const rows = results.map((result, index) => {
    const step = itemResultStep(loop.graph, result, items[index].statuses);
    // A comma and the result, or `null`.
    size += 1 + (step === undefined ? 4 : (items[index].bytes[step] ?? 0));
    return step === undefined ? null : itemStepId(loopId, index, step);
  });
  const failed = results.flatMap((result, index) => (result === 'failed' ? [index] : []));
  if (failed.length > 0 && !loop.continueOnError) {
    return { stepId: loopId, status: 'failed', error: loopItemsFailed(failed, results.length), rows };
  }
  if (size > MAX_LOOP_OUTPUT_BYTES) {
    const message = `the items' results come to ${size} bytes, more than a loop's output may hold (${MAX_LOOP_OUTPUT_BYTES}); each item's output is kept with its steps`;
    return {
      stepId: loopId,
      status: 'failed',
      error: { code: 'output_too_large', message, retryable: false },
      rows,
    };
  }
  return { stepId: loopId, status: 'succeeded', error: null, rows };
}

/** Steps a retry of the run sets back to pending (with a fresh attempt budget). */
const REOPENABLE: ReadonlySet<StepStatus> = new Set<StepStatus>([
  'failed',
  'skipped',
  'cancelled',
  'pending',
  'retrying',
  'waiting',
]);
const RETRYABLE_RUN: ReadonlySet<RunStatus> = new Set<RunStatus>(['failed', 'cancelled']);

/** What a retry of a failed or cancelled run does, for the store to apply as one write. */
export interface RunRetry {
  /** Steps set back to pending, in definition order: what the retry runs again. */
  reopen: string[];
  /** Of those, the ones ready at once: handed to the queue right away. */
  enqueue: string[];
  /** Steps that stay behind a filter (skipped again). */
  skip: string[];
  /** `queued`, or the run's end when nothing is left to run. */
  runStatus: RunStatus;
}

/** A retry of the run, or null when its status allows none (docs/architecture.md, Run operations). */
export function retryOf(graph: StepGraph, view: RunView): RunRetry | null {
  if (!RETRYABLE_RUN.has(view.status)) return null;
  const reopenable = (step: StepState | undefined) =>
    step !== undefined && (REOPENABLE.has(step.status) || (step.status === 'running' && !step.held));
  const statuses: Record<string, StepStatus> = {};
  for (const [id, step] of Object.entries(view.steps))
    statuses[id] = reopenable(step) ? 'pending' : step.status;
  const decision = graph.settle(statuses, routesOf(view));
  const skip = new Set(decision.skip);
  const reopen = graph.ids.filter((id) => reopenable(own(view.steps, id)) && !skip.has(id));
  // A loop run again keeps the items that finished and runs the others' unfinished steps.
  const loops = new Set(reopen.filter((id) => graph.loopOf(id)));
  const items = Object.keys(view.steps).filter((id) => {
    const item = loops.size > 0 ? parseItemStepId(id) : null;
    return item !== null && loops.has(item.loop) && reopenable(view.steps[id]);
  });
  // Each loop's items right after it, as the run lists them.
  const inOrder = reopen.flatMap((id) => [id, ...items.filter((item) => parseItemStepId(item)!.loop === id)]);
  return {
    reopen: inOrder,
    enqueue: decision.ready.filter((id) => reopen.includes(id)),
    skip: [...skip],
    runStatus: decision.runStatus ?? 'queued',
  };
}
