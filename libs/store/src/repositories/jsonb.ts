// JSON escapes jsonb refuses: `\u0000` and surrogates (JSON.stringify escapes only lone ones);
// an escape counts only after an even number of backslashes.
const UNSTORABLE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/g;

/** JSON text for a jsonb parameter: NUL and lone surrogates, which jsonb refuses, become U+FFFD. */
export function toJsonb(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) return null;
  // Most values hold no escape at all: one scan, and the regular expression only when needed.
  return text.includes('\\u') ? text.replace(UNSTORABLE_ESCAPE, '$1\\ufffd') : text;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** What in `text` PostgreSQL refuses to store as text or jsonb, in words; null when nothing. */
export function unstorableCharIn(text: string): string | null {
  if (text.includes('\u0000')) return 'the NUL character (\\u0000)';
  if (LONE_SURROGATE.test(text)) return 'a lone UTF-16 surrogate (\\ud800-\\udfff without its pair)';
  return null;
}

interface WalkNode {
  value: unknown;
  /** The member name or array index that leads here from `parent`. */
  key: string;
  /** A member name, which is text to check too (an array index is not). */
  named: boolean;
  parent: WalkNode | null;
}

/** The first string or name PostgreSQL cannot store: its pointer and the problem, or null. No recursion. */
export function unstorableTextAt(value: unknown): { path: string; problem: string } | null {
  const stack: WalkNode[] = [{ value, key: '', named: false, parent: null }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const problem =
      (node.named ? unstorableCharIn(node.key) : null) ??
      (typeof node.value === 'string' ? unstorableCharIn(node.value) : null);
    if (problem) return { path: pointerTo(node), problem };
    const v = node.value;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--)
        stack.push({ value: v[i], key: String(i), named: false, parent: node });
    } else if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--)
        stack.push({
          value: (v as Record<string, unknown>)[keys[i]],
          key: keys[i],
          named: true,
          parent: node,
        });
    }
  }
  return null;
}

/** The JSON pointer of a walked node; the characters that could not be stored are shown as U+FFFD. */
function pointerTo(node: WalkNode): string {
  const keys: string[] = [];
  for (let n: WalkNode | null = node; n?.parent; n = n.parent) keys.push(n.key);
  return keys
    .reverse()
    .map(
      (k) =>
        '/' +
        k
          .replaceAll('~', '~0')
          .replaceAll('/', '~1')
          .replaceAll('\u0000', '\ufffd')
          .replace(LONE_SURROGATES, '\ufffd'),
    )
    .join('');
}
