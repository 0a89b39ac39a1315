import { escapePointerToken, joinPointer, parsePointer, valueAtPointer } from './json-pointer';

describe('JSON pointers (RFC 6901)', () => {
  it.each([
    ['plain', 'plain'],
    ['a/b', 'a~1b'],
    ['m~n', 'm~0n'],
    ['~/', '~0~1'],
    [3, '3'],
  ])('escapes %p as %p', (token, escaped) => {
    expect(escapePointerToken(token)).toBe(escaped);
  });

  it('joins tokens onto a base', () => {
    expect(joinPointer('/steps', 2, 'with', 'a/b')).toBe('/steps/2/with/a~1b');
    expect(joinPointer('')).toBe('');
  });

  it('parses what it joins', () => {
    expect(parsePointer(joinPointer('', 'x~1', 'a/b', ''))).toEqual(['x~1', 'a/b', '']);
    expect(parsePointer('')).toEqual([]);
  });

  it('reads own values only', () => {
    const doc = { a: [{ 'b/c': 1 }], o: Object.create({ inherited: 1 }) };
    expect(valueAtPointer(doc, '/a/0/b~1c')).toBe(1);
    expect(valueAtPointer(doc, '')).toBe(doc);
    expect(valueAtPointer(doc, '/a/5')).toBeUndefined();
    expect(valueAtPointer(doc, '/o/inherited')).toBeUndefined();
    expect(valueAtPointer(doc, '/a/0/b~1c/deeper')).toBeUndefined();
  });
});
