import { LookupCache } from './lookup-cache';

/** A load that waits until the test lets it finish, with the value the store holds by then. */
function store() {
  const values = new Map<string, string>();
  const loads: { key: string; finish: () => void }[] = [];
  let held = false;
  const load = async (key: string, entry: { ttlMs: number }) => {
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    loads.push({ key, finish });
    if (!held) finish();
    await done;
    if (key.startsWith('short')) entry.ttlMs = 1;
    if (key.startsWith('fail')) throw new Error(`cannot read ${key}`);
    const value = values.get(key);
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
    cache: new LookupCache<{ value: string }>({ max: 100, ttlMs: 60_000, load }),
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

  it('does not keep what a load read before clear(): its callers load again', async () => {
    const s = store();
    s.values.set('a', 'old');
    s.hold();
    const before = s.cache.get('a');
    s.values.set('a', 'new');
    s.cache.clear();
    s.release();
    expect(await before).toEqual({ value: 'new' });
    expect(await s.cache.get('a')).toEqual({ value: 'new' });
    expect(s.loads).toHaveLength(2);
  });

  it('keeps neither undefined nor a failure', async () => {
    const s = store();
    expect(await s.cache.get('missing')).toBeUndefined();
    expect(await s.cache.get('missing')).toBeUndefined();
    await expect(s.cache.get('fail')).rejects.toThrow('cannot read fail');
    await expect(s.cache.get('fail')).rejects.toThrow('cannot read fail');
    expect(s.loads.map((l) => l.key)).toEqual(['missing', 'missing', 'fail', 'fail']);
  });

  it('keeps an entry for the time its load chose', async () => {
    const s = store();
    s.values.set('short', 'x').set('long', 'y');
    await s.cache.get('short');
    await s.cache.get('long');
    const deadline = Date.now() + 2_000;
    while (s.loads.filter((l) => l.key === 'short').length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setImmediate(resolve));
      await s.cache.get('short');
    }
    await s.cache.get('long');
    expect(s.loads.filter((l) => l.key === 'short').length).toBe(2);
    expect(s.loads.filter((l) => l.key === 'long').length).toBe(1);
  });
});
