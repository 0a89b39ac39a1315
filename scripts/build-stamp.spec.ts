import { execFile } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const REPO = process.cwd();
const run = promisify(execFile);

/**
 * `npm start` builds only when dist/ is not up to date. Each case runs the real npm scripts
 * (prebuild, postbuild, prestart, copied from package.json) in a small repository of its own whose
 * build is a stand-in that counts its runs.
 */
describe('build stamp (npm start skips an up-to-date build)', () => {
  let repo: string;

  beforeEach(async () => {
    repo = await fs.mkdtemp(path.join(os.tmpdir(), 'hookflow-build-stamp-'));
    const real = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const { prebuild, postbuild, prestart } = real.scripts;
    await write('package.json', {
      name: 'stamp-fixture',
      private: true,
      scripts: {
        prebuild,
        // Fails when told to; otherwise writes the entry point and counts the build.
        build:
          "node -e \"const fs = require('fs'); if (fs.existsSync('fail')) process.exit(1); fs.mkdirSync('dist/apps/app/src', { recursive: true }); fs.writeFileSync('dist/apps/app/src/main.js', ''); fs.appendFileSync('builds', 'x')\"",
        postbuild,
        prestart,
        start: 'exec node dist/apps/app/src/main.js',
      },
    });
    await write('nest-cli.json', {
      monorepo: true,
      projects: {
        app: { type: 'application', root: 'apps/app', entryFile: 'apps/app/src/main' },
        lib: { type: 'library', root: 'libs/lib', entryFile: 'index' },
      },
    });
    await write('package-lock.json', { lockfileVersion: 3 });
    await write('tsconfig.json', { compilerOptions: { outDir: './dist' } });
    await write('apps/app/src/main.ts', 'export {};\n');
    await write('libs/lib/src/index.ts', 'export const one = 1;\n');
    await fs.mkdir(path.join(repo, 'scripts'));
    await fs.copyFile(
      path.join(REPO, 'scripts', 'build-stamp.mjs'),
      path.join(repo, 'scripts', 'build-stamp.mjs'),
    );
  });
  afterEach(() => fs.rm(repo, { recursive: true, force: true }));

  const write = async (file: string, content: string | object) => {
    await fs.mkdir(path.dirname(path.join(repo, file)), { recursive: true });
    await fs.writeFile(
      path.join(repo, file),
      typeof content === 'string' ? content : JSON.stringify(content, null, 2),
    );
  };
  const builds = () =>
    existsSync(path.join(repo, 'builds')) ? readFileSync(path.join(repo, 'builds'), 'utf8').length : 0;
  const npm = async (...args: string[]) => {
    const env = { ...process.env };
    // When jest itself runs under npm, its lifecycle variables must not leak into the fixture's npm.
    for (const name of Object.keys(env)) if (name.startsWith('npm_')) delete env[name];
    const { stdout } = await run('npm', args, { cwd: repo, env });
    return stdout;
  };
  const start = () => npm('start');

  it('builds on the first start, then starts without building while nothing changed', async () => {
    expect(await start()).toContain('hookflow: building (no build yet)');
    expect(builds()).toBe(1);

    const output = await start();

    expect(output).toContain('hookflow: dist/ is up to date; not building');
    expect(builds()).toBe(1);
  });

  it.each([
    ['an app source', 'apps/app/src/main.ts', 'export const changed = true;\n'],
    ['a lib source', 'libs/lib/src/index.ts', 'export const one = 2;\n'],
    ['a file in a lib nobody lists yet', 'libs/sandbox/src/index.ts', 'export {};\n'],
    ['nest-cli.json', 'nest-cli.json', { monorepo: true, projects: {} }],
    ['package-lock.json', 'package-lock.json', { lockfileVersion: 3, packages: {} }],
    ['a tsconfig', 'tsconfig.build.json', { extends: './tsconfig.json' }],
  ])('builds again after a change to %s', async (_what, file, content) => {
    await start();

    await write(file, content);
    const output = await start();

    expect(output).toContain('hookflow: building (the sources changed since the last build)');
    expect(builds()).toBe(2);
  });

  it('goes by content, not modification times: a touched file does not build, an old-dated edit does', async () => {
    await start();
    const file = path.join(repo, 'libs/lib/src/index.ts');
    const future = new Date(Date.now() + 60_000);
    await fs.utimes(file, future, future);
    await start();
    expect(builds()).toBe(1);

    const past = new Date(Date.now() - 86_400_000);
    await write('libs/lib/src/index.ts', 'export const one = 3;\n');
    await fs.utimes(file, past, past);
    await start();

    expect(builds()).toBe(2);
  });

  it('builds again when an entry point is missing from dist/', async () => {
    await start();

    await fs.rm(path.join(repo, 'dist/apps/app/src/main.js'));
    const output = await start();

    expect(output).toContain('dist/apps/app/src/main.js is missing');
    expect(builds()).toBe(2);
  });

  it('a failed build leaves no stamp, so the next start builds again', async () => {
    await start();
    await write('libs/lib/src/index.ts', 'export const one = 4;\n');
    await write('fail', '');

    await expect(start()).rejects.toThrow();
    await fs.rm(path.join(repo, 'fail'));
    // Back to the sources of the last good build: dist/ may be half rewritten, so it still builds.
    await write('libs/lib/src/index.ts', 'export const one = 1;\n');
    const output = await start();

    expect(output).toContain('hookflow: building (no build yet)');
    expect(builds()).toBe(2);
  });

  it('a build run by hand counts: npm start after it does not build again', async () => {
    await npm('run', 'build');

    expect(await start()).toContain('hookflow: dist/ is up to date; not building');
    expect(builds()).toBe(1);
  });
});
