import { loadLauncherConfig, LauncherConfigError } from './launcher.config';

describe('loadLauncherConfig', () => {
  it('defaults to port 3000, the embedded database and ./.data resolved against the working directory', () => {
    expect(loadLauncherConfig({}, '/srv/app')).toEqual({
      port: 3000,
      databaseUrl: undefined,
      redisUrl: undefined,
      dataDir: '/srv/app/.data',
      dataDirSet: false,
      apiKey: undefined,
      masterKey: undefined,
      logLevel: 'log',
      shutdownGraceMs: 30_000,
    });
  });

  it('reads every variable', () => {
    const config = loadLauncherConfig(
      {
        PORT: '8080',
        DATABASE_URL: 'postgresql://u:p@db:5432/hookflow',
        REDIS_URL: 'rediss://cache:6380',
        HOOKFLOW_DATA_DIR: '/var/lib/hookflow',
        HOOKFLOW_API_KEY: 'a-long-enough-admin-key',
        HOOKFLOW_MASTER_KEY: 'a-master-key',
        LOG_LEVEL: 'debug',
        SHUTDOWN_GRACE_MS: '5000',
      },
      '/srv/app',
    );
    expect(config).toEqual({
      port: 8080,
      databaseUrl: 'postgresql://u:p@db:5432/hookflow',
      redisUrl: 'rediss://cache:6380',
      dataDir: '/var/lib/hookflow',
      dataDirSet: true,
      apiKey: 'a-long-enough-admin-key',
      masterKey: 'a-master-key',
      logLevel: 'debug',
      shutdownGraceMs: 5000,
    });
  });

  it('treats empty variables as unset', () => {
    const config = loadLauncherConfig(
      {
        PORT: '',
        DATABASE_URL: '',
        REDIS_URL: '',
        HOOKFLOW_DATA_DIR: '',
        HOOKFLOW_API_KEY: '',
        LOG_LEVEL: '',
      },
      '/srv/app',
    );
    expect(config).toMatchObject({
      port: 3000,
      dataDir: '/srv/app/.data',
      dataDirSet: false,
      logLevel: 'log',
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.apiKey).toBeUndefined();
  });

  it.each([
    ['PORT', 'abc', 'PORT: must be a port number'],
    ['PORT', '0', 'PORT: must be from 1 to 65535'],
    ['PORT', '65536', 'PORT: must be from 1 to 65535'],
    ['PORT', '80.5', 'PORT: must be a whole port number'],
    ['DATABASE_URL', 'mysql://u:p@h/db', 'DATABASE_URL: must be a postgres:// or postgresql:// URL'],
    ['DATABASE_URL', 'not a url', 'DATABASE_URL: must be a postgres:// or postgresql:// URL'],
    ['REDIS_URL', 'http://cache', 'REDIS_URL: must be a redis:// or rediss:// URL'],
    ['HOOKFLOW_API_KEY', 'short', 'HOOKFLOW_API_KEY: must be at least 16 characters'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL: must be one of fatal, error, warn, log, debug, verbose'],
    ['SHUTDOWN_GRACE_MS', '30s', 'SHUTDOWN_GRACE_MS: must be a number of milliseconds'],
    ['SHUTDOWN_GRACE_MS', '0', 'SHUTDOWN_GRACE_MS: must be a whole number of milliseconds'],
  ])('%s=%j stops start-up naming the variable', (variable, value, message) => {
    expect(() => loadLauncherConfig({ [variable]: value })).toThrow(message);
  });

  it('names every bad variable at once and never echoes secret values', () => {
    let error: unknown;
    try {
      loadLauncherConfig({
        PORT: 'x',
        DATABASE_URL: 'mysql://admin:hunter2@db/x',
        HOOKFLOW_API_KEY: 'hunter2',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LauncherConfigError);
    expect((error as LauncherConfigError).problems.map((p) => p.variable)).toEqual([
      'PORT',
      'DATABASE_URL',
      'HOOKFLOW_API_KEY',
    ]);
    expect((error as Error).message).not.toContain('hunter2');
  });
});
