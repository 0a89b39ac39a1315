import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readOrCreateApiKey } from './api-key.file';

describe('readOrCreateApiKey', () => {
  let root: string;
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'hookflow-api-key-'));
  });
  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  const mode = async (file: string) => (await fs.stat(file)).mode & 0o777;

  it('creates the data directory 0700 and a 0600 file holding 32 random bytes in base64url', async () => {
    const dataDir = path.join(root, 'nested', '.data');
    const result = await readOrCreateApiKey(dataDir);

    expect(result).toEqual({
      key: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      path: path.join(dataDir, 'api-key'),
      created: true,
    });
    expect(Buffer.from(result.key, 'base64url')).toHaveLength(32);
    expect(await fs.readFile(result.path, 'utf8')).toBe(result.key + '\n');
    expect(await mode(dataDir)).toBe(0o700);
    expect(await mode(result.path)).toBe(0o600);
    // Parents keep the usual mode: the embedded PostgreSQL's account must pass through them.
    expect((await mode(path.join(root, 'nested'))) & 0o011).toBe(0o011);
  });

  it('returns the same key on the next start', async () => {
    const first = await readOrCreateApiKey(root);
    const second = await readOrCreateApiKey(root);
    expect(second).toEqual({ ...first, created: false });
  });

  it('keeps a key the user wrote, trimmed, and tightens a loose file mode', async () => {
    const file = path.join(root, 'api-key');
    await fs.writeFile(file, '  my-own-admin-key-of-some-length \n', { mode: 0o644 });
    await fs.chmod(file, 0o644);

    const result = await readOrCreateApiKey(root);

    expect(result).toEqual({ key: 'my-own-admin-key-of-some-length', path: file, created: false });
    expect(await mode(file)).toBe(0o600);
  });

  it('replaces an empty file left by an interrupted first start', async () => {
    const file = path.join(root, 'api-key');
    await fs.writeFile(file, '');

    const result = await readOrCreateApiKey(root);

    expect(result.created).toBe(true);
    expect(result.key).toHaveLength(43);
    expect((await fs.readFile(file, 'utf8')).trim()).toBe(result.key);
  });

  it('gives concurrent first starts one and the same key', async () => {
    const results = await Promise.all([
      readOrCreateApiKey(root),
      readOrCreateApiKey(root),
      readOrCreateApiKey(root),
    ]);
    expect(new Set(results.map((r) => r.key)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });
});
