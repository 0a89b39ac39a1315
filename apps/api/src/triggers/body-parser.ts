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
});

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
export function parseWebhookBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return null;
  const kind = bodyKindOf(contentType);
  switch (kind) {
    case 'json':
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
      const valid = XMLValidator.validate(text);
      if (valid !== true) {
        throw new AppError(
          ErrorCode.InvalidBody,
          `body is not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`,
          [{ path: '/body', message: 'is not well-formed XML' }],
        );
      }
      return xmlParser.parse(text);
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
