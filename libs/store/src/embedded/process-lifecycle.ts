/** The message an app sends the launcher once it is listening (api) or consuming jobs (worker). */
export interface ReadyMessage {
  type: 'ready';
}

const PARENT_GONE_DEADLINE_MS = 10_000;

export function isReadyMessage(message: unknown): message is ReadyMessage {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'ready';
}

/** Tells the launcher this app is ready; does nothing when the app was started on its own. */
export function notifyReady(): void {
  if (process.send && process.connected) process.send({ type: 'ready' } satisfies ReadyMessage);
}

/**
 * When started by the launcher, runs `onParentGone` and exits once the launcher is gone, however it
 * died (SIGKILL included), so no orphaned api or worker keeps holding its port. The process exits
 * after `deadlineMs` even if the callback hangs. Does nothing when there is no launcher.
 */
export function exitWithParent(
  onParentGone: () => Promise<void> | void,
  deadlineMs: number = PARENT_GONE_DEADLINE_MS,
): void {
  if (!process.send || !process.connected) return;
  process.once('disconnect', () => {
    setTimeout(() => process.exit(1), deadlineMs).unref();
    Promise.resolve()
      .then(onParentGone)
      .then(
        () => process.exit(0),
        (error: unknown) => {
          console.error('shutdown after the launcher went away failed:', error);
          process.exit(1);
        },
      );
  });
  // A 'disconnect' listener refs the IPC channel; the channel alone must not keep the app alive.
  process.channel?.unref();
}
