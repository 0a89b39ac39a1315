import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { transpiledModule, type TranspiledModule } from '../../../../test/utils/transpiled-module';

/**
 * The helpers only act in a process started with an IPC channel, so each case runs them in a small
 * child process (the jest worker itself has an IPC channel to jest).
 */
describe('process lifecycle helpers', () => {
  let compiled: TranspiledModule;
  let lifecycle: string;
  /** The compiled module's temporary folder, for the files of a case. */
  let dir: string;

  beforeAll(async () => {
    compiled = await transpiledModule('libs/platform/src/embedded/process-lifecycle.ts');
    lifecycle = compiled.file;
    dir = path.dirname(lifecycle);
  });
  afterAll(() => compiled.remove());

  /** Runs `body` in a child that has the helpers in scope; `ipc` decides whether it gets a channel. */
  const app = (body: string, ipc = true): ChildProcess =>
    spawn(
      process.execPath,
      [
        '-e',
        `const { notifyReady, exitWithParent, followLauncher, stopGracefully } = require(${JSON.stringify(lifecycle)});\n${body}`,
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit', ...(ipc ? ['ipc' as const] : [])],
      },
    );
  // 'exit' plus the end of stdout: 'close' never comes after the parent called disconnect().
  const exitOf = async (child: ChildProcess) => {
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const [code] = await Promise.all([
      new Promise<number | null>((resolve) => child.once('exit', resolve)),
      new Promise((resolve) => child.stdout?.once('end', resolve)),
    ]);
    return { code, stdout };
  };
  const message = (child: ChildProcess) => new Promise((resolve) => child.once('message', resolve));

  it('notifyReady sends { type: "ready" } to the launcher', async () => {
    const child = app(`notifyReady(); setTimeout(() => undefined, 200);`);
    await expect(message(child)).resolves.toEqual({ type: 'ready' });
    await exitOf(child);
  });

  it('exitWithParent runs the callback and exits once the launcher disconnects', async () => {
    const child = app(`
      exitWithParent(async () => { await new Promise((r) => setTimeout(r, 50)); console.log('closed'); });
      notifyReady();
      setInterval(() => undefined, 1000);`);
    const exited = exitOf(child);
    await message(child);

    child.disconnect();

    await expect(exited).resolves.toEqual({ code: 0, stdout: 'closed\n' });
  });

  it('exitWithParent also fires when the launcher is SIGKILLed', async () => {
    const marker = path.join(dir, 'orphan-closed');
    const appScript = path.join(dir, 'orphan-app.js');
    await fs.writeFile(
      appScript,
      `const { exitWithParent, notifyReady } = require(${JSON.stringify(lifecycle)});
       exitWithParent(() => require('fs').writeFileSync(${JSON.stringify(marker)}, String(process.pid)));
       notifyReady();
       setInterval(() => undefined, 1000);`,
    );
    const launcher = spawn(
      process.execPath,
      [
        '-e',
        `const app = require('child_process').spawn(process.execPath, [${JSON.stringify(appScript)}], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
         app.on('message', () => console.log(app.pid));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const appPid = await new Promise<number>((resolve) =>
      launcher.stdout?.once('data', (chunk) => resolve(Number(chunk))),
    );

    launcher.kill('SIGKILL');

    await expect(
      waitFor(async () => (await fs.readFile(marker, 'utf8').catch(() => '')) === String(appPid)),
    ).resolves.toBe(true);
    await expect(waitFor(async () => !isAlive(appPid))).resolves.toBe(true);
  });

  it('exitWithParent drains and exits when the launcher was already gone before it was called', async () => {
    // Registered after start-up, as the apps do: a launcher that died meanwhile must still count.
    const child = app(`
      process.once('message', () => setTimeout(() => {
        exitWithParent(() => console.log('closed'));
      }, 300));
      setInterval(() => undefined, 1000);`);
    const exited = exitOf(child);

    child.send('go');
    child.disconnect();

    await expect(exited).resolves.toEqual({ code: 0, stdout: 'closed\n' });
  });

  it('followLauncher makes an app that is still starting exit 1 when the launcher disconnects', async () => {
    const child = app(`followLauncher(); notifyReady(); setInterval(() => undefined, 1000);`);
    const exited = exitOf(child);
    await message(child);

    child.disconnect();

    expect((await exited).code).toBe(1);
  });

  it('followLauncher, then exitWithParent: the drain runs when the launcher goes', async () => {
    const child = app(`
      followLauncher();
      exitWithParent(() => console.log('closed'));
      notifyReady();
      setInterval(() => undefined, 1000);`);
    const exited = exitOf(child);
    await message(child);

    child.disconnect();

    await expect(exited).resolves.toEqual({ code: 0, stdout: 'closed\n' });
  });

  it('exitWithParent exits with 1 at the deadline when the callback hangs', async () => {
    const child = app(
      `exitWithParent(() => new Promise(() => undefined), 200); notifyReady(); setInterval(() => undefined, 1000);`,
    );
    const exited = exitOf(child);
    await message(child);
    const startedAt = Date.now();

    child.disconnect();

    expect((await exited).code).toBe(1);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(150);
  });

  it('the IPC channel alone does not keep an app alive', async () => {
    const child = app(
      `exitWithParent(() => console.log('must not run')); notifyReady(); console.log('done');`,
    );
    await expect(exitOf(child)).resolves.toEqual({ code: 0, stdout: 'done\n' });
  });

  /** A child that logs what the lifecycle says and has a readiness line to wait for. */
  const stoppable = (close: string, options = '{ graceMs: 5000 }') =>
    app(
      `stopGracefully(${close}, { ...${options}, log: (line) => console.log(line) });
       console.log('up'); setInterval(() => undefined, 1000);`,
      false,
    );
  const started = (child: ChildProcess) =>
    new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));

  it('stopGracefully drains once on SIGTERM, then exits 0', async () => {
    const child = stoppable(
      `async () => { await new Promise((r) => setTimeout(r, 100)); console.log('closed'); }`,
    );
    const exited = exitOf(child);
    await started(child);

    child.kill('SIGTERM');
    // Close together: one request (a terminal's Ctrl-C can reach a process twice).
    child.kill('SIGTERM');

    const { code, stdout } = await exited;
    expect(code).toBe(0);
    expect(stdout.match(/closed/g)).toEqual(['closed']);
    expect(stdout).toContain('SIGTERM: draining, up to 5000 ms for work in flight');
  });

  it('stopGracefully exits 0 after the grace and the margin when draining hangs', async () => {
    const child = stoppable(`() => new Promise(() => undefined)`, '{ graceMs: 150, closeMarginMs: 50 }');
    const exited = exitOf(child);
    await started(child);
    const signalledAt = Date.now();

    child.kill('SIGINT');

    const { code, stdout } = await exited;
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(190);
    expect(stdout).toContain('still draining 200 ms after SIGINT; exiting');
  });

  it('stopGracefully exits 1 when draining fails', async () => {
    const child = stoppable(`async () => { throw new Error('pool gone'); }`);
    const exited = exitOf(child);
    await started(child);

    child.kill('SIGTERM');

    expect((await exited).code).toBe(1);
  });

  it('both are no-ops in an app started on its own (no IPC channel)', async () => {
    const child = app(
      `followLauncher(); exitWithParent(() => console.log('must not run')); notifyReady(); console.log('done');`,
      false,
    );
    await expect(exitOf(child)).resolves.toEqual({ code: 0, stdout: 'done\n' });
  });
});

/** A zombie counts as gone: it has exited and only waits for init to reap it. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}
