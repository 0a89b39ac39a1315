// Templates in URLs: each value is encoded for where it lands (docs/outbound.md#templates-in-urls).

/** Where in a URL the text written so far ends. */
type UrlState = 'start' | 'scheme' | 'slashes' | 'authority' | 'path' | 'query' | 'fragment';

const SCHEME_CHAR = /[A-Za-z0-9+.-]/;
// What could move a value out of the host: delimiters, userinfo, percent-escapes, spaces, controls.
// eslint-disable-next-line no-control-regex -- control characters are exactly what must not pass
const HOST_UNSAFE = /[\u0000-\u0020\u007f/\\?#@%<>^|"`{}]/;

/** How a rendered piece of text goes into the URL. */
export type UrlValueMode =
  /** A template value: encoded for its place (or checked, in the host). */
  | 'value'
  /** `{{urlencode x}}`: already percent-encoded, inserted as it is but still a value. */
  | 'encoded'
  /** `{{raw x}}`: the author's own URL text, as if written out. */
  | 'raw';

/** A value the URL rules refuse; `source` is the template text of the value, never the value. */
export class UrlValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UrlValueError';
  }
}

function isDotSegment(segment: string): boolean {
  const s = segment.toLowerCase().replace(/%2e/g, '.');
  return s === '.' || s === '..';
}

function encodeComponent(text: string, source: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    throw new UrlValueError(`${source} renders text with a lone UTF-16 surrogate, which no URL can carry`);
  }
}

/** Builds one URL from literal text and rendered values (WHATWG's special-scheme reading: `\` is `/`). */
export class UrlBuilder {
  private out = '';
  private state: UrlState = 'start';
  private segment = '';
  private segmentHasLiteral = false;
  private segmentValue: string | undefined;
  /** Whether anything was written: only the first piece may fill the whole URL, even when empty. */
  private started = false;

  /** Text as the author wrote it. */
  literal(text: string): void {
    this.started = true;
    for (const ch of text) this.feed(ch, true);
  }

  /** A rendered value; `source` names it in errors (`{{input.id}}`). */
  value(text: string, mode: UrlValueMode, source: string): void {
    if (mode === 'raw' || !this.started) {
      // The author's own text, or a template that fills the whole URL or its origin.
      this.literal(text);
      return;
    }
    this.started = true;
    switch (this.state) {
      case 'start':
      case 'scheme':
      case 'slashes':
      case 'authority':
        if (HOST_UNSAFE.test(text)) {
          throw new UrlValueError(
            `${source} is in the host and renders a character that could change the address ('/', '?', '#', '@', '%', '\\' or a space); write the host out, or use {{raw ...}} if you mean it`,
          );
        }
        this.literal(text);
        return;
      case 'path': {
        const encoded = mode === 'encoded' ? text : encodeComponent(text, source);
        this.out += encoded;
        this.segment += encoded;
        this.segmentValue ??= source;
        return;
      }
      default:
        this.out += mode === 'encoded' ? text : encodeComponent(text, source);
    }
  }

  /** The URL; throws `UrlValueError` when a value made a path segment that moves the path. */
  finish(): string {
    if (this.state === 'path') this.endSegment();
    return this.out;
  }

  private feed(ch: string, literal: boolean): void {
    this.out += ch;
    switch (this.state) {
      case 'start':
        if (ch === ':') this.state = 'scheme';
        else if (!SCHEME_CHAR.test(ch)) this.enterFrom('path', ch);
        return;
      case 'scheme':
        if (ch === '/' || ch === '\\') this.state = 'slashes';
        else this.enterFrom('path', ch);
        return;
      case 'slashes':
        if (ch !== '/' && ch !== '\\') this.enterFrom('authority', ch);
        return;
      case 'authority':
        if (ch === '/' || ch === '\\') this.startSegment();
        else if (ch === '?') this.state = 'query';
        else if (ch === '#') this.state = 'fragment';
        return;
      case 'path':
        if (ch === '/' || ch === '\\' || ch === '?' || ch === '#') {
          this.endSegment();
          if (ch === '?') this.state = 'query';
          else if (ch === '#') this.state = 'fragment';
          else this.startSegment();
        } else {
          this.segment += ch;
          if (literal) this.segmentHasLiteral = true;
        }
        return;
      case 'query':
        if (ch === '#') this.state = 'fragment';
        return;
      default:
        return;
    }
  }

  /** `ch` (already written) is the first character of `state`. */
  private enterFrom(state: 'path' | 'authority', ch: string): void {
    if (state === 'authority') {
      this.state = 'authority';
      return;
    }
    this.startSegment();
    if (ch === '/' || ch === '\\') return;
    if (ch === '?') {
      this.endSegment();
      this.state = 'query';
    } else if (ch === '#') {
      this.endSegment();
      this.state = 'fragment';
    } else {
      this.segment = ch;
      this.segmentHasLiteral = true;
    }
  }

  private startSegment(): void {
    this.state = 'path';
    this.segment = '';
    this.segmentHasLiteral = false;
    this.segmentValue = undefined;
  }

  private endSegment(): void {
    const source = this.segmentValue;
    if (source === undefined) return;
    if (isDotSegment(this.segment)) {
      throw new UrlValueError(
        `${source} makes the path segment '${this.segment}', which would move the request up the path`,
      );
    }
    if (this.segment === '' && !this.segmentHasLiteral) {
      throw new UrlValueError(
        `${source} renders an empty path segment, which would send the request to another path`,
      );
    }
  }
}

/** Where a template value would land in a URL, judged from the literal text before it alone. */
export type StaticUrlPlace = 'whole' | 'host' | 'elsewhere';

/** Where each value of a URL template lands, without rendering: for the validator's host warning. */
export class StaticUrlScanner {
  private state: UrlState = 'start';
  private empty = true;

  literal(text: string): void {
    for (const ch of text) {
      this.empty = false;
      switch (this.state) {
        case 'start':
          if (ch === ':') this.state = 'scheme';
          else if (!SCHEME_CHAR.test(ch)) this.state = ch === '?' || ch === '#' ? 'query' : 'path';
          break;
        case 'scheme':
          this.state = ch === '/' || ch === '\\' ? 'slashes' : 'path';
          break;
        case 'slashes':
          if (ch !== '/' && ch !== '\\') this.state = 'authority';
          break;
        case 'authority':
          if (ch === '/' || ch === '\\') this.state = 'path';
          else if (ch === '?' || ch === '#') this.state = 'query';
          break;
        default:
          if (ch === '?' || ch === '#') this.state = 'query';
      }
    }
  }

  /** Where a value placed now lands; afterwards the scanner assumes the value stays in that place. */
  value(): StaticUrlPlace {
    if (this.empty && this.state === 'start') {
      this.empty = false;
      // An origin from a value ends wherever that value ends: until a literal delimiter, assume the host.
      this.state = 'authority';
      return 'whole';
    }
    this.empty = false;
    return this.state === 'path' || this.state === 'query' || this.state === 'fragment'
      ? 'elsewhere'
      : 'host';
  }

  /** A copy, to follow the branches of a block. */
  fork(): StaticUrlScanner {
    const copy = new StaticUrlScanner();
    copy.follow(this);
    return copy;
  }

  /** Continues from where `other` (a branch taken) ended. */
  follow(other: StaticUrlScanner): void {
    this.state = other.state;
    this.empty = other.empty;
  }
}
