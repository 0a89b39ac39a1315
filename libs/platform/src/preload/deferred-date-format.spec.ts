import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { transpiledModule, type TranspiledModule } from '../../../../test/utils/transpiled-module';
import { withDeferredDateTimeFormat } from './deferred-date-format';

describe('withDeferredDateTimeFormat', () => {
  it('hands out formatters that act as the real one, and puts the constructor back', () => {
    const own = Intl.DateTimeFormat;
    const options: Intl.DateTimeFormatOptions = { timeZone: 'UTC', dateStyle: 'medium', timeStyle: 'long' };
    const deferred = withDeferredDateTimeFormat(() => new Intl.DateTimeFormat('en-US', options));
    const real = new Intl.DateTimeFormat('en-US', options);
    expect(Intl.DateTimeFormat).toBe(own);
    expect(deferred.format(0)).toBe(real.format(0));
    expect(deferred.formatToParts(0)).toEqual(real.formatToParts(0));
    expect(deferred.resolvedOptions()).toEqual(real.resolvedOptions());
  });

  it('puts the constructor back when loading fails', () => {
    const own = Intl.DateTimeFormat;
    expect(() =>
      withDeferredDateTimeFormat(() => {
        throw new Error('no such module');
      }),
    ).toThrow('no such module');
    expect(Intl.DateTimeFormat).toBe(own);
  });

  describe('loading @nestjs/common', () => {
    let compiled: TranspiledModule;

    beforeAll(async () => {
      compiled = await transpiledModule('libs/platform/src/preload/deferred-date-format.ts');
    });
    afterAll(() => compiled.remove());

    /** In a fresh node: how many formatters Nest built as it loaded, and once its ConsoleLogger printed. */
    async function formattersBuilt(deferred: boolean) {
      const script = `
        const Real = Intl.DateTimeFormat;
        let built = 0;
        Intl.DateTimeFormat = function (...args) { built++; return new Real(...args); };
        const counting = Intl.DateTimeFormat;
        const load = () => require(require.resolve('@nestjs/common', { paths: [process.cwd()] }));
        const nest = ${deferred} ? require(${JSON.stringify(compiled.file)}).withDeferredDateTimeFormat(load) : load();
        const atLoad = built;
        const restored = Intl.DateTimeFormat === counting;
        let printed = '';
        process.stdout.write = (chunk) => ((printed += chunk), true);
        new nest.ConsoleLogger('Probe', { colors: false }).log('hello');
        process.stderr.write(JSON.stringify({ atLoad, afterLog: built, restored, printed }));
      `;
      const env = { ...process.env, NODE_OPTIONS: '' };
      const { stderr } = await promisify(execFile)(process.execPath, ['-e', script], { env });
      return JSON.parse(stderr) as { atLoad: number; afterLog: number; restored: boolean; printed: string };
    }

    it('builds none until its ConsoleLogger prints, which then shows the time as before', async () => {
      const [plain, deferred] = await Promise.all([formattersBuilt(false), formattersBuilt(true)]);
      expect(plain.atLoad).toBeGreaterThan(0);
      expect(deferred).toMatchObject({ atLoad: 0, afterLog: 1, restored: true });
      const timestamp = /\[Nest\] \d+\s+- (.+?)\s+LOG \[Probe\] hello/;
      expect(deferred.printed).toMatch(timestamp);
      expect(timestamp.exec(deferred.printed)![1]).toMatch(/^\d{2}\/\d{2}\/\d{4}, \d{1,2}:\d{2}:\d{2}/);
      expect(plain.printed).toMatch(timestamp);
    }, 30_000);
  });
});

describe('@hookflow/platform/preload', () => {
  it.each(['api', 'worker'])("is the first thing the %s's main imports after reflect-metadata", (app) => {
    const main = readFileSync(path.join(process.cwd(), 'apps', app, 'src', 'main.ts'), 'utf8');
    const imports = [...main.matchAll(/^import .*?'([^']+)';$/gms)].map((m) => m[1]);
    expect(imports.slice(0, 2)).toEqual(['reflect-metadata', '@hookflow/platform/preload']);
  });
});
