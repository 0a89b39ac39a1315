import { formatRunDetail, formatRunList, shortTime, type RunDetail } from './runs.command';

describe('runs output', () => {
  it('lists runs as a table', () => {
    expect(
      formatRunList([
        {
          id: 'r-1',
          flow: 'order-fanout',
          status: 'succeeded',
          eventId: 'e-1',
          createdAt: '2024-05-01T12:00:03.120Z',
          startedAt: '2024-05-01T12:00:03.200Z',
          finishedAt: '2024-05-01T12:00:04.400Z',
        },
        {
          id: 'r-22',
          flow: 'x',
          status: 'running',
          eventId: null,
          createdAt: '2024-05-01T12:01:00Z',
          startedAt: null,
          finishedAt: null,
        },
      ]).split('\n'),
    ).toEqual([
      'RUN   FLOW          STATUS     CREATED               DURATION',
      'r-1   order-fanout  succeeded  2024-05-01 12:00:03Z  1.2s',
      'r-22  x             running    2024-05-01 12:01:00Z  -',
    ]);
    expect(formatRunList([])).toBe('no runs');
  });

  it('shows a run with its event and each step, attempts of failed steps in full', () => {
    const run: RunDetail = {
      id: 'r-1',
      flow: 'order-fanout',
      version: 2,
      status: 'failed',
      createdAt: '2024-05-01T12:00:00Z',
      startedAt: '2024-05-01T12:00:00Z',
      finishedAt: '2024-05-01T12:00:02Z',
      originRunId: 'r-0',
      event: {
        id: 'e-1',
        method: 'POST',
        headers: {},
        query: { a: '1' },
        body: { id: 'A-1' },
        contentType: 'application/json',
        sourceIp: '127.0.0.1',
        receivedAt: '2024-05-01T12:00:00Z',
      },
      steps: [
        {
          id: 'order',
          status: 'succeeded',
          input: {},
          output: {},
          error: null,
          startedAt: '2024-05-01T12:00:00Z',
          finishedAt: '2024-05-01T12:00:00.010Z',
          attempts: [
            {
              n: 1,
              startedAt: null,
              durationMs: 10,
              outcome: 'succeeded',
              error: null,
              responseStatus: null,
            },
          ],
        },
        {
          id: 'billing',
          status: 'failed',
          input: {},
          output: null,
          error: { code: 'http_error', message: 'HTTP 500' },
          startedAt: null,
          finishedAt: null,
          attempts: [
            {
              n: 1,
              startedAt: null,
              durationMs: 12,
              outcome: 'failed',
              error: { code: 'http_error', message: 'HTTP 500' },
              responseStatus: 500,
            },
            {
              n: 2,
              startedAt: null,
              durationMs: 1500,
              outcome: 'failed',
              error: 'boom',
              responseStatus: null,
              request: { method: 'POST', url: 'https://billing.example.com/charge' },
              response: null,
            },
          ],
        },
        {
          id: 'notify',
          status: 'succeeded',
          input: {},
          output: {},
          error: null,
          startedAt: null,
          finishedAt: null,
          attempts: [
            {
              n: 1,
              startedAt: null,
              durationMs: 12,
              outcome: 'succeeded',
              error: null,
              responseStatus: 200,
              request: { method: 'POST', url: 'https://hooks.example.com/x' },
              response: { status: 200, body: '{\n  "ok": true\n}', bodyTruncated: true },
            },
          ],
        },
      ],
    };
    expect(formatRunDetail(run)).toEqual([
      'run r-1',
      '  flow     order-fanout v2',
      '  status   failed',
      '  created  2024-05-01 12:00:00Z   started 2024-05-01 12:00:00Z   finished 2024-05-01 12:00:02Z   (2.0s)',
      '  origin   r-0 (retried or replayed from)',
      '',
      'event e-1',
      '  POST application/json from 127.0.0.1 at 2024-05-01 12:00:00Z',
      '  query {"a":"1"}',
      '  body  {"id":"A-1"}',
      '',
      'steps',
      '  STEP     STATUS     ATTEMPTS    TOOK  ERROR',
      '  order    succeeded  1 attempt   10ms',
      '  billing  failed     2 attempts        http_error: HTTP 500',
      '  notify   succeeded  1 attempt',
      '',
      'responses (last attempt)',
      '  STEP     REQUEST                                  RESPONSE',
      '  billing  POST https://billing.example.com/charge  no response (boom)',
      '  notify   POST https://hooks.example.com/x         HTTP 200 { "ok": true }…',
      '',
      '  billing:',
      '    attempt 1: failed HTTP 500, took 12ms: http_error: HTTP 500',
      '    attempt 2: failed, took 1.5s: boom',
    ]);
  });

  it("shows a receiver's control characters in a response instead of sending them to the terminal", () => {
    const run = {
      id: 'r-2',
      flow: 'f',
      version: 1,
      status: 'succeeded',
      eventId: null,
      createdAt: '2024-05-01T12:00:00Z',
      startedAt: null,
      finishedAt: null,
      originRunId: null,
      event: null,
      steps: [
        {
          id: 'call',
          status: 'succeeded',
          input: {},
          output: {},
          error: null,
          startedAt: null,
          finishedAt: null,
          attempts: [
            {
              n: 1,
              startedAt: null,
              durationMs: 1,
              outcome: 'succeeded',
              error: null,
              responseStatus: 200,
              request: { method: 'GET', url: 'https://x.example/\u001b[2J' },
              response: { status: 200, body: 'ok\u001b]52;c;cHduZWQ=\u0007\u001b[2J', bodyTruncated: false },
            },
          ],
        },
      ],
    } as unknown as RunDetail;
    const text = formatRunDetail(run).join('\n');
    // eslint-disable-next-line no-control-regex -- no control character may reach the terminal
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(text).toContain('HTTP 200 ok\\u001b]52;c;cHduZWQ=\\u0007\\u001b[2J');
  });

  it('shows control characters in an error message escaped, on one line', () => {
    const run = {
      id: 'r-3',
      flow: 'f',
      version: 1,
      status: 'failed',
      eventId: null,
      createdAt: '2024-05-01T12:00:00Z',
      startedAt: null,
      finishedAt: null,
      originRunId: null,
      event: null,
      steps: [
        {
          id: 'call',
          status: 'failed',
          input: {},
          output: null,
          error: { code: 'http_error', message: 'bad\n\u001b[2Jreply' },
          startedAt: null,
          finishedAt: null,
          attempts: [
            {
              n: 1,
              startedAt: null,
              durationMs: 1,
              outcome: 'failed',
              error: { code: 'http_error', message: 'bad\n\u001b[2Jreply' },
              responseStatus: null,
            },
          ],
        },
      ],
    } as unknown as RunDetail;
    const text = formatRunDetail(run).join('\n');
    // eslint-disable-next-line no-control-regex -- no control character may reach the terminal
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(text).toContain('http_error: bad \\u001b[2Jreply');
  });

  it('prints times to the second', () => {
    expect(shortTime('2024-05-01T12:00:03.999Z')).toBe('2024-05-01 12:00:03Z');
    expect(shortTime(null)).toBe('-');
    expect(shortTime('garbage')).toBe('garbage');
  });
});
