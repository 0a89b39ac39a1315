import type { ExpressionErrorCode, ExpressionRequest } from '@hookflow/flows/transform';

/** Parent to host: evaluate one expression (a host has at most one at a time). */
export interface EvaluateMessage {
  type: 'evaluate';
  id: number;
  request: ExpressionRequest;
}

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
    };

export function isHostMessage(value: unknown): value is HostMessage {
  const type = (value as { type?: unknown } | null)?.type;
  return type === 'ready' || type === 'started' || type === 'result' || type === 'error';
}

export function isEvaluateMessage(value: unknown): value is EvaluateMessage {
  return (value as { type?: unknown } | null)?.type === 'evaluate';
}
