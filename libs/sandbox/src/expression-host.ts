import {
  ExpressionError,
  InProcessEvaluator,
  logsOf,
  quickjsPoisoned,
  runCode,
} from '@hookflow/flows/transform';
import { isEvaluateMessage, type HostMessage } from './host-protocol';

// The sandbox's host process: evaluates one expression at a time for its parent, over IPC. A
// runaway native call, a huge allocation or a V8 fatal error ends this process, never the parent.
const evaluator = new InProcessEvaluator();

/** Past this, a host that ran code exits once it has answered: QuickJS's WebAssembly memory never shrinks. */
const MAX_RSS_AFTER_CODE = 256 * 1024 * 1024;

function send(message: HostMessage, then?: () => void): void {
  process.send?.(message, undefined, undefined, () => then?.());
}

/** After a code step: a host whose QuickJS broke or grew too big answers, then makes way for a fresh one. */
function recycle(ranCode: boolean): (() => void) | undefined {
  if (!ranCode) return undefined;
  if (!quickjsPoisoned() && process.memoryUsage().rss <= MAX_RSS_AFTER_CODE) return undefined;
  return () => process.exit(0);
}

process.on('message', (message: unknown) => {
  if (!isEvaluateMessage(message)) return;
  const { id } = message;
  send({ type: 'started', id });
  const ranCode = message.type === 'run-code';
  const work = ranCode ? runCode(message.request) : evaluator.evaluateChecked(message.request);
  work.then(
    (value) => send({ type: 'result', id, value }, recycle(ranCode)),
    (err: unknown) =>
      send(
        err instanceof ExpressionError
          ? {
              type: 'error',
              id,
              code: err.code,
              message: err.message,
              position: err.position,
              token: err.token,
              logs: logsOf(err),
            }
          : {
              type: 'error',
              id,
              code: 'transform_error',
              message: err instanceof Error ? err.message : String(err),
            },
        recycle(ranCode),
      ),
  );
});
// No parent, no work: the host never outlives the process that started it.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
