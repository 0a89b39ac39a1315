import type { LoggerService, LogLevel } from '@nestjs/common';
import { hostname } from 'node:os';
import pino, { type DestinationStream, type Level, type Logger as PinoLogger } from 'pino';
import PinoPretty from 'pino-pretty';

export type LogFormat = 'json' | 'pretty';

/** Anything with `write(line)`: stdout by default; tests pass `process.stdout` or an array's pusher. */
export type LogDestination = DestinationStream;

/** Which process a line comes from: the `app` field of every line. */
export type LogApp = 'api' | 'worker';

export interface HookflowLoggerOptions {
  app: LogApp;
  /** LOG_LEVEL, in Nest's names (`log` is pino's `info`, `verbose` its `trace`). */
  level: LogLevel;
  /** LOG_FORMAT: one JSON object per line, or colourful lines for a person (development). */
  format: LogFormat;
  /** Where lines go; default: stdout, written asynchronously and flushed when the process exits. */
  destination?: LogDestination;
}

/** Nest's level names to pino's. */
const PINO_LEVEL: Record<LogLevel, Level> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/** pino's number for `debug`: fields that hold bodies are kept at this level and below only. */
const DEBUG = 20;
const BODY_FIELDS = ['body', 'rawBody', 'payload', 'input', 'output', 'response'];
const BODY_OMITTED = '[omitted above debug]';

export const LOG_REDACTED = '[redacted]';

// Fields never written in clear: at the top, one level down, and in `headers` one level down;
// header objects also go through `redactHeaders`, which knows more names.
const SECRET_FIELDS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'apiKey',
  'password',
  'secret',
  'token',
  'masterKey',
  'databaseUrl',
];

/** As apps/api's HeaderRedaction: header names that carry credentials or signatures. */
const SECRET_HEADER =
  /authorization|cookie|token|secret|signature|hmac|api-?key|password|passwd|session|credential/i;

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const name of SECRET_FIELDS) {
    const plain = /^[A-Za-z_$][\w$]*$/.test(name);
    const key = plain ? `.${name}` : `["${name}"]`;
    paths.push(plain ? name : key, `*${key}`, `*.headers${key}`);
  }
  return paths;
}

/** A headers object as it may be logged: values of credential-like headers replaced. */
export function redactHeaders(headers: unknown): unknown {
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) return headers;
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, SECRET_HEADER.test(name) ? LOG_REDACTED : value]),
  );
}

/** stdout, written asynchronously; pino flushes it synchronously on the process's `exit` event. */
function stdoutDestination(): DestinationStream {
  return pino.destination({ dest: 1, sync: false });
}

/** Turns each JSON line into a readable one before it reaches `target`. */
function prettyDestination(target: DestinationStream, colorize: boolean): DestinationStream {
  const pretty = PinoPretty.prettyFactory({
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,app,context',
    messageFormat: '{app}{if context} [{context}]{end} {msg}',
  });
  return { write: (line: string) => target.write(pretty(line)) };
}

/**
 * The pino logger both apps write through: `app`, `pid` and `hostname` on every line, the level by
 * name, ISO time, credential fields redacted, and fields that hold bodies left out above debug.
 */
export function createPinoLogger(options: HookflowLoggerOptions): PinoLogger {
  const json = options.format === 'json';
  let destination = options.destination ?? stdoutDestination();
  if (!json)
    destination = prettyDestination(destination, !options.destination && process.stdout.isTTY === true);
  return pino(
    {
      level: PINO_LEVEL[options.level],
      base: { app: options.app, pid: process.pid, hostname: hostname() },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Names rather than pino's numbers: `"level":"warn"` reads and greps without a table.
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths(), censor: LOG_REDACTED },
      serializers: { err: pino.stdSerializers.err, headers: redactHeaders },
      hooks: {
        logMethod(args, method, level) {
          const fields = args[0] as unknown;
          if (level > DEBUG && isPlainObject(fields) && BODY_FIELDS.some((key) => key in fields)) {
            const kept: Record<string, unknown> = { ...fields };
            for (const key of BODY_FIELDS) if (key in kept) kept[key] = BODY_OMITTED;
            args[0] = kept as never;
          }
          return method.apply(this, args);
        },
      },
    },
    destination,
  );
}

/** Nest's own start-up lines (every module, route and mapping): debug, not the operator's concern. */
const BOOT_CHATTER = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
]);

/**
 * Nest's logger over pino: every `new Logger(Context)` writes JSON with a `context` field; pass an
 * object instead of a string to add fields (`logger.warn({ msg, runId })`).
 */
export class HookflowLogger implements LoggerService {
  constructor(readonly pino: PinoLogger) {}

  log(message: unknown, ...params: unknown[]): void {
    const context = params[params.length - 1];
    this.write(typeof context === 'string' && BOOT_CHATTER.has(context) ? 'debug' : 'info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const rest = [...params];
    // Nest's Logger appends its context as the last argument; error() may carry a stack before it
    // (or `undefined` in its place). A lone stack is not a context.
    let context: string | undefined;
    const last = rest[rest.length - 1];
    if (typeof last === 'string' && !isStack(last)) context = rest.pop() as string;
    const fields: Record<string, unknown> = context === undefined ? {} : { context };
    let msg: string | undefined;
    if (typeof message === 'string') msg = message;
    else if (message instanceof Error) {
      fields.err = message;
      msg = message.message;
    } else if (isPlainObject(message)) Object.assign(fields, message);
    else msg = String(message);
    for (const extra of rest) {
      // Under `err` like an Error's, where pretty output prints it as a stack rather than a string.
      if (typeof extra === 'string' && isStack(extra)) fields.err = { stack: extra };
      else if (extra instanceof Error) fields.err = extra;
      else if (isPlainObject(extra)) Object.assign(fields, extra);
      else if (extra !== undefined) fields.params = [...((fields.params as unknown[]) ?? []), extra];
    }
    if (msg === undefined) this.pino[level](fields);
    else this.pino[level](fields, msg);
  }
}

/** The logger for an app: what `NestFactory`'s `logger` option takes. */
export function createHookflowLogger(options: HookflowLoggerOptions): HookflowLogger {
  return new HookflowLogger(createPinoLogger(options));
}

function isStack(text: string): boolean {
  return /\n\s+at /.test(text);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
