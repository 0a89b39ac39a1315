import { jest } from '@jest/globals';
import { AnswerWaiters, type WaitEnd } from './answer-waiters';

const RUN = '00000000-0000-4000-8000-000000000001';
const OTHER = '00000000-0000-4000-8000-000000000002';
const answer = { status: 200, headers: { 'content-type': 'text/plain' }, body: 'hi' };

/** Whether a wait has ended yet, and how. */
function watch(wait: Promise<WaitEnd> | null): { end?: WaitEnd } {
  const seen: { end?: WaitEnd } = {};
  void wait?.then((end) => (seen.end = end));
  return seen;
}

describe('AnswerWaiters', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it("ends a wait with the run's answer when it comes before the timeout", async () => {
    const waiters = new AnswerWaiters(10);
    const seen = watch(waiters.wait(RUN, 1_000));
    await jest.advanceTimersByTimeAsync(999);
    waiters.settle({ runId: RUN, kind: 'answer', answer });
    await jest.advanceTimersByTimeAsync(0);
    expect(seen.end).toEqual({ kind: 'answer', answer });
    expect(waiters.size).toBe(0);
  });

  it('ends a wait with the default at the timeout, and drops the answer that comes late', async () => {
    const waiters = new AnswerWaiters(10);
    const seen = watch(waiters.wait(RUN, 1_000));
    await jest.advanceTimersByTimeAsync(999);
    expect(seen.end).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(seen.end).toEqual({ kind: 'default', why: 'timeout' });
    waiters.settle({ runId: RUN, kind: 'answer', answer });
    await jest.advanceTimersByTimeAsync(0);
    expect(seen.end).toEqual({ kind: 'default', why: 'timeout' });
    expect(waiters.size).toBe(0);
  });

  it.each<[string, 'none' | 'stored', WaitEnd]>([
    ['none: the run will not answer', 'none', { kind: 'default', why: 'ended' }],
    ['stored: the answer is read from the store', 'stored', { kind: 'stored' }],
  ])('ends a wait on %s', async (_name, kind, expected) => {
    const waiters = new AnswerWaiters(10);
    const seen = watch(waiters.wait(RUN, 1_000));
    waiters.settle({ runId: RUN, kind });
    await jest.advanceTimersByTimeAsync(0);
    expect(seen.end).toEqual(expected);
  });

  it("ignores messages about runs nobody here waits for (another replica's)", async () => {
    const waiters = new AnswerWaiters(10);
    const seen = watch(waiters.wait(RUN, 1_000));
    waiters.settle({ runId: OTHER, kind: 'answer', answer });
    await jest.advanceTimersByTimeAsync(0);
    expect(seen.end).toBeUndefined();
    expect(waiters.size).toBe(1);
  });

  it('takes at most `max` waits at once, and more again once one ended', async () => {
    const waiters = new AnswerWaiters(2);
    watch(waiters.wait(RUN, 1_000));
    watch(waiters.wait(OTHER, 5_000));
    expect(waiters.wait('00000000-0000-4000-8000-000000000003', 1_000)).toBeNull();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(waiters.size).toBe(1);
    expect(waiters.wait('00000000-0000-4000-8000-000000000003', 1_000)).not.toBeNull();
  });

  it('takes none with max 0', () => {
    expect(new AnswerWaiters(0).wait(RUN, 1_000)).toBeNull();
  });

  it('ends a wait when the sender leaves, and at once when it left before', async () => {
    const waiters = new AnswerWaiters(10);
    const left = new AbortController();
    const seen = watch(waiters.wait(RUN, 1_000, left.signal));
    left.abort();
    await jest.advanceTimersByTimeAsync(0);
    expect(seen.end).toEqual({ kind: 'gone' });
    expect(waiters.size).toBe(0);
    await expect(waiters.wait(OTHER, 1_000, left.signal)).resolves.toEqual({ kind: 'gone' });
  });

  it('ends every wait with the default when the channel is lost', async () => {
    const waiters = new AnswerWaiters(10);
    const one = watch(waiters.wait(RUN, 1_000));
    const two = watch(waiters.wait(OTHER, 1_000));
    waiters.settleAll();
    await jest.advanceTimersByTimeAsync(0);
    expect([one.end, two.end]).toEqual([
      { kind: 'default', why: 'unheard' },
      { kind: 'default', why: 'unheard' },
    ]);
    expect(jest.getTimerCount()).toBe(0);
  });
});
