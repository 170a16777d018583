// A state machine's definition drawn as a graph (dagre lays it out; we draw SVG), each state coloured by its
// status in the execution summary. Map and Parallel states are drawn as clusters holding their branches'
// states; a Map shows its iteration counts.
import dagre from "@dagrejs/dagre";
import type { StateSummary } from "./api";

interface AslState {
  Type?: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: Array<{ Next?: string }>;
  Catch?: Array<{ Next?: string }>;
  Branches?: AslMachine[];
  Iterator?: AslMachine;
  ItemProcessor?: AslMachine;
}
interface AslMachine {
  StartAt?: string;
  States?: Record<string, AslState>;
}

const NODE_W = 170;
const NODE_H = 40;
// Bounds what one definition can make the page draw (a forged definition with 100,000 states).
const MAX_NODES = 2000;

interface Built {
  g: dagre.graphlib.Graph;
  clusters: Set<string>;
}

function addMachine(b: Built, m: AslMachine, parent: string | undefined, prefix: string): void {
  const states = m.States ?? {};
  for (const [name, s] of Object.entries(states)) {
    if (b.g.nodeCount() >= MAX_NODES) return;
    const id = prefix + name;
    const inner = s.Type === "Parallel" ? s.Branches ?? [] : s.Type === "Map" ? [s.ItemProcessor ?? s.Iterator ?? {}] : [];
    if (inner.length > 0) {
      b.clusters.add(id);
      b.g.setNode(id, { label: name, type: s.Type, clusterLabelPos: "top" });
      inner.forEach((branch, i) => addMachine(b, branch, id, `${id}/${i}/`));
    } else {
      b.g.setNode(id, { label: name, type: s.Type, width: NODE_W, height: NODE_H });
    }
    if (parent) b.g.setParent(id, parent);
  }
  for (const [name, s] of Object.entries(states)) {
    const targets = new Set<string>();
    if (s.Next) targets.add(s.Next);
    if (s.Default) targets.add(s.Default);
    for (const c of s.Choices ?? []) if (c.Next) targets.add(c.Next);
    for (const c of s.Catch ?? []) if (c.Next) targets.add(c.Next);
    for (const t of targets) {
      if (states[t] && b.g.hasNode(prefix + name) && b.g.hasNode(prefix + t)) b.g.setEdge(prefix + name, prefix + t);
    }
  }
}

export function layout(definition: unknown): Built {
  const g = new dagre.graphlib.Graph({ compound: true, multigraph: false });
  g.setGraph({ rankdir: "TB", nodesep: 24, ranksep: 36, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  const b: Built = { g, clusters: new Set() };
  if (definition && typeof definition === "object") addMachine(b, definition as AslMachine, undefined, "");
  dagre.layout(g);
  return b;
}

// The summary is keyed by state name; states inside Map/Parallel branches share their plain names.
function summaryOf(id: string, states: Record<string, StateSummary> | undefined): StateSummary | undefined {
  return states?.[id.split("/").pop() ?? id];
}

export function Graph(props: {
  definition: unknown;
  states?: Record<string, StateSummary>;
  selected?: string;
  onSelect?: (name: string) => void;
}) {
  const { g, clusters } = layout(props.definition);
  const graph = g.graph();
  const width = Math.max(graph.width ?? 0, 200);
  const height = Math.max(graph.height ?? 0, 60);
  const nodes = g.nodes().map((id) => ({ id, ...g.node(id) }) as dagre.Node & { id: string; type?: string });
  const ordered = [...nodes.filter((n) => clusters.has(n.id)), ...nodes.filter((n) => !clusters.has(n.id))];
  return (
    <svg class="graph" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label="state machine graph">
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" fill="#889" />
        </marker>
      </defs>
      {g.edges().map((e) => {
        const pts = g.edge(e).points ?? [];
        const d = pts.map((p, i) => `${i ? "L" : "M"}${p.x},${p.y}`).join(" ");
        return <path key={`${e.v}->${e.w}`} d={d} class="edge" marker-end="url(#arrow)" />;
      })}
      {ordered.map((n) => {
        const s = summaryOf(n.id, props.states);
        const status = s?.status ?? "NOT_STARTED";
        const cluster = clusters.has(n.id);
        const name = n.label ?? n.id;
        const it = s?.mapIterations;
        return (
          <g
            key={n.id}
            class={`node ${cluster ? "cluster" : ""} status-${status} ${props.selected === name ? "selected" : ""}`}
            data-state={name}
            data-status={status}
            transform={`translate(${n.x - n.width / 2},${n.y - n.height / 2})`}
            tabIndex={cluster ? undefined : 0}
            onClick={() => props.onSelect?.(name)}
            onKeyDown={(ev) => (ev.key === "Enter" || ev.key === " ") && props.onSelect?.(name)}
          >
            <rect width={n.width} height={n.height} rx={cluster ? 8 : 6} />
            <text x={8} y={cluster ? 16 : NODE_H / 2 + 4}>
              {name}
              {cluster && it ? ` (${it.succeeded}/${it.started} ok${it.failed ? `, ${it.failed} failed` : ""})` : ""}
              {s && s.entered > 1 && !cluster ? ` ×${s.entered}` : ""}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
