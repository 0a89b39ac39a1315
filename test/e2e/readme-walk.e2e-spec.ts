import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freePort } from '../utils/free-port';
import { HookflowHarness } from '../utils/hookflow-harness';
import { waitFor } from '../utils/wait-for';

const ROOT = process.cwd();
const BIN = path.join(ROOT, 'bin', 'hookflow.js');

/** The shell blocks of the README's "The first ten minutes", in order. */
function walkBlocks(): string[] {
  const text = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = text.indexOf('## The first ten minutes');
  const end = text.indexOf('\n## ', start + 1);
  if (start < 0) throw new Error('the README has no "The first ten minutes" section');
  return [...text.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].trim());
}

/**
 * The README's walk, run as written in a folder of its own: terminal 1 (npm start) is the
 * harness's API and worker processes from dist/, with the same OUTBOUND_ALLOW; terminal 2 runs
 * `hookflow listen` as a process; every command of terminal 3 runs in bash. Only the ports change.
 */
describe("the README's first ten minutes", () => {
  let hf: HookflowHarness;
  let work: string;
  let listener: ChildProcess | undefined;

  beforeAll(async () => {
    hf = await HookflowHarness.start({ processes: true, env: { OUTBOUND_ALLOW: '127.0.0.1' } });
    work = mkdtempSync(path.join(tmpdir(), 'hookflow-readme-'));
    mkdirSync(path.join(work, '.data'));
    writeFileSync(path.join(work, '.data', 'api-key'), `${hf.apiKey}\n`);
  });

  afterAll(async () => {
    listener?.kill('SIGINT');
    await hf?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('delivers an order to the receiver through two failures, as the README says', async () => {
    const [terminal1, terminal2, ...terminal3] = walkBlocks();
    expect(terminal1).toBe('OUTBOUND_ALLOW=127.0.0.1 npm start');
    expect(terminal2).toBe('npx hookflow listen --port 4000 --fail-first 2');
    const apiPort = new URL(hf.apiUrl).port;
    const listenPort = await freePort();
    const env = { PATH: process.env.PATH, HOME: work };
    const asHere = (block: string) =>
      block
        .replaceAll('http://localhost:3000', `http://localhost:${apiPort}`)
        .replaceAll('127.0.0.1:4000', `127.0.0.1:${listenPort}`)
        .replaceAll('--port 4000', `--port ${listenPort}`)
        .replaceAll('npx hookflow', `node ${BIN}`);

    let printed = '';
    listener = spawn('bash', ['-c', `exec ${asHere(terminal2)}`], { cwd: work, env });
    listener.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    listener.stderr!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    await waitFor(() => printed.includes(`127.0.0.1:${listenPort}`), { what: 'the listener to start' });

    const script = ['set -euo pipefail', ...terminal3.map(asHere)].join('\n');
    const shell = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile('bash', ['-c', script], { cwd: work, env, timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
      );
    });
    expect(shell).toMatchObject({ code: 0 });
    expect(shell.output).toContain(`logged in to http://localhost:${apiPort}`);

    const { runId } = JSON.parse(readFileSync(path.join(work, 'run.json'), 'utf8'));
    const run = await hf.waitForRun(runId, 30_000);
    expect(run.status).toBe('succeeded');
    const notify = run.steps.find((s: { id: string }) => s.id === 'notify');
    expect(notify.attempts.map((a: { responseStatus: number }) => a.responseStatus)).toEqual([500, 500, 200]);
    await waitFor(() => (printed.match(/\/orders/g) ?? []).length >= 3, { what: 'three requests printed' });
    expect(printed).toContain('"total": 80');
  });
});
