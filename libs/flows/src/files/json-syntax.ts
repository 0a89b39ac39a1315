/** Where a JSON text stops being JSON, 1-based like an editor's status bar. */
export interface JsonSyntaxError {
  line: number;
  column: number;
  message: string;
}

class Stop extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

const LITERALS = ['true', 'false', 'null'];
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

/** The first JSON syntax error with its line and column (`JSON.parse` messages vary), or undefined. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let pos = 0;

  const describe = (at: number): string => {
    if (at >= text.length) return 'end of file';
    const ch = text[at];
    if (ch === '\n' || ch === '\r') return 'end of line';
    return `'${ch}'`;
  };
  const skipWhitespace = () => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos])) pos++;
  };
  const unexpected = (expected: string): never => {
    if (text.startsWith('//', pos) || text.startsWith('/*', pos))
      throw new Stop(pos, 'comments are not allowed in JSON');
    if (text[pos] === "'") throw new Stop(pos, 'strings must use double quotes in JSON');
    throw new Stop(pos, `unexpected ${describe(pos)}, expected ${expected}`);
  };

  const string = () => {
    const start = pos;
    pos++; // opening quote
    for (;;) {
      if (pos >= text.length) throw new Stop(start, 'unterminated string');
      const ch = text[pos];
      if (ch === '"') {
        pos++;
        return;
      }
      if (ch === '\n' || ch === '\r') throw new Stop(pos, 'unterminated string (line break inside a string)');
      if (ch < ' ') throw new Stop(pos, 'control character inside a string; escape it');
      if (ch === '\\') {
        const next = text[pos + 1];
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6)))
            throw new Stop(pos, 'invalid \\u escape: expected four hex digits');
          pos += 6;
          continue;
        }
        if (next === undefined || !ESCAPES.has(next))
          throw new Stop(pos, `invalid escape '\\${next ?? ''}' in a string`);
        pos += 2;
        continue;
      }
      pos++;
    }
  };

  const digits = (what: string) => {
    const start = pos;
    while (pos < text.length && text[pos] >= '0' && text[pos] <= '9') pos++;
    if (pos === start) throw new Stop(pos, `unexpected ${describe(pos)}, expected ${what}`);
  };

  const number = () => {
    if (text[pos] === '-') pos++;
    if (text[pos] === '0') {
      pos++;
      if (text[pos] >= '0' && text[pos] <= '9') throw new Stop(pos - 1, 'numbers cannot have leading zeros');
    } else digits('a digit');
    if (text[pos] === '.') {
      pos++;
      digits('a digit after the decimal point');
    }
    if (text[pos] === 'e' || text[pos] === 'E') {
      pos++;
      if (text[pos] === '+' || text[pos] === '-') pos++;
      digits('a digit in the exponent');
    }
  };

  const value = (): void => {
    skipWhitespace();
    const ch = text[pos];
    if (ch === '{') return object();
    if (ch === '[') return array();
    if (ch === '"') return string();
    if (ch === '-' || (ch >= '0' && ch <= '9')) return number();
    const literal = LITERALS.find((word) => text.startsWith(word, pos));
    if (literal) {
      pos += literal.length;
      return;
    }
    unexpected('a value');
  };

  const object = () => {
    pos++;
    skipWhitespace();
    if (text[pos] === '}') {
      pos++;
      return;
    }
    for (;;) {
      skipWhitespace();
      if (text[pos] !== '"') unexpected('a double-quoted property name');
      string();
      skipWhitespace();
      if (text[pos] !== ':') unexpected("':' after the property name");
      pos++;
      value();
      skipWhitespace();
      if (text[pos] === '}') {
        pos++;
        return;
      }
      if (text[pos] !== ',') unexpected("',' or '}' after the property value");
      const comma = pos;
      pos++;
      skipWhitespace();
      if (text[pos] === '}') throw new Stop(comma, "trailing comma before '}' is not allowed in JSON");
    }
  };

  const array = () => {
    pos++;
    skipWhitespace();
    if (text[pos] === ']') {
      pos++;
      return;
    }
    for (;;) {
      value();
      skipWhitespace();
      if (text[pos] === ']') {
        pos++;
        return;
      }
      if (text[pos] !== ',') unexpected("',' or ']' after the array element");
      const comma = pos;
      pos++;
      skipWhitespace();
      if (text[pos] === ']') throw new Stop(comma, "trailing comma before ']' is not allowed in JSON");
    }
  };

  try {
    skipWhitespace();
    if (pos >= text.length) return { line: 1, column: 1, message: 'the file is empty' };
    value();
    skipWhitespace();
    if (pos < text.length) {
      if (text.startsWith('//', pos) || text.startsWith('/*', pos)) unexpected('');
      throw new Stop(pos, `unexpected ${describe(pos)} after the end of the JSON value`);
    }
    return undefined;
  } catch (err) {
    if (!(err instanceof Stop)) throw err; // a stack overflow on absurd nesting: let the caller fall back
    return { ...lineAndColumn(text, err.offset), message: err.message };
  }
}

/** 1-based line and column of a character offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
