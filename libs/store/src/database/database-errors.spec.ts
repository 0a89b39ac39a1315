import { isDatabaseUnavailable, isDataRefused } from './database-errors';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it.each([
    ['a refused connection', withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['a reset connection', withCode('ECONNRESET')],
    [
      'an administrator shutdown (57P01)',
      withCode('57P01', 'terminating connection due to administrator command'),
    ],
    ['a server starting up (57P03)', withCode('57P03', 'the database system is starting up')],
    ['too many connections (53300)', withCode('53300', 'sorry, too many clients already')],
    ['a connection exception (08006)', withCode('08006')],
    ['a connection ended under a query', new Error('Connection terminated unexpectedly')],
    ['a pool that could not connect in time', new Error('timeout exceeded when trying to connect')],
    [
      "TypeORM's wrapper around one of those",
      Object.assign(new Error('query failed'), { driverError: withCode('57P01') }),
    ],
    ['a cause', new Error('outer', { cause: withCode('ECONNREFUSED') })],
    [
      'an AggregateError (both address families refused)',
      new AggregateError([withCode('ECONNREFUSED')], 'x'),
    ],
  ])('is true for %s', (_what, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation (23505)', withCode('23505', 'duplicate key value')],
    ['a syntax error (42601)', withCode('42601')],
    ['a plain error', new Error('boom')],
    ['not an error', 'ECONNREFUSED'],
    ['undefined', undefined],
  ])('is false for %s', (_what, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});

describe('isDataRefused', () => {
  it.each([
    ['NUL in a text column (22021)', withCode('22021', 'invalid byte sequence for encoding "UTF8": 0x00')],
    ['a lone surrogate in jsonb (22P02)', withCode('22P02', 'invalid input syntax for type json')],
    ['an integer out of range (22003)', withCode('22003')],
    ['a check constraint (23514)', withCode('23514', 'new row violates check constraint')],
    [
      'a value too large (54000)',
      withCode('54000', 'total size of jsonb object elements exceeds the maximum'),
    ],
    [
      "TypeORM's wrapper around one of those",
      Object.assign(new Error('query failed'), { driverError: withCode('22P05') }),
    ],
  ])('is true for %s', (_what, error) => {
    expect(isDataRefused(error)).toBe(true);
  });

  it.each([
    ['a unique violation (23505)', withCode('23505', 'duplicate key value')],
    ['a serialization failure (40001)', withCode('40001')],
    ['a refused connection', withCode('ECONNREFUSED')],
    ['a plain error', new Error('boom')],
    ['undefined', undefined],
  ])('is false for %s', (_what, error) => {
    expect(isDataRefused(error)).toBe(false);
  });
});
