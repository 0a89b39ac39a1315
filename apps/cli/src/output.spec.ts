import {
  alignColumns,
  elapsedMs,
  formatDetail,
  formatDuration,
  formatJson,
  Output,
  plural,
  table,
  truncate,
  type CliIo,
} from './output';

describe('formatDetail', () => {
  it.each([
    [
      { file: 'flows/a.flow.json', path: '/steps/0/expression', message: 'is bad' },
      'flows/a.flow.json: /steps/0/expression: is bad',
    ],
    [{ file: 'a.flow.json', path: '', message: 'must have slug' }, 'a.flow.json: must have slug'],
    [
      { file: 'a.flow.json', line: 3, column: 7, message: 'invalid JSON: x' },
      'a.flow.json:3:7: invalid JSON: x',
    ],
    [{ path: '/slug', message: 'is taken' }, '/slug: is taken'],
    [{ message: 'plain' }, 'plain'],
  ])('%j -> %s', (detail, expected) => {
    expect(formatDetail(detail)).toBe(expected);
  });
});

describe('table and alignColumns', () => {
  it('pads every column but the last to its widest cell', () => {
    expect(
      table(
        ['ID', 'STATUS', 'NOTE'],
        [
          ['1', 'succeeded', 'x'],
          ['200', 'failed', ''],
        ],
      ),
    ).toBe(['ID   STATUS     NOTE', '1    succeeded  x', '200  failed'].join('\n'));
  });

  it('handles rows of different lengths', () => {
    expect(
      alignColumns([
        ['+ created', 'a', '(a.json)'],
        ['= unchanged', 'bbb'],
      ]),
    ).toEqual(['+ created    a    (a.json)', '= unchanged  bbb']);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [850, '850ms'],
    [1234, '1.2s'],
    [12_345, '12s'],
    [184_000, '3m 4s'],
    [7_500_000, '2h 5m'],
  ])('%i ms -> %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('small helpers', () => {
  it('keeps short JSON on one line and breaks up long JSON, indenting continuation lines', () => {
    expect(formatJson({ a: [1, 'x'], b: { c: null }, d: undefined }, '  ')).toBe(
      '{"a": [1, "x"], "b": {"c": null}}',
    );
    expect(formatJson(null)).toBe('null');
    expect(formatJson(undefined)).toBe('undefined');
    const long = {
      id: 'ord_1',
      items: [
        { sku: 'tea', quantity: 2 },
        { sku: 'mug', quantity: 1 },
      ],
      empty: [],
    };
    expect(formatJson(long, '  ', 40)).toBe(
      [
        '{',
        '    "id": "ord_1",',
        '    "items": [',
        '      {"sku": "tea", "quantity": 2},',
        '      {"sku": "mug", "quantity": 1}',
        '    ],',
        '    "empty": []',
        '  }',
      ].join('\n'),
    );
  });

  it('pluralizes, truncates and measures', () => {
    expect([plural(1, 'file'), plural(2, 'file'), plural(0, 'entry', 'entries')]).toEqual([
      '1 file',
      '2 files',
      '0 entries',
    ]);
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
    expect(elapsedMs('2024-01-01T00:00:00Z', '2024-01-01T00:00:01.5Z')).toBe(1500);
    expect(elapsedMs(null, '2024-01-01T00:00:00Z')).toBeUndefined();
  });
});

describe('Output', () => {
  function io(): CliIo & { out: string[]; err: string[] } {
    const out: string[] = [];
    const err: string[] = [];
    return {
      out,
      err,
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      env: {},
      cwd: '/',
    };
  }

  it('prints text lines and notes, and no JSON, in text mode', () => {
    const target = io();
    const output = new Output(target, false);
    output.line('hello');
    output.note('hint');
    output.result({ a: 1 });
    expect([target.out, target.err]).toEqual([['hello\n'], ['hint\n']]);
  });

  it('prints only the JSON result on stdout in JSON mode', () => {
    const target = io();
    const output = new Output(target, true);
    output.line('hello');
    output.note('hint');
    output.result({ a: 1 });
    expect([target.out, target.err]).toEqual([['{\n  "a": 1\n}\n'], []]);
  });
});
