import { parseMasterKey } from '@hookflow/platform';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readOrCreateApiKey } from './api-key.file';
import { readOrCreateMasterKey } from './master-key.file';

describe('readOrCreateMasterKey', () => {
  let root: string;
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'hookflow-master-key-'));
  });
  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  const mode = async (file: string) => (await fs.stat(file)).mode & 0o777;

  it('creates <dataDir>/master-key, 0600, holding 32 random bytes the apps accept', async () => {
    const dataDir = path.join(root, '.data');
    const result = await readOrCreateMasterKey(dataDir);

    expect(result).toEqual({
      key: expect.any(String),
      path: path.join(dataDir, 'master-key'),
      created: true,
    });
    expect(parseMasterKey(result.key)).toHaveLength(32);
    expect(await mode(result.path)).toBe(0o600);
    expect(await mode(dataDir)).toBe(0o700);
  });

  it('keeps the key across starts and apart from the API key', async () => {
    const first = await readOrCreateMasterKey(root);
    const apiKey = await readOrCreateApiKey(root);
    const second = await readOrCreateMasterKey(root);
    expect(second).toEqual({ ...first, created: false });
    expect(apiKey.key).not.toBe(first.key);
  });
});
