import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CliError } from './cli-error';
import { readFlowFile } from '@hookflow/flows/files';
import { findFlowFiles, readJsonFile } from './flow-files';

describe('flow files on disk', () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'hookflow-cli-files-'));
    const write = (rel: string, text: string) => {
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), text);
    };
    write('flows/b.flow.json', '{"slug":"b"}');
    write('flows/a.flow.json', '\ufeff{"slug":"a"}');
    write('flows/nested/c.flow.json', '{"slug":"c",}');
    write('flows/notes.json', '{}');
    write('flows/.hidden/d.flow.json', '{}');
    write('flows/node_modules/e.flow.json', '{}');
    write('other/x.flow.json', '{"slug":"x"}');
    write('payload.json', '{\n  "a": [1,\n}');
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('finds every *.flow.json under a folder, sorted, skipping hidden folders and node_modules', async () => {
    const refs = await findFlowFiles(['flows'], root);
    expect(refs.map((r) => r.displayPath)).toEqual([
      path.join('flows', 'a.flow.json'),
      path.join('flows', 'b.flow.json'),
      path.join('flows', 'nested', 'c.flow.json'),
    ]);
    expect(refs.map((r) => r.syncPath)).toEqual([
      'flows/a.flow.json',
      'flows/b.flow.json',
      'flows/nested/c.flow.json',
    ]);
    expect(refs[0].absolutePath).toBe(path.join(root, 'flows', 'a.flow.json'));
  });

  it('takes named files as they are and lists a file named twice once', async () => {
    const refs = await findFlowFiles(['other/x.flow.json', 'flows/notes.json', 'other'], root);
    expect(refs.map((r) => r.displayPath)).toEqual([
      path.join('other', 'x.flow.json'),
      path.join('flows', 'notes.json'),
    ]);
  });

  it('shows files outside the working directory by their absolute path', async () => {
    const [ref] = await findFlowFiles([path.join(root, 'other')], path.join(root, 'flows'));
    expect(ref.displayPath).toBe(path.join(root, 'other', 'x.flow.json'));
  });

  it('refuses a path that does not exist', async () => {
    await expect(findFlowFiles(['missing'], root)).rejects.toThrow(
      new CliError('missing: no such file or directory'),
    );
  });

  it('reads and parses a file, tolerating a byte order mark', async () => {
    const [ref] = await findFlowFiles(['flows/a.flow.json'], root);
    await expect(readFlowFile(ref)).resolves.toMatchObject({ ok: true, document: { slug: 'a' } });
  });

  it('reports bad JSON with line and column instead of throwing', async () => {
    const [ref] = await findFlowFiles(['flows/nested/c.flow.json'], root);
    await expect(readFlowFile(ref)).resolves.toMatchObject({
      ok: false,
      error: {
        line: 1,
        column: 12,
        message: "invalid JSON: trailing comma before '}' is not allowed in JSON",
      },
    });
  });

  it('reports a folder given as a file', async () => {
    const ref = { absolutePath: path.join(root, 'flows'), displayPath: 'flows', syncPath: 'flows' };
    await expect(readFlowFile(ref)).resolves.toMatchObject({
      ok: false,
      error: { message: 'is a folder, not a flow file' },
    });
  });

  it('reads a payload file, failing with the spot of a syntax error', async () => {
    await expect(readJsonFile('flows/b.flow.json', root)).resolves.toEqual({ slug: 'b' });
    await expect(readJsonFile('payload.json', root)).rejects.toThrow(
      "payload.json:3:1: invalid JSON: unexpected '}', expected a value",
    );
    await expect(readJsonFile('nope.json', root)).rejects.toThrow('nope.json: no such file');
  });
});
