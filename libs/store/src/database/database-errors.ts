/** SQLSTATE classes that mean "the server cannot serve now", not "this statement is wrong". */
const UNAVAILABLE_SQLSTATE = [
  '08', // connection exception
  '53', // insufficient resources (too many connections, out of memory or disk)
  '57P01', // admin shutdown
  '57P02', // crash shutdown
  '57P03', // cannot connect now (starting up, shutting down)
];
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** node-postgres says these in words only. */
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'is not queryable',
  'Connection refused',
];

/** Whether an error means PostgreSQL cannot serve now (down, restarting, full), not a bad statement. */
export function isDatabaseUnavailable(error: unknown): boolean {
  return anyCause(error, (e) => {
    const code = e.code;
    if (typeof code === 'string') {
      if (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATE.some((prefix) => code.startsWith(prefix)))
        return true;
    }
    const message = e.message;
    return typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => message.includes(m));
  });
}

/** SQLSTATEs refusing the data itself, so the same write can never succeed (classes 22 and 54, 23514). */
const DATA_REFUSED_SQLSTATE = ['22', '23514', '54'];

/** Whether PostgreSQL refused a write for its data (see DATA_REFUSED_SQLSTATE), wrapped or not. */
export function isDataRefused(error: unknown): boolean {
  return anyCause(error, (e) => {
    const code = e.code;
    return typeof code === 'string' && DATA_REFUSED_SQLSTATE.some((p) => code.startsWith(p));
  });
}

type ErrorLike = {
  code?: unknown;
  message?: unknown;
  driverError?: unknown;
  cause?: unknown;
  errors?: unknown;
};

/** `test` on the error or any error it wraps (TypeORM's `driverError`, `cause`, an AggregateError's `errors`). */
function anyCause(error: unknown, test: (e: ErrorLike) => boolean, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 4) return false;
  const e = error as ErrorLike;
  if (test(e)) return true;
  const inner = [e.driverError, e.cause, ...(Array.isArray(e.errors) ? e.errors : [])];
  return inner.some((cause) => cause !== error && anyCause(cause, test, depth + 1));
}
