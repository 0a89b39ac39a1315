import type { StepStatus } from './step-status';

/** What a step sees: `$trigger`, `$steps`, `$run` in JSONata, `trigger`, `steps`, `run` in templates. */
export interface TriggerData {
  body: unknown;
  query: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  method: string;
  receivedAt: string;
}

export interface RunContext {
  trigger: TriggerData;
  /** step id -> output, for steps that finished with an output (succeeded or filtered). */
  steps: Record<string, unknown>;
  run: { id: string; flow: string };
  /** The steps' statuses where known: an `any` join's input holds only the needs that succeeded. */
  statuses?: Readonly<Record<string, StepStatus>>;
  /** In a loop: the item this step runs for, and its index (`$item`, `$index`; `item`, `index` in templates). */
  item?: { value: unknown; index: number };
  /** The paths each router that succeeded took, where known. */
  routes?: Readonly<Record<string, readonly string[]>>;
}
