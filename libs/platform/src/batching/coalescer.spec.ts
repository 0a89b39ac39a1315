import { Coalescer, ItemFailure } from './coalescer';

/** A batch runner whose batches finish when the test says so. */
function controlled() {
  const batches: { items: number[]; finish: () => void; fail: (e: Error) => void }[] = [];
  const run = (items: number[]) =>
    new Promise<number[]>((resolve, reject) => {
      batches.push({ items, finish: () => resolve(items.map((i) => i * 10)), fail: reject });
    });
  return { batches, run };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('Coalescer', () => {
  it('runs an item at once while below maxInFlight, then batches what waits', async () => {
    const { batches, run } = controlled();
    const c = new Coalescer(run, { maxBatch: 10, maxInFlight: 1 });
    const first = c.submit(1);
    expect(batches.map((b) => b.items)).toEqual([[1]]);
    const rest = [2, 3, 4].map((i) => c.submit(i));
    expect(batches).toHaveLength(1);
    batches[0].finish();
    await expect(first).resolves.toBe(10);
    expect(batches.map((b) => b.items)).toEqual([[1], [2, 3, 4]]);
    batches[1].finish();
    await expect(Promise.all(rest)).resolves.toEqual([20, 30, 40]);
  });

  it('caps a batch at maxBatch and keeps maxInFlight batches running', async () => {
    const { batches, run } = controlled();
    const c = new Coalescer(run, { maxBatch: 2, maxInFlight: 2 });
    const all = [1, 2, 3, 4, 5, 6].map((i) => c.submit(i));
    expect(batches.map((b) => b.items)).toEqual([[1], [2]]);
    batches[0].finish();
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1], [2], [3, 4]]);
    batches[1].finish();
    await tick();
    batches[2].finish();
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1], [2], [3, 4], [5, 6]]);
    batches[3].finish();
    await expect(Promise.all(all)).resolves.toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('rejects every item of a failed batch, and goes on with the next', async () => {
    const { batches, run } = controlled();
    const c = new Coalescer(run, { maxBatch: 10, maxInFlight: 1 });
    const first = c.submit(1);
    const second = c.submit(2);
    const third = c.submit(3);
    batches[0].fail(new Error('down'));
    await expect(first).rejects.toThrow('down');
    batches[1].fail(new Error('still down'));
    await expect(second).rejects.toThrow('still down');
    await expect(third).rejects.toThrow('still down');
    const fourth = c.submit(4);
    batches[2].finish();
    await expect(fourth).resolves.toBe(40);
  });

  it('rejects only the items a batch answers with an ItemFailure', async () => {
    const c = new Coalescer(
      async (items: number[]) => items.map((i) => (i % 2 ? i : new ItemFailure(new Error(`bad ${i}`)))),
      { maxBatch: 10, maxInFlight: 1 },
    );
    const results = await Promise.allSettled([1, 2, 3].map((i) => c.submit(i)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      1,
      'bad 2',
      3,
    ]);
  });

  it('with sameTurn, sends the items of one event-loop turn together', async () => {
    const { batches, run } = controlled();
    const c = new Coalescer(run, { maxBatch: 3, maxInFlight: 2, sameTurn: true });
    const all = [1, 2, 3, 4].map((i) => c.submit(i));
    expect(batches).toHaveLength(0);
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1, 2, 3], [4]]);
    const later = c.submit(5);
    await tick();
    // Two batches in flight: the next waits for one of them.
    expect(batches).toHaveLength(2);
    batches[0].finish();
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1, 2, 3], [4], [5]]);
    batches[1].finish();
    batches[2].finish();
    await expect(Promise.all([...all, later])).resolves.toEqual([10, 20, 30, 40, 50]);
  });
});
