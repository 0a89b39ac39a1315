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

/** What the app does once the launcher is gone; unset until it has something to drain. */
let onLauncherGone: { drain: () => Promise<void> | void; deadlineMs: number } | undefined;
let following = false;

/**
 * Call first thing in `main`: under the launcher, exits once it is gone however it died (1 while
 * starting, else through the drain `exitWithParent` registers). No-op without a launcher.
 */
export function followLauncher(): void {
  if (following || !process.send) return;
  following = true;
  // A launcher that died before this line (while the app was loading) left the channel closed.
  if (!process.connected) {
    leaveWithLauncher();
    return;
  }
  process.once('disconnect', leaveWithLauncher);
  // A 'disconnect' listener refs the IPC channel; the channel alone must not keep the app alive.
  process.channel?.unref();
}

function leaveWithLauncher(): void {
  if (!onLauncherGone) {
    console.error('the launcher is gone; exiting before start-up finished');
    process.exit(1);
  }
  const { drain, deadlineMs } = onLauncherGone;
  setTimeout(() => process.exit(1), deadlineMs).unref();
  Promise.resolve()
    .then(drain)
    .then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('shutdown after the launcher went away failed:', error);
        process.exit(1);
      },
    );
}

/**
 * Under the launcher, runs `onParentGone` and exits once it is gone, however it died, so no orphan
 * keeps its port; exits after `deadlineMs` even if the callback hangs. No-op without a launcher.
 */
export function exitWithParent(
  onParentGone: () => Promise<void> | void,
  deadlineMs: number = PARENT_GONE_DEADLINE_MS,
): void {
  if (!process.send) return;
  onLauncherGone = { drain: onParentGone, deadlineMs };
  followLauncher();
}

/** Past the grace period, the time left for closing connections before the process exits regardless. */
const CLOSE_MARGIN_MS = 5_000;
/** Signals this close together are one request (under npm, one Ctrl-C may arrive twice). */
const REPEAT_SIGNAL_WINDOW_MS = 1_000;

export interface StopOptions {
  /** SHUTDOWN_GRACE_MS: how long work in flight may take. */
  graceMs: number;
  /** Time past the grace for closing connections; 5 s. */
  closeMarginMs?: number;
  log?: (line: string) => void;
}

/** The apps' way out: drain once, exit 0 (docs/operations.md, Shutdown); a later second signal exits 1. */
export function stopGracefully(close: () => Promise<void>, options: StopOptions): void {
  const { graceMs, closeMarginMs = CLOSE_MARGIN_MS, log = (line: string) => console.log(line) } = options;
  let stopping: Promise<void> | undefined;
  let firstSignalAt = 0;
  const stop = () => (stopping ??= Promise.resolve().then(close));
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      if (Date.now() - firstSignalAt < REPEAT_SIGNAL_WINDOW_MS) return;
      log(`${signal} again: stopping now, without waiting for work in flight`);
      process.exit(1);
    }
    firstSignalAt = Date.now();
    log(`${signal}: draining, up to ${graceMs} ms for work in flight`);
    setTimeout(() => {
      log(
        `still draining ${graceMs + closeMarginMs} ms after ${signal}; exiting, work left behind is recovered`,
      );
      process.exit(0);
    }, graceMs + closeMarginMs);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('shutdown failed:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  exitWithParent(stop, graceMs + closeMarginMs);
}
