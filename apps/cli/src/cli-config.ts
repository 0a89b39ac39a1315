import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { CliError } from './cli-error';

/** What `hookflow login` keeps: one server and its API key. */
export interface SavedLogin {
  url: string;
  key?: string;
}

type Env = Record<string, string | undefined>;

/** $HOOKFLOW_CONFIG, else $XDG_CONFIG_HOME/hookflow/config.json, else ~/.config/hookflow/config.json. */
export function loginPath(env: Env): string | undefined {
  if (env.HOOKFLOW_CONFIG) return env.HOOKFLOW_CONFIG;
  const base = env.XDG_CONFIG_HOME || (env.HOME ? path.join(env.HOME, '.config') : undefined);
  return base ? path.join(base, 'hookflow', 'config.json') : undefined;
}

/** The saved login, if there is one; a file that is not one is an error naming it. */
export function readLogin(env: Env): SavedLogin | undefined {
  const file = loginPath(env);
  if (!file || !existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    // Not the parser's message: it quotes the file, key included.
    throw new CliError(`${file} is not a Hookflow login (not JSON); run hookflow login again`);
  }
  const login = parsed as Partial<SavedLogin> | null;
  if (!login || typeof login.url !== 'string' || (login.key !== undefined && typeof login.key !== 'string')) {
    throw new CliError(`${file} is not a Hookflow login (no "url"); run hookflow login again`);
  }
  return { url: login.url, ...(login.key ? { key: login.key } : {}) };
}

/** Saves the login readable by its owner only (the key is a credential); returns the file. */
export function saveLogin(env: Env, login: SavedLogin): string {
  const file = loginPath(env);
  if (!file) throw new CliError('nowhere to save the login: set HOME or HOOKFLOW_CONFIG');
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // A new 0600 file moved into place: an old file's looser mode, or a link, never sees the key.
    const fresh = `${file}.${process.pid}.tmp`;
    writeFileSync(fresh, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(fresh, file);
  } catch (err) {
    throw new CliError(`cannot save the login to ${file}: ${(err as Error).message}`);
  }
  return file;
}

/** Removes the saved login; returns the file it was in, if there was one. */
export function forgetLogin(env: Env): string | undefined {
  const file = loginPath(env);
  if (!file || !existsSync(file)) return undefined;
  rmSync(file);
  return file;
}

/** Two spellings of one server: the saved key is only ever sent to the server it was saved for. */
export function sameServer(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}
