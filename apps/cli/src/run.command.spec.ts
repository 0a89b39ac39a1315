import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { runCli } from '../../../test/utils/cli-runner';
import { CliError } from './cli-error';
import { readJsonInput } from './flow-files';
import { manualRunRequest, parseTimeout, waitForRunEnd, type Clock } from './run.command';
import type { RunDetail } from './runs.command';

// Nothing listens on port 9 of 127.0.0.1: a command that got as far as the API would say it cannot reach it.
const NOWHERE = 'http://127.0.0.1:9';

const runIn = (status: string): RunDetail => ({
  id: 'r-1',
  flow: 'orders',
  version: 1,
  status,
  createdAt: '2024-05-01T12:00:00Z',
  startedAt: null,
  finishedAt: null,
  originRunId: null,
  event: null,
  steps: [],
});

/** A clock that moves only when slept on, recording each pause. */
function fakeClock(): Clock & { pauses: number[] } {
  let now = 0;
  const pauses: number[] = [];
  return {
    pauses,
    now: () => now,
    sleep: async (ms) => {
      pauses.push(ms);
      now += ms;
    },
  };
}

describe('hookflow run', () => {
  describe('parseTimeout', () => {
    it.each([
      ['500ms', 500],
      ['30s', 30_000],
      ['5m', 300_000],
      ['1h', 3_600_000],
      ['45', 45_000],
    ])('reads %s as %d ms', (text, ms) => {
      expect(parseTimeout(text)).toBe(ms);
    });

    it.each(['0s', '-1s', '1.5s', '10 minutes', 's', ''])('refuses %j as a usage error', (text) => {
      expect(() => parseTimeout(text)).toThrow(
        expect.objectContaining({ exitCode: 2, message: expect.stringContaining('--timeout') }),
      );
    });
  });

  describe('waitForRunEnd', () => {
    it('reads the run until it ends, soon at first and then at most every 2 s', async () => {
      const statuses = ['queued', 'running', 'running', 'running', 'running', 'running', 'failed'];
      const clock = fakeClock();
      const result = await waitForRunEnd(async () => runIn(statuses.shift()!), 60_000, clock);
      expect(result).toEqual({ run: runIn('failed'), ended: true });
      expect(clock.pauses).toEqual([200, 400, 800, 1600, 2000, 2000]);
    });

    it('gives up at the deadline with the run as it was last read, never sleeping past it', async () => {
      const clock = fakeClock();
      const result = await waitForRunEnd(async () => runIn('running'), 1_000, clock);
      expect(result).toEqual({ run: runIn('running'), ended: false });
      expect(clock.pauses).toEqual([200, 400, 400]);
    });

    it('does not wait for a run that already ended', async () => {
      const clock = fakeClock();
      await expect(waitForRunEnd(async () => runIn('filtered'), 1_000, clock)).resolves.toEqual({
        run: runIn('filtered'),
        ended: true,
      });
      expect(clock.pauses).toEqual([]);
    });
  });

  describe('manualRunRequest', () => {
    it('sends only what was given, so that the server fills in the rest', () => {
      expect(manualRunRequest({ headers: {}, query: {} })).toEqual({});
      expect(manualRunRequest({ body: null, headers: { 'x-a': '1' }, query: { t: ['a', 'b'] } })).toEqual({
        body: null,
        headers: { 'x-a': '1' },
        query: { t: ['a', 'b'] },
      });
    });
  });

  describe('--payload', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'hookflow-run-'));
      writeFileSync(path.join(dir, 'order.json'), '{ "id": "A-1" }');
      writeFileSync(path.join(dir, 'broken.json'), '{\n  "id": }');
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reads the whole file, or standard input for -, as the body', async () => {
      await expect(readJsonInput('order.json', { cwd: dir })).resolves.toEqual({ id: 'A-1' });
      const stdin = Readable.from([Buffer.from('[1, '), '2]']);
      await expect(readJsonInput('-', { cwd: dir, stdin })).resolves.toEqual([1, 2]);
    });

    it('points at a syntax error, and says when there is nothing to read', async () => {
      await expect(readJsonInput('broken.json', { cwd: dir })).rejects.toThrow(
        /^broken\.json:2:9: invalid JSON: /,
      );
      await expect(readJsonInput('-', { cwd: dir, stdin: Readable.from(['{']) })).rejects.toThrow(
        /^standard input(:\d+:\d+)?: invalid JSON/,
      );
      await expect(readJsonInput('-', { cwd: dir })).rejects.toThrow(
        new CliError('-: there is no standard input to read'),
      );
      await expect(readJsonInput('missing.json', { cwd: dir })).rejects.toThrow('missing.json: no such file');
    });

    it('is read before the server is asked: a bad file exits 1 and sends nothing', async () => {
      const result = await runCli(['run', 'orders', '--payload', 'broken.json', '--url', NOWHERE], {
        cwd: dir,
      });
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: expect.stringMatching(/^hookflow: broken\.json:2:9: invalid JSON: /),
      });
    });
  });

  it('refuses --timeout without --wait, a bad duration and a malformed --header as usage errors', async () => {
    await expect(runCli(['run', 'orders', '--timeout', '5s', '--url', NOWHERE])).resolves.toEqual({
      code: 2,
      stdout: '',
      stderr: 'hookflow: --timeout goes with --wait\n',
    });
    await expect(
      runCli(['run', 'orders', '--wait', '--timeout', 'soon', '--url', NOWHERE]),
    ).resolves.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--timeout must be a duration such as 30s, 5m or 500ms, got 'soon'"),
    });
    await expect(runCli(['run', 'orders', '--header', 'no-colon', '--url', NOWHERE])).resolves.toMatchObject({
      code: 1,
      stderr: "hookflow: --header expects name:value, got 'no-colon'\n",
    });
  });

  it('needs the server: unreachable, it exits 1 saying so', async () => {
    const result = await runCli(['run', 'orders', '--url', NOWHERE]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot reach Hookflow at ${NOWHERE}`);
  });

  it('is in the help with its options', async () => {
    const result = await runCli(['run', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: hookflow run [options] <slug>');
    for (const option of [
      '--payload <file>',
      '--header <name:value>',
      '--query <name=value>',
      '--wait',
      '--timeout',
    ])
      expect(result.stdout).toContain(option);
  });
});
