import { ExpressionError, InProcessEvaluator, logsOf, runCode } from '@hookflow/flows/transform';
import { isEvaluateMessage, type HostMessage } from './host-protocol';

// The sandbox's host process: evaluates one expression at a time for its parent, over IPC. A
// runaway native call, a huge allocation or a V8 fatal error ends this process, never the parent.
const evaluator = new InProcessEvaluator();

function send(message: HostMessage): void {
  process.send?.(message);
}

process.on('message', (message: unknown) => {
  if (!isEvaluateMessage(message)) return;
  const { id } = message;
  send({ type: 'started', id });
  const work =
    message.type === 'run-code' ? runCode(message.request) : evaluator.evaluateChecked(message.request);
  work.then(
    (value) => send({ type: 'result', id, value }),
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
      ),
  );
});
// No parent, no work: the host never outlives the process that started it.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
