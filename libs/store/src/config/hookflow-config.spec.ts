import { ConfigError, loadConfig } from './hookflow-config';

const base = {
  DATABASE_URL: 'postgres://hookflow@db:5432/hookflow',
  HOOKFLOW_API_KEY: 'a-key-of-sixteen-chars',
};

function problems(env: Record<string, string>): { variable: string; message: string }[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies defaults', () => {
    expect(loadConfig(base)).toMatchObject({
      port: 3000,
      publicUrl: 'http://localhost:3000',
      databaseSchema: 'public',
      redisUrl: undefined,
      queuePrefix: 'hookflow',
      workerConcurrency: 16,
      maxBodyBytes: 1048576,
    });
  });

  it('reads every variable it knows', () => {
    const config = loadConfig({
      ...base,
      PORT: '8080',
      PUBLIC_URL: 'https://hooks.example.com/',
      REDIS_URL: 'redis://cache:6379',
      WORKER_CONCURRENCY: '4',
      LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      port: 8080,
      publicUrl: 'https://hooks.example.com',
      redisUrl: 'redis://cache:6379',
      workerConcurrency: 4,
      logLevel: 'debug',
    });
  });

  it('reads the ingress limits, with safe defaults', () => {
    expect(loadConfig(base)).toMatchObject({
      trustProxy: false,
      maxHeaderCount: 100,
      maxHeaderBytes: 12 * 1024,
      maxJsonDepth: 64,
      maxXmlDepth: 64,
      sensitiveHeaders: [],
      dedupeWindowMs: 7 * 86_400_000,
    });
    expect(
      loadConfig({
        ...base,
        TRUST_PROXY: 'true',
        MAX_HEADER_COUNT: '50',
        MAX_JSON_DEPTH: '16',
        SENSITIVE_HEADERS: 'X-Partner-Key, x-tenant-pin',
        DEDUPE_WINDOW: '12h',
      }),
    ).toMatchObject({
      trustProxy: true,
      maxHeaderCount: 50,
      maxJsonDepth: 16,
      sensitiveHeaders: ['x-partner-key', 'x-tenant-pin'],
      dedupeWindowMs: 12 * 3_600_000,
    });
    expect(loadConfig({ ...base, DEDUPE_WINDOW: '60000' }).dedupeWindowMs).toBe(60_000);
    expect(problems({ ...base, DEDUPE_WINDOW: 'a week' })).toEqual([
      { variable: 'DEDUPE_WINDOW', message: expect.stringContaining('duration') },
    ]);
    expect(problems({ ...base, DEDUPE_WINDOW: '0s' })[0].variable).toBe('DEDUPE_WINDOW');
    expect(problems({ ...base, TRUST_PROXY: 'yes' })[0].variable).toBe('TRUST_PROXY');
    expect(problems({ ...base, TRUST_PROXY: '2' })[0].variable).toBe('TRUST_PROXY');
    expect(loadConfig({ ...base, TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
    ]);
    expect(loadConfig({ ...base, TRUST_PROXY: '0' }).trustProxy).toBe(false);
  });

  it('reads OUTBOUND_ALLOW as hosts and CIDRs, none by default, and names a bad entry', () => {
    expect(loadConfig(base).outboundAllow).toEqual([]);
    expect(
      loadConfig({ ...base, OUTBOUND_ALLOW: ' hooks.internal, 10.0.0.0/8,::1 ,[::1]/128,' }).outboundAllow,
    ).toEqual(['hooks.internal', '10.0.0.0/8', '::1', '[::1]/128']);
    for (const bad of ['10.0.0.0/33', 'http://x', '*.example.com', 'host/24']) {
      const [problem] = problems({ ...base, OUTBOUND_ALLOW: `127.0.0.1/32,${bad}` });
      expect(problem).toEqual({ variable: 'OUTBOUND_ALLOW', message: expect.stringContaining(`'${bad}'`) });
    }
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ ...base, REDIS_URL: '', PORT: '' })).toMatchObject({
      redisUrl: undefined,
      port: 3000,
    });
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x/y' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'http://cache' }, 'REDIS_URL'],
    [{ HOOKFLOW_API_KEY: 'short' }, 'HOOKFLOW_API_KEY'],
    [{ WORKER_CONCURRENCY: '0' }, 'WORKER_CONCURRENCY'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ DATABASE_SCHEMA: 'Robert"); DROP' }, 'DATABASE_SCHEMA'],
  ])('names the variable of a bad value: %j', (bad, variable) => {
    expect(problems({ ...base, ...bad }).map((p) => p.variable)).toEqual([variable]);
  });

  it('names every missing required variable without echoing values', () => {
    expect(problems({})).toEqual([
      { variable: 'DATABASE_URL', message: 'is required' },
      { variable: 'HOOKFLOW_API_KEY', message: 'is required' },
    ]);
    const err = (() => {
      try {
        loadConfig({ ...base, HOOKFLOW_API_KEY: 'tiny-secret' });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toContain('HOOKFLOW_API_KEY');
    expect(err?.message).not.toContain('tiny-secret');
  });

  describe('HOOKFLOW_MASTER_KEY', () => {
    const raw = Buffer.alloc(32, 7);

    it('is optional: unset or empty means no secret store', () => {
      expect(loadConfig(base).masterKey).toBeUndefined();
      expect(loadConfig({ ...base, HOOKFLOW_MASTER_KEY: '' }).masterKey).toBeUndefined();
    });

    it.each([
      ['base64', raw.toString('base64')],
      ['hex', raw.toString('hex')],
    ])('reads 32 bytes as %s', (_, text) => {
      expect(loadConfig({ ...base, HOOKFLOW_MASTER_KEY: text }).masterKey?.equals(raw)).toBe(true);
    });

    it.each([
      ['a passphrase', 'my master key is long enough'],
      ['16 bytes', Buffer.alloc(16, 1).toString('base64')],
      ['33 bytes of hex', Buffer.alloc(33, 1).toString('hex')],
    ])('refuses %s, naming the variable and not the value', (_, text) => {
      const found = problems({ ...base, HOOKFLOW_MASTER_KEY: text });
      expect(found).toEqual([
        { variable: 'HOOKFLOW_MASTER_KEY', message: expect.stringMatching(/32 bytes/) },
      ]);
      expect(JSON.stringify(found)).not.toContain(text);
    });
  });
});
