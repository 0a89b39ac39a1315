import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** A body that cannot be parsed as its content type says; `detail` is for the `/body` field of an error. */
export class RequestBodyError extends Error {
  constructor(
    message: string,
    readonly detail: string,
  ) {
    super(message);
    this.name = 'RequestBodyError';
  }
}

export type BodyKind = 'json' | 'form' | 'xml' | 'text' | 'binary' | 'empty';

// Entity expansion off: a billion-laughs document stays text. fast-xml-parser refuses an element
// once more than `maxNestedTags` are open above it, so it gets one less than our limit.
const xmlParsers = new Map<string, XMLParser>();
const XML_TOO_DEEP = /Maximum nested tags exceeded/;
/** Parsers kept (one per depth limit and `xmlArrays` list); past this the cache starts over. */
const MAX_XML_PARSERS = 200;

function xmlParserFor(maxDepth: number, arrays: readonly string[]): XMLParser {
  const key = `${maxDepth}\n${arrays.join('\n')}`;
  let parser = xmlParsers.get(key);
  if (!parser) {
    const always = new Set(arrays);
    parser = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '@_',
      processEntities: false,
      htmlEntities: false,
      parseTagValue: false,
      trimValues: true,
      maxNestedTags: maxDepth - 1,
      ...(always.size > 0
        ? {
            isArray: (name: string, jpath: unknown, _leaf: boolean, isAttribute: boolean) =>
              !isAttribute && (always.has(name) || always.has(String(jpath))),
          }
        : {}),
    });
    if (xmlParsers.size >= MAX_XML_PARSERS) xmlParsers.clear();
    xmlParsers.set(key, parser);
  }
  return parser;
}

/** How a trigger wants its bodies read (`xmlArrays`: elements that are always arrays). */
export interface BodyOptions {
  xmlArrays?: readonly string[];
}

/** Nesting limits, checked before or while parsing, so that no parser or later walk recurses too deep. */
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

/** Parses by declared content type: bad JSON or XML is a 400; other types stay text (base64 if not UTF-8). */
export function parseRequestBody(
  raw: Buffer,
  contentType: string | undefined,
  limits: BodyDepthLimits = DEFAULT_DEPTH_LIMITS,
  options: BodyOptions = {},
): unknown {
  if (raw.length === 0) return null;
  const kind = bodyKindOf(contentType);
  switch (kind) {
    case 'json':
      if (jsonDepthExceeds(raw, limits.maxJsonDepth)) throw tooDeep('JSON', limits.maxJsonDepth);
      try {
        return JSON.parse(raw.toString('utf8'));
      } catch (err) {
        throw new RequestBodyError(`body is not valid JSON: ${(err as Error).message}`, 'is not valid JSON');
      }
    case 'form':
      return formToObject(raw.toString('utf8'));
    case 'xml':
      return parseXml(raw.toString('utf8'), limits.maxXmlDepth, options.xmlArrays ?? []);
    case 'text':
    case 'empty':
      return raw.toString('utf8');
    case 'binary': {
      const text = raw.toString('utf8');
      return Buffer.from(text, 'utf8').equals(raw) ? text : { base64: raw.toString('base64') };
    }
  }
}

/** Parsed before validated: the parser stops at excess depth, the validator would walk all of it first. */
function parseXml(text: string, maxDepth: number, arrays: readonly string[]): unknown {
  let parsed: unknown;
  let parseError: Error | undefined;
  try {
    parsed = xmlParserFor(maxDepth, arrays).parse(text);
  } catch (err) {
    if (XML_TOO_DEEP.test((err as Error).message)) throw tooDeep('XML', maxDepth);
    parseError = err as Error;
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new RequestBodyError(
      `body is not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`,
      'is not well-formed XML',
    );
  }
  if (parseError) {
    throw new RequestBodyError(`body is not usable XML: ${parseError.message}`, 'is not usable XML');
  }
  return parsed;
}

/** `a=1&a=2&b=x` -> `{ a: ['1', '2'], b: 'x' }`, the shape query strings get too. */
function formToObject(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [key, value] of new URLSearchParams(text)) {
    const prev = out[key];
    out[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return { ...out };
}

function tooDeep(what: 'JSON' | 'XML', max: number): RequestBodyError {
  return new RequestBodyError(
    `body ${what} is nested deeper than ${max} levels`,
    `is nested deeper than ${max} levels`,
  );
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/** True when JSON nests deeper than `max`; scans bytes, as UTF-8 continuation bytes are never ASCII. */
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

/** True when a parsed value nests deeper than `max`, counted as `jsonDepthExceeds` counts its text. No recursion. */
export function valueDepthExceeds(value: unknown, max: number): boolean {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.value === null || typeof node.value !== 'object') continue;
    const depth = node.depth + 1;
    if (depth > max) return true;
    for (const child of Object.values(node.value)) stack.push({ value: child, depth });
  }
  return false;
}
