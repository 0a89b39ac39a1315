import { autocompletion, type Completion, type CompletionContext } from '@codemirror/autocomplete';
import { json } from '@codemirror/lang-json';
import { linter, lintGutter, type Diagnostic } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import {
  findNodeAtLocation,
  getLocation,
  parse,
  parseTree,
  printParseErrorCode,
  type Node as JsonNode,
  type ParseError,
} from 'jsonc-parser';
import { useEffect, useRef } from 'react';
import flowSchema from '../../../../schema/flow.schema.json' with { type: 'json' };
import { pointerToPath, propertySuggestions, valueSuggestions, type SchemaNode } from '../lib/flow-schema';
import type { Issue } from '../lib/flow-types';

const SCHEMA = flowSchema as unknown as SchemaNode;

export interface EditorIssue extends Issue {
  severity: 'error' | 'warning';
  /** Line of the text the pointer names (1-based), for the list under the editor. */
  line?: number;
}

/** Where a JSON pointer is in the text: the property (key and value) it names, or its nearest parent. */
export function rangeOfPointer(text: string, pointer: string): { from: number; to: number } {
  const tree = parseTree(text);
  if (!tree) return { from: 0, to: Math.min(1, text.length) };
  let path = pointerToPath(pointer);
  for (;;) {
    const node = findNodeAtLocation(tree, path);
    if (node) return nodeRange(node);
    if (path.length === 0) return { from: 0, to: Math.min(1, text.length) };
    path = path.slice(0, -1);
  }
}

function nodeRange(node: JsonNode): { from: number; to: number } {
  const property = node.parent?.type === 'property' ? node.parent : undefined;
  const key = property?.children?.[0];
  const container = node.type === 'object' || node.type === 'array';
  if (key && key !== node) {
    // A whole object underlined reads as noise: its key says where.
    return container
      ? { from: key.offset, to: key.offset + key.length }
      : { from: key.offset, to: node.offset + node.length };
  }
  return container
    ? { from: node.offset, to: node.offset + 1 }
    : { from: node.offset, to: node.offset + node.length };
}

function completions(ctx: CompletionContext) {
  const text = ctx.state.doc.toString();
  const location = getLocation(text, ctx.pos);
  const word = ctx.matchBefore(/"?[\w$.-]*/);
  if (!ctx.explicit && (!word || word.from === word.to)) return null;
  const doc = parse(text, [], { allowTrailingComma: true });
  const current = location.previousNode;
  const replaceFrom = current && current.offset <= ctx.pos ? current.offset : (word?.from ?? ctx.pos);
  const replaceTo = current && current.offset <= ctx.pos ? current.offset + current.length : ctx.pos;
  let options: Completion[];
  if (location.isAtPropertyKey) {
    const objectPath = location.path.slice(0, -1);
    let here: unknown = doc;
    for (const k of objectPath) here = (here as Record<string | number, unknown> | undefined)?.[k];
    const present = here && typeof here === 'object' ? Object.keys(here) : [];
    options = propertySuggestions(SCHEMA, doc, objectPath, present).map((s) => ({
      label: s.label,
      detail: s.detail,
      info: s.info,
      type: 'property',
      apply: `"${s.label}": `,
    }));
  } else {
    options = valueSuggestions(SCHEMA, doc, location.path).map((s) => ({
      label: s.label,
      info: s.info,
      type: 'enum',
    }));
  }
  if (options.length === 0) return null;
  return { from: replaceFrom, to: replaceTo, options, validFor: /^"?[\w$.-]*"?$/ };
}

/**
 * The flow document in CodeMirror: JSON, completion from the flow schema, and problems shown at
 * their JSON pointers: parse errors at once, then what `validate` (the API) says, debounced.
 */
export function FlowJsonEditor({
  initial,
  readOnly,
  validate,
  onChange,
  onIssues,
}: {
  initial: string;
  readOnly: boolean;
  /** Null: no validation by the API (a read key may not validate). */
  validate: ((doc: unknown) => Promise<EditorIssue[]>) | null;
  onChange: (text: string) => void;
  onIssues: (issues: EditorIssue[]) => void;
}) {
  const host = useRef<HTMLDivElement>(null);
  const callbacks = useRef({ validate, onChange, onIssues });
  callbacks.current = { validate, onChange, onIssues };

  useEffect(() => {
    if (!host.current) return;
    const check = async (view: EditorView): Promise<Diagnostic[]> => {
      const text = view.state.doc.toString();
      const errors: ParseError[] = [];
      const doc = parse(text, errors, { disallowComments: true, allowTrailingComma: false });
      const lineOf = (pos: number) => view.state.doc.lineAt(Math.min(pos, text.length)).number;
      let issues: (EditorIssue & { from: number; to: number })[];
      if (errors.length > 0) {
        issues = errors.map((e) => ({
          path: '',
          message: `JSON: ${printParseErrorCode(e.error)}`,
          severity: 'error' as const,
          from: e.offset,
          to: e.offset + Math.max(e.length, 1),
        }));
      } else if (callbacks.current.validate) {
        let found: EditorIssue[];
        try {
          found = await callbacks.current.validate(doc);
        } catch (err) {
          found = [{ path: '', message: (err as Error).message, severity: 'error' }];
        }
        // The text changed while the API answered: a newer check follows.
        if (view.state.doc.toString() !== text) return [];
        issues = found.map((i) => ({ ...i, ...rangeOfPointer(text, i.path) }));
      } else {
        issues = [];
      }
      const clamp = (n: number) => Math.max(0, Math.min(n, text.length));
      callbacks.current.onIssues(issues.map(({ from, ...i }) => ({ ...i, line: lineOf(from) })));
      return issues.map((i) => ({
        from: clamp(i.from),
        to: clamp(Math.max(i.to, i.from)),
        severity: i.severity,
        message: i.path ? `${i.path}: ${i.message}` : i.message,
      }));
    };
    const view = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: initial,
        extensions: [
          basicSetup,
          json(),
          lintGutter(),
          linter(check, { delay: 500 }),
          autocompletion({ override: [completions], activateOnTyping: true }),
          EditorState.readOnly.of(readOnly),
          EditorView.editable.of(!readOnly),
          EditorView.contentAttributes.of({ 'aria-label': 'Flow definition' }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) callbacks.current.onChange(u.state.doc.toString());
          }),
        ],
      }),
    });
    return () => view.destroy();
  }, [initial, readOnly]);

  return <div className="json-editor" ref={host} data-testid="flow-editor" />;
}
