/** How often a repeating queue error is logged: once per reconnect attempt would flood the log. */
export const CONNECTION_ERROR_LOG_EVERY_MS = 10_000;

/**
 * Logs a BullMQ object's `error` events at most once per `everyMs`. Every queue and worker needs a
 * listener, or BullMQ prints each error with its stack to stderr.
 */
export function connectionErrorLog(
  what: string,
  warn: (line: string) => void,
  everyMs = CONNECTION_ERROR_LOG_EVERY_MS,
): (err: Error) => void {
  let lastAt = -Infinity;
  return (err) => {
    const now = Date.now();
    if (now - lastAt < everyMs) return;
    lastAt = now;
    warn(`${what}: ${err.message}`);
  };
}
