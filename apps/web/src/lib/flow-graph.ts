/**
 * A flow definition as a graph to draw: the trigger, each step, and an edge per need
 * (docs/flow-format.md#needs-joins-and-a-steps-input). Pure: no DOM, no React, no layout.
 * It takes any JSON, since the editor draws definitions that are still being typed.
 */

export const TRIGGER_NODE = '$trigger';

export type GraphNodeKind = 'trigger' | 'step' | 'router' | 'loop' | 'item';

export interface GraphNode {
  /** The step id; `$trigger` for the trigger; `<loop>$item` for a loop's items. */
  id: string;
  kind: GraphNodeKind;
  /** The step type (`transform`...), the trigger type, or `item`. */
  type: string;
  label: string;
  /** The loop a step of a loop is drawn in. */
  parent?: string;
  /** A join (two needs or more): how it waits. */
  join?: 'all' | 'any';
  /** A router's paths, the fallback (no `when`) marked. */
  paths?: { name: string; fallback: boolean }[];
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  /** The router path a `"<router>.<path>"` need follows. */
  label?: string;
}

export interface FlowGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The id of the node a loop's first steps hang from. */
export function itemNodeId(loopId: string): string {
  return `${loopId}$item`;
}

/** Nodes and edges of a flow definition; steps without a usable id, and needs naming nothing, are left out. */
export function buildFlowGraph(definition: unknown): FlowGraph {
  const def = isObject(definition) ? definition : {};
  const trigger = isObject(def.trigger) ? def.trigger : {};
  const triggerType = typeof trigger.type === 'string' ? trigger.type : 'trigger';
  const nodes: GraphNode[] = [{ id: TRIGGER_NODE, kind: 'trigger', type: triggerType, label: triggerType }];
  const edges: GraphEdge[] = [];
  const seen = new Set<string>([TRIGGER_NODE]);
  addScope(Array.isArray(def.steps) ? def.steps : [], TRIGGER_NODE, undefined, nodes, edges, seen);
  return { nodes, edges };
}

/** One list of steps: the flow's, or a loop's (whose roots hang from `root`, the loop's item node). */
function addScope(
  steps: unknown[],
  root: string,
  parent: string | undefined,
  nodes: GraphNode[],
  edges: GraphEdge[],
  seen: Set<string>,
): void {
  const inScope = new Map<string, GraphNode>();
  let previous: string | undefined;
  for (const raw of steps) {
    if (!isObject(raw) || typeof raw.id !== 'string' || raw.id === '' || seen.has(raw.id)) continue;
    const id = raw.id;
    const type = typeof raw.type === 'string' ? raw.type : '?';
    const node: GraphNode = {
      id,
      kind: type === 'router' ? 'router' : type === 'foreach' ? 'loop' : 'step',
      type,
      label: typeof raw.name === 'string' && raw.name ? raw.name : id,
      ...(parent ? { parent } : {}),
    };
    if (type === 'router' && Array.isArray(raw.paths)) {
      node.paths = raw.paths
        .filter(isObject)
        .filter((p) => typeof p.name === 'string')
        .map((p) => ({ name: p.name as string, fallback: p.when === undefined }));
    }
    const needs = Array.isArray(raw.needs)
      ? raw.needs.filter((n): n is string => typeof n === 'string')
      : null;
    if (needs && needs.length >= 2) node.join = raw.join === 'any' ? 'any' : 'all';
    seen.add(id);
    nodes.push(node);
    inScope.set(id, node);

    if (needs === null) {
      edges.push(edge(previous ?? root, id));
    } else if (needs.length === 0) {
      edges.push(edge(root, id));
    } else {
      for (const need of needs) {
        const dot = need.indexOf('.');
        const source = dot === -1 ? need : need.slice(0, dot);
        // Only steps of the same scope defined earlier: what validation accepts.
        if (!inScope.has(source) || source === id) continue;
        edges.push(dot === -1 ? edge(source, id) : edge(source, id, need.slice(dot + 1)));
      }
    }

    if (type === 'foreach') {
      const item = itemNodeId(id);
      nodes.push({ id: item, kind: 'item', type: 'item', label: 'each item', parent: id });
      addScope(Array.isArray(raw.steps) ? raw.steps : [], item, id, nodes, edges, seen);
    }
    previous = id;
  }
}

function edge(source: string, target: string, label?: string): GraphEdge {
  return label === undefined
    ? { id: `${source}->${target}`, source, target }
    : { id: `${source}.${label}->${target}`, source, target, label };
}

/** The step ids of a run or dry run keyed to what a node shows: a loop item's rows count under their step. */
export function stepIdOfRow(rowId: string): string {
  const m = /^[^[]*\[\d+\]\.(.+)$/.exec(rowId);
  return m ? m[1] : rowId;
}
