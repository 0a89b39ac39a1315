import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOOKFLOW_VERSION } from './version';

describe('HOOKFLOW_VERSION', () => {
  it('matches the root package.json', () => {
    const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(HOOKFLOW_VERSION).toBe(pkg.version);
  });
});
