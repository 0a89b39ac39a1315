/** Opaque keyset cursors for newest-first lists ordered by (created_at, id). */
export interface KeysetCursor {
  at: Date;
  id: string;
}

export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`).toString('base64url');
}

/** Returns null for a cursor this server did not make; callers answer 400. */
export function decodeCursor(cursor: string): KeysetCursor | null {
  const [iso, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const at = new Date(iso ?? '');
  if (!id || Number.isNaN(at.getTime()) || !/^[0-9a-f-]{36}$/.test(id)) return null;
  return { at, id };
}
