/**
 * What the flow JSON Schema (schema/flow.schema.json) allows at a place in a document, for the
 * editor's completion. Pure: walks the schema along a JSON path, taking the `if`/`then` branches
 * whose `if` the document's value matches (the schema picks a trigger's or a step's properties so).
 */

export type JsonPath = (string | number)[];

export interface SchemaNode {
  type?: string | string[];
  description?: string;
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode | SchemaNode[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  required?: string[];
  allOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  if?: SchemaNode;
  then?: SchemaNode;
  else?: SchemaNode;
}

export interface Suggestion {
  label: string;
  detail?: string;
  info?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A crude `if` test: every `properties.X.const`/`enum` it names holds on `value`, and its `required` are present. */
function matchesIf(cond: SchemaNode, value: unknown): boolean {
  if (!isObject(value)) return false;
  for (const key of cond.required ?? []) if (!(key in value)) return false;
  for (const [key, sub] of Object.entries(cond.properties ?? {})) {
    if (!(key in value)) continue;
    if ('const' in sub && value[key] !== sub.const) return false;
    if (sub.enum && !sub.enum.includes(value[key])) return false;
  }
  return true;
}

/** The schema and the subschemas that apply to `value` with it (allOf, matching if/then, any branch). */
function expand(schema: SchemaNode, value: unknown, out: SchemaNode[] = []): SchemaNode[] {
  out.push(schema);
  for (const s of schema.allOf ?? []) expand(s, value, out);
  for (const s of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) expand(s, value, out);
  if (schema.if) {
    if (matchesIf(schema.if, value)) {
      if (schema.then) expand(schema.then, value, out);
    } else if (schema.else) expand(schema.else, value, out);
  }
  return out;
}

function child(schema: SchemaNode, key: string | number): SchemaNode[] {
  if (typeof key === 'number') {
    if (Array.isArray(schema.items)) return schema.items[key] ? [schema.items[key]] : [];
    return schema.items ? [schema.items] : [];
  }
  const found: SchemaNode[] = [];
  if (schema.properties?.[key]) found.push(schema.properties[key]);
  for (const [pattern, sub] of Object.entries(schema.patternProperties ?? {})) {
    try {
      if (new RegExp(pattern, 'u').test(key)) found.push(sub);
    } catch {
      // A pattern this engine cannot read names no property here.
    }
  }
  if (found.length === 0 && isObject(schema.additionalProperties)) found.push(schema.additionalProperties);
  return found;
}

function valueAt(doc: unknown, path: JsonPath): unknown {
  let v = doc;
  for (const key of path) {
    if (Array.isArray(v) && typeof key === 'number') v = v[key];
    else if (isObject(v) && typeof key === 'string') v = v[key];
    else return undefined;
  }
  return v;
}

/** Every subschema that describes the value at `path` of `doc` (the parsed document, possibly partial). */
export function schemasAt(root: SchemaNode, doc: unknown, path: JsonPath): SchemaNode[] {
  let current = expand(root, doc);
  for (let i = 0; i < path.length; i++) {
    const value = valueAt(doc, path.slice(0, i + 1));
    current = current.flatMap((s) => child(s, path[i])).flatMap((s) => expand(s, value));
    if (current.length === 0) break;
  }
  return current;
}

/** Property names the object at `path` may have, but those it has already (`present`). */
export function propertySuggestions(
  root: SchemaNode,
  doc: unknown,
  path: JsonPath,
  present: string[] = [],
): Suggestion[] {
  const byName = new Map<string, Suggestion>();
  for (const s of schemasAt(root, doc, path)) {
    for (const [name, sub] of Object.entries(s.properties ?? {})) {
      if (present.includes(name)) continue;
      const known = byName.get(name);
      // `then` branches repeat a name as `{}` to allow it: keep the description from wherever it is.
      if (!known || (!known.info && sub.description)) {
        byName.set(name, { label: name, detail: typeName(sub), info: sub.description });
      }
    }
  }
  return [...byName.values()].sort((a, b) => a.label.localeCompare(b.label));
}

/** Values the schema names for the value at `path`: enums, consts, booleans. */
export function valueSuggestions(root: SchemaNode, doc: unknown, path: JsonPath): Suggestion[] {
  const values = new Map<string, Suggestion>();
  const add = (v: unknown, info?: string) => {
    const label = JSON.stringify(v);
    if (!values.has(label)) values.set(label, { label, info });
  };
  for (const s of schemasAt(root, doc, path)) {
    for (const v of s.enum ?? []) add(v, s.description);
    if ('const' in s) add(s.const, s.description);
    if (s.type === 'boolean') {
      add(true, s.description);
      add(false, s.description);
    }
  }
  return [...values.values()];
}

function typeName(s: SchemaNode): string | undefined {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  return Array.isArray(s.type) ? s.type.join(' | ') : s.type;
}

/** A JSON pointer (`/steps/2/with/url`) as a path; array indexes as numbers. */
export function pointerToPath(pointer: string): JsonPath {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .replace(/^\//, '')
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^(0|[1-9]\d*)$/.test(part) ? Number(part) : part));
}
