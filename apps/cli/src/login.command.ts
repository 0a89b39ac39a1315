import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ApiClient } from './api-client';
import { forgetLogin, saveLogin } from './cli-config';
import { usage } from './cli-error';
import type { CommandHandler, Wire } from './command-context';

/** Where `npm start` keeps the key it generated, relative to the folder it runs in. */
const LAUNCHER_KEY_FILE = path.join('.data', 'api-key');

/**
 * Checks the server and key, then saves both for later commands. The key comes from `--key`,
 * HOOKFLOW_API_KEY, or the key file `npm start` wrote in this folder.
 */
export const loginHandler: CommandHandler<[]> = async (ctx) => {
  const explicit = ctx.explicitKey;
  const keyFile = path.join(ctx.io.cwd, LAUNCHER_KEY_FILE);
  // npm start's key is for the server on this machine: never sent elsewhere unless asked to.
  const key = explicit || (isLoopback(ctx.url) ? readKeyFile(keyFile) : undefined);
  if (!key) {
    throw usage(
      `no API key to log in with: pass --key, set HOOKFLOW_API_KEY, or (for a server on this machine) run this where npm start keeps ${LAUNCHER_KEY_FILE}`,
    );
  }
  const client = new ApiClient({ baseUrl: ctx.url, apiKey: key });
  // Any route that needs a key: a wrong server or key fails here, not at the next command.
  await client.json('GET', '/api/flows');
  const file = saveLogin(ctx.io.env, { url: client.baseUrl, key });
  ctx.out.result({ url: client.baseUrl, file });
  ctx.out.line(`logged in to ${client.baseUrl}`);
  ctx.out.note(
    `saved to ${file} (readable by you only)${explicit ? '' : `; the key came from ${LAUNCHER_KEY_FILE}`}`,
  );
  return 0;
};

export const logoutHandler: CommandHandler<[]> = async (ctx) => {
  const file = forgetLogin(ctx.io.env);
  ctx.out.result({ file: file ?? null });
  ctx.out.line(file ? `logged out: removed ${file}` : 'no saved login');
  return 0;
};

function isLoopback(url: string): boolean {
  try {
    return ['localhost', '127.0.0.1', '[::1]'].includes(new URL(url).hostname);
  } catch {
    return false;
  }
}

function readKeyFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export function registerLoginCommands(program: Command, wire: Wire): void {
  program
    .command('login')
    .description('check a server and its API key, and remember both for the commands that follow')
    .action(wire(loginHandler));
  program.command('logout').description('forget the saved server and key').action(wire(logoutHandler));
}
