import type { CommandContext } from './command-context';
import { Output } from './output';
import {
  formatSubscriptions,
  subscriptionsCreateHandler,
  subscriptionsDeleteHandler,
  type SubscriptionAnswer,
} from './subscriptions.command';

const subscription = (overrides: Partial<SubscriptionAnswer> = {}): SubscriptionAnswer => ({
  id: '0c6b2f44-1f7e-4f62-9a57-0d5f3c1b2a10',
  url: 'https://ops.example.com/hookflow',
  events: ['run.failed', 'poll.failed'],
  flows: [],
  description: null,
  enabled: true,
  ...overrides,
});

/** A handler's context over a fake API answering `answer`, recording what was asked. */
function context(options: Record<string, unknown>, answer: unknown) {
  const out = { stdout: '' };
  const asked: unknown[][] = [];
  const ctx = {
    options,
    out: new Output(
      {
        stdout: { write: (chunk: string) => (out.stdout += chunk) },
        stderr: { write: () => true },
        env: {},
        cwd: '/',
      },
      options.json === true,
    ),
    api: () => ({
      json: async (...args: unknown[]) => {
        asked.push(args);
        return answer;
      },
    }),
  } as unknown as CommandContext<Record<string, string>>;
  return { ctx, out, asked };
}

describe('hookflow subscriptions', () => {
  it('lists subscriptions, * for every flow', () => {
    expect(
      formatSubscriptions([subscription(), subscription({ id: 'b', enabled: false, flows: ['orders-*'] })]),
    ).toEqual([
      'ID                                    ENABLED  EVENTS                  FLOWS     URL',
      '0c6b2f44-1f7e-4f62-9a57-0d5f3c1b2a10  yes      run.failed,poll.failed  *         https://ops.example.com/hookflow',
      'b                                     no       run.failed,poll.failed  orders-*  https://ops.example.com/hookflow',
    ]);
    expect(formatSubscriptions([])).toEqual(['no subscriptions']);
  });

  it('creates one from comma-separated lists and prints its secret once', async () => {
    const { ctx, out, asked } = context(
      { events: 'run.failed, poll.failed', flows: 'orders-*' },
      subscription({ secret: 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0' }),
    );
    expect(await subscriptionsCreateHandler(ctx, 'https://ops.example.com/hookflow')).toBe(0);
    expect(asked).toEqual([
      [
        'POST',
        '/api/subscriptions',
        {
          body: {
            url: 'https://ops.example.com/hookflow',
            events: ['run.failed', 'poll.failed'],
            flows: ['orders-*'],
          },
        },
      ],
    ]);
    expect(out.stdout).toContain('whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0');
  });

  it('asks for --events', async () => {
    const { ctx } = context({}, subscription());
    await expect(subscriptionsCreateHandler(ctx, 'https://ops.example.com/x')).rejects.toMatchObject({
      code: 'usage',
    });
  });

  it('deletes one by id', async () => {
    const { ctx, asked } = context({}, undefined);
    expect(await subscriptionsDeleteHandler(ctx, 'abc')).toBe(0);
    expect(asked).toEqual([['DELETE', '/api/subscriptions/abc']]);
  });
});
