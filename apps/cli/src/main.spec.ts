import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../../../test/utils/cli-runner';
import { CLI_VERSION } from './main';

// Nothing listens on port 9 of 127.0.0.1 (and fetch refuses the port outright), so these never reach a server.
const NOWHERE = 'http://127.0.0.1:9';

describe('hookflow (the program)', () => {
  it('prints help with every command and exits 0', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['validate', 'plan', 'apply', 'export', 'test', 'run', 'runs', 'stats', 'listen'])
      expect(result.stdout).toContain(`  ${command} `);
    expect(result.stdout).toContain('HOOKFLOW_API_KEY');
  });

  it('prints help for nested commands, with the global options', async () => {
    const result = await runCli(['runs', 'replay', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: hookflow runs replay [options] <id>');
    expect(result.stdout).toMatch(/--version <which>.*choices:\s+"pinned", "latest", default: "pinned"/s);
    expect(result.stdout).toContain('--json');
  });

  it("prints its version, the package's", async () => {
    const pkg = JSON.parse(readFileSync(path.join(process.cwd(), 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(CLI_VERSION).toBe(pkg.version);
    await expect(runCli(['--version'])).resolves.toEqual({ code: 0, stdout: `${CLI_VERSION}\n`, stderr: '' });
  });

  it('exits 1 on an unknown command or option, with a suggestion', async () => {
    const result = await runCli(['valdate']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("unknown command 'valdate'");
    expect(result.stderr).toContain('validate');
    await expect(runCli(['runs', 'list', '--colour'])).resolves.toMatchObject({ code: 1 });
    await expect(runCli(['runs', 'replay', 'x', '--version', 'newest'])).resolves.toMatchObject({ code: 1 });
  });

  it('takes --url from before or after the command, and HOOKFLOW_URL otherwise', async () => {
    for (const argv of [
      ['--url', NOWHERE, 'runs', 'list'],
      ['runs', 'list', '--url', NOWHERE],
    ]) {
      const result = await runCli(argv, { env: { HOOKFLOW_URL: 'http://127.0.0.1:7' } });
      expect(result).toMatchObject({ code: 1, stdout: '' });
      expect(result.stderr).toMatch(/^hookflow: cannot reach Hookflow at http:\/\/127\.0\.0\.1:9: /);
    }
    const fromEnv = await runCli(['runs', 'show', 'x'], { env: { HOOKFLOW_URL: NOWHERE } });
    expect(fromEnv.stderr).toContain(`cannot reach Hookflow at ${NOWHERE}`);
  });

  it('reports errors as one JSON line on stderr with --json', async () => {
    const result = await runCli(['runs', 'list', '--json', '--url', NOWHERE]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(JSON.parse(result.stderr)).toEqual({
      error: 'unreachable',
      message: expect.stringContaining(`cannot reach Hookflow at ${NOWHERE}`),
      details: [{ message: expect.stringContaining('hookflow login --url <url> --key <key>') }],
    });
  });

  it('refuses a server URL that is not one', async () => {
    await expect(runCli(['runs', 'list', '--url', 'localhost'])).resolves.toEqual({
      code: 1,
      stdout: '',
      stderr:
        "hookflow: 'localhost' is not a valid Hookflow URL; expected something like http://localhost:3000\n",
    });
  });
});
