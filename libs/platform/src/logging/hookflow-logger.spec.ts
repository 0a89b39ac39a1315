import { Logger, type LogLevel } from '@nestjs/common';
import { createHookflowLogger, type HookflowLoggerOptions } from './hookflow-logger';

/** A logger writing into an array instead of stdout; `lines()` parses them. */
function capture(options: Partial<HookflowLoggerOptions> = {}) {
  const written: string[] = [];
  const logger = createHookflowLogger({
    app: 'worker',
    level: 'log',
    format: 'json',
    destination: { write: (line: string) => void written.push(line) },
    ...options,
  });
  return { logger, written, lines: () => written.map((line) => JSON.parse(line) as Record<string, any>) };
}

describe('HookflowLogger', () => {
  it('writes one JSON object per line: level by name, ISO time, app, pid, hostname, context, msg', () => {
    const { logger, written, lines } = capture();
    logger.log('worker running', 'Hookflow');
    expect(written).toHaveLength(1);
    expect(written[0].endsWith('\n')).toBe(true);
    expect(written[0].trim()).not.toContain('\n');
    const [line] = lines();
    expect(line).toEqual({
      level: 'info',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      app: 'worker',
      pid: process.pid,
      hostname: expect.any(String),
      context: 'Hookflow',
      msg: 'worker running',
    });
  });

  it("keeps Nest's start-up chatter (modules, routes) at debug, and its warnings as they are", () => {
    const quiet = capture();
    quiet.logger.log('Mapped {/api/flows, GET} route', 'RouterExplorer');
    quiet.logger.log('AppModule dependencies initialized', 'InstanceLoader');
    quiet.logger.warn('something odd', 'RouterExplorer');
    quiet.logger.log('API listening', 'Hookflow');
    expect(quiet.lines().map((l) => [l.level, l.context])).toEqual([
      ['warn', 'RouterExplorer'],
      ['info', 'Hookflow'],
    ]);
    const verbose = capture({ level: 'debug' });
    verbose.logger.log('Mapped {/api/flows, GET} route', 'RouterExplorer');
    expect(verbose.lines()).toMatchObject([{ level: 'debug', context: 'RouterExplorer' }]);
  });

  it('takes fields from an object message: runId, flow, step, attempt beside msg', () => {
    const { logger, lines } = capture();
    logger.warn({ msg: 'step failed', runId: 'r-1', flow: 'orders', step: 'send', attempt: 3 }, 'StepRunner');
    expect(lines()[0]).toMatchObject({
      level: 'warn',
      context: 'StepRunner',
      msg: 'step failed',
      runId: 'r-1',
      flow: 'orders',
      step: 'send',
      attempt: 3,
    });
  });

  it('works behind Nest: `new Logger(Context)` calls land here with their context', () => {
    const { logger, lines } = capture({ app: 'api' });
    Logger.overrideLogger(logger);
    new Logger('Reconciler').warn({ msg: 're-enqueued', runId: 'r-2', step: 'a' });
    new Logger('Errors').error('boom');
    Logger.error('no context here');
    expect(lines()).toEqual([
      expect.objectContaining({
        app: 'api',
        level: 'warn',
        context: 'Reconciler',
        msg: 're-enqueued',
        runId: 'r-2',
      }),
      expect.objectContaining({ level: 'error', context: 'Errors', msg: 'boom' }),
      expect.objectContaining({ level: 'error', msg: 'no context here' }),
    ]);
    expect(lines()[2]).not.toHaveProperty('context');
  });

  it('keeps a stack and an Error as fields, not as the context', () => {
    const { logger, lines } = capture();
    const err = new Error('database gone');
    logger.error('pass failed', err.stack, 'Reconciler');
    logger.error(err);
    const [withStack, withError] = lines();
    expect(withStack).toMatchObject({ context: 'Reconciler', msg: 'pass failed', err: { stack: err.stack } });
    expect(withError).toMatchObject({
      msg: 'database gone',
      err: { type: 'Error', message: 'database gone' },
    });
    expect(withError.err.stack).toContain('hookflow-logger.spec');
  });

  it.each<[LogLevel, string[]]>([
    ['fatal', ['fatal']],
    ['error', ['fatal', 'error']],
    ['warn', ['fatal', 'error', 'warn']],
    ['log', ['fatal', 'error', 'warn', 'info']],
    ['debug', ['fatal', 'error', 'warn', 'info', 'debug']],
    ['verbose', ['fatal', 'error', 'warn', 'info', 'debug', 'trace']],
  ])('at LOG_LEVEL=%s writes %j', (level, expected) => {
    const { logger, lines } = capture({ level });
    logger.fatal('f');
    logger.error('e');
    logger.warn('w');
    logger.log('l');
    logger.debug('d');
    logger.verbose('v');
    expect(lines().map((line) => line.level)).toEqual(expected);
  });

  it('redacts credential fields and credential headers', () => {
    const { logger, written, lines } = capture();
    logger.warn({
      msg: 'refused',
      authorization: 'Bearer top-1',
      'x-api-key': 'top-2',
      req: { headers: { cookie: 'top-3', 'x-request-id': 'keep-1' } },
      headers: {
        'x-hub-signature-256': 'sha256=top-4',
        'x-acme-token': 'top-5',
        'content-type': 'application/json',
      },
      conn: { password: 'top-6', host: 'db' },
    });
    const text = written.join('');
    for (const secret of ['top-1', 'top-2', 'top-3', 'top-4', 'top-5', 'top-6'])
      expect(text).not.toContain(secret);
    expect(lines()[0]).toMatchObject({
      authorization: '[redacted]',
      'x-api-key': '[redacted]',
      req: { headers: { cookie: '[redacted]', 'x-request-id': 'keep-1' } },
      headers: {
        'x-hub-signature-256': '[redacted]',
        'x-acme-token': '[redacted]',
        'content-type': 'application/json',
      },
      conn: { password: '[redacted]', host: 'db' },
    });
  });

  it('leaves bodies out above debug and keeps them at debug', () => {
    const { logger, written, lines } = capture({ level: 'debug' });
    const fields = { msg: 'delivery', runId: 'r-3', body: { order: 'full-body-1' }, output: 'full-body-2' };
    logger.warn(fields);
    logger.debug(fields);
    const [warn, debug] = lines();
    expect(warn).toMatchObject({
      runId: 'r-3',
      body: '[omitted above debug]',
      output: '[omitted above debug]',
    });
    expect(written[0]).not.toContain('full-body');
    expect(debug).toMatchObject({ body: { order: 'full-body-1' }, output: 'full-body-2' });
    // The caller's object is not changed.
    expect(fields.body).toEqual({ order: 'full-body-1' });
  });

  it('writes readable lines in the pretty format', () => {
    const { logger, written } = capture({ format: 'pretty' });
    logger.warn({ msg: 'step failed', runId: 'r-4', attempt: 2 }, 'StepRunner');
    expect(written).toHaveLength(1);
    expect(() => JSON.parse(written[0])).toThrow();
    expect(written[0]).toMatch(/WARN.*worker \[StepRunner\] step failed/);
    expect(written[0]).toContain('runId: "r-4"');
    expect(written[0]).toContain('attempt: 2');
    // No terminal colours when writing somewhere other than a terminal.
    expect(written[0]).not.toContain('\u001b[');
  });

  it('does no work for a level that is off', () => {
    const { logger, written } = capture({ level: 'warn' });
    const costly = {
      msg: 'x',
      get runId(): string {
        throw new Error('should not be read');
      },
    };
    expect(() => logger.log(costly)).not.toThrow();
    expect(written).toHaveLength(0);
  });
});
