import {
  DestinationLimiter,
  MAX_REQUEUE_MS,
  MIN_REQUEUE_MS,
  destinationKey,
  staticDestinationKey,
} from './destination-limiter';

describe('destinationKey', () => {
  it.each<[unknown, string | null]>([
    ['https://Api.Example.com/x?y=1', 'api.example.com:443'],
    ['https://api.example.com:443/', 'api.example.com:443'],
    ['http://api.example.com/', 'api.example.com:80'],
    ['http://127.0.0.1:8080/hook', '127.0.0.1:8080'],
    ['http://127.0.0.1:8081/hook', '127.0.0.1:8081'],
    ['http://[::1]:9000/', '[::1]:9000'],
    ['ftp://example.com/', null],
    ['/relative', null],
    [42, null],
  ])('%p -> %p', (url, key) => expect(destinationKey(url)).toBe(key));
});

describe('staticDestinationKey', () => {
  it.each<[unknown, string | null]>([
    ['https://api.example.com/orders/{{input.id}}', 'api.example.com:443'],
    ['https://api.example.com?x={{input.id}}', 'api.example.com:443'],
    ['https://api.example.com', 'api.example.com:443'],
    ['http://127.0.0.1:3000/{{run.id}}', '127.0.0.1:3000'],
    ['http://127.0.0.1:{{input.port}}/x', null],
    ['https://{{input.host}}/x', null],
    ['https://api.{{input.region}}.example.com/x', null],
    ['{{secret "SLACK_URL"}}', null],
    ['{{input.callback}}', null],
    [undefined, null],
  ])('%p -> %p', (template, key) => expect(staticDestinationKey(template)).toBe(key));
});

describe('DestinationLimiter', () => {
  function clock(start = 1_000_000) {
    let now = start;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  }

  it('grants up to the concurrency cap per key, independently of other keys', () => {
    const limiter = new DestinationLimiter(Date.now, () => 0.5);
    const a1 = limiter.tryAcquire('a:443', { concurrency: 2 });
    const a2 = limiter.tryAcquire('a:443', { concurrency: 2 });
    const a3 = limiter.tryAcquire('a:443', { concurrency: 2 });
    const b1 = limiter.tryAcquire('b:443', { concurrency: 2 });
    expect([a1.ok, a2.ok, a3.ok, b1.ok]).toEqual([true, true, false, true]);
    expect(limiter.inFlight('a:443')).toBe(2);
    if (a1.ok) a1.release();
    if (a1.ok) a1.release(); // a second release is a no-op
    expect(limiter.inFlight('a:443')).toBe(1);
    expect(limiter.tryAcquire('a:443', { concurrency: 2 }).ok).toBe(true);
  });

  it('applies the cap the caller brings (a step override)', () => {
    const limiter = new DestinationLimiter();
    expect(limiter.tryAcquire('a:443', { concurrency: 1 }).ok).toBe(true);
    expect(limiter.tryAcquire('a:443', { concurrency: 1 }).ok).toBe(false);
    expect(limiter.tryAcquire('a:443', { concurrency: 5 }).ok).toBe(true);
  });

  it('sends refused callers away for a jittered time that grows with how long calls take', () => {
    const c = clock();
    let r = 0;
    const limiter = new DestinationLimiter(c.now, () => r);
    const slow = limiter.tryAcquire('slow:80', { concurrency: 1 });
    c.advance(1000);
    if (slow.ok) slow.release();
    limiter.tryAcquire('slow:80', { concurrency: 1 });
    r = 0;
    const low = limiter.tryAcquire('slow:80', { concurrency: 1 });
    r = 1;
    const high = limiter.tryAcquire('slow:80', { concurrency: 1 });
    expect(low).toEqual({ ok: false, retryInMs: MIN_REQUEUE_MS });
    expect(high).toEqual({ ok: false, retryInMs: MIN_REQUEUE_MS + 1000 });

    const fast = new DestinationLimiter(c.now, () => 1);
    fast.tryAcquire('fast:80', { concurrency: 1 });
    const refused = fast.tryAcquire('fast:80', { concurrency: 1 });
    expect(!refused.ok && refused.retryInMs).toBeLessThanOrEqual(MIN_REQUEUE_MS * 3);
    expect(!refused.ok && refused.retryInMs).toBeLessThan(MAX_REQUEUE_MS);
  });

  it('caps starts per rate window and says when the window frees up', () => {
    const c = clock();
    const limiter = new DestinationLimiter(c.now, () => 0);
    const limit = { concurrency: 100, rate: { limit: 2, perMs: 1000 } };
    const first = limiter.tryAcquire('a:443', limit);
    c.advance(100);
    const second = limiter.tryAcquire('a:443', limit);
    c.advance(100);
    const third = limiter.tryAcquire('a:443', limit);
    expect([first.ok, second.ok]).toEqual([true, true]);
    expect(third).toEqual({ ok: false, retryInMs: 800 });
    if (first.ok) first.release();
    c.advance(800);
    expect(limiter.tryAcquire('a:443', limit).ok).toBe(true);
    expect(limiter.tryAcquire('a:443', limit).ok).toBe(false);
  });

  describe('acquire (waiting in process for a fast destination)', () => {
    it('hands a released slot to the longest waiter', async () => {
      const limiter = new DestinationLimiter();
      const limit = { concurrency: 2 };
      const held = [limiter.tryAcquire('fast:80', limit), limiter.tryAcquire('fast:80', limit)];
      const first = limiter.acquire('fast:80', limit, 1_000);
      const second = limiter.acquire('fast:80', limit, 1_000);
      if (held[0].ok) held[0].release();
      const got = await first;
      expect(got.ok).toBe(true);
      expect(limiter.inFlight('fast:80')).toBe(2);
      if (held[1].ok) held[1].release();
      await expect(second).resolves.toMatchObject({ ok: true });
    });

    it('gives up after maxWaitMs with the usual refusal', async () => {
      const limiter = new DestinationLimiter();
      const limit = { concurrency: 1 };
      limiter.tryAcquire('busy:80', limit);
      const started = Date.now();
      const refused = await limiter.acquire('busy:80', limit, 30);
      expect(refused.ok).toBe(false);
      expect(Date.now() - started).toBeGreaterThanOrEqual(25);
      // The waiter is gone: a release now leaves the slot free for anyone.
      expect(limiter.inFlight('busy:80')).toBe(1);
    });

    it('refuses at once for a slow destination, so its backlog holds no worker', async () => {
      const c = clock();
      const limiter = new DestinationLimiter(c.now, () => 0);
      const limit = { concurrency: 1 };
      const call = limiter.tryAcquire('slow:80', limit);
      c.advance(500);
      if (call.ok) call.release();
      limiter.tryAcquire('slow:80', limit);
      const refused = await limiter.acquire('slow:80', limit, 100);
      expect(refused).toEqual({ ok: false, retryInMs: MIN_REQUEUE_MS });
    });

    it('lets callers queue while the line ahead clears within maxWaitMs at the pace of the calls', async () => {
      const c = clock();
      const limiter = new DestinationLimiter(c.now, () => 0);
      const limit = { concurrency: 2 };
      // Calls to this destination hold their slot 10 ms.
      const timed = limiter.tryAcquire('fast:80', limit);
      c.advance(10);
      if (timed.ok) timed.release();
      const held = [limiter.tryAcquire('fast:80', limit), limiter.tryAcquire('fast:80', limit)];
      // 100 ms lets a caller wait behind up to 17 others (10 ms per 2 callers ahead, plus a hold).
      const waiting = Array.from({ length: 18 }, () => limiter.acquire('fast:80', limit, 100));
      const turnedAway = await limiter.acquire('fast:80', limit, 100);
      expect(turnedAway.ok).toBe(false);
      for (const h of held) if (h.ok) h.release();
      const granted = await Promise.all(waiting.slice(0, 2));
      expect(granted.map((g) => g.ok)).toEqual([true, true]);
      for (const g of granted) if (g.ok) g.release();
      for (const w of waiting.slice(2)) {
        const g = await w;
        expect(g.ok).toBe(true);
        if (g.ok) g.release();
      }
    });

    it('lets at most `concurrency` callers wait before any call to the destination was timed', async () => {
      const limiter = new DestinationLimiter();
      const limit = { concurrency: 1 };
      const held = limiter.tryAcquire('fast:80', limit);
      const waiting = limiter.acquire('fast:80', limit, 1_000);
      const turnedAway = await limiter.acquire('fast:80', limit, 1_000);
      expect(turnedAway.ok).toBe(false);
      if (held.ok) held.release();
      await expect(waiting).resolves.toMatchObject({ ok: true });
    });
  });
});
