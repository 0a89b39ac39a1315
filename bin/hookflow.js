#!/usr/bin/env node
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- the package's bin is plain CommonJS */
// The `hookflow` command of the package (`npx hookflow`). The CLI itself is TypeScript compiled
// by `npm run build`; this file only finds it and hands it the process.
const { existsSync } = require('node:fs');
const path = require('node:path');

const main = path.join(__dirname, '..', 'dist', 'apps', 'cli', 'src', 'main.js');
if (!existsSync(main)) {
  process.stderr.write('hookflow: not built yet: run npm run build\n');
  process.exit(1);
}
// `hookflow runs list | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
// Only a command that runs until stopped asks for this; once is enough, so a second Ctrl-C still kills.
let stop;
const stopSignal = () => {
  if (!stop) {
    stop = new AbortController();
    for (const name of ['SIGINT', 'SIGTERM']) process.once(name, () => stop.abort());
  }
  return stop.signal;
};
require(main)
  .run(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    // Touched only when a command reads `-`: an unread stdin must not hold the process open.
    stdin: { [Symbol.asyncIterator]: () => process.stdin[Symbol.asyncIterator]() },
    stopSignal,
  })
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`hookflow: ${err && err.stack ? err.stack : err}\n`);
      process.exitCode = 1;
    },
  );
