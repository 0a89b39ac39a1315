import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';

const REPO = process.cwd();

interface Lockfile {
  packages: Record<string, { version?: string; engines?: unknown }>;
}

/**
 * The Node releases that every locked package must accept: the whole release line of the lowest
 * Node our `engines` field allows (20.19.0 and every later 20.x). Later lines are not checked:
 * many packages leave out odd and early releases (`^20.19.0 || ^22.12.0 || >=24`), which an
 * up-to-date LTS Node never is.
 */
function supportedLine(ours: string): string {
  const min = semver.minVersion(ours);
  if (!min) throw new Error(`package.json engines.node "${ours}" matches no version`);
  // `-0`: below the next line's prereleases too, which `<21.0.0` would let in.
  const line = `>=${min.version} <${min.major + 1}.0.0-0`;
  if (!semver.subset(line, ours)) throw new Error(`${line} is not inside engines.node "${ours}"`);
  return line;
}

/** Locked packages whose `engines.node` refuses a release in `line`: `npm ci` warns EBADENGINE there. */
function refusing(lock: Lockfile, line: string): string[] {
  const found: string[] = [];
  for (const [where, entry] of Object.entries(lock.packages)) {
    if (where === '') continue; // the project itself
    // npm reads engines only in its object form; old packages' arrays and strings it ignores.
    const engines = entry.engines;
    if (engines === null || typeof engines !== 'object' || Array.isArray(engines)) continue;
    const node = (engines as { node?: unknown }).node;
    if (node === undefined) continue;
    if (typeof node !== 'string' || semver.validRange(node) === null || !semver.subset(line, node)) {
      found.push(
        `${where.replace(/^.*node_modules\//, '')}@${entry.version} wants node ${JSON.stringify(node)} (at ${where})`,
      );
    }
  }
  return found;
}

describe('locked dependencies accept the Node our engines field promises (no EBADENGINE)', () => {
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
    engines: { node: string };
  };
  const line = supportedLine(pkg.engines.node);

  it('checks the release line from package.json: Node 20.19 and later 20.x', () => {
    expect(line).toBe('>=20.19.0 <21.0.0-0');
  });

  it('every package in package-lock.json accepts each of those releases', () => {
    const lock = JSON.parse(readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as Lockfile;
    expect(Object.keys(lock.packages).length).toBeGreaterThan(100);

    // When this fails: pin the package, or the dependency that pulls it in, to the newest version
    // that accepts Node 20.19 (package.json `overrides`; see "Dependencies and Node 20" in the README).
    expect(refusing(lock, line)).toEqual([]);
  });

  it('tells the ranges npm warns about from those it accepts', () => {
    const lock: Lockfile = {
      packages: {
        '': { version: '0.1.0', engines: { node: '>=20.19' } },
        'node_modules/wants-22': { version: '3.0.0', engines: { node: '>=22' } },
        'node_modules/a/node_modules/late-20': { version: '1.0.0', engines: { node: '^20.20.0 || >=22' } },
        'node_modules/garbled': { version: '1.0.0', engines: { node: 'twenty' } },
        'node_modules/lts-only': { version: '1.0.0', engines: { node: '^20.19.0 || ^22.12.0 || >=24' } },
        'node_modules/old': { version: '1.0.0', engines: { node: '>= 0.6' } },
        'node_modules/npm-only': { version: '1.0.0', engines: { npm: '>=8' } },
        'node_modules/array-form': { version: '1.0.0', engines: ['node >= 0.4'] },
        'node_modules/none': { version: '1.0.0' },
      },
    };

    expect(refusing(lock, line)).toEqual([
      'wants-22@3.0.0 wants node ">=22" (at node_modules/wants-22)',
      'late-20@1.0.0 wants node "^20.20.0 || >=22" (at node_modules/a/node_modules/late-20)',
      'garbled@1.0.0 wants node "twenty" (at node_modules/garbled)',
    ]);
  });
});
