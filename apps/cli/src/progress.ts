import { SingleBar } from 'cli-progress';
import type { CliStream } from './output';

/** Fewer files than this are read faster than a bar could be drawn. */
export const PROGRESS_MIN_FILES = 20;

export interface Progress {
  tick(): void;
  stop(): void;
}

const NO_PROGRESS: Progress = { tick: () => undefined, stop: () => undefined };

/** Whether a bar is worth drawing: many files, and a person watching the stream. */
export function showsProgress(total: number, stream: CliStream): boolean {
  return total > PROGRESS_MIN_FILES && stream.isTTY === true;
}

/** A progress bar on `stream` (stderr) while many files are read; a no-op otherwise. */
export function startProgress(stream: CliStream, total: number, label: string): Progress {
  if (!showsProgress(total, stream)) return NO_PROGRESS;
  const bar = new SingleBar({
    stream: stream as NodeJS.WritableStream,
    format: `${label} [{bar}] {value}/{total}`,
    barsize: 30,
    clearOnComplete: true,
    hideCursor: true,
  });
  bar.start(total, 0);
  return {
    tick: () => bar.increment(),
    stop: () => bar.stop(),
  };
}
