import path from 'node:path';
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
      workerSynchronousCommit: false,
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
      WORKER_SYNCHRONOUS_COMMIT: 'on',
      LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      port: 8080,
      publicUrl: 'https://hooks.example.com',
      redisUrl: 'redis://cache:6379',
      workerConcurrency: 4,
      workerSynchronousCommit: true,
      logLevel: 'debug',
    });
  });

  it('reads LOG_FORMAT: JSON lines unless NODE_ENV=development, which is pretty; the variable wins', () => {
    expect(loadConfig(base).logFormat).toBe('json');
    expect(loadConfig({ ...base, NODE_ENV: 'development' }).logFormat).toBe('pretty');
    expect(loadConfig({ ...base, NODE_ENV: 'development', LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(loadConfig({ ...base, LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(loadConfig({ ...base, LOG_FORMAT: '' }).logFormat).toBe('json');
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
    expect(problems({ ...base, DEDUPE_WINDOW: '366d' })).toEqual([
      { variable: 'DEDUPE_WINDOW', message: expect.stringContaining("'365d'") },
    ]);
    expect(loadConfig({ ...base, DEDUPE_WINDOW: '365d' }).dedupeWindowMs).toBe(365 * 86_400_000);
    expect(loadConfig(base)).toMatchObject({
      destinationPauseAfter: 20,
      destinationCooldownMs: 30_000,
      destinationDisableAfterMs: 5 * 86_400_000,
    });
    expect(
      loadConfig({
        ...base,
        DESTINATION_PAUSE_AFTER: '3',
        DESTINATION_COOLDOWN: '500ms',
        DESTINATION_DISABLE_AFTER: '2000',
      }),
    ).toMatchObject({
      destinationPauseAfter: 3,
      destinationCooldownMs: 500,
      destinationDisableAfterMs: 2000,
    });
    expect(problems({ ...base, DESTINATION_COOLDOWN: '2h' })).toEqual([
      { variable: 'DESTINATION_COOLDOWN', message: expect.stringContaining("'1h'") },
    ]);
    expect(problems({ ...base, DESTINATION_PAUSE_AFTER: '0' })[0].variable).toBe('DESTINATION_PAUSE_AFTER');
    expect(problems({ ...base, DESTINATION_DISABLE_AFTER: 'soon' })[0].variable).toBe(
      'DESTINATION_DISABLE_AFTER',
    );
    expect(problems({ ...base, TRUST_PROXY: 'yes' })[0].variable).toBe('TRUST_PROXY');
    expect(problems({ ...base, TRUST_PROXY: '2' })[0].variable).toBe('TRUST_PROXY');
    expect(loadConfig({ ...base, TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
    ]);
    expect(loadConfig({ ...base, TRUST_PROXY: '0' }).trustProxy).toBe(false);
  });

  it('reads the limit on failed signature checks: 20 a minute by default, off for none', () => {
    expect(loadConfig(base).verifyFailureLimit).toEqual({ limit: 20, perMs: 60_000 });
    expect(loadConfig({ ...base, VERIFY_FAILURE_LIMIT: '5/1h' }).verifyFailureLimit).toEqual({
      limit: 5,
      perMs: 3_600_000,
    });
    expect(loadConfig({ ...base, VERIFY_FAILURE_LIMIT: 'off' }).verifyFailureLimit).toBeUndefined();
    for (const bad of ['20', 'many/1m', '0/1m', '5/never']) {
      expect(problems({ ...base, VERIFY_FAILURE_LIMIT: bad })).toEqual([
        { variable: 'VERIFY_FAILURE_LIMIT', message: expect.stringContaining("'20/1m'") },
      ]);
    }
  });

  it('reads METRICS_TOKEN: unset by default, at least 16 characters, never echoed', () => {
    expect(loadConfig(base).metricsToken).toBeUndefined();
    expect(loadConfig({ ...base, METRICS_TOKEN: 'scrape-token-0123456789' }).metricsToken).toBe(
      'scrape-token-0123456789',
    );
    const found = problems({ ...base, METRICS_TOKEN: 'short-token' });
    expect(found).toEqual([{ variable: 'METRICS_TOKEN', message: expect.stringContaining('16') }]);
    expect(JSON.stringify(found)).not.toContain('short-token');
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

  it('reads retention: 30 days hourly in batches of 1000 by default, 0 days keeps history forever', () => {
    expect(loadConfig(base)).toMatchObject({
      retentionMs: 30 * 86_400_000,
      retentionIntervalMs: 3_600_000,
      retentionBatchSize: 1000,
    });
    expect(
      loadConfig({ ...base, RETENTION_DAYS: '7', RETENTION_INTERVAL: '15m', RETENTION_BATCH_SIZE: '5000' }),
    ).toMatchObject({ retentionMs: 7 * 86_400_000, retentionIntervalMs: 900_000, retentionBatchSize: 5000 });
    expect(loadConfig({ ...base, RETENTION_DAYS: '0' }).retentionMs).toBe(0);
    expect(loadConfig({ ...base, RETENTION_INTERVAL: '60000' }).retentionIntervalMs).toBe(60_000);
    for (const [variable, value] of [
      ['RETENTION_DAYS', '-1'],
      ['RETENTION_DAYS', '1.5'],
      ['RETENTION_DAYS', 'a month'],
      ['RETENTION_INTERVAL', 'hourly'],
      ['RETENTION_INTERVAL', '0s'],
      // Past a day (and Node's ~24.8-day timer limit) an interval is surely a mistake.
      ['RETENTION_INTERVAL', '30d'],
      ['RETENTION_BATCH_SIZE', '0'],
      ['RETENTION_BATCH_SIZE', '1000000'],
    ]) {
      expect(problems({ ...base, [variable]: value }).map((p) => p.variable)).toEqual([variable]);
    }
  });

  it('reads the shutdown grace, 30 s by default', () => {
    expect(loadConfig(base)).toMatchObject({ shutdownGraceMs: 30_000 });
    expect(loadConfig({ ...base, SHUTDOWN_GRACE_MS: '5000' })).toMatchObject({ shutdownGraceMs: 5000 });
    for (const [variable, value] of [
      ['SHUTDOWN_GRACE_MS', '0'],
      ['SHUTDOWN_GRACE_MS', '30s'],
    ]) {
      expect(problems({ ...base, [variable]: value }).map((p) => p.variable)).toEqual([variable]);
    }
  });

  it("reads the heap's growth between full collections: 20 % by default, 0 for V8's own", () => {
    expect(loadConfig(base).heapGrowthPercent).toBe(20);
    expect(loadConfig({ ...base, HEAP_GROWTH_PERCENT: '0' }).heapGrowthPercent).toBe(0);
    for (const value of ['-5', '12.5', 'lots', '1000'])
      expect(problems({ ...base, HEAP_GROWTH_PERCENT: value }).map((p) => p.variable)).toEqual([
        'HEAP_GROWTH_PERCENT',
      ]);
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
    [{ WORKER_SYNCHRONOUS_COMMIT: 'maybe' }, 'WORKER_SYNCHRONOUS_COMMIT'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ LOG_FORMAT: 'xml' }, 'LOG_FORMAT'],
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
  it('reads WEB_ROOT as an absolute path, unset by default', () => {
    expect(loadConfig(base).webRoot).toBeUndefined();
    expect(loadConfig({ ...base, WEB_ROOT: '/srv/hookflow-web' }).webRoot).toBe('/srv/hookflow-web');
    expect(loadConfig({ ...base, WEB_ROOT: 'web/dist' }).webRoot).toBe(path.resolve('web/dist'));
  });
});
