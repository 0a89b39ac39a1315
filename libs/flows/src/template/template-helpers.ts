import { spendText } from './render-budget';

// Helpers for `with` templates; each takes Handlebars' options object last, so that the
// single-mustache renderer can call them directly too.
export type HelperFn = (...args: unknown[]) => unknown;

/** Text form of a value inside a string: nothing for null/undefined, JSON for objects. */
export function toText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function params(args: unknown[]): unknown[] {
  return args.slice(0, -1);
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/** Helpers whose result does not depend on the render (secrets are bound per render, see `secretHelper`). */
export const PURE_HELPERS: Record<string, HelperFn> = {
  /** `{{json value}}`: the value as JSON text (`null` for nothing). */
  json: (...args) => spendText(JSON.stringify(params(args)[0] ?? null)),
  /** `{{urlencode value}}`: percent-encoded; in a `url` inserted as it is, not encoded twice. */
  urlencode: (...args) => spendText(encodeURIComponent(toText(params(args)[0]))),
  /** `{{raw value}}`: the text as it is; in a `url` it is not encoded (the author's own URL text). */
  raw: (...args) => spendText(toText(params(args)[0])),
  /** `{{base64 value}}`: UTF-8 bytes of the text, base64-encoded. */
  base64: (...args) => spendText(Buffer.from(toText(params(args)[0]), 'utf8').toString('base64')),
  /** `{{default a b}}`: `a` unless it is null, undefined or '', else `b` (more fallbacks may follow). */
  default: (...args) => {
    const values = params(args);
    return values.find((v) => !isEmpty(v)) ?? (values.length > 0 ? values[values.length - 1] : null) ?? null;
  },
};

/** Thrown by the `secret` helper; the renderer adds the location. */
export class MissingSecretError extends Error {
  constructor(readonly secretName: string) {
    super(`secret '${secretName}' is not defined`);
    this.name = 'MissingSecretError';
  }
}

/** `{{secret 'NAME'}}` bound to one render's secret values. */
export function secretHelper(secrets: Readonly<Record<string, string>>): HelperFn {
  return (...args) => {
    const name = String(params(args)[0]);
    if (!Object.prototype.hasOwnProperty.call(secrets, name)) throw new MissingSecretError(name);
    return secrets[name];
  };
}

export const SECRET_HELPER = 'secret';
export const RAW_HELPER = 'raw';
export const URLENCODE_HELPER = 'urlencode';

/** Every helper name a template may call, Handlebars' built-ins included. */
export const KNOWN_HELPERS = new Set([
  ...Object.keys(PURE_HELPERS),
  SECRET_HELPER,
  'if',
  'unless',
  'each',
  'with',
  'lookup',
]);
