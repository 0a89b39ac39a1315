import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { MASTER_KEY_BYTES } from '@hookflow/platform';

/** AES-256-GCM: 32-byte key (MASTER_KEY_BYTES), 12-byte IV (the size GCM is specified for), 16-byte tag. */
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';

/** One encrypted value as stored: each part kept apart so none has to be parsed out of another. */
export interface SealedSecret {
  iv: Buffer;
  ciphertext: Buffer;
  authTag: Buffer;
}

/** The master key is wrong for this value, or the stored bytes were changed. */
export class SecretDecryptionError extends Error {
  constructor(readonly secretName: string) {
    super(
      `secret '${secretName}' cannot be decrypted: HOOKFLOW_MASTER_KEY is not the key it was stored with, or the stored value was altered`,
    );
    this.name = 'SecretDecryptionError';
  }
}

function checkKey(key: Buffer): void {
  if (key.length !== MASTER_KEY_BYTES) throw new Error(`the master key must be ${MASTER_KEY_BYTES} bytes`);
}

/** Encrypts a secret value with its name as AAD, so a ciphertext moved to another name does not decrypt. */
export function sealSecret(key: Buffer, name: string, value: string): SealedSecret {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(name, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return { iv, ciphertext, authTag: cipher.getAuthTag() };
}

/** Decrypts what `sealSecret` made; throws `SecretDecryptionError` on a wrong key or altered bytes. */
export function openSecret(key: Buffer, name: string, sealed: SealedSecret): string {
  checkKey(key);
  try {
    const decipher = createDecipheriv(ALGORITHM, key, sealed.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(name, 'utf8'));
    decipher.setAuthTag(sealed.authTag);
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretDecryptionError(name);
  }
}
