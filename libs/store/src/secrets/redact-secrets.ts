/** What a secret's value is replaced with wherever it would be stored or logged. */
export function redactedSecret(name: string): string {
  return `[secret ${name}]`;
}

export type SecretRedactor = <T>(value: T) => T;

const identity: SecretRedactor = (value) => value;

function forms(value: string): string[] {
  // The value as sent, and the escaped forms it takes inside JSON text and in a URL, where a
  // response or an error message may echo it.
  const json = JSON.stringify(value).slice(1, -1);
  return [...new Set([value, json, encodeURIComponent(value)])];
}

/**
 * Builds a function that returns a copy of a JSON value in which every occurrence of any of the
 * given secret values, in any string (object keys included), is replaced by `[secret NAME]`.
 * One pass with the longest values first, so a secret that contains another is named as itself
 * and a replacement is never searched again. Empty values are ignored.
 */
export function secretRedactor(secrets: Readonly<Record<string, string>>): SecretRedactor {
  const byForm = new Map<string, string>();
  for (const [name, value] of Object.entries(secrets)) {
    if (!value) continue;
    for (const form of forms(value)) if (!byForm.has(form)) byForm.set(form, redactedSecret(name));
  }
  if (byForm.size === 0) return identity;
  const pattern = new RegExp(
    [...byForm.keys()]
      .sort((a, b) => b.length - a.length)
      .map((form) => form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('|'),
    'g',
  );
  const scrub = (text: string) => (text === '' ? text : text.replace(pattern, (hit) => byForm.get(hit)!));
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return scrub(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === 'object') {
      const proto = Object.getPrototypeOf(value);
      // Stored step data is plain JSON; anything else (a Date) carries no text of its own.
      if (proto !== Object.prototype && proto !== null) return value;
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [scrub(k), walk(v)]));
    }
    return value;
  };
  return walk as SecretRedactor;
}

/** `secretRedactor(secrets)(value)`, for a single use. */
export function redactSecrets<T>(value: T, secrets: Readonly<Record<string, string>>): T {
  return secretRedactor(secrets)(value);
}
