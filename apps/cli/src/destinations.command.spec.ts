import type { CommandContext } from './command-context';
import {
  destinationsHandler,
  formatDestinations,
  registerDestinationsCommand,
  type DestinationAnswer,
} from './destinations.command';
import { Output } from './output';

const paused: DestinationAnswer = {
  id: '6f1c2b1e-0c1d-4a57-9d3c-2f3d8b0c9a11',
  host: 'billing.example.com:443',
  state: 'paused',
  pausedBy: 'breaker',
  consecutiveFailures: 20,
  failureRate: 0.95,
  lastSuccessAt: null,
  lastError: { code: 'http_error', status: 503, message: 'HTTP 503 from billing.example.com\u001b[31m' },
  pausedUntil: '2024-05-01T10:00:30.000Z',
  waitingSteps: 7,
};

/** A context over a fake API that answers `answers` in turn, recording what was asked. */
function contextOf(options: Record<string, unknown>, answers: unknown[]) {
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
        return answers.shift();
      },
    }),
  } as unknown as CommandContext<Record<string, string>>;
  return { ctx, asked, stdout: () => stdout };
}

describe('hookflow destinations', () => {
  it('prints state, failures, rate, waiting steps, last success and error, with control characters escaped', () => {
    const lines = formatDestinations([paused]);
    expect(lines[0]).toMatch(/^HOST\s+STATE\s+FAILURES\s+RATE\s+WAITING\s+LAST SUCCESS\s+LAST ERROR\s+ID$/);
    expect(lines[1]).toContain('billing.example.com:443');
    expect(lines[1]).toContain('paused (until 2024-05-01 10:00:30Z)');
    expect(lines[1]).toMatch(/\b20\s+95%\s+7\s+-\s+http_error 503: HTTP 503/);
    expect(lines[1]).not.toContain('\u001b');
    expect(formatDestinations([])).toEqual(['No destination has failed.']);
  });

  it('lists through GET /api/destinations with the state filter', async () => {
    const { ctx, asked, stdout } = contextOf({ state: 'paused' }, [{ items: [paused] }]);
    expect(await destinationsHandler(ctx)).toBe(0);
    expect(asked).toEqual([['GET', '/api/destinations', { query: { state: 'paused' } }]]);
    expect(stdout()).toContain('billing.example.com:443');
  });

  it('pauses by host:port: finds its id, then POSTs', async () => {
    let action: ((...args: unknown[]) => Promise<unknown>) | undefined;
    const program = {
      command: () => program,
      description: () => program,
      addOption: () => program,
      action: (fn: (...args: unknown[]) => Promise<unknown>) => {
        action ??= fn;
        return program;
      },
    };
    const handlers: ((ctx: unknown, target: string) => Promise<number>)[] = [];
    registerDestinationsCommand(
      program as never,
      ((handler: (ctx: unknown, target: string) => Promise<number>) => {
        handlers.push(handler);
        return handler;
      }) as never,
    );
    const [, pause] = handlers;
    const { ctx, asked, stdout } = contextOf({}, [{ items: [paused] }, { ...paused, pausedBy: 'hand' }]);
    expect(await pause(ctx, 'Billing.example.com:443')).toBe(0);
    expect(asked).toEqual([
      ['GET', '/api/destinations'],
      ['POST', `/api/destinations/${paused.id}/pause`],
    ]);
    expect(stdout()).toContain('billing.example.com:443: paused, 7 step(s) waiting');
    const unknown = contextOf({}, [{ items: [] }]);
    await expect(pause(unknown.ctx, 'other.example:443')).rejects.toThrow(
      /no destination 'other.example:443'/,
    );
  });
});
