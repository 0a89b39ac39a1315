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

/**
 * Whether an error from a database call means PostgreSQL is unreachable or refusing work for now
 * (down, restarting, out of connections), as opposed to a bad statement or a constraint. Looks
 * through TypeORM's `driverError`, `cause` and the `errors` of an AggregateError.
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 4) return false;
  const e = error as {
    code?: unknown;
    message?: unknown;
    driverError?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof e.code === 'string') {
    const code = e.code;
    if (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATE.some((prefix) => code.startsWith(prefix)))
      return true;
  }
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.some((m) => (e.message as string).includes(m)))
    return true;
  const inner = [e.driverError, e.cause, ...(Array.isArray(e.errors) ? e.errors : [])];
  return inner.some((cause) => cause !== error && isDatabaseUnavailable(cause, depth + 1));
}
