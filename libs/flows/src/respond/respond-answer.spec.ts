import { AnswerError, answerOf, buildAnswer, respondSignal, type RenderedAnswer } from './respond-answer';

const JSON_TYPE = 'application/json; charset=utf-8';
const GUARDS = { 'x-content-type-options': 'nosniff', 'content-security-policy': 'sandbox' };

describe('buildAnswer', () => {
  it.each<[string, RenderedAnswer, ReturnType<typeof buildAnswer>]>([
    [
      'json, headers lower-cased',
      { status: 200, headers: { 'X-A': 'b' }, content: { json: { ok: true } } },
      { status: 200, headers: { 'x-a': 'b', 'content-type': JSON_TYPE, ...GUARDS }, body: '{"ok":true}' },
    ],
    [
      'a missing json value as null',
      { status: 201, headers: {}, content: { json: undefined } },
      { status: 201, headers: { 'content-type': JSON_TYPE, ...GUARDS }, body: 'null' },
    ],
    [
      'text, with its own type and policy; a null header as empty',
      {
        status: 400,
        headers: {
          'Content-Type': 'text/html',
          'Content-Security-Policy': "default-src 'none'",
          'X-N': null,
        },
        content: { body: '<b>no</b>' },
      },
      {
        status: 400,
        headers: {
          'content-type': 'text/html',
          'content-security-policy': "default-src 'none'",
          'x-n': '',
          'x-content-type-options': 'nosniff',
        },
        body: '<b>no</b>',
      },
    ],
    [
      'a 304 without its body',
      { status: 304, headers: {}, content: { body: 'gone' } },
      { status: 304, headers: { 'content-type': 'text/plain; charset=utf-8', ...GUARDS }, body: '' },
    ],
  ])('builds %s', (_name, rendered, expected) => {
    expect(buildAnswer(rendered, 1024)).toEqual(expected);
  });

  it.each<[string, RenderedAnswer, string, string]>([
    [
      'a server header',
      { status: 200, headers: { 'Transfer-Encoding': 'x' }, content: { body: '' } },
      '/headers/Transfer-Encoding',
      'template_error',
    ],
    [
      'a header split by a line break',
      { status: 200, headers: { 'x-a': 'a\nb' }, content: { body: '' } },
      '/headers/x-a',
      'template_error',
    ],
    [
      'a header value too long',
      { status: 200, headers: { 'x-a': 'a'.repeat(8193) }, content: { body: '' } },
      '/headers/x-a',
      'template_error',
    ],
    [
      'a body over the bound, in bytes',
      { status: 200, headers: {}, content: { body: 'é'.repeat(513) } },
      '/body',
      'output_too_large',
    ],
  ])('refuses %s', (_name, rendered, field, code) => {
    expect(() => buildAnswer(rendered, 1024)).toThrow(expect.objectContaining({ field, code }));
    expect(() => buildAnswer(rendered, 1024)).toThrow(AnswerError);
  });
});

describe('answerOf', () => {
  const sendable = { status: 200, headers: { 'x-a': 'b' }, body: 'ok' };

  it('takes a stored answer as it is', () => {
    expect(answerOf(sendable)).toEqual(sendable);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['text', 'ok'],
    ['a status out of range', { ...sendable, status: 101 }],
    ['a status that is no integer', { ...sendable, status: '200' }],
    ['a body that is no text', { ...sendable, body: { ok: true } }],
    ['no headers', { status: 200, body: 'ok' }],
    ['a header HTTP refuses', { ...sendable, headers: { 'x-a': 'a\r\nb' } }],
    ['a header the server sets', { ...sendable, headers: { 'content-length': '2' } }],
  ])('refuses %s, so the sender gets the default answer', (_name, value) => {
    expect(answerOf(value)).toBeNull();
  });
});

describe('respondSignal', () => {
  it.each<[string, string | undefined, string, 'succeeded' | 'failed' | 'filtered', string[], string | null]>(
    [
      ['no respond step', undefined, 'a', 'succeeded', [], null],
      ['the respond step succeeded', 'reply', 'reply', 'succeeded', [], 'answer'],
      ['the respond step failed', 'reply', 'reply', 'failed', [], 'none'],
      ['a filter before it', 'reply', 'check', 'filtered', ['reply', 'send'], 'none'],
      ['a failure before it', 'reply', 'lookup', 'failed', ['reply'], 'none'],
      ['a step before it that goes on', 'reply', 'lookup', 'succeeded', [], null],
      ['a failure on another branch', 'reply', 'audit', 'failed', ['audit-log'], null],
    ],
  )('%s', (_name, respondStep, stepId, status, skipped, expected) => {
    expect(respondSignal(respondStep, stepId, status, skipped)).toBe(expected);
  });
});
