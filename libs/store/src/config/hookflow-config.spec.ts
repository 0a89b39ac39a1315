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
});
