import { AppError } from '../common/app-error';
import { manualRunBodyLimit, MAX_QUERY_BYTES, MAX_QUERY_VALUES, parseManualRun } from './manual-run-request';

const limits = { maxBodyBytes: 64, maxHeaderCount: 3, maxHeaderBytes: 40, maxJsonDepth: 3 };

/** The refusal's status and detail, or the parsed request. */
function parsed(request: unknown) {
  try {
    return parseManualRun(request, limits);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return { status: err.status, code: err.code, details: err.details };
  }
}

const refusal = (path: string, message: string | RegExp, status = 400) => ({
  status,
  code: status === 413 ? 'payload_too_large' : 'invalid_request',
  details: [{ path, message: typeof message === 'string' ? message : expect.stringMatching(message) }],
});

describe('parseManualRun', () => {
  it('takes nothing at all: no body, no headers, no query', () => {
    for (const request of [undefined, {}, { body: null, headers: null, query: null }]) {
      expect(parsed(request)).toEqual({ body: null, rawBody: null, headers: {}, query: {} });
    }
  });

  it('keeps any JSON body with its compact text, header names lower-cased and the query as given', () => {
    expect(
      parsed({
        body: { id: 'A-1', lines: [1, 2] },
        headers: { 'X-Shop': 'north', Accept: '*/*' },
        query: { mode: 'test', tag: ['a', 'b'] },
      }),
    ).toEqual({
      body: { id: 'A-1', lines: [1, 2] },
      rawBody: Buffer.from('{"id":"A-1","lines":[1,2]}'),
      headers: { 'x-shop': 'north', accept: '*/*' },
      query: { mode: 'test', tag: ['a', 'b'] },
    });
    for (const body of ['text', 0, false, []]) {
      expect(parsed({ body })).toMatchObject({ body, rawBody: Buffer.from(JSON.stringify(body)) });
    }
  });

  it.each<[string, unknown, ReturnType<typeof refusal>]>([
    ['a request that is not an object', [1], refusal('', /^must be a JSON object/)],
    ['a body nested too deep', { body: [[[[1]]]] }, refusal('/body', 'is nested deeper than 3 levels')],
    [
      'a body over MAX_BODY_BYTES as JSON',
      { body: 'x'.repeat(63) },
      refusal('/body', 'is 65 bytes as JSON; at most 64 are accepted', 413),
    ],
    ['headers that are a list', { headers: ['a: b'] }, refusal('/headers', /^must be an object/)],
    [
      'a header value that is not text',
      { headers: { 'x-n': 1 } },
      refusal('/headers/x-n', 'must be a string'),
    ],
    [
      'a header name with a space',
      { headers: { 'x n': 'v' } },
      refusal('/headers/x n', /^is not a header name/),
    ],
    [
      'a header name with a slash',
      { headers: { 'a/b': 'v' } },
      refusal('/headers/a~1b', /^is not a header name/),
    ],
    [
      'a line break in a header value',
      { headers: { 'x-a': 'v\r\nx-b: w' } },
      refusal('/headers/x-a', 'must not contain control characters such as line breaks'),
    ],
    [
      'a header given twice in different case',
      { headers: { 'X-A': '1', 'x-a': '2' } },
      refusal('/headers/x-a', "repeats the header 'x-a' (header names ignore case)"),
    ],
    [
      'more headers than MAX_HEADER_COUNT',
      { headers: { a: '1', b: '2', c: '3', d: '4' } },
      refusal('/headers', 'has 4 headers; at most 3 are accepted'),
    ],
    [
      'more header bytes than MAX_HEADER_BYTES',
      { headers: { a: 'x'.repeat(20), b: 'y'.repeat(20) } },
      refusal('/headers', 'are 42 bytes; at most 40 are accepted'),
    ],
    ['a query that is text', { query: 'a=1' }, refusal('/query', /^must be an object/)],
    ['a query value that is a number', { query: { n: 1 } }, refusal('/query/n', /^must be a string or/)],
    ['an empty list of query values', { query: { n: [] } }, refusal('/query/n', /^must be a string or/)],
    ['a list holding a number', { query: { n: ['1', 2] } }, refusal('/query/n', /^must be a string or/)],
    ['a query parameter without a name', { query: { '': 'x' } }, refusal('/query/', 'has an empty name')],
    [
      'more query values than Node keeps',
      { query: { n: Array.from({ length: MAX_QUERY_VALUES + 1 }, () => '') } },
      refusal('/query', `has more than ${MAX_QUERY_VALUES} values`),
    ],
    [
      'more query text than a URL carries',
      { query: { n: 'x'.repeat(MAX_QUERY_BYTES) } },
      refusal('/query', `is more than ${MAX_QUERY_BYTES} bytes of names and values`),
    ],
  ])('refuses %s, naming the field', (_name, request, expected) => {
    expect(parsed(request)).toEqual(expected);
  });

  it('leaves room in the request for the body and the bounded headers and query', () => {
    const limit = manualRunBodyLimit(limits);
    const largest = {
      body: 'x'.repeat(62),
      headers: { a: 'x'.repeat(39) },
      query: { q: 'x'.repeat(MAX_QUERY_BYTES - 1) },
    };
    expect(parsed(largest)).toMatchObject({ headers: { a: 'x'.repeat(39) } });
    expect(Buffer.byteLength(JSON.stringify(largest))).toBeLessThanOrEqual(limit);
  });
});
