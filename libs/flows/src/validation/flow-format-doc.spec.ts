import * as fs from 'node:fs';
import * as path from 'node:path';
import { KNOWN_HELPERS } from '../template/template-helpers';
import { TYPED_WITH_PATHS, URL_WITH_PATHS } from '../template/template';
import * as limits from './flow-limits';
import { HTTP_METHODS, STEP_TYPES, VERIFY_SCHEMES, flowJsonSchema } from './flow.schema';

const DOC = path.resolve(process.cwd(), 'docs/flow-format.md');

/** Every `code span` of a markdown text, and each word inside one (`{{secret 'X'}}` gives `secret`). */
function codeTerms(markdown: string): Set<string> {
  const spans = [...markdown.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
  return new Set([...spans, ...spans.flatMap((span) => span.split(/[^\w$-]+/))]);
}

/** Property names, enum values and constants anywhere in a JSON Schema. */
function schemaTerms(schema: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) {
    for (const item of schema) schemaTerms(item, found);
  } else if (schema !== null && typeof schema === 'object') {
    for (const [key, value] of Object.entries(schema)) {
      if (key === 'properties') for (const name of Object.keys(value as object)) found.add(name);
      if (key === 'enum') for (const v of value as unknown[]) if (typeof v === 'string') found.add(v);
      if (key === 'const' && typeof value === 'string') found.add(value);
      // Annotations and examples hold prose and sample values, not terms of the format.
      if (!['description', 'examples', 'errorMessage', 'patternErrorMessage', 'default'].includes(key))
        schemaTerms(value, found);
    }
  }
  return found;
}

/** The ways the doc may write a bound: 1048576, 1,048,576, 1 MiB, 64 KiB; a duration as `365d`. */
function renderings(name: string, n: number): string[] {
  if (name.endsWith('_MS')) return [`\`${limits.formatDuration(n)}\``];
  const out = [String(n), n.toLocaleString('en-US')];
  for (const [unit, size] of [
    ['MiB', 1024 * 1024],
    ['KiB', 1024],
  ] as const) {
    if (n >= size && n % size === 0) out.push(`${(n / size).toLocaleString('en-US')} ${unit}`);
  }
  return out;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** docs/flow-format.md is the format's reference: it must name everything the schema and the limits hold. */
describe('docs/flow-format.md', () => {
  const text = fs.readFileSync(DOC, 'utf8');
  const terms = codeTerms(text);

  it.each([...schemaTerms(flowJsonSchema)].sort())('names `%s` of the JSON Schema', (term) => {
    expect(terms.has(term)).toBe(true);
  });

  it.each([...STEP_TYPES, ...VERIFY_SCHEMES, ...HTTP_METHODS])('names `%s`', (term) => {
    expect(terms.has(term)).toBe(true);
  });

  it.each([...KNOWN_HELPERS, ...TYPED_WITH_PATHS, ...URL_WITH_PATHS])(
    'names the template helper or path `%s`',
    (term) => {
      expect(terms.has(term)).toBe(true);
    },
  );

  const bounds = Object.entries(limits).filter(
    (entry): entry is [string, number] => entry[0].startsWith('MAX_') && typeof entry[1] === 'number',
  );
  it.each(bounds)('gives the bound %s (%d)', (name, value) => {
    const shown = renderings(name, value).map((r) => new RegExp(`(?<![\\d,.])${escape(r)}(?![\\d,])`));
    expect(shown.some((pattern) => pattern.test(text))).toBe(true);
  });

  it.each(Object.entries(limits.DURATION_RANGES))('gives the longest %s', (_name, range) => {
    expect(terms.has(limits.formatDuration(range.maxMs))).toBe(true);
  });
});
