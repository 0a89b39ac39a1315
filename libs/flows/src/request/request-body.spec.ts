import { jsonDepthExceeds, parseRequestBody, valueDepthExceeds } from './request-body';

const xml = (text: string, xmlArrays?: string[]) =>
  parseRequestBody(Buffer.from(text), 'application/xml', undefined, { xmlArrays });

describe('parseRequestBody, xmlArrays', () => {
  it('makes the named elements arrays even when one appears once, by name or by path from the root', () => {
    const one = '<order><item sku="X">2</item><tags><tag>a</tag></tags></order>';
    expect(xml(one)).toEqual({ order: { item: { '#text': '2', '@_sku': 'X' }, tags: { tag: 'a' } } });
    expect(xml(one, ['item', 'order.tags.tag'])).toEqual({
      order: { item: [{ '#text': '2', '@_sku': 'X' }], tags: { tag: ['a'] } },
    });
  });

  it('leaves attributes and other elements alone, and repeated elements arrays as before', () => {
    const text = '<order item="attr"><item>1</item><item>2</item><note>n</note></order>';
    expect(xml(text, ['item'])).toEqual({ order: { item: ['1', '2'], note: 'n', '@_item': 'attr' } });
  });

  it('keeps parsers apart: the same body without the option is unchanged', () => {
    expect(xml('<a><b>1</b></a>', ['b'])).toEqual({ a: { b: ['1'] } });
    expect(xml('<a><b>1</b></a>')).toEqual({ a: { b: '1' } });
  });
});

describe('valueDepthExceeds', () => {
  it.each<[string, number, boolean]>([
    ['1', 0, false],
    ['"[[["', 0, false],
    ['{}', 0, true],
    ['{}', 1, false],
    ['[[1], {"a": {"b": []}}]', 4, false],
    ['[[1], {"a": {"b": []}}]', 3, true],
    ['{"a": 1, "b": [2, [3]]}', 3, false],
    ['{"a": 1, "b": [2, [3]]}', 2, true],
  ])('%s at most %d deep: %s, as jsonDepthExceeds says of the text', (text, max, exceeds) => {
    expect(valueDepthExceeds(JSON.parse(text), max)).toBe(exceeds);
    expect(jsonDepthExceeds(Buffer.from(text), max)).toBe(exceeds);
  });

  it('walks a value far deeper than the call stack without recursing', () => {
    const deep = JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`);
    expect(valueDepthExceeds(deep, 64)).toBe(true);
  });
});
