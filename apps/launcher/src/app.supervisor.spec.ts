import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../../../test/utils/wait-for';
import { AppSupervisor } from './app.supervisor';

/** Stand-in apps: plain scripts that behave as the real ones do towards the launcher. */
const STAND_INS: Record<string, string> = {
  // Ready at once; a stop signal closes (briefly) and re-raises it, as Nest's shutdown hooks do.
  'graceful.js': `
    for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => setTimeout(() => process.kill(process.pid, signal), 50));
    process.once('disconnect', () => process.exit(0));
    process.send({ type: 'ready' });
    setInterval(() => undefined, 1000);`,
  'crashes.js': `setTimeout(() => process.exit(3), 100);`,
  'stubborn.js': `
    process.on('SIGTERM', () => undefined);
    process.once('disconnect', () => process.exit(0));
    process.send({ type: 'ready' });
    setInterval(() => undefined, 1000);`,
  // Exits with code 7 when started with the node flag it expects, 8 otherwise.
  'flagged.js': `process.exit(process.execArgv.includes('--max-semi-space-size=8') ? 7 : 8);`,
  'silent.js': `process.once('disconnect', () => process.exit(0)); setInterval(() => undefined, 1000);`,
};

describe('AppSupervisor', () => {
  let dir: string;
  let supervisor: AppSupervisor | undefined;
  const script = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hookflow-supervisor-'));
    for (const [name, source] of Object.entries(STAND_INS)) await fs.writeFile(path.join(dir, name), source);
  });
  afterEach(async () => {
    await supervisor?.stop('SIGKILL', 1_000);
    supervisor = undefined;
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const run = (apps: Record<string, string>) => {
    supervisor = new AppSupervisor(
      Object.entries(apps).map(([name, file]) => ({ name, script: script(file) })),
      process.env,
    );
    supervisor.start();
    return supervisor;
  };

  it('is ready when every app says so, and a stop forwards the signal and waits for both', async () => {
    const apps = run({ api: 'graceful.js', worker: 'graceful.js' });
    await apps.ready;
    expect(apps.notReady()).toEqual([]);

    const exits = await apps.stop('SIGTERM', 5_000);

    expect(exits).toEqual([
      { name: 'api', code: null, signal: 'SIGTERM' },
      { name: 'worker', code: null, signal: 'SIGTERM' },
    ]);
  });

  it('reports the first app to die, with its exit code, while the other keeps running', async () => {
    const apps = run({ api: 'graceful.js', worker: 'crashes.js' });

    await expect(apps.firstExit).resolves.toEqual({ name: 'worker', code: 3, signal: null });
    expect(apps.notReady()).toEqual(['worker']);

    await expect(apps.stop('SIGINT', 5_000)).resolves.toEqual([
      { name: 'api', code: null, signal: 'SIGINT' },
      { name: 'worker', code: 3, signal: null },
    ]);
  });

  it('kills an app that overstays the grace period', async () => {
    const apps = run({ api: 'graceful.js', worker: 'stubborn.js' });
    await apps.ready;

    const exits = await apps.stop('SIGTERM', 300);

    expect(exits.map((exit) => exit.signal)).toEqual(['SIGTERM', 'SIGKILL']);
  });

  it('starts an app with its node flags before the script', async () => {
    supervisor = new AppSupervisor(
      [{ name: 'worker', script: script('flagged.js'), nodeFlags: ['--max-semi-space-size=8'] }],
      process.env,
    );
    supervisor.start();

    await expect(supervisor.firstExit).resolves.toEqual({ name: 'worker', code: 7, signal: null });
  });

  it('lists the apps that have not reported ready', async () => {
    const apps = run({ api: 'graceful.js', worker: 'silent.js' });
    // Once the api has said so, only the worker is left, for as long as it stays silent.
    await waitFor(() => !apps.notReady().includes('api'), { what: 'the api to report ready' });

    expect(apps.notReady()).toEqual(['worker']);
    apps.kill();
    await expect(apps.firstExit).resolves.toMatchObject({ signal: 'SIGKILL' });
  });
});
