import { LookupCache } from './lookup-cache';

/** A load that reads the store at once and answers when the test lets it (at once unless held). */
function store(max = 100) {
  const values = new Map<string, string>();
  const loads: { key: string; finish: () => void }[] = [];
  let held = false;
  const load = async (key: string, entry: { ttlMs: number }) => {
    const value = values.get(key);
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    loads.push({ key, finish });
    if (!held) finish();
    await done;
    if (key.startsWith('short')) entry.ttlMs = 1;
    if (key.startsWith('kept')) entry.ttlMs = 0;
    if (key.startsWith('fail')) throw new Error(`cannot read ${key}`);
    return value === undefined ? undefined : { value };
  };
  return {
    values,
    loads,
    hold: () => (held = true),
    release: () => {
      held = false;
      for (const l of loads) l.finish();
    },
    cache: new LookupCache<{ value: string }>({ max, ttlMs: 60_000, load }),
  };
}

describe('LookupCache', () => {
  it('keeps a loaded value, and shares one load among the gets that wait for it', async () => {
    const s = store();
    s.values.set('a', 'one');
    s.hold();
    const gets = Array.from({ length: 20 }, () => s.cache.get('a'));
    s.release();
    expect(await Promise.all(gets)).toEqual(Array(20).fill({ value: 'one' }));
    expect(await s.cache.get('a')).toEqual({ value: 'one' });
    expect(s.loads).toHaveLength(1);
  });

  it('answers every caller of a load that clear() overtook with what is read after it', async () => {
    const s = store();
    s.values.set('a', 'old');
    s.hold();
    const before = [s.cache.get('a'), s.cache.get('a'), s.cache.get('a')];
    s.values.set('a', 'new');
    s.cache.clear();
    const after = s.cache.get('a');
    s.release();
    expect(await Promise.all([...before, after])).toEqual(Array(4).fill({ value: 'new' }));
    expect(await s.cache.get('a')).toEqual({ value: 'new' });
    expect(s.loads).toHaveLength(2);
  });

  it('finishes every load when more keys load at once than it keeps', async () => {
    const s = store(2);
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
    for (const k of keys) s.values.set(k, k);
    s.hold();
    const gets = keys.map((k) => s.cache.get(k));
    s.release();
    expect(await Promise.all(gets)).toEqual(keys.map((value) => ({ value })));
    expect(s.loads).toHaveLength(50);
  });

  it('keeps neither undefined nor a failure', async () => {
    const s = store();
    expect(await s.cache.get('missing')).toBeUndefined();
    expect(await s.cache.get('missing')).toBeUndefined();
    await expect(s.cache.get('fail')).rejects.toThrow('cannot read fail');
    await expect(s.cache.get('fail')).rejects.toThrow('cannot read fail');
    expect(s.loads.map((l) => l.key)).toEqual(['missing', 'missing', 'fail', 'fail']);
  });

  it('keeps an entry for the time its load chose (0: until evicted)', async () => {
    const s = store();
    s.values.set('short', 'x').set('long', 'y').set('kept', 'z');
    await s.cache.get('short');
    await s.cache.get('long');
    await s.cache.get('kept');
    const deadline = Date.now() + 2_000;
    while (s.loads.filter((l) => l.key === 'short').length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setImmediate(resolve));
      await s.cache.get('short');
    }
    await s.cache.get('long');
    await s.cache.get('kept');
    expect(s.loads.filter((l) => l.key === 'short').length).toBe(2);
    expect(s.loads.filter((l) => l.key === 'long').length).toBe(1);
    expect(s.loads.filter((l) => l.key === 'kept').length).toBe(1);
  });
});
