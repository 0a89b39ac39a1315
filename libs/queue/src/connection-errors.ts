/** How often a repeating queue error is logged: once per reconnect attempt would flood the log. */
export const CONNECTION_ERROR_LOG_EVERY_MS = 10_000;

/**
 * A listener for the `error` events of a BullMQ queue or worker. While Redis is away they come at
 * every reconnect attempt; this logs the first and then at most one per `everyMs`, each naming the
 * latest error. A queue or worker object with no listener has BullMQ print every one with its stack
 * on stderr, outside the JSON log, so each must have one (objects may share one, and its pace).
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
