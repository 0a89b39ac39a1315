import { randomBytes } from 'node:crypto';
import { readOrCreateKeyFile, type KeyFile } from './api-key.file';

const FILE_NAME = 'master-key';
const KEY_BYTES = 32;

/** The secret store's master key in `<dataDir>/master-key`; never replaced: losing it loses the secrets. */
export function readOrCreateMasterKey(dataDir: string): Promise<KeyFile> {
  return readOrCreateKeyFile(dataDir, FILE_NAME, () => randomBytes(KEY_BYTES).toString('base64'));
}
