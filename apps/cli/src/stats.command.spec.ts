import type { CommandContext } from './command-context';
import { Output } from './output';
import { formatStats, statsHandler, type StatsAnswer } from './stats.command';

const answer = (): StatsAnswer => ({
  since: '2024-05-01T00:00:00.000Z',
  until: '2024-05-02T00:00:00.000Z',
  bucket: 'hour',
  flowCount: 3,
  destinationCount: 2,
  totals: { queued: 1, running: 0, succeeded: 12, failed: 3, filtered: 2, cancelled: 0 },
  flows: [
    { flow: 'order-fanout', total: 16, failed: 3, failureRate: 0.1875, p50Ms: 1234, p99Ms: 4000 },
    { flow: 'signup', total: 2, failed: 0, failureRate: 0, p50Ms: null, p99Ms: null },
  ],
  destinations: [
    {
      destination: 'billing.example.com:443',
      attempts: 7,
      failed: 7,
      failureRate: 1,
      p50Ms: 12.5,
      p99Ms: 30_000,
      lastStatus: 500,
      lastAttemptAt: '2024-05-01T23:00:00.000Z',
      lastError: { code: 'http_error', message: 'HTTP 500\n  upstream down' },
    },
    {
      destination: 'hooks.example.com:443',
      attempts: 9,
      failed: 0,
      failureRate: 0,
      p50Ms: 80,
      p99Ms: 120,
      lastStatus: null,
      lastAttemptAt: null,
      lastError: null,
    },
  ],
});

describe('stats output', () => {
  it('prints the window, the totals, and tables of flows and destinations with the last errors', () => {
    expect(formatStats(answer())).toEqual([
      'window 2024-05-01 00:00:00Z to 2024-05-02 00:00:00Z, by hour',
      'runs   18: 1 queued, 0 running, 12 succeeded, 3 failed, 2 filtered, 0 cancelled',
      '',
      'FLOW          RUNS  FAILED  FAILURE RATE  P50   P99',
      'order-fanout  16    3       18.8%         1.2s  4.0s',
      'signup        2     0       0%            -     -',
      '(1 more)',
      '',
      'DESTINATION              ATTEMPTS  FAILED  FAILURE RATE  LAST STATUS  P50   P99',
      'billing.example.com:443  7         7       100%          500          13ms  30s',
      'hooks.example.com:443    9         0       0%            -            80ms  120ms',
      '',
      'last errors',
      '  DESTINATION              ERROR',
      '  billing.example.com:443  http_error: HTTP 500 upstream down',
    ]);
  });

  it('says when the window had no runs or attempts, and names the flow it was limited to', () => {
    const empty: StatsAnswer = {
      ...answer(),
      flowCount: 0,
      destinationCount: 0,
      totals: { queued: 0, running: 0, succeeded: 0, failed: 0, filtered: 0, cancelled: 0 },
      flows: [],
      destinations: [],
    };
    expect(formatStats(empty, 'signup')).toEqual([
      'window 2024-05-01 00:00:00Z to 2024-05-02 00:00:00Z, by hour, flow signup only',
      'runs   0: 0 queued, 0 running, 0 succeeded, 0 failed, 0 filtered, 0 cancelled',
      '',
      'no runs',
      '',
      'no attempts',
    ]);
  });

  it("shows control characters of a destination and its receiver's error instead of sending them to the terminal", () => {
    const stats = answer();
    stats.destinations[0].destination = 'evil\u001b[2J.example:443';
    stats.destinations[0].lastError = { code: 'http_error', message: 'no\u001b]52;c;cHduZWQ=\u0007\r' };
    const text = formatStats(stats).join('\n');
    // eslint-disable-next-line no-control-regex -- no control character may reach the terminal
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(text).toContain('evil\\u001b[2J.example:443  7 ');
    expect(text).toContain('http_error: no\\u001b]52;c;cHduZWQ=\\u0007');
  });
});

describe('hookflow stats', () => {
  /** Runs the handler against a fake API answering `answer()`, recording what was asked. */
  async function runStats(options: Record<string, unknown>) {
    let stdout = '';
    const asked: unknown[] = [];
    const ctx = {
      options,
      out: new Output(
        {
          stdout: { write: (chunk: string) => (stdout += chunk) },
          stderr: { write: () => true },
          env: {},
          cwd: '/',
        },
        options.json === true,
      ),
      api: () => ({
        json: async (...args: unknown[]) => {
          asked.push(args);
          return answer();
        },
      }),
    } as unknown as CommandContext<Record<string, string>>;
    const code = await statsHandler(ctx);
    return { code, stdout, asked };
  }

  it('asks GET /api/stats with the options and prints the tables', async () => {
    const result = await runStats({ flow: 'order-fanout', since: '2024-05-01', bucket: 'day', top: '5' });
    expect(result.code).toBe(0);
    expect(result.asked).toEqual([
      [
        'GET',
        '/api/stats',
        { query: { flow: 'order-fanout', since: '2024-05-01', until: undefined, bucket: 'day', top: '5' } },
      ],
    ]);
    expect(result.stdout).toContain(
      'window 2024-05-01 00:00:00Z to 2024-05-02 00:00:00Z, by hour, flow order-fanout only\n',
    );
    expect(result.stdout).toContain('\norder-fanout  16    3       18.8%');
  });

  it('prints the answer unchanged with --json, and nothing else', async () => {
    const result = await runStats({ json: true });
    expect(JSON.parse(result.stdout)).toEqual(answer());
  });

  it.each(['0', '-1', '2.5', 'ten'])('refuses --top %s as a usage error before asking', async (top) => {
    await expect(runStats({ top })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining('--top'),
    });
  });
});
