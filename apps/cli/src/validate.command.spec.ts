import { createConnectorRegistry } from '@hookflow/connectors';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../../test/utils/cli-runner';
import { findFlowFiles } from './flow-files';
import { checkFlowFiles, formatReports, summaryLine, type FileReport } from './validate.command';

const flow = (slug: string, steps: unknown[]) =>
  JSON.stringify({ slug, trigger: { type: 'webhook' }, steps }, null, 2);
const transform = (id: string, expression: string) => ({ id, type: 'transform', expression });

describe('validate', () => {
  let root: string;
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  };

  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'hookflow-cli-validate-'));
    write('good/one.flow.json', flow('one', [transform('a', '$')]));
    write('good/nested/two.flow.json', flow('two', [transform('a', '$')]));
    write('bad/broken.flow.json', flow('broken', [transform('a', "{ 'a': ")]));
    write('bad/syntax.flow.json', '{\n  "slug": "syntax",\n}\n');
    write(
      'bad/unknown-connector.flow.json',
      flow('conn', [{ id: 'x', type: 'action', connector: 'htp', with: {} }]),
    );
    write('dupes/a.flow.json', flow('same', [transform('a', '$')]));
    write('dupes/b.flow.json', flow('same', [transform('a', '$')]));
    write('warn/w.flow.json', flow('w', [transform('a', '$steps.b'), transform('b', '1')]));
    write('empty/readme.md', 'no flows here');
    write(
      'bounds/slow.flow.json',
      flow('slow', [
        { ...transform('a', '$'), timeout: '999d' },
        { id: 'w', type: 'delay', for: '99999999d' },
      ]),
    );
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  async function check(dir: string): Promise<FileReport[]> {
    return checkFlowFiles(await findFlowFiles([dir], root), { connectors: createConnectorRegistry() });
  }

  it('accepts valid files', async () => {
    const reports = await check('good');
    expect(reports.map((r) => [r.file, r.valid, r.slug])).toEqual([
      [path.join('good', 'nested', 'two.flow.json'), true, 'two'],
      [path.join('good', 'one.flow.json'), true, 'one'],
    ]);
    expect(summaryLine(reports)).toBe('2 files, 0 invalid');
  });

  it('reports schema, expression, connector and JSON syntax problems per file', async () => {
    const reports = await check('bad');
    expect(formatReports(reports)).toEqual([
      expect.stringMatching(/^bad.broken\.flow\.json: \/steps\/0\/expression: is not valid JSONata: /),
      "bad/syntax.flow.json:2:19: invalid JSON: trailing comma before '}' is not allowed in JSON".replace(
        'bad/',
        `bad${path.sep}`,
      ),
      `bad${path.sep}unknown-connector.flow.json: /steps/0/connector: unknown connector 'htp'; did you mean 'http'?`,
    ]);
    expect(summaryLine(reports)).toBe('3 files, 3 invalid');
  });

  it('reports bounds with their pointers', async () => {
    const reports = await check('bounds');
    expect(formatReports(reports)).toEqual([
      `bounds${path.sep}slow.flow.json: /steps/0/timeout: must be at most 1h`,
      `bounds${path.sep}slow.flow.json: /steps/1/for: must be at most 365d`,
    ]);
  });

  it('refuses two files with the same slug', async () => {
    const reports = await check('dupes');
    expect(reports.map((r) => r.valid)).toEqual([true, false]);
    expect(reports[1].errors).toEqual([
      {
        path: '/slug',
        message: `'same' is already the slug of ${path.join('dupes', 'a.flow.json')}; each flow needs its own slug`,
      },
    ]);
  });

  it('prints warnings prefixed warning: without failing', async () => {
    const reports = await check('warn');
    expect(formatReports(reports)).toEqual([
      `warning: warn${path.sep}w.flow.json: /steps/0/expression: reads the output of step 'b', which this step does not depend on; add it to needs or the value may be missing`,
    ]);
    expect(summaryLine(reports)).toBe('1 file, 0 invalid, 1 warning');
  });

  describe('the command', () => {
    it('exits 0 on the repository examples in ./flows (the default path)', async () => {
      const result = await runCli(['validate']);
      expect(result).toEqual({
        code: 0,
        stdout: expect.stringMatching(/^\d+ files, 0 invalid\n$/),
        stderr: '',
      });
    });

    it('exits 1 with one line a problem and the summary', async () => {
      const result = await runCli(['validate', 'good', 'bad'], { cwd: root });
      expect(result.code).toBe(1);
      expect(result.stdout.trim().split('\n')).toEqual([
        expect.stringContaining('broken.flow.json: /steps/0/expression: is not valid JSONata'),
        expect.stringContaining('syntax.flow.json:2:19: invalid JSON: trailing comma'),
        expect.stringContaining("unknown-connector.flow.json: /steps/0/connector: unknown connector 'htp'"),
        '5 files, 3 invalid',
      ]);
      expect(result.stderr).toBe('');
    });

    it('prints JSON only with --json', async () => {
      const result = await runCli(['validate', 'warn', 'bad/broken.flow.json', '--json'], { cwd: root });
      expect(result.code).toBe(1);
      expect(JSON.parse(result.stdout)).toEqual({
        valid: false,
        files: [
          {
            file: path.join('warn', 'w.flow.json'),
            valid: true,
            slug: 'w',
            errors: [],
            warnings: [expect.any(Object)],
          },
          {
            file: path.join('bad', 'broken.flow.json'),
            valid: false,
            errors: [{ path: '/steps/0/expression', message: expect.stringContaining('JSONata') }],
            warnings: [],
          },
        ],
        summary: { files: 2, invalid: 1, warnings: 1 },
      });
    });

    it('fails when a path is missing or holds no flow files', async () => {
      await expect(runCli(['validate', 'missing'], { cwd: root })).resolves.toEqual({
        code: 1,
        stdout: '',
        stderr: 'hookflow: missing: no such file or directory\n',
      });
      await expect(runCli(['validate', 'empty'], { cwd: root })).resolves.toEqual({
        code: 1,
        stdout: '',
        stderr: 'hookflow: no *.flow.json files found in empty\n',
      });
    });
  });
});
