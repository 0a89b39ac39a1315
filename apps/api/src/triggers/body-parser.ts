import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AppError, ErrorCode } from '../common/app-error';

export type BodyKind = 'json' | 'form' | 'xml' | 'text' | 'binary' | 'empty';

/** Entity expansion stays off: a billion-laughs document is text, not a bomb. */
const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  trimValues: true,
  // A backstop only: documents are scanned against the configured depth before they get here.
  maxNestedTags: 1000,
});

/** Nesting limits checked on the raw text before parsing, so no parser or later walk recurses too deep. */
export interface BodyDepthLimits {
  maxJsonDepth: number;
  maxXmlDepth: number;
}

const DEFAULT_DEPTH_LIMITS: BodyDepthLimits = { maxJsonDepth: 64, maxXmlDepth: 64 };

export function bodyKindOf(contentType: string | undefined): BodyKind {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) return 'json';
  if (type === 'application/x-www-form-urlencoded') return 'form';
  if (type === 'application/xml' || type === 'text/xml' || type.endsWith('+xml')) return 'xml';
  if (type.startsWith('text/') || type === '') return 'text';
  return 'binary';
}

/**
 * Parses a webhook body by its declared content type. Malformed JSON or XML is the sender's
 * error (400); an undeclared or unknown type is kept as text, or as base64 when it is not UTF-8.
 */
export function parseWebhookBody(
  raw: Buffer,
  contentType: string | undefined,
  limits: BodyDepthLimits = DEFAULT_DEPTH_LIMITS,
): unknown {
  if (raw.length === 0) return null;
  const kind = bodyKindOf(contentType);
  switch (kind) {
    case 'json':
      if (jsonDepthExceeds(raw, limits.maxJsonDepth)) throw tooDeep('JSON', limits.maxJsonDepth);
      try {
        return JSON.parse(raw.toString('utf8'));
      } catch (err) {
        throw new AppError(ErrorCode.InvalidBody, `body is not valid JSON: ${(err as Error).message}`, [
          { path: '/body', message: 'is not valid JSON' },
        ]);
      }
    case 'form':
      return formToObject(raw.toString('utf8'));
    case 'xml': {
      const text = raw.toString('utf8');
      if (xmlDepthExceeds(text, limits.maxXmlDepth)) throw tooDeep('XML', limits.maxXmlDepth);
      const valid = XMLValidator.validate(text);
      if (valid !== true) {
        throw new AppError(
          ErrorCode.InvalidBody,
          `body is not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`,
          [{ path: '/body', message: 'is not well-formed XML' }],
        );
      }
      try {
        return xmlParser.parse(text);
      } catch (err) {
        throw new AppError(ErrorCode.InvalidBody, `body is not usable XML: ${(err as Error).message}`, [
          { path: '/body', message: 'is not usable XML' },
        ]);
      }
    }
    case 'text':
    case 'empty':
      return raw.toString('utf8');
    case 'binary': {
      const text = raw.toString('utf8');
      return Buffer.from(text, 'utf8').equals(raw) ? text : { base64: raw.toString('base64') };
    }
  }
}

/** `a=1&a=2&b=x` -> `{ a: ['1', '2'], b: 'x' }`, the shape query strings get too. */
export function formToObject(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [key, value] of new URLSearchParams(text)) {
    const prev = out[key];
    out[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return { ...out };
}

function tooDeep(what: 'JSON' | 'XML', max: number): AppError {
  return new AppError(ErrorCode.InvalidBody, `body ${what} is nested deeper than ${max} levels`, [
    { path: '/body', message: `is nested deeper than ${max} levels` },
  ]);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * True when JSON text opens more than `max` objects/arrays at once. One pass over the bytes,
 * skipping strings; malformed input is left for JSON.parse to report. UTF-8 continuation bytes
 * never equal these ASCII codes, so bytes are as good as characters here.
 */
export function jsonDepthExceeds(raw: Buffer, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/**
 * True when XML text has more than `max` elements open at once. Comments, CDATA, processing
 * instructions and the DOCTYPE are skipped; quoted attribute values may contain `>`. An
 * approximation of a real tokenizer that errs on the side of counting: it exists to refuse
 * absurd nesting before a parser walks it, and well-formedness is checked afterwards anyway.
 */
export function xmlDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    if (lt < 0) break;
    if (text.startsWith('<!--', lt)) {
      i = skipPast(text, '-->', lt + 4);
    } else if (text.startsWith('<![CDATA[', lt)) {
      i = skipPast(text, ']]>', lt + 9);
    } else if (text.startsWith('<?', lt)) {
      i = skipPast(text, '?>', lt + 2);
    } else if (text.startsWith('<!', lt)) {
      i = skipDeclaration(text, lt + 2);
    } else if (text[lt + 1] === '/') {
      depth--;
      i = skipPast(text, '>', lt + 2);
    } else {
      const end = endOfTag(text, lt + 1);
      if (text[end - 1] !== '/' && ++depth > max) return true;
      i = end + 1;
    }
  }
  return false;
}

function skipPast(text: string, marker: string, from: number): number {
  const at = text.indexOf(marker, from);
  return at < 0 ? text.length : at + marker.length;
}

/** Index of the `>` that ends a start tag, stepping over quoted attribute values. */
function endOfTag(text: string, from: number): number {
  let quote: string | null = null;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '>') {
      return i;
    }
  }
  return text.length;
}

/** `<!DOCTYPE ... [ ... ]>` and other declarations, with an internal subset in brackets. */
function skipDeclaration(text: string, from: number): number {
  let brackets = 0;
  let quote: string | null = null;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '[') {
      brackets++;
    } else if (c === ']') {
      brackets--;
    } else if (c === '>' && brackets <= 0) {
      return i + 1;
    }
  }
  return text.length;
}
