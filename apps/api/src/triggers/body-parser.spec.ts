import { AppError } from '../common/app-error';
import { bodyKindOf, jsonDepthExceeds } from '@hookflow/flows';
import { parseWebhookBody } from './body-parser';

const parse = (text: string, type?: string) => parseWebhookBody(Buffer.from(text), type);

describe('webhook body parsing', () => {
  it.each([
    ['application/json', 'json'],
    ['application/json; charset=utf-8', 'json'],
    ['application/vnd.api+json', 'json'],
    ['application/x-www-form-urlencoded', 'form'],
    ['application/xml', 'xml'],
    ['text/xml', 'xml'],
    ['application/atom+xml', 'xml'],
    ['text/plain', 'text'],
    [undefined, 'text'],
    ['application/octet-stream', 'binary'],
  ])('%s is %s', (type, kind) => {
    expect(bodyKindOf(type)).toBe(kind);
  });

  it('parses JSON, form, XML and text', () => {
    expect(parse('{"a":[1,2]}', 'application/json')).toEqual({ a: [1, 2] });
    expect(parse('a=1&a=2&b=x+y&c=%26', 'application/x-www-form-urlencoded')).toEqual({
      a: ['1', '2'],
      b: 'x y',
      c: '&',
    });
    expect(parse('<o id="1"><s>A</s></o>', 'application/xml')).toEqual({ o: { '@_id': '1', s: 'A' } });
    expect(parse('hello', 'text/plain')).toBe('hello');
    expect(parse('', 'application/json')).toBeNull();
  });

  it('keeps non-UTF-8 bytes as base64', () => {
    expect(parseWebhookBody(Buffer.from([0xff, 0xfe, 0x00]), 'application/octet-stream')).toEqual({
      base64: '//4A',
    });
  });

  it('does not expand XML entities (billion laughs stays text)', () => {
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><l>&b;</l>';
    expect(JSON.stringify(parse(bomb, 'application/xml'))).not.toContain('aaaaaaaaaaaaaaaaaaaa');
  });

  it.each([
    ['{"a": ', 'application/json', 'JSON'],
    ['<a><b></a>', 'application/xml', 'XML'],
  ])('refuses malformed %s as a 400 naming the body', (text, type, what) => {
    let error: unknown;
    try {
      parse(text, type);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).status).toBe(400);
    expect((error as AppError).toJSON()).toMatchObject({
      error: 'invalid_body',
      message: expect.stringContaining(what),
      details: [{ path: '/body' }],
    });
  });

  it('does not let form keys reach the prototype', () => {
    const out = parse('__proto__=x&constructor=y', 'application/x-www-form-urlencoded') as Record<
      string,
      unknown
    >;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it.each([
    ['{}', 1, false],
    ['{"a":{"b":[1]}}', 3, false],
    ['{"a":{"b":[1]}}', 2, true],
    ['"[[[[[[[["', 1, false],
    ['["\\"[[[["]', 1, false],
    ['[{}, {}, [], []]', 2, false],
    ['{"é":[["ü"]]}', 2, true],
  ])('JSON depth of %s over %i: %s', (text, max, exceeds) => {
    expect(jsonDepthExceeds(Buffer.from(text), max)).toBe(exceeds);
  });

  it.each([
    ['<a><b/><c>x</c></a>', 2, false],
    ['<a><b><c/></b></a>', 2, false],
    ['<a><b><c></c></b></a>', 2, true],
    ['<a x="<b><c><d>"><!-- <b><c><d> --><![CDATA[<b><c><d>]]></a>', 1, false],
    ['<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "<b><c>">]><a>&e;</a>', 1, false],
  ])('XML depth of %s over %i: %s', (text, max, exceeds) => {
    const parse = () =>
      parseWebhookBody(Buffer.from(text), 'application/xml', { maxJsonDepth: 64, maxXmlDepth: max });
    if (exceeds) expect(parse).toThrow(`XML is nested deeper than ${max} levels`);
    else expect(parse()).toEqual(expect.objectContaining({ a: expect.anything() }));
  });

  it.each([
    ['['.repeat(10_000) + ']'.repeat(10_000), 'application/json', 'JSON'],
    ['<a>'.repeat(10_000) + '</a>'.repeat(10_000), 'application/xml', 'XML'],
    // Never closed: the depth is what is wrong first, before the validator walks to the end.
    ['['.repeat(10_000), 'application/json', 'JSON'],
    ['<a>'.repeat(10_000), 'application/xml', 'XML'],
  ])('refuses nesting deeper than the limit as a 400 (%#)', (text, type, what) => {
    let error: unknown;
    try {
      parseWebhookBody(Buffer.from(text), type, { maxJsonDepth: 64, maxXmlDepth: 64 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).status).toBe(400);
    expect((error as AppError).message).toContain(`${what} is nested deeper than 64 levels`);
  });
});
