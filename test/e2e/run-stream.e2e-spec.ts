import type { AddressInfo } from 'node:net';
import { RunStream } from '../../apps/api/src/runs/run-stream.service';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';

interface RunEvent {
  id: string;
  flow: string;
  status: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** An open `GET /api/runs/stream`, read as it arrives: its `event: run` frames, parsed. */
class StreamReader {
  readonly events: RunEvent[] = [];
  /** Frames read so far, comments included (the first, `retry:`, comes at once). */
  frames = 0;
  text = '';
  ended = false;

  private constructor(
    readonly res: Response,
    private readonly controller: AbortController,
  ) {}

  static async open(base: string, auth: Record<string, string>, query = ''): Promise<StreamReader> {
    const controller = new AbortController();
    const res = await fetch(`${base}/api/runs/stream${query}`, { headers: auth, signal: controller.signal });
    const reader = new StreamReader(res, controller);
    if (res.status === 200) void reader.pump();
    return reader;
  }

  private async pump(): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of this.res.body as unknown as AsyncIterable<Uint8Array>) {
        this.text += decoder.decode(chunk, { stream: true });
        const frames = this.text.split('\n\n');
        this.text = frames.pop()!;
        for (const frame of frames) {
          this.frames++;
          const lines = frame.split('\n');
          if (!lines.includes('event: run')) continue;
          const data = lines.find((l) => l.startsWith('data: '))!;
          this.events.push(JSON.parse(data.slice('data: '.length)) as RunEvent);
        }
      }
    } catch {
      // Aborted by the test.
    }
    this.ended = true;
  }

  of(runId: string): string[] {
    return this.events.filter((e) => e.id === runId).map((e) => e.status);
  }

  close(): void {
    this.controller.abort();
  }
}

/** `GET /api/runs/stream`: Server-Sent Events of runs created and changing status, as they happen. */
describe('run stream', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;
  let base: string;
  const readers: StreamReader[] = [];

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start();
    base = `http://127.0.0.1:${(hf.api.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const r of readers) r.close();
    await hf?.close();
    await sink?.close();
  });

  const open = async (query = '') => {
    const reader = await StreamReader.open(base, hf.auth, query);
    readers.push(reader);
    return reader;
  };

  const flow = (slug: string) =>
    hf.createFlow({
      slug,
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'deliver',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/${slug}`, json: '{{input}}' },
        },
      ],
    });

  it('sends a run as it is created, starts and succeeds, to the streams that want its flow', async () => {
    const { hookPath } = await flow('watched');
    const other = await flow('elsewhere');
    const all = await open();
    const onlyOther = await open('?flow=elsewhere');
    expect(all.res.status).toBe(200);
    expect(all.res.headers.get('content-type')).toContain('text/event-stream');
    await waitFor(() => all.frames > 0, { what: 'the stream to open' });

    const release = sink.hold('/watched');
    const { body } = await hf.http().post(hookPath).send({ n: 1 }).expect(202);
    // Held at its action: the run is running, and the stream says so without being asked.
    await waitFor(() => all.of(body.runId).includes('running'), { what: 'running on the stream' });
    release();
    await waitFor(() => all.of(body.runId).includes('succeeded'), { what: 'succeeded on the stream' });
    const statuses = all.of(body.runId);
    expect(statuses.at(-1)).toBe('succeeded');
    expect(statuses.indexOf('running')).toBeLessThan(statuses.indexOf('succeeded'));
    expect(statuses.filter((s) => s === 'succeeded')).toHaveLength(1);
    const done = all.events.find((e) => e.id === body.runId && e.status === 'succeeded')!;
    expect(done).toMatchObject({
      flow: 'watched',
      startedAt: expect.any(String),
      finishedAt: expect.any(String),
    });

    const second = await hf
      .http()
      .post(new URL(other.flow.triggerUrl as string).pathname)
      .send({})
      .expect(202);
    await waitFor(() => onlyOther.of(second.body.runId).includes('succeeded'), { what: 'the other flow' });
    expect(onlyOther.events.every((e) => e.flow === 'elsewhere')).toBe(true);
    expect(onlyOther.of(body.runId)).toEqual([]);
  });

  it('refuses a flow that is no slug, and a key-less caller', async () => {
    const bad = await open('?flow=No%20Slug');
    expect(bad.res.status).toBe(400);
    expect(await bad.res.json()).toMatchObject({ details: [{ path: '/flow' }] });
    const anonymous = await fetch(`${base}/api/runs/stream`);
    expect(anonymous.status).toBe(401);
  });

  it('answers 503 beyond its bound of streams, and takes one again when a client leaves', async () => {
    const stream = hf.api.get(RunStream);
    const before = stream.open;
    stream.maxStreams = before + 1;
    try {
      const last = await open();
      expect(last.res.status).toBe(200);
      const refused = await open();
      expect(refused.res.status).toBe(503);
      expect(await refused.res.json()).toMatchObject({ error: 'unavailable' });
      last.close();
      await waitFor(() => stream.open === before, { what: 'the stream to be let go' });
      expect((await open()).res.status).toBe(200);
    } finally {
      stream.maxStreams = 200;
    }
  });

  it('ends every stream when the API closes, without holding its close', async () => {
    const reader = await open();
    await waitFor(() => reader.frames > 0, { what: 'the stream to open' });
    const stream = hf.api.get(RunStream);
    await hf.api.close();
    // Closed here; the harness's close must not close it again.
    (hf as { api?: unknown }).api = undefined;
    await waitFor(() => reader.ended, { what: 'the stream to end', timeoutMs: 5_000 });
    expect(stream.open).toBe(0);
  });
});
