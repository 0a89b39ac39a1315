/** The secret store's AES-256 key length (HOOKFLOW_MASTER_KEY). */
export const MASTER_KEY_BYTES = 32;

/** A master key as 64 hex digits or base64 (either alphabet) of 32 bytes; undefined for anything else. */
export function parseMasterKey(text: string): Buffer | undefined {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  // 32 bytes are 43 base64 characters plus one '=' of padding.
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) return undefined;
  const key = Buffer.from(value, 'base64');
  return key.length === MASTER_KEY_BYTES ? key : undefined;
}
