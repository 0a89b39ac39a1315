import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface KeyFile {
  key: string;
  path: string;
  /** True when this call generated the key. */
  created: boolean;
}

const FILE_NAME = 'api-key';
const KEY_BYTES = 32;

/** The admin API key in `<dataDir>/api-key`, generated on first use. */
export function readOrCreateApiKey(dataDir: string): Promise<KeyFile> {
  return readOrCreateKeyFile(dataDir, FILE_NAME, () => randomBytes(KEY_BYTES).toString('base64url'));
}

/** The key in `<dataDir>/<fileName>`, created on first use (0600, dir 0700); racing starts share one key. */
export async function readOrCreateKeyFile(
  dataDir: string,
  fileName: string,
  generate: () => string,
): Promise<KeyFile> {
  // Only the data directory itself is private; parents keep the usual mode (PostgreSQL's account
  // must be able to pass through them).
  await fs.mkdir(path.dirname(dataDir), { recursive: true });
  await fs.mkdir(dataDir, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  const file = path.join(dataDir, fileName);
  const existing = await readKey(file);
  if (existing) {
    // Someone may have copied the file around with a looser mode; a key is not world-readable.
    await fs.chmod(file, 0o600);
    return { key: existing, path: file, created: false };
  }
  const key = generate();
  // Written aside then linked into place, so a concurrent start never reads a half-written key and
  // loses the race cleanly (EEXIST) instead of overwriting the winner's key.
  const staged = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(staged, key + '\n', { mode: 0o600 });
  try {
    await fs.chmod(staged, 0o600);
    if (existing === '') await fs.rename(staged, file);
    else await fs.link(staged, file);
  } catch (error) {
    const winner = (error as NodeJS.ErrnoException).code === 'EEXIST' ? await readKey(file) : undefined;
    if (winner) return { key: winner, path: file, created: false };
    throw error;
  } finally {
    await fs.rm(staged, { force: true });
  }
  return { key, path: file, created: true };
}

/** The trimmed key; '' for an empty file, undefined for no file. */
async function readKey(file: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
