// The rows a `foreach` loop's items run as: `<loopId>[<index>].<stepId>` (docs/architecture.md#loops).
import type { RunContext, TriggerData } from '../model/run-context';

/** One step of one item of a loop. */
export interface ItemStepRef {
  loop: string;
  index: number;
  /** The step's id inside the loop. */
  step: string;
}

// Step ids are lowercase letters, digits, `_` and `-`: brackets never occur in them.
const STEP_ID = /^[a-z0-9][a-z0-9_-]*$/;
const INDEX = /^(0|[1-9][0-9]{0,8})$/;

/** The row id of step `step` of item `index` of loop `loop`. */
export function itemStepId(loop: string, index: number, step: string): string {
  return `${loop}[${index}].${step}`;
}

/** What every row id of one item starts with. */
export function itemPrefix(loop: string, index: number): string {
  return `${loop}[${index}].`;
}

/** The loop, item and inner step a row id names; null for a step outside any loop. */
export function parseItemStepId(id: string): ItemStepRef | null {
  // Cut at the brackets first: the state machine runs this over every row of a loop.
  const open = id.indexOf('[');
  if (open < 0) return null;
  const close = id.indexOf('].', open);
  if (close < 0) return null;
  const loop = id.slice(0, open);
  const index = id.slice(open + 1, close);
  const step = id.slice(close + 2);
  if (!INDEX.test(index) || !STEP_ID.test(loop) || !STEP_ID.test(step)) return null;
  return { loop, index: Number(index), step };
}

/** What step `stepId` (a row id) runs against: the outputs of the steps outside loops and of its own item, and its item. */
export function stepContext(
  stepId: string,
  read: {
    trigger: TriggerData;
    outputs: Readonly<Record<string, unknown>>;
    flowSlug: string;
    item?: RunContext['item'];
  },
  runId: string,
): RunContext {
  const ctx: RunContext = {
    trigger: read.trigger,
    steps: outputsInScope(read.outputs, parseItemStepId(stepId)),
    run: { id: runId, flow: read.flowSlug },
  };
  if (read.item) ctx.item = read.item;
  return ctx;
}

/** Of `outputs` by row id: the steps outside loops, and the steps of `ref`'s item by their own ids. */
export function outputsInScope<T>(
  outputs: Readonly<Record<string, T>>,
  ref: ItemStepRef | null,
): Record<string, T> {
  const prefix = ref ? itemPrefix(ref.loop, ref.index) : null;
  const scoped: Record<string, T> = {};
  for (const [id, output] of Object.entries(outputs)) {
    if (!id.includes('[')) scoped[id] = output;
    else if (prefix && id.startsWith(prefix)) scoped[id.slice(prefix.length)] = output;
  }
  return scoped;
}
