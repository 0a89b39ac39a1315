import { readiness } from './readiness';
import { within } from './within';

const never = () => new Promise<never>(() => undefined);

describe('within', () => {
  it("gives the work's outcome when it settles in time", async () => {
    await expect(within(Promise.resolve(42), 1000)).resolves.toBe(42);
    await expect(within(Promise.reject(new Error('refused')), 1000)).rejects.toThrow('refused');
  });

  it('gives up at the deadline', async () => {
    await expect(within(never(), 20)).rejects.toThrow('no answer within 20 ms');
  });
});

describe('readiness', () => {
  it('is ready when both stores answer', async () => {
    const warnings: string[] = [];
    const ready = await readiness({ database: async () => 1, queue: async () => ({ waiting: 0 }) }, (line) =>
      warnings.push(line),
    );
    expect(ready).toEqual({ ok: true, body: { status: 'ok', database: 'ok', queue: 'ok' } });
    expect(warnings).toEqual([]);
  });

  it('is not ready when a store does not answer in time or fails, saying why only in the log', async () => {
    const warnings: string[] = [];
    const ready = await readiness(
      {
        database: () => {
          throw new Error('connection refused');
        },
        queue: never,
      },
      (line) => warnings.push(line),
      20,
    );
    expect(ready).toEqual({
      ok: false,
      body: { status: 'unavailable', database: 'unavailable', queue: 'unavailable' },
    });
    expect(warnings.sort()).toEqual([
      'database not ready: connection refused',
      'queue not ready: no answer within 20 ms',
    ]);
  });
});
