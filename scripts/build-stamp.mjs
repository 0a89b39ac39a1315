#!/usr/bin/env node
// Tells whether dist/ was built from the sources as they are, so `npm start` can skip the build.
//
//   node scripts/build-stamp.mjs begin   prebuild: drops the stamp, notes what is being built
//   node scripts/build-stamp.mjs end     postbuild: the build succeeded, the note becomes the stamp
//   node scripts/build-stamp.mjs check   exit 0 when dist/ is up to date, 1 when it needs a build
//
// The stamp is a hash of the content of every file under apps/ and libs/ (whatever apps and libs
// exist, now or later) and of the build's configuration (package.json, package-lock.json,
// nest-cli.json, tsconfig*.json at the root). Contents, not modification times: a checkout, a
// copy or a restore that keeps old mtimes cannot fool it. Runs from the repository root (npm runs
// scripts there).
import { createHash } from 'node:crypto';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = process.cwd();
const DIST = path.join(ROOT, 'dist');
const STAMP = path.join(DIST, '.build-stamp');
const PENDING = path.join(DIST, '.build-pending');
const SOURCE_DIRS = ['apps', 'libs'];
const CONFIG_FILES = /^(package\.json|package-lock\.json|nest-cli\.json|tsconfig.*\.json)$/;

async function sourcesHash() {
  const files = (await fs.readdir(ROOT, { withFileTypes: true }))
    .filter((entry) => entry.isFile() && CONFIG_FILES.test(entry.name))
    .map((entry) => entry.name);
  for (const dir of SOURCE_DIRS) files.push(...(await filesUnder(dir)));
  files.sort();
  const hash = createHash('sha256');
  for (const file of files) {
    // The name and the length first: moving or splitting files changes the hash too.
    const content = await fs.readFile(path.join(ROOT, file));
    hash.update(`${file}\0${content.length}\0`).update(content);
  }
  return hash.digest('hex');
}

async function filesUnder(dir) {
  const entries = await fs.readdir(path.join(ROOT, dir), { withFileTypes: true }).catch((error) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const files = [];
  for (const entry of entries) {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(relative)));
    else if (entry.isFile()) files.push(relative);
  }
  return files;
}

/** The compiled entry point of every application nest-cli.json lists. */
function entryPoints() {
  const { projects = {} } = JSON.parse(readFileSync(path.join(ROOT, 'nest-cli.json'), 'utf8'));
  return Object.values(projects)
    .filter((project) => project.type === 'application' && project.entryFile)
    .map((project) => path.join(DIST, `${project.entryFile}.js`));
}

/** Why dist/ needs a build, or undefined when it is up to date. */
async function staleness() {
  const stamp = await fs.readFile(STAMP, 'utf8').catch(() => undefined);
  if (stamp === undefined) return 'no build yet';
  const missing = entryPoints().find((file) => !existsSync(file));
  if (missing) return `${path.relative(ROOT, missing)} is missing`;
  if (stamp.trim() !== (await sourcesHash())) return 'the sources changed since the last build';
  return undefined;
}

const command = process.argv[2];
if (command === 'begin') {
  // The hash is taken before compiling: a file edited during the build makes the next start build again.
  await fs.mkdir(DIST, { recursive: true });
  await fs.rm(STAMP, { force: true });
  await fs.writeFile(PENDING, (await sourcesHash()) + '\n');
} else if (command === 'end') {
  await fs.rename(PENDING, STAMP).catch((error) => {
    // A concurrent build took it; with no stamp, the next start builds again.
    if (error.code !== 'ENOENT') throw error;
  });
} else if (command === 'check') {
  const reason = await staleness();
  console.log(reason ? `hookflow: building (${reason})` : 'hookflow: dist/ is up to date; not building');
  process.exitCode = reason ? 1 : 0;
} else {
  console.error('usage: node scripts/build-stamp.mjs begin|end|check');
  process.exitCode = 2;
}
