import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { transpiledModule, type TranspiledModule } from '../../../../test/utils/transpiled-module';
import { APP_NODE_FLAGS, heapGrowthFlag, MALLOC_TUNABLES, withMallocTunables } from './heap-tuning';

describe('heapGrowthFlag', () => {
  it('names the percentage unless it is 0', () => {
    expect(heapGrowthFlag(20, [], '')).toBe('--heap-growing-percent=20');
    expect(heapGrowthFlag(0, [], '')).toBeUndefined();
  });

  it("leaves the operator's own flag alone, on the command line or in NODE_OPTIONS", () => {
    expect(heapGrowthFlag(20, ['--heap-growing-percent=50'], '')).toBeUndefined();
    expect(heapGrowthFlag(20, [], '--max-old-space-size=512 --heap_growing_percent=5')).toBeUndefined();
    expect(heapGrowthFlag(20, ['--heap-growing-percentage=1'], '--heap-growing')).toBe(
      '--heap-growing-percent=20',
    );
  });
});

const startScripts = (): Record<string, string> =>
  (
    JSON.parse(readFileSync(path.join(process.cwd(), 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts;

describe('APP_NODE_FLAGS', () => {
  it.each(['api', 'worker'])('are the flags `npm run start:%s` starts the app with', (app) => {
    expect(startScripts()[`start:${app}`]).toMatch(
      new RegExp(` node ${APP_NODE_FLAGS.join(' ')} dist/apps/${app}/src/main\\.js$`),
    );
  });
});

describe('withMallocTunables', () => {
  it("puts the malloc settings ahead of the operator's own, which glibc applies last", () => {
    expect(withMallocTunables({ PATH: '/bin' })).toEqual({ PATH: '/bin', GLIBC_TUNABLES: MALLOC_TUNABLES });
    expect(withMallocTunables({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536' }).GLIBC_TUNABLES).toBe(
      `${MALLOC_TUNABLES}:glibc.malloc.mmap_threshold=65536`,
    );
  });

  it.each(['start:api', 'start:worker'])('is what `npm run %s` gives the app', async (name) => {
    // The script with `node` replaced by a command that prints the variable node would get.
    const script = startScripts()[name];
    const printing = script.replace(/ node .*$/, ' node -p process.env.GLIBC_TUNABLES');
    expect(printing).not.toBe(script);
    const run = async (env: NodeJS.ProcessEnv) =>
      (await promisify(execFile)('sh', ['-c', printing], { env })).stdout.trim();
    const { GLIBC_TUNABLES: _, ...without } = process.env;
    expect(await run(without)).toBe(withMallocTunables(without).GLIBC_TUNABLES);
    const own = { ...without, GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' };
    expect(await run(own)).toBe(withMallocTunables(own).GLIBC_TUNABLES);
  });
});

/**
 * The flag set at run time must act: a child keeps 20 MB alive and churns through objects that
 * live long enough to reach the old generation. With V8's own growth its old space passes 150 MB;
 * bounded at 20 % it stays near what is alive.
 */
describe('applyHeapGrowth', () => {
  let compiled: TranspiledModule;

  beforeAll(async () => {
    compiled = await transpiledModule('libs/platform/src/embedded/heap-tuning.ts');
  });
  afterAll(() => compiled.remove());

  async function peakOldSpaceMb(percent: number): Promise<number> {
    const script = `
      require(${JSON.stringify(compiled.file)}).applyHeapGrowth(${percent});
      const v8 = require('node:v8');
      const live = [];
      for (let i = 0; i < 20000; i++) live.push(('x'.repeat(1000) + i).split('').join(''));
      const ring = new Array(100000);
      let peak = 0;
      for (let i = 0; i < 2000000; i++) {
        ring[i % ring.length] = { i, a: [i, i + 1, i + 2, i + 3] };
        if (i % 2000 === 0) {
          const old = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size;
          peak = Math.max(peak, old);
        }
      }
      process.stdout.write(JSON.stringify({ peakMb: Math.round(peak / 1048576), kept: live.length }));
    `;
    const env = { ...process.env, NODE_OPTIONS: '' };
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { env });
    return (JSON.parse(stdout) as { peakMb: number }).peakMb;
  }

  it('keeps the old generation near its live data', async () => {
    const [bounded, own] = await Promise.all([peakOldSpaceMb(20), peakOldSpaceMb(0)]);
    expect(bounded).toBeGreaterThan(20);
    expect(bounded).toBeLessThan(100);
    expect(own).toBeGreaterThan(bounded);
  }, 30_000);
});
