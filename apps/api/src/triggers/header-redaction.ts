/** Header names that say they carry a credential or signature: never stored in clear nor handed to steps. */
const SENSITIVE_HEADER =
  /authorization|cookie|token|secret|signature|hmac|api-?key|password|passwd|session|credential/i;

export const REDACTED = '[redacted]';

/** Redacts credential headers by name before anything is stored or shown. */
export class HeaderRedaction {
  private readonly extra: ReadonlySet<string>;

  constructor(extraNames: string[] = []) {
    this.extra = new Set(extraNames.map((n) => n.toLowerCase()));
  }

  isSensitive(name: string): boolean {
    return SENSITIVE_HEADER.test(name) || this.extra.has(name.toLowerCase());
  }

  /** The headers as stored: sensitive values replaced, at most `maxCount` of them. */
  redact(
    headers: Record<string, string | string[] | undefined>,
    maxCount = Number.POSITIVE_INFINITY,
  ): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    let count = 0;
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) continue;
      if (++count > maxCount) break;
      out[name] = this.isSensitive(name) ? REDACTED : value;
    }
    return out;
  }
}

export function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** `values` with the one named `name` redacted: a trigger's own credential (header or query parameter). */
export function redactNamed<T>(
  values: Record<string, T>,
  name: string | undefined,
): Record<string, T | string> {
  return name && Object.hasOwn(values, name) ? { ...values, [name]: REDACTED } : values;
}
