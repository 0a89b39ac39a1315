import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import ts from 'typescript';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '@hookflow/platform/embedded';

// jest runs from the repository root (ESM mode has no __dirname).
const REPO = process.cwd();
const EMBEDDED_SRC = path.join(REPO, 'libs', 'platform', 'src', 'embedded');

/**
 * A real PostgreSQL under a temporary data directory: cold and warm starts, data surviving
 * restarts, the server stopping with a SIGKILLed launcher, and the boot-time cleanup of one that
 * did not.
 */
describe('embedded PostgreSQL', () => {
  let dataDir: string;
  const running: EmbeddedPostgres[] = [];

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hookflow-embedded-'));
  });
  afterAll(async () => {
    await Promise.all(running.map((db) => db.stop()));
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  const start = async () => {
    const db = await startEmbeddedPostgres({ dataDir });
    running.push(db);
    return db;
  };
  const query = async (url: string, sql: string) => {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  };

  it('creates the cluster and the hookflow database on first start, UTF8 and on loopback only', async () => {
    const db = await start();

    expect(db.url).toMatch(new RegExp(`^postgres://hookflow:[\\w-]+@127\\.0\\.0\\.1:${db.port}/hookflow$`));
    expect(await query(db.url, 'SHOW server_encoding')).toEqual([{ server_encoding: 'UTF8' }]);
    expect(await query(db.url, 'SHOW listen_addresses')).toEqual([{ listen_addresses: '127.0.0.1' }]);
    await query(db.url, `CREATE TABLE kept (note text); INSERT INTO kept VALUES ('before restart')`);
    expect(existsSync(path.join(dataDir, 'pg', 'PG_VERSION'))).toBe(true);
    expect((await fs.stat(path.join(dataDir, 'pg-password'))).mode & 0o777).toBe(0o600);

    await db.stop();
    await db.stop(); // idempotent
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  });

  it('keeps the data across a restart', async () => {
    const db = await start();
    expect(await query(db.url, 'SELECT note FROM kept')).toEqual([{ note: 'before restart' }]);

    await expect(startEmbeddedPostgres({ dataDir })).rejects.toThrow(/in use by another Hookflow process/);

    await db.stop();
  });

  it('stops by itself when its launcher is SIGKILLed, and starts again with the data', async () => {
    const launcher = await spawnLauncherStandIn(dataDir);
    await query(await launcher.url, `INSERT INTO kept VALUES ('written by the killed launcher')`);
    const postmaster = await postmasterPid();
    launcher.child.kill('SIGKILL');
    await launcher.exited;

    // Its watcher saw the pipe from the launcher close; with no client left, the shutdown is immediate.
    await waitFor(() => !isAlive(postmaster), 15_000);
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
    const db = await start();
    expect(await query(db.url, 'SELECT count(*)::int AS n FROM kept')).toEqual([{ n: 2 }]);
    await db.stop();
  });

  it('after its launcher is SIGKILLed, lets a connected client finish, then stops at the client grace', async () => {
    const launcher = await spawnLauncherStandIn(dataDir, { clientGraceMs: 2_000 });
    const client = new Client({ connectionString: await launcher.url });
    await client.connect();
    const closed = new Promise((resolve) => client.on('error', resolve));
    const postmaster = await postmasterPid();
    launcher.child.kill('SIGKILL');
    await launcher.exited;

    // A smart shutdown: the session an app would be draining on still works.
    await client.query(`INSERT INTO kept VALUES ('written while the server waited for its clients')`);
    await waitFor(() => !isAlive(postmaster), 15_000);
    await closed;
    const db = await start();
    expect(await query(db.url, 'SELECT count(*)::int AS n FROM kept')).toEqual([{ n: 3 }]);
    await db.stop();
  });

  it('stops a server left running by a launcher killed with its watcher, and starts again with the data', async () => {
    const launcher = await spawnLauncherStandIn(dataDir);
    await query(await launcher.url, `INSERT INTO kept VALUES ('written by the killed launcher, unwatched')`);
    const orphanPid = await postmasterPid();
    // The watcher shell and its reader (everything below the launcher but the postmaster), then the launcher.
    const watchers = [...childrenOf(launcher.child.pid as number), ...childrenOf(parentOf(orphanPid))].filter(
      (pid) => pid !== orphanPid,
    );
    expect(watchers).toHaveLength(2);
    for (const pid of watchers) process.kill(pid, 'SIGKILL');
    launcher.child.kill('SIGKILL');
    await launcher.exited;
    expect(isAlive(orphanPid)).toBe(true);

    const db = await start();

    expect(isAlive(orphanPid)).toBe(false);
    expect(await query(db.url, 'SELECT note FROM kept ORDER BY note')).toEqual([
      { note: 'before restart' },
      { note: 'written by the killed launcher' },
      { note: 'written by the killed launcher, unwatched' },
      { note: 'written while the server waited for its clients' },
    ]);
    await db.stop();
  });

  it('removes a postmaster.pid naming a dead process or a pid reused by another program', async () => {
    const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
    const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      for (const pid of [await deadPid(), bystander.pid as number]) {
        await fs.writeFile(pidFile, `${pid}\n${path.join(dataDir, 'pg')}\n`);

        const db = await start();
        expect(await query(db.url, 'SELECT count(*)::int AS n FROM kept')).toEqual([{ n: 4 }]);
        await db.stop();
      }
      expect(bystander.exitCode).toBeNull();
      expect(isAlive(bystander.pid as number)).toBe(true);
    } finally {
      bystander.kill('SIGKILL');
    }
  });

  const postmasterPid = async () =>
    Number((await fs.readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
});

/** A zombie counts as gone: it has exited and only waits for init to reap it. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((candidate) => {
      try {
        return parentOf(candidate) === pid;
      } catch {
        return false;
      }
    });
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`still not true after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function deadPid(): Promise<number> {
  const child = spawn('true', { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

/**
 * A separate Node process that starts the embedded server with the real code (transpiled on the
 * fly, as jest does for this file) and then waits to be SIGKILLed, like a launcher would be.
 */
async function spawnLauncherStandIn(
  dataDir: string,
  options: { clientGraceMs?: number } = {},
): Promise<{ child: ChildProcess; url: Promise<string>; exited: Promise<unknown> }> {
  const outDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hookflow-launcher-stand-in-'));
  for (const name of await fs.readdir(EMBEDDED_SRC)) {
    if (!name.endsWith('.ts') || name.endsWith('.spec.ts')) continue;
    const source = await fs.readFile(path.join(EMBEDDED_SRC, name), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    });
    await fs.writeFile(path.join(outDir, name.replace(/\.ts$/, '.js')), outputText);
  }
  const script = `
    require(${JSON.stringify(path.join(outDir, 'index.js'))})
      .startEmbeddedPostgres({ ...${JSON.stringify(options)}, dataDir: ${JSON.stringify(dataDir)} })
      .then((db) => console.log('URL ' + db.url), (error) => { console.error(error); process.exit(1); });
    setInterval(() => undefined, 1000);
  `;
  const child = spawn(process.execPath, ['-e', script], {
    env: { ...process.env, NODE_PATH: path.join(REPO, 'node_modules') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve)).finally(() =>
    fs.rm(outDir, { recursive: true, force: true }),
  );
  const url = new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /^URL (\S+)$/m.exec(output);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) =>
      reject(new Error(`the stand-in launcher exited early (${code}): ${output}`)),
    );
  });
  return { child, url, exited };
}
