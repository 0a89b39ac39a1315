import { runCli } from '../../../test/utils/cli-runner';
import { waitFor } from '../../../test/utils/wait-for';
import { listenerOptions, listeningBanner, type ListenFlags } from './listen.command';
import { indentJson, SHOWN_BODY_CHARS, startListener, type Listener, type ReceivedRequest } from './listener';
import { run } from './main';
import type { CliIo } from './output';

interface Captured {
  io: CliIo;
  stdout: () => string;
  stderr: () => string;
}

function capture(extra: Partial<CliIo> = {}): Captured {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    env: {},
    cwd: process.cwd(),
    ...extra,
  };
  return { io, stdout: () => stdout, stderr: () => stderr };
}

describe('hookflow listen', () => {
  const open: Listener[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((l) => l.close()));
  });

  /** A listener on a free loopback port, with the command's own option handling. */
  async function listen(flags: ListenFlags = {}, maxBodyBytes?: number) {
    const out = capture();
    const listener = await startListener(
      { ...listenerOptions({ port: '0', ...flags }), ...(maxBodyBytes ? { maxBodyBytes } : {}) },
      out.io,
    );
    open.push(listener);
    return { listener, ...out };
  }

  const statuses = async (url: string, times: number): Promise<number[]> => {
    const seen: number[] = [];
    for (let i = 0; i < times; i++) seen.push((await fetch(url, { method: 'POST', body: '{}' })).status);
    return seen;
  };

  it('prints method, path and query, headers as sent and the JSON body pretty, and answers 200', async () => {
    const { listener, stdout } = await listen();
    expect(listener.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${listener.url}/orders/A-1?source=shop`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'run-1_notify' },
      body: JSON.stringify({ id: 'A-1', items: [{ sku: 'x', qty: 2 }] }),
    });
    expect(res.status).toBe(200);
    await expect(res.json()).resolves.toEqual({ ok: true });

    const lines = stdout().split('\n');
    expect(lines[0]).toMatch(
      /^#1 \d\d:\d\d:\d\d\.\d{3} POST \/orders\/A-1\?source=shop -> 200 {2}idempotency-key run-1_notify, try 1$/,
    );
    expect(lines).toContain('  Content-Type: application/json');
    expect(lines).toContain('  Idempotency-Key: run-1_notify');
    expect(stdout()).toContain(
      [
        '',
        '  {',
        '    "id": "A-1",',
        '    "items": [',
        '      {',
        '        "sku": "x",',
        '        "qty": 2',
        '      }',
        '    ]',
        '  }',
        '',
        '',
      ].join('\n'),
    );

    // A retry sends the same key: the listener counts it.
    await fetch(`${listener.url}/orders/A-1`, {
      method: 'POST',
      headers: { 'Idempotency-Key': 'run-1_notify' },
    });
    expect(stdout()).toMatch(/\n#2 \S+ POST \/orders\/A-1 -> 200 {2}idempotency-key run-1_notify, try 2\n/);
    expect(listener.count).toBe(2);
  });

  it('answers the status chosen with --status', async () => {
    const { listener, stdout } = await listen({ status: '503' });
    expect(await statuses(listener.url, 2)).toEqual([503, 503]);
    const res = await fetch(listener.url);
    await expect(res.json()).resolves.toEqual({ ok: false, reason: 'hookflow listen --status 503' });
    expect(stdout()).toMatch(/^#1 \S+ POST \/ -> 503\n/);
  });

  it('--fail-first 2 answers 500, 500, then 200', async () => {
    const { listener, stdout } = await listen({ failFirst: '2' });
    const first = await fetch(`${listener.url}/hook`, { method: 'POST' });
    await expect(first.json()).resolves.toEqual({
      ok: false,
      reason: 'hookflow listen --fail-first 2: request 1 of 2',
    });
    expect(await statuses(`${listener.url}/hook`, 3)).toEqual([500, 200, 200]);
    expect(stdout()).toMatch(/^#1 \S+ POST \/hook -> 500 \(fail-first 1 of 2\)\n/);
    expect(stdout()).toMatch(/\n#2 \S+ POST \/hook -> 500 \(fail-first 2 of 2\)\n/);
    expect(stdout()).toMatch(/\n#3 \S+ POST \/hook -> 200\n/);
  });

  it('with --fail-first, an error --status is what fails and a success --status what follows', async () => {
    const failing = await listen({ failFirst: '1', status: '503' });
    expect(await statuses(failing.listener.url, 2)).toEqual([503, 200]);
    const created = await listen({ failFirst: '1', status: '201' });
    expect(await statuses(created.listener.url, 2)).toEqual([500, 201]);
  });

  it('shows text raw, binary as a byte count, a long body cut with a note, and escapes control characters', async () => {
    const { listener, stdout } = await listen();
    await fetch(`${listener.url}/form`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1&b=two\r\nnext \u001b[31mred',
    });
    expect(stdout()).toContain('\n\n  a=1&b=two\n  next \\u001b[31mred\n\n');
    expect(stdout()).not.toContain('\u001b');

    await fetch(`${listener.url}/bin`, { method: 'POST', body: new Uint8Array([0, 159, 255, 1]) });
    expect(stdout()).toContain('\n\n  (binary body, 4 bytes)\n\n');

    await fetch(`${listener.url}/big`, { method: 'POST', body: 'x'.repeat(SHOWN_BODY_CHARS + 10) });
    expect(stdout()).toContain(
      `\n  ... (cut at ${SHOWN_BODY_CHARS} characters of a ${SHOWN_BODY_CHARS + 10}-byte body; --json prints it whole)\n`,
    );
    expect(stdout()).not.toContain('x'.repeat(SHOWN_BODY_CHARS + 1));
  });

  it('shows JSON as it was sent: numbers, key order and duplicates kept; deep nesting bounded', async () => {
    const sent = '{"id":12345678901234567890,"price":1.50,"b":{},"2":[ ],"a":"x\\"y","a":[1,{"k":null}]}';
    expect(indentJson(sent).split('\n')).toEqual([
      '{',
      '  "id": 12345678901234567890,',
      '  "price": 1.50,',
      '  "b": {},',
      '  "2": [],',
      '  "a": "x\\"y",',
      '  "a": [',
      '    1,',
      '    {',
      '      "k": null',
      '    }',
      '  ]',
      '}',
    ]);
    const human = await listen();
    await fetch(human.listener.url, { method: 'POST', body: sent });
    expect(human.stdout()).toContain('\n    "id": 12345678901234567890,\n');

    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    await fetch(human.listener.url, { method: 'POST', body: deep });
    expect(human.stdout()).toMatch(/#2 .*\n {2}\.\.\. \(cut at \d+ characters of a 400000-byte body/s);
    const machine = await listen({ json: true });
    expect((await fetch(machine.listener.url, { method: 'POST', body: deep })).status).toBe(200);
    expect(JSON.parse(machine.stdout())).toMatchObject({ bodyType: 'text', body: deep });
  });

  it('refuses a body over the bound with 413 without keeping it', async () => {
    const { listener, stdout } = await listen({}, 1024);
    const declared = await fetch(`${listener.url}/huge`, { method: 'POST', body: 'y'.repeat(4096) });
    expect(declared.status).toBe(413);
    expect(stdout()).toContain('-> 413\n');
    expect(stdout()).toContain('  (body of 4096 bytes, over the size limit: not read, answered 413)\n');
    // Streamed without a length, it is counted as it arrives.
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(new Uint8Array(512).fill(122));
        controller.close();
      },
    });
    const streamed = await fetch(`${listener.url}/huge`, {
      method: 'POST',
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    const small = await fetch(`${listener.url}/small`, { method: 'POST', body: 'ok' });
    expect(small.status).toBe(200);
  });

  it('--json prints one JSON object per request per line', async () => {
    const { listener, stdout } = await listen({ json: true, failFirst: '1' });
    await fetch(`${listener.url}/a?x=1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'k-1' },
      body: '{"b":1,"a":[true]}',
    });
    await fetch(`${listener.url}/b`, { method: 'POST', body: 'plain' });
    await fetch(`${listener.url}/c`);
    const lines = stdout().trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const [first, second, third] = lines.map((line) => JSON.parse(line) as ReceivedRequest);
    expect(first).toEqual({
      n: 1,
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      method: 'PUT',
      url: '/a?x=1',
      status: 500,
      failing: { n: 1, of: 1 },
      idempotencyKey: 'k-1',
      try: 1,
      headers: expect.objectContaining({ 'content-type': 'application/json', 'idempotency-key': 'k-1' }),
      bodyBytes: 18,
      bodyType: 'json',
      body: { b: 1, a: [true] },
    });
    expect(second).toMatchObject({ n: 2, status: 200, bodyType: 'text', body: 'plain', bodyBytes: 5 });
    expect(third).toMatchObject({ n: 3, method: 'GET', bodyType: 'empty', bodyBytes: 0 });
    expect(third).not.toHaveProperty('body');
  });

  it('--delay answers late, and says when the sender gave up first', async () => {
    const { listener, stderr } = await listen({ delay: '5000' });
    await expect(fetch(listener.url, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    await waitFor(() => stderr().includes('#1: the sender closed the connection after'), {
      what: 'the note on a sender that gave up',
    });
    expect(stderr()).toMatch(/after \d+\.\ds, before the 200 \(a timeout\?\)\n$/);
  });

  it('says which port is in use', async () => {
    const { listener } = await listen();
    const port = new URL(listener.url).port;
    await expect(runCli(['listen', '--port', port])).resolves.toEqual({
      code: 1,
      stdout: '',
      stderr: `hookflow: port ${port} on 127.0.0.1 is already in use: stop what holds it, or pick another with --port\n`,
    });
  });

  it.each([
    [['--port', '70000'], "--port must be a whole number from 0 to 65535, got '70000'"],
    [['--port', 'http'], "--port must be a whole number from 0 to 65535, got 'http'"],
    [['--status', '99'], "--status must be a whole number from 200 to 599, got '99'"],
    [['--status', '2OO'], "--status must be a whole number from 200 to 599, got '2OO'"],
    [['--fail-first', '-1'], "--fail-first must be a whole number from 0 to 1000000, got '-1'"],
    [['--delay', '1.5'], "--delay must be a whole number from 0 to 3600000, got '1.5'"],
    [['--host', ' '], '--host must not be empty'],
  ])('%j is a usage error: exit 2, naming the option', async (argv, message) => {
    await expect(runCli(['listen', ...argv])).resolves.toEqual({
      code: 2,
      stdout: '',
      stderr: `hookflow: ${message}\n`,
    });
  });

  it('runs as a command until its stop signal, printing where to send first', async () => {
    const stop = new AbortController();
    const out = capture({ stopSignal: () => stop.signal });
    const exit = run(['listen', '--port', '0', '--fail-first', '1'], out.io);
    const url = await waitFor(() => /Listening on (http:\/\/127\.0\.0\.1:\d+):/.exec(out.stderr())?.[1], {
      what: 'the listening line',
    });
    expect(out.stderr().split('\n')).toEqual([
      `Listening on ${url}: point a flow's action at ${url}/<any path> (answers 500 to the first request, then 200; Ctrl-C stops)`,
      'The Hookflow server sends to a local address only with OUTBOUND_ALLOW=127.0.0.1 set.',
      '',
    ]);
    expect((await fetch(`${url}/x`)).status).toBe(500);
    stop.abort();
    await expect(exit).resolves.toBe(0);
    expect(out.stdout()).toMatch(/^#1 \S+ GET \/x -> 500 \(fail-first 1 of 1\)\n/);
    expect(out.stderr()).toMatch(/Stopped after 1 request\.\n$/);
    await expect(fetch(url)).rejects.toThrow();
  });

  it('names a wildcard bind by its loopback address, brackets and all', async () => {
    const { listener } = await listen({ host: '0.0.0.0' });
    expect(listener.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(listener.url)).status).toBe(200);
    expect(listeningBanner('http://[::1]:4000', listenerOptions({}))[1]).toContain('OUTBOUND_ALLOW=::1 set');
  });
});
