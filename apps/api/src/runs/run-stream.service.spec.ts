import type { RunChange, RunQueries } from '@hookflow/store';
import type { ServerResponse } from 'node:http';
import { RunStream } from './run-stream.service';

/** The runs table as the poller reads it: changes ordered by (time, id), and a database clock. */
class FakeRuns {
  changes: RunChange[] = [];
  nowUs = 100_000_000;
  failClock = false;

  async clockUs(): Promise<number> {
    if (this.failClock) throw new Error('connection refused');
    return this.nowUs;
  }

  async changesSince(afterUs: number, afterId: string | null, limit: number): Promise<RunChange[]> {
    const id = afterId ?? 'ffffffff-ffff-ffff-ffff-ffffffffffff';
    return this.changes
      .filter((c) => c.changedUs > afterUs || (c.changedUs === afterUs && c.id > id))
      .slice(0, limit);
  }

  /** `n` runs created one microsecond apart after `fromUs`; the clock moves past them. */
  add(n: number, fromUs: number): void {
    for (let i = 1; i <= n; i++) {
      this.changes.push({
        id: `00000000-0000-0000-0000-${String(this.changes.length).padStart(12, '0')}`,
        flow: 'f',
        status: 'queued',
        createdAt: new Date(0),
        startedAt: null,
        finishedAt: null,
        changedUs: fromUs + i,
      });
    }
    this.nowUs = fromUs + n + 1;
  }
}

/** A client's response: what was written to it, and whether it already went. */
function response(destroyed = false) {
  const frames: string[] = [];
  const res = {
    destroyed,
    writableEnded: false,
    writableLength: 0,
    writeHead: () => res,
    write: (frame: string) => frames.push(frame),
    on: () => res,
    end: () => undefined,
    destroy: () => undefined,
  };
  const runIds = () =>
    frames
      .filter((f) => f.startsWith('event: run'))
      .map((f) => (JSON.parse(f.split('data: ')[1]) as { id: string }).id);
  return { res: res as unknown as ServerResponse, runIds };
}

const poll = (stream: RunStream) => (stream as unknown as { poll(): Promise<void> }).poll();

describe('RunStream', () => {
  let runs: FakeRuns;
  let stream: RunStream;

  beforeEach(() => {
    runs = new FakeRuns();
    stream = new RunStream(runs as unknown as RunQueries);
  });

  afterEach(() => stream.onModuleDestroy());

  it('does not keep a client that left before its stream was attached', async () => {
    await stream.admit();
    stream.attach(response(true).res, undefined);
    expect(stream.open).toBe(0);
  });

  it('admits streams again once the database answers after a failed start', async () => {
    runs.failClock = true;
    await expect(stream.admit()).rejects.toThrow('connection refused');
    runs.failClock = false;
    await expect(stream.admit()).resolves.toBeUndefined();
  });

  it('sends every change of a burst larger than one poll reads, each once', async () => {
    await stream.admit();
    const client = response();
    stream.attach(client.res, undefined);
    runs.add(4500, runs.nowUs);
    for (let i = 0; i < 6; i++) await poll(stream);
    const sent = client.runIds();
    expect(new Set(sent).size).toBe(sent.length);
    expect(sent).toEqual(runs.changes.map((c) => c.id));
  });
});
