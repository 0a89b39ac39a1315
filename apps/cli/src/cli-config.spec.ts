import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { forgetLogin, loginPath, readLogin, sameServer, saveLogin } from './cli-config';
import { CommandContext } from './command-context';
import type { CliIo } from './output';

describe('the saved login', () => {
  let home: string;
  beforeEach(() => (home = mkdtempSync(path.join(tmpdir(), 'hookflow-login-'))));
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  const context = (env: Record<string, string | undefined>, options: Record<string, unknown> = {}) => {
    const io: CliIo = { stdout: { write: () => true }, stderr: { write: () => true }, env, cwd: home };
    return new CommandContext(io, options);
  };

  it('lives in HOOKFLOW_CONFIG, else XDG_CONFIG_HOME, else ~/.config', () => {
    expect(loginPath({ HOOKFLOW_CONFIG: '/x/c.json', HOME: '/h' })).toBe('/x/c.json');
    expect(loginPath({ XDG_CONFIG_HOME: '/xdg', HOME: '/h' })).toBe('/xdg/hookflow/config.json');
    expect(loginPath({ HOME: '/h' })).toBe('/h/.config/hookflow/config.json');
    expect(loginPath({})).toBeUndefined();
  });

  it('is saved readable by its owner only, read back, and forgotten', () => {
    const env = { HOME: home };
    const file = saveLogin(env, { url: 'http://127.0.0.1:3000', key: 'k1' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(readLogin(env)).toEqual({ url: 'http://127.0.0.1:3000', key: 'k1' });
    expect(forgetLogin(env)).toBe(file);
    expect(readLogin(env)).toBeUndefined();
    expect(forgetLogin(env)).toBeUndefined();
  });

  it('names the file when it is not a login', () => {
    const file = path.join(home, 'bad.json');
    writeFileSync(file, '{"key": 3}');
    expect(() => readLogin({ HOOKFLOW_CONFIG: file })).toThrow(`${file} is not a Hookflow login`);
    writeFileSync(file, '{"url": "http://x", "key": "hf_SECRET_KEY_TEXT');
    expect(() => readLogin({ HOOKFLOW_CONFIG: file })).toThrow(`${file} is not a Hookflow login (not JSON)`);
    // The parser's own message would quote the file, key included.
    expect(() => readLogin({ HOOKFLOW_CONFIG: file })).not.toThrow(/hf_SECRET/);
  });

  it('gives commands its server and key, after --url/--key and the environment', () => {
    const env = { HOME: home };
    saveLogin(env, { url: 'https://hooks.example.com', key: 'saved-key' });
    expect(context(env)).toMatchObject({ url: 'https://hooks.example.com', key: 'saved-key' });
    expect(context({ ...env, HOOKFLOW_API_KEY: 'env-key' })).toMatchObject({ key: 'env-key' });
    expect(context(env, { key: 'option-key' })).toMatchObject({ key: 'option-key' });
  });

  it('never sends the saved key to another server', () => {
    const env = { HOME: home };
    saveLogin(env, { url: 'https://hooks.example.com', key: 'saved-key' });
    expect(context(env, { url: 'https://evil.example.net' }).key).toBeUndefined();
    expect(context({ ...env, HOOKFLOW_URL: 'http://hooks.example.com' }).key).toBeUndefined();
    expect(context(env, { url: 'https://hooks.example.com:443/' }).key).toBe('saved-key');
  });

  it('compares servers by origin', () => {
    expect(sameServer('http://a.example:80/x', 'http://a.example')).toBe(true);
    expect(sameServer('http://a.example', 'https://a.example')).toBe(false);
    expect(sameServer('not a url', 'not a url')).toBe(false);
  });
});
