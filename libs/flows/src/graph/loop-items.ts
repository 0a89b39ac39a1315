// The rows a `foreach` loop's items run as: `<loopId>[<index>].<stepId>` (docs/architecture.md#loops).

/** One step of one item of a loop. */
export interface ItemStepRef {
  loop: string;
  index: number;
  /** The step's id inside the loop. */
  step: string;
}

// Step ids are lowercase letters, digits, `_` and `-`: brackets never occur in them.
const ITEM_STEP_ID = /^([a-z0-9][a-z0-9_-]*)\[(0|[1-9][0-9]{0,8})\]\.([a-z0-9][a-z0-9_-]*)$/;

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
  if (!id.includes('[')) return null;
  const m = ITEM_STEP_ID.exec(id);
  return m ? { loop: m[1], index: Number(m[2]), step: m[3] } : null;
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
