import type { FlowDefinition } from './flow-definition';

/** Known keys first, in the order a reader expects them; anything else follows, sorted. */
export const FLOW_KEY_ORDER = [
  '$schema',
  'slug',
  'name',
  'description',
  'enabled',
  'trigger',
  'steps',
] as const;
export const TRIGGER_KEY_ORDER = [
  'type',
  'methods',
  'verify',
  'dedupe',
  'allowIps',
  'rateLimit',
  'maxBodyBytes',
  'respond',
  'respondTimeout',
] as const;
export const STEP_KEY_ORDER = [
  'id',
  'name',
  'description',
  'type',
  'needs',
  'join',
  'expression',
  'condition',
  'mode',
  'paths',
  'code',
  'items',
  'concurrency',
  'maxItems',
  'continueOnError',
  'steps',
  'for',
  'until',
  'connector',
  'with',
  'destination',
  'status',
  'headers',
  'json',
  'body',
  'retry',
  'timeout',
] as const;

/** As the repository's `.prettierrc`, so that `prettier --check` accepts exported flow files as they are. */
const PRINT_WIDTH = 110;
const INDENT = '  ';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: Json): value is { [key: string]: Json } {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// Code-unit order, not localeCompare: the same bytes on every machine and locale.
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function orderedKeys(obj: { [key: string]: Json }, known: readonly string[]): string[] {
  const rest = Object.keys(obj)
    .filter((k) => !known.includes(k))
    .sort(compareKeys);
  return [...known.filter((k) => Object.hasOwn(obj, k)), ...rest];
}

/** Rebuilds `value` with every object's keys in canonical order (insertion order is what JSON.stringify keeps). */
function reorder(value: Json, known: readonly string[] = []): Json {
  if (Array.isArray(value)) return value.map((item) => reorder(item));
  if (!isObject(value)) return value;
  const out: { [key: string]: Json } = {};
  for (const key of orderedKeys(value, known)) out[key] = reorder(value[key]);
  return out;
}

function reorderFlow(doc: Json): Json {
  if (!isObject(doc)) return reorder(doc);
  const out: { [key: string]: Json } = {};
  for (const key of orderedKeys(doc, FLOW_KEY_ORDER)) {
    const value = doc[key];
    if (key === 'trigger') out[key] = reorder(value, TRIGGER_KEY_ORDER);
    else if (key === 'steps' && Array.isArray(value)) out[key] = value.map(reorderStep);
    else out[key] = reorder(value);
  }
  return out;
}

/** A step's keys in order; a loop's own steps likewise. */
function reorderStep(step: Json): Json {
  if (!isObject(step)) return reorder(step);
  const out: { [key: string]: Json } = {};
  for (const key of orderedKeys(step, STEP_KEY_ORDER)) {
    const value = step[key];
    out[key] = key === 'steps' && Array.isArray(value) ? value.map(reorderStep) : reorder(value);
  }
  return out;
}

/** Display width as prettier counts it (wide characters two columns, combining marks none). */
function textWidth(text: string): number {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(text)) return text.length;
  let width = 0;
  for (const segment of text.replace(
    /\p{Extended_Pictographic}(\u200d\p{Extended_Pictographic}|\ufe0f)*/gu,
    '  ',
  )) {
    const code = segment.codePointAt(0)!;
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f) || /\p{Mn}/u.test(segment)) continue;
    width += isWide(code) ? 2 : 1;
  }
  return width;
}

function isWide(code: number): boolean {
  return (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0x303e) ||
    (code >= 0x3041 && code <= 0x33ff) ||
    (code >= 0x3400 && code <= 0x4dbf) ||
    (code >= 0x4e00 && code <= 0x9fff) ||
    (code >= 0xa000 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x20000 && code <= 0x3fffd)
  );
}

function scalar(value: Exclude<Json, Json[] | { [key: string]: Json }>): string {
  // Prettier writes `1e21` where JSON.stringify writes `1e+21`; both parse to the same number.
  return typeof value === 'number' ? JSON.stringify(value).replace('e+', 'e') : JSON.stringify(value);
}

/** The array on one line, or null when it can never be (it holds a non-empty object, which prettier keeps expanded). */
function flat(value: Json): string | null {
  if (!Array.isArray(value))
    return isObject(value) ? (Object.keys(value).length === 0 ? '{}' : null) : scalar(value);
  const items: string[] = [];
  for (const item of value) {
    const text = flat(item);
    if (text === null) return null;
    items.push(text);
  }
  return `[${items.join(', ')}]`;
}

/** Prettier always breaks an array of two or more arrays that each hold two or more items. */
function isMatrix(value: Json[]): boolean {
  return value.length > 1 && value.every((item) => Array.isArray(item) && item.length > 1);
}

/** Prettier packs arrays of plain numbers as many to a line as fit. */
function isNumberList(value: Json[]): value is number[] {
  return value.length > 1 && value.every((item) => typeof item === 'number');
}

/** Lays out `value` from `column` at indent `depth`; `trailer` follows it on the line (`,` or nothing). */
function layout(value: Json, depth: number, column: number, trailer: string): string {
  const inner = INDENT.repeat(depth + 1);
  const closing = INDENT.repeat(depth);
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) return '{}';
    const lines = keys.map((key, i) => {
      const prefix = `${inner}${JSON.stringify(key)}: `;
      const comma = i < keys.length - 1 ? ',' : '';
      return `${prefix}${layout(value[key], depth + 1, textWidth(prefix), comma)}${comma}`;
    });
    return `{\n${lines.join('\n')}\n${closing}}`;
  }
  if (!Array.isArray(value)) return scalar(value);
  if (value.length === 0) return '[]';
  const oneLine = isMatrix(value) ? null : flat(value);
  if (oneLine !== null && column + textWidth(oneLine) + trailer.length <= PRINT_WIDTH) return oneLine;
  if (isNumberList(value)) {
    const texts = value.map((n, i) => scalar(n) + (i < value.length - 1 ? ',' : ''));
    let text = inner + texts[0];
    let width = textWidth(text);
    for (let i = 1; i < texts.length; i++) {
      // Prettier's fill: the separator stays a space when this item and the next fit on the line.
      if (width + 1 + texts[i].length <= PRINT_WIDTH) {
        text += ` ${texts[i]}`;
        width += 1 + texts[i].length;
      } else {
        text += `\n${inner}${texts[i]}`;
        width = inner.length + texts[i].length;
      }
    }
    return `[\n${text}\n${closing}]`;
  }
  const lines = value.map((item, i) => {
    const comma = i < value.length - 1 ? ',' : '';
    return `${inner}${layout(item, depth + 1, inner.length, comma)}${comma}`;
  });
  return `[\n${lines.join('\n')}\n${closing}]`;
}

/**
 * The canonical text of a flow file: known keys in a fixed order, others sorted, laid out as prettier
 * does. A pure function of the JSON value, so formatting a parsed file again yields the same bytes.
 */
export function canonicalFlowJson(def: FlowDefinition): string {
  // Through JSON first: drops undefined and functions, applies toJSON, just as a file would hold it.
  const text = JSON.stringify(def);
  if (text === undefined) throw new TypeError('a flow definition must be a JSON value');
  return `${layout(reorderFlow(JSON.parse(text) as Json), 0, 0, '')}\n`;
}
