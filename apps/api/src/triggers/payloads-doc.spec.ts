import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseWebhookBody } from './body-parser';

const DOC = path.resolve(process.cwd(), 'docs/flow-format.md');

/** The doc's examples: an ```http block (headers, blank line, body) followed by the ```json it becomes. */
function examples(): { contentType: string; body: string; expected: unknown }[] {
  const text = fs.readFileSync(DOC, 'utf8');
  const section = text.slice(text.indexOf('### Payloads'), text.indexOf('## Steps'));
  const blocks = [...section.matchAll(/```(http|json)\n([\s\S]*?)\n```/g)].map((m) => ({
    kind: m[1],
    text: m[2],
  }));
  const found: { contentType: string; body: string; expected: unknown }[] = [];
  for (let i = 0; i < blocks.length; i++) {
    if (blocks[i].kind !== 'http') continue;
    const [head, body] = blocks[i].text.split('\n\n');
    const contentType = /^Content-Type: (.+)$/im.exec(head)?.[1];
    const next = blocks[i + 1];
    if (!contentType || next?.kind !== 'json') throw new Error(`an http example without its result: ${head}`);
    found.push({ contentType, body, expected: JSON.parse(next.text) });
  }
  return found;
}

describe('docs/flow-format.md, Payloads', () => {
  const all = examples();

  it('has the examples it promises', () => {
    expect(all.map((e) => e.contentType)).toEqual([
      'application/json',
      'application/x-www-form-urlencoded',
      'application/xml',
      'text/xml',
      'text/plain',
    ]);
  });

  it.each(all.map((e) => [e.contentType, e] as const))('%s becomes what the doc shows', (_type, example) => {
    expect(parseWebhookBody(Buffer.from(example.body), example.contentType)).toEqual(example.expected);
  });
});
