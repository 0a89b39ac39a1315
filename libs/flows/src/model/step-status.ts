// Lifecycle states of steps and runs (docs/architecture.md, The state machine).
/** `waiting`: a delay step parked until its resume time (no job active, no worker slot held). */
export type StepStatus =
  | 'pending'
  | 'running'
  | 'retrying'
  | 'waiting'
  | 'succeeded'
  | 'failed'
  | 'filtered'
  | 'skipped'
  | 'cancelled';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'filtered' | 'cancelled';
