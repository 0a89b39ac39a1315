import { findJsonSyntaxError, lineAndColumn } from './json-syntax';

describe('findJsonSyntaxError', () => {
  it.each([
    ['{}'],
    ['  [1, -2.5e+3, "a\\n\\u00e9", true, false, null, {"k": [ ]}]\n'],
    ['"just a string"'],
    ['0'],
  ])('accepts valid JSON %j', (text) => {
    expect(findJsonSyntaxError(text)).toBeUndefined();
  });

  it.each([
    ['', 1, 1, 'the file is empty'],
    ['  \n ', 1, 1, 'the file is empty'],
    ['{"a": 1,}', 1, 8, "trailing comma before '}' is not allowed in JSON"],
    ['[1, 2,\n]', 1, 6, "trailing comma before ']' is not allowed in JSON"],
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3, "unexpected '\"', expected ',' or '}' after the property value"],
    ['{"a" 1}', 1, 6, "unexpected '1', expected ':' after the property name"],
    ['{a: 1}', 1, 2, "unexpected 'a', expected a double-quoted property name"],
    ["{'a': 1}", 1, 2, 'strings must use double quotes in JSON'],
    ['{"a": 1} // note', 1, 10, 'comments are not allowed in JSON'],
    ['{"a": }', 1, 7, "unexpected '}', expected a value"],
    ['{"a": "x', 1, 7, 'unterminated string'],
    ['{"a": "x\ny"}', 1, 9, 'unterminated string (line break inside a string)'],
    ['"bad \\x escape"', 1, 6, "invalid escape '\\x' in a string"],
    ['"\\u12G4"', 1, 2, 'invalid \\u escape: expected four hex digits'],
    ['[01]', 1, 2, 'numbers cannot have leading zeros'],
    ['[1.]', 1, 4, "unexpected ']', expected a digit after the decimal point"],
    ['[tru]', 1, 2, "unexpected 't', expected a value"],
    ['{"a": 1} {}', 1, 10, "unexpected '{' after the end of the JSON value"],
    ['[1, 2', 1, 6, "unexpected end of file, expected ',' or ']' after the array element"],
  ])('locates the error in %j at %i:%i', (text, line, column, message) => {
    expect(findJsonSyntaxError(text)).toEqual({ line, column, message });
  });

  it('agrees with JSON.parse on what is valid', () => {
    const samples = ['{"a":[1,{"b":null}]}', '{"a":1,}', '[1 2]', '"\\u0041"', '-0.5E-2', '- 1', '{"a":01}'];
    for (const text of samples) {
      let parses = true;
      try {
        JSON.parse(text);
      } catch {
        parses = false;
      }
      expect([text, findJsonSyntaxError(text) === undefined]).toEqual([text, parses]);
    }
  });
});

describe('lineAndColumn', () => {
  it.each([
    [0, 1, 1],
    [2, 1, 3],
    [3, 2, 1],
    [5, 2, 3],
  ])('offset %i is line %i column %i', (offset, line, column) => {
    expect(lineAndColumn('ab\ncde', offset)).toEqual({ line, column });
  });
});
