import type { CodeRequest, ExpressionErrorCode, ExpressionRequest } from '@hookflow/flows/transform';

/** Parent to host: evaluate one expression, or run a code step (a host has at most one at a time). */
export type EvaluateMessage =
  | { type: 'evaluate'; id: number; request: ExpressionRequest }
  | { type: 'run-code'; id: number; request: CodeRequest };

/** Host to parent. */
export type HostMessage =
  | { type: 'ready' }
  /** The input arrived and was parsed: the evaluation's own time starts. */
  | { type: 'started'; id: number }
  /** `value` is absent for JSONata's "nothing". */
  | { type: 'result'; id: number; value?: unknown }
  | {
      type: 'error';
      id: number;
      code: ExpressionErrorCode;
      message: string;
      position?: number;
      token?: string;
      /** A code step's `console.log` lines before it failed. */
      logs?: string[];
    };

export function isHostMessage(value: unknown): value is HostMessage {
  const type = (value as { type?: unknown } | null)?.type;
  return type === 'ready' || type === 'started' || type === 'result' || type === 'error';
}

export function isEvaluateMessage(value: unknown): value is EvaluateMessage {
  const type = (value as { type?: unknown } | null)?.type;
  return type === 'evaluate' || type === 'run-code';
}
