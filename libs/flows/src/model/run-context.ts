/**
 * What a step sees when it runs: the trigger request, the outputs of finished steps and the
 * run's identity. Transforms see it as `$trigger`, `$steps`, `$run`; templates as `trigger`,
 * `steps`, `run` (plus `input`).
 */
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
}
