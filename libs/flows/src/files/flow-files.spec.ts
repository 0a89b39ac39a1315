import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MAX_FLOW_TEXT_BYTES } from '../validation/flow-limits';
import { flowFileRef, listFlowFiles, parseJsonText, readFlowFile } from './flow-files';

describe('listFlowFiles', () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'hookflow-flow-files-'));
    const write = (rel: string, text = '{}') => {
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), text);
    };
    write('b.flow.json');
    write('a.flow.json');
    write('team/c.flow.json');
    write('notes.json');
    write('.hidden/d.flow.json');
    write('.e.flow.json');
    write('node_modules/f.flow.json');
    // As a Kubernetes ConfigMap mounts its keys: links into a hidden, dated folder.
    write('..2026_11_24/g.flow.json');
    symlinkSync('..2026_11_24', path.join(root, '..data'));
    symlinkSync('..data/g.flow.json', path.join(root, 'g.flow.json'));
    // A linked folder, and a loop through one: not followed.
    write('elsewhere/h.flow.json');
    symlinkSync('elsewhere', path.join(root, 'linked'));
    symlinkSync('..', path.join(root, 'team', 'up'));
    symlinkSync('missing.flow.json', path.join(root, 'dangling.flow.json'));
    // A link that cannot be followed is listed, for its reader to report.
    symlinkSync('looped.flow.json', path.join(root, 'looped.flow.json'));
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('finds every *.flow.json, sorted, reading linked files but not linked folders', async () => {
    expect((await listFlowFiles(root)).map((file) => path.relative(root, file))).toEqual([
      'a.flow.json',
      'b.flow.json',
      path.join('elsewhere', 'h.flow.json'),
      'g.flow.json',
      'looped.flow.json',
      path.join('team', 'c.flow.json'),
    ]);
  });

  it('throws ENOENT for a folder that does not exist', async () => {
    await expect(listFlowFiles(path.join(root, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('parseJsonText', () => {
  it.each([
    ['{"a":1}', { ok: true, value: { a: 1 } }],
    ['\ufeff[]', { ok: true, value: [] }],
    [
      '{\n  "a": tru\n}',
      { ok: false, error: { line: 2, column: 8, message: "invalid JSON: unexpected 't', expected a value" } },
    ],
  ])('%j', (text, expected) => {
    expect(parseJsonText(text)).toEqual(expected);
  });
});

describe('readFlowFile', () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'hookflow-flow-file-'));
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('refuses a file too large to hold a flow without reading it', async () => {
    const file = path.join(root, 'huge.flow.json');
    // Valid JSON, so only its size can refuse it.
    writeFileSync(file, `{"slug":"huge","description":"${'x'.repeat(MAX_FLOW_TEXT_BYTES)}"}`);
    const loaded = await readFlowFile(flowFileRef(file, root));
    expect(loaded).toMatchObject({
      ok: false,
      error: {
        message: `the file is ${MAX_FLOW_TEXT_BYTES + 32} bytes; a flow file may have at most 4 MiB (a flow at most 1 MiB of compact JSON)`,
      },
    });
  });

  it('reads a file at the limit', async () => {
    const file = path.join(root, 'big.flow.json');
    const text = `{"slug":"big","description":"${'x'.repeat(MAX_FLOW_TEXT_BYTES - 31)}"}`;
    writeFileSync(file, text);
    expect(Buffer.byteLength(text)).toBe(MAX_FLOW_TEXT_BYTES);
    expect(await readFlowFile(flowFileRef(file, root))).toMatchObject({ ok: true, text });
  });
});
