import * as fs from 'node:fs';
import * as path from 'node:path';
import { MockAgent } from 'undici';
import { validateFlow } from '@hookflow/flows';
import { createConnectorRegistry } from './registry';

const DOC = path.resolve(process.cwd(), 'docs/flow-format.md');

/** The `code spans` of a markdown text. */
function codeSpans(markdown: string): Set<string> {
  return new Set([...markdown.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]));
}

/**
 * docs/flow-format.md has a table row per built-in connector that names every option of its
 * `with`, and its example is a valid flow.
 */
describe('docs/flow-format.md on connectors', () => {
  const dispatcher = new MockAgent();
  afterAll(() => dispatcher.close());
  const registry = createConnectorRegistry({ dispatcher });
  const text = fs.readFileSync(DOC, 'utf8');
  const rows = text.split('\n').filter((line) => line.startsWith('| `'));

  const options = registry.keys().flatMap((key) => {
    const properties = (registry.get(key)!.schema.properties ?? {}) as Record<string, unknown>;
    return Object.keys(properties).map((name) => [key, name]);
  });

  it.each(options)('the row of `%s` names its option `%s`', (key, name) => {
    const row = rows.find((line) => line.startsWith(`| \`${key}\` `));
    expect(row).toBeDefined();
    expect(codeSpans(row!).has(name)).toBe(true);
  });

  it('opens with an example that validates, without warnings', () => {
    const example = /```json\n([\s\S]*?)\n```/.exec(text)?.[1];
    const result = validateFlow(JSON.parse(example ?? 'null'), { connectors: registry });
    expect(result).toMatchObject({ valid: true, warnings: [] });
  });
});
