import { Graph, layout } from '@dagrejs/dagre';
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type NodeProps,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { useMemo } from 'react';
import { buildFlowGraph, type GraphNode } from '../lib/flow-graph';
import { formatPercent } from '../lib/format';

import type { StepCounts } from '../lib/flow-types';

interface NodeData extends Record<string, unknown> {
  node: GraphNode;
  counts?: StepCounts;
  status?: string;
  selected: boolean;
}

const SIZE: Record<GraphNode['kind'], { width: number; height: number }> = {
  trigger: { width: 150, height: 54 },
  item: { width: 110, height: 40 },
  step: { width: 190, height: 74 },
  router: { width: 200, height: 84 },
  loop: { width: 190, height: 74 },
};
const LOOP_PAD = { x: 20, top: 44, bottom: 20 };

type Box = { x: number; y: number; width: number; height: number };

/** Left-to-right positions (top-left corners) by dagre; a loop is laid out first, then sized to hold its steps. */
function layoutGraph(graph: ReturnType<typeof buildFlowGraph>): Map<string, Box> {
  const boxes = new Map<string, Box>();
  const run = (ids: GraphNode[], relative: boolean) => {
    const g = new Graph();
    g.setGraph({ rankdir: 'LR', nodesep: 28, ranksep: 56, marginx: 0, marginy: 0 });
    g.setDefaultEdgeLabel(() => ({}));
    const inside = new Set(ids.map((n) => n.id));
    for (const n of ids) {
      const size = boxes.get(n.id) ?? SIZE[n.kind];
      g.setNode(n.id, { width: size.width, height: size.height });
    }
    for (const e of graph.edges) {
      if (inside.has(e.source) && inside.has(e.target)) {
        g.setEdge(
          e.source,
          e.target,
          e.label ? { label: e.label, width: 8 * e.label.length, height: 16 } : {},
        );
      }
    }
    layout(g);
    for (const n of ids) {
      const p = g.node(n.id);
      boxes.set(n.id, {
        x: p.x - p.width / 2 + (relative ? LOOP_PAD.x : 0),
        y: p.y - p.height / 2 + (relative ? LOOP_PAD.top : 0),
        width: p.width,
        height: p.height,
      });
    }
    return ids;
  };
  for (const loop of graph.nodes.filter((n) => n.kind === 'loop')) {
    const children = run(
      graph.nodes.filter((n) => n.parent === loop.id),
      true,
    );
    const right = Math.max(0, ...children.map((c) => boxes.get(c.id)!.x + boxes.get(c.id)!.width));
    const bottom = Math.max(0, ...children.map((c) => boxes.get(c.id)!.y + boxes.get(c.id)!.height));
    boxes.set(loop.id, {
      x: 0,
      y: 0,
      width: Math.max(SIZE.loop.width, right + LOOP_PAD.x),
      height: Math.max(SIZE.loop.height, bottom + LOOP_PAD.bottom),
    });
  }
  run(
    graph.nodes.filter((n) => !n.parent),
    false,
  );
  return boxes;
}

function Counts({ counts }: { counts?: StepCounts }) {
  if (!counts) return null;
  return (
    <div className="fg-counts" data-testid={`graph-counts-${counts.id}`}>
      {counts.total} run{counts.total === 1 ? '' : 's'}
      {counts.failed > 0 ? (
        <span className="fg-failed"> · {formatPercent(counts.failureRate)} failed</span>
      ) : (
        <span> · 0 failed</span>
      )}
    </div>
  );
}

function StepNode({ data }: NodeProps<Node<NodeData>>) {
  const { node, counts, status, selected } = data;
  return (
    <div
      className={`fg-node fg-${node.kind}${status ? ` fg-status-${status}` : ''}${selected ? ' fg-selected' : ''}`}
      data-testid={`graph-node-${node.id}`}
      data-status={status}
      title={status ? `${node.id}: ${status}` : node.id}
    >
      <Handle type="target" position={Position.Left} />
      <div className="fg-title">
        {node.kind === 'router' && <span aria-hidden>◆ </span>}
        {node.kind === 'trigger' && <span aria-hidden>⚡ </span>}
        <strong>{node.kind === 'trigger' ? 'trigger' : node.kind === 'item' ? node.label : node.id}</strong>
        {node.join && <span className="fg-join">join: {node.join}</span>}
      </div>
      <div className="fg-type">
        {node.kind === 'item' ? '' : node.type}
        {node.label !== node.id && node.kind === 'step' ? ` · ${node.label}` : ''}
        {status && <span className={`badge badge-${status} fg-badge`}>{status}</span>}
      </div>
      {node.paths && (
        <div className="fg-paths">
          {node.paths.map((p) => (
            <span key={p.name} className="fg-path">
              {p.name}
              {p.fallback ? ' (fallback)' : ''}
            </span>
          ))}
        </div>
      )}
      <Counts counts={counts} />
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

function LoopNode({ data }: NodeProps<Node<NodeData>>) {
  const { node, counts, status, selected } = data;
  return (
    <div
      className={`fg-loop${status ? ` fg-status-${status}` : ''}${selected ? ' fg-selected' : ''}`}
      data-testid={`graph-node-${node.id}`}
      data-status={status}
    >
      <Handle type="target" position={Position.Left} />
      <div className="fg-title">
        <span aria-hidden>↻ </span>
        <strong>{node.id}</strong> <span className="fg-type">foreach</span>
        {node.join && <span className="fg-join">join: {node.join}</span>}
        {status && <span className={`badge badge-${status} fg-badge`}>{status}</span>}
      </div>
      <Counts counts={counts} />
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

const nodeTypes = { step: StepNode, loop: LoopNode };

/**
 * A flow's steps as a left-to-right graph: needs as edges (router paths labelled), joins marked,
 * loops as containers. `counts` and `statuses` are keyed by step id; clicking a node calls `onSelect`.
 */
export function FlowGraph({
  definition,
  counts,
  statuses,
  selected,
  onSelect,
  height = 420,
}: {
  definition: unknown;
  counts?: Record<string, StepCounts>;
  statuses?: Record<string, string>;
  selected?: string;
  onSelect?: (stepId: string) => void;
  height?: number;
}) {
  const graph = useMemo(() => buildFlowGraph(definition), [definition]);
  const boxes = useMemo(() => layoutGraph(graph), [graph]);
  const nodes: Node<NodeData>[] = useMemo(
    () =>
      // A parent must come before its children in xyflow's list: loops' children follow the loop already.
      graph.nodes.map((n) => {
        const box = boxes.get(n.id)!;
        return {
          id: n.id,
          type: n.kind === 'loop' ? 'loop' : 'step',
          position: { x: box.x, y: box.y },
          ...(n.parent ? { parentId: n.parent, extent: 'parent' as const } : {}),
          // Known sizes: xyflow shows a node before its ResizeObserver has measured it (it hid them
          // for good once in CI).
          width: box.width,
          height: box.height,
          draggable: false,
          connectable: false,
          selectable: !!onSelect && n.kind !== 'item' && n.kind !== 'trigger',
          data: {
            node: n,
            counts: counts?.[n.id],
            status: statuses?.[n.id],
            selected: selected === n.id,
          },
        };
      }),
    [graph, boxes, counts, statuses, selected, onSelect],
  );
  const edges: Edge[] = useMemo(
    () =>
      graph.edges.map((e) => ({
        id: e.id,
        source: e.source,
        target: e.target,
        label: e.label,
        labelBgPadding: [4, 2] as [number, number],
        labelStyle: { fontSize: 11, fontWeight: 600 },
        markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
        className: e.label ? 'fg-edge-path' : undefined,
      })),
    [graph],
  );
  return (
    <div className="flow-graph" style={{ height }} data-testid="flow-graph">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        fitViewOptions={{ padding: 0.15, maxZoom: 1 }}
        minZoom={0.2}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={!!onSelect}
        onNodeClick={(_e, node) => {
          const n = (node.data as NodeData).node;
          if (onSelect && n.kind !== 'item' && n.kind !== 'trigger') onSelect(n.id);
        }}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={16} size={1} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
