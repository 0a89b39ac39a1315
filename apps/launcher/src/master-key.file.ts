import { randomBytes } from 'node:crypto';
import { readOrCreateKeyFile, type KeyFile } from './api-key.file';

const FILE_NAME = 'master-key';
const KEY_BYTES = 32;

/**
 * Returns the secret store's master key kept in `<dataDir>/master-key` (32 random bytes,
 * base64), generating it on first use; same file rules as the API key (0600 in a 0700 directory).
 * The key lives beside the embedded database it protects: losing it makes the stored secrets
 * unreadable, so it is only ever created, never replaced.
 */
export function readOrCreateMasterKey(dataDir: string): Promise<KeyFile> {
  return readOrCreateKeyFile(dataDir, FILE_NAME, () => randomBytes(KEY_BYTES).toString('base64'));
}
