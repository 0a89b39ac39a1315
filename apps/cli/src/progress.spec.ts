import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../../test/utils/cli-runner';
import { PROGRESS_MIN_FILES, showsProgress, startProgress } from './progress';

describe('progress bar', () => {
  it('is drawn only for many files on a terminal', () => {
    expect(showsProgress(PROGRESS_MIN_FILES + 1, { write: () => true, isTTY: true })).toBe(true);
    expect(showsProgress(PROGRESS_MIN_FILES, { write: () => true, isTTY: true })).toBe(false);
    expect(showsProgress(500, { write: () => true })).toBe(false);
  });

  it('draws on the given stream and clears itself when done', () => {
    let drawn = '';
    const stream = { write: (s: string) => (drawn += s), isTTY: true, columns: 80 };
    const progress = startProgress(stream, 30, 'checking flow files');
    for (let i = 0; i < 30; i++) progress.tick();
    progress.stop();
    expect(drawn).toContain('checking flow files [');
    expect(drawn).toContain('0/30');
  });

  it('shows on stderr while validate reads many files, leaving stdout clean', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'hookflow-cli-progress-'));
    try {
      for (let i = 0; i < 25; i++) {
        writeFileSync(
          path.join(root, `f${i}.flow.json`),
          JSON.stringify({
            slug: `f${i}`,
            trigger: { type: 'webhook' },
            steps: [{ id: 'a', type: 'transform', expression: '$' }],
          }),
        );
      }
      const onTerminal = await runCli(['validate', '.'], { cwd: root, tty: true });
      expect(onTerminal).toMatchObject({ code: 0, stdout: '25 files, 0 invalid\n' });
      expect(onTerminal.stderr).toContain('checking flow files [');
      const piped = await runCli(['validate', '.'], { cwd: root });
      expect(piped).toEqual({ code: 0, stdout: '25 files, 0 invalid\n', stderr: '' });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
