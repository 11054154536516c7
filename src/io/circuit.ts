// Circuit serialisation: the versioned JSON the spec compares (parent, child,
// type per kept edge, plus run metadata) and DOT for graphviz. Pure functions
// of a Circuit; no I/O here.
import type { Circuit } from "../circuit.js";
import type { GraphNode } from "../graph/graph.js";

export const CIRCUIT_SCHEMA_VERSION = 1;

export interface CircuitEdgeJson {
  /** Sender node label, e.g. "blocks.0.attn.hook_result[3]". */
  parent: string;
  /** Receiver node label, e.g. "blocks.1.hook_q_input[2]". */
  child: string;
  type: "addition" | "direct";
  /** ACDC: the metric with this edge removed when it was tried (it was kept because that rise reached the threshold); EAP: its attribution score; null if never scored. */
  score: number | null;
  sender: { hook: string; head: number | null; layer: number };
  receiver: { hook: string; head: number | null; layer: number };
}

export interface CircuitJson {
  version: number;
  threshold: number;
  ablation: string;
  metric: string;
  model: Record<string, unknown>;
  /** Metric of the full model (0 for KL) and of the circuit found. */
  baseline: number;
  final_metric: number;
  num_tested: number;
  num_kept: number;
  total_edges: number;
  search_ms: number;
  nodes: string[];
  edges: CircuitEdgeJson[];
  /** Registry key of the algorithm. */
  algorithm: string;
  /** The number of edges attribution methods kept before pruning, when cut by top-k. */
  top_k?: number;
}

export interface CircuitMeta {
  ablation: string;
  metric: string;
  model?: Record<string, unknown>;
}

const endpoint = (n: GraphNode) => ({ hook: n.name, head: n.head, layer: n.layer });

/** The circuit JSON (schema version 1) of a circuit. */
export function circuitJson(c: Circuit, meta: CircuitMeta): CircuitJson {
  const g = c.graph;
  const edges: CircuitEdgeJson[] = c.edges.map((e) => {
    const p = g.nodes[e.parent], ch = g.nodes[e.child];
    const score = c.scores[e.id];
    return {
      parent: p.label,
      child: ch.label,
      type: e.type as "addition" | "direct",
      score: Number.isNaN(score) ? null : score,
      sender: endpoint(p),
      receiver: endpoint(ch),
    };
  });
  const used = new Set<number>();
  for (const e of c.edges) { used.add(e.parent); used.add(e.child); }
  const nodes = g.visitOrder.filter((id) => used.has(id)).map((id) => g.nodes[id].label);
  return {
    version: CIRCUIT_SCHEMA_VERSION,
    threshold: c.knob.name === "threshold" ? c.knob.value : 0,
    ablation: meta.ablation,
    metric: meta.metric,
    model: meta.model ?? {},
    baseline: c.baseline,
    final_metric: c.metric,
    num_tested: c.stats.tested,
    num_kept: c.edges.length,
    total_edges: g.counts.addition + g.counts.direct,
    search_ms: Math.round(c.stats.ms),
    nodes,
    edges,
    algorithm: c.algorithm,
    ...(c.knob.name === "topK" ? { top_k: c.knob.value } : {}),
  };
}

const quote = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

function colour(n: GraphNode): string {
  switch (n.kind) {
    case "input": case "embed": case "pos_embed": return "#cfe8cf";
    case "output": return "#f4d4c8";
    case "mlp_in": case "mlp_out": return "#f5e6b3";
    default: return "#d5e1f2";
  }
}

/** Graphviz DOT of a circuit's kept edges (direct edges dashed). */
export function circuitDot(c: Circuit): string {
  const g = c.graph, r = c;
  const used = new Set<number>();
  for (const e of r.edges) { used.add(e.parent); used.add(e.child); }
  const lines = ["digraph circuit {", "  rankdir=BT;", '  node [shape=box, style="rounded,filled", fontname="Helvetica"];'];
  // Forward order (input at the bottom, output at the top).
  for (const id of [...g.visitOrder].reverse()) {
    if (!used.has(id)) continue;
    const n = g.nodes[id];
    lines.push(`  ${quote(n.label)} [fillcolor=${quote(colour(n))}];`);
  }
  for (const e of r.edges) {
    const style = e.type === "direct" ? " [style=dashed]" : "";
    lines.push(`  ${quote(g.nodes[e.parent].label)} -> ${quote(g.nodes[e.child].label)}${style};`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}
