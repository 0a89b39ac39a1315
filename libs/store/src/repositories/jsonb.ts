/**
 * JSON text for a jsonb parameter. PostgreSQL's jsonb refuses the NUL character (`\u0000`), which
 * senders and receivers can put anywhere; it is stored as U+FFFD so the data is kept, not refused.
 * The raw bytes of an event are kept unchanged in `raw_body`.
 */
export function toJsonb(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const text = JSON.stringify(value);
  // Only an escape preceded by an even number of backslashes is a NUL (`\\u0000` is text).
  return text.includes('\\u0000') ? text.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd') : text;
}
