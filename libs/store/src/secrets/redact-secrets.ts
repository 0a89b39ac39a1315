/** What a secret's value is replaced with wherever it would be stored or logged. */
export function redactedSecret(name: string): string {
  return `[secret ${name}]`;
}

export type SecretRedactor = <T>(value: T) => T;

const identity: SecretRedactor = (value) => value;

/** Encoded forms shorter than this are left alone: they would match unrelated text too often. */
const MIN_ENCODED_CHARS = 8;

function forms(value: string): string[] {
  // As sent, escaped for JSON and URLs (a query string built by URLSearchParams encodes more), and
  // as hex and base64: receivers echo credentials in any of these (`Basic base64(user:secret)`).
  const json = JSON.stringify(value).slice(1, -1);
  const formEncoded = new URLSearchParams([['', value]]).toString().slice(1);
  const bytes = Buffer.from(value, 'utf8');
  const hex = bytes.toString('hex');
  const encoded = [hex, hex.toUpperCase(), ...base64Forms(bytes)].filter(
    (form) => form.length >= MIN_ENCODED_CHARS,
  );
  return [...new Set([value, json, encodeURIComponent(value), formEncoded, ...encoded])];
}

/**
 * `bytes` in base64 and base64url, whole and inside longer text: at each of the three offsets, the
 * characters whose six bits all come from the value do not depend on what surrounds it.
 */
function base64Forms(bytes: Buffer): string[] {
  const whole = bytes.toString('base64');
  const standard = [whole, whole.replace(/=+$/, '')];
  for (let offset = 0; offset < 3; offset++) {
    const shifted = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    standard.push(shifted.slice(Math.ceil((offset * 8) / 6), Math.floor(((offset + bytes.length) * 8) / 6)));
  }
  return standard.flatMap((form) => [form, form.replaceAll('+', '-').replaceAll('/', '_')]);
}

/**
 * Copies a JSON value with every secret value in any string (keys too) replaced by `[secret NAME]`,
 * in one pass longest first, so a secret containing another is named as itself.
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
