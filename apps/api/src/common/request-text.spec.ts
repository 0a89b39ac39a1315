import type { ArgumentMetadata } from '@nestjs/common';
import { AppError } from './app-error';
import { MAX_PARAM_CHARS, refuseUnstorableBody, RequestTextPipe } from './request-text';

const pipe = new RequestTextPipe();
const param = (data: string): ArgumentMetadata => ({ type: 'param', data });
const query = (data: string): ArgumentMetadata => ({ type: 'query', data });

function refusal(run: () => unknown): { path: string; message: string }[] | undefined {
  try {
    run();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(400);
    return (err as AppError).details;
  }
}

describe('RequestTextPipe', () => {
  it.each([
    ['a slug', param('slug'), 'orders'],
    ['a missing query parameter', query('cursor'), undefined],
    ['a surrogate pair', query('flow'), 'a😀'],
    ['the longest value', query('cursor'), 'c'.repeat(MAX_PARAM_CHARS)],
    ['a body (not its business)', { type: 'body' } as ArgumentMetadata, { a: '\u0000' }],
  ])('passes %s through', (_what, meta, value) => {
    expect(pipe.transform(value, meta)).toBe(value);
  });

  it.each([
    ['NUL', param('slug'), 'a\u0000', '/slug', /NUL/],
    ['a lone surrogate', query('flow'), '\ud800', '/flow', /lone UTF-16 surrogate/],
    ['a repeated query parameter', query('flow'), ['a', 'b'], '/flow', /given once/],
    ['an over-long value', query('cursor'), 'c'.repeat(MAX_PARAM_CHARS + 1), '/cursor', /at most 1000/],
  ])('refuses %s with 400 naming the parameter', (_what, meta, value, path, message) => {
    expect(refusal(() => pipe.transform(value, meta))).toEqual([
      { path, message: expect.stringMatching(message) },
    ]);
  });
});

describe('refuseUnstorableBody', () => {
  it('names the field of a NUL or a lone surrogate', () => {
    const text = '{"steps":[{"expression":"\\u0000"}]}';
    expect(refusal(() => refuseUnstorableBody(text, JSON.parse(text)))).toEqual([
      { path: '/steps/0/expression', message: 'must not contain the NUL character (\\u0000)' },
    ]);
  });

  it('accepts pairs and escaped backslashes', () => {
    const text = '{"a":"\\ud83d\\ude00","b":"\\\\u0000"}';
    expect(() => refuseUnstorableBody(text, JSON.parse(text))).not.toThrow();
  });
});
