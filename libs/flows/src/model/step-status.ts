/**
 * Lifecycle states of steps and runs as stored and shown by the API (docs/architecture.md).
 * `StepGraph` decides transitions between them; the worker persists them.
 */
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
