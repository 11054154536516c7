// Circuit serialisation: the versioned JSON the spec compares (parent, child,
// type per kept edge, plus run metadata), read back into a Circuit over the
// graph its recorded model config gives, and DOT for graphviz. Pure
// functions; no I/O here.
import type { Circuit, ScoreKind } from "../circuit.js";
import { buildGraph, type Graph, type GraphEdge, type GraphNode } from "../graph/graph.js";
import { makeConfig, type ModelConfig } from "../model/config.js";
import { hook } from "../names.js";
import { AcdcError, FormatError } from "../errors.js";

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

/** The text `acdc run --out` writes (and the explorer downloads): the circuit JSON, one-space indented, newline-terminated. */
export function circuitFileText(c: Circuit, meta: CircuitMeta): string {
  return JSON.stringify(circuitJson(c, meta), null, 1) + "\n";
}

const bad = (msg: string) => new FormatError("circuit JSON", msg);

/**
 * Read a circuit JSON (schema version 1) back: the graph rebuilt from the
 * model config it records (tracr-style split inputs when its nodes name
 * hook_embed), every edge matched to a counted edge of that graph, and a
 * Circuit that circuitJson turns into the same JSON again (decisions are not
 * recorded, so its trace is empty). Throws FormatError naming what is wrong.
 */
export function readCircuitJson(j: unknown): { json: CircuitJson; graph: Graph; circuit: Circuit; meta: CircuitMeta } {
  if (j === null || typeof j !== "object" || Array.isArray(j)) throw bad("must hold a JSON object");
  const o = j as Record<string, unknown>;
  if (o.version !== CIRCUIT_SCHEMA_VERSION) throw bad(`version ${JSON.stringify(o.version)} is not ${CIRCUIT_SCHEMA_VERSION} (is this a circuit written by acdc run?)`);
  for (const k of ["threshold", "baseline", "final_metric", "num_tested", "num_kept", "total_edges", "search_ms"]) {
    if (typeof o[k] !== "number") throw bad(`"${k}" must be a number, got ${JSON.stringify(o[k])}`);
  }
  for (const k of ["ablation", "metric", "algorithm"]) if (typeof o[k] !== "string") throw bad(`"${k}" must be a string`);
  if (!Array.isArray(o.edges)) throw bad(`"edges" must be a list`);
  if (!Array.isArray(o.nodes) || !o.nodes.every((x) => typeof x === "string")) throw bad(`"nodes" must be a list of node labels`);
  const model = o.model;
  if (model === null || typeof model !== "object" || Array.isArray(model)) throw bad(`"model" must be an object`);
  const fields: Record<string, unknown> = { ...model };
  delete fields.name;
  if (typeof fields.nLayers !== "number" || typeof fields.nHeads !== "number") {
    throw bad(`"model" does not record the model's geometry (nLayers, nHeads, …), so its graph cannot be rebuilt`);
  }
  let cfg: ModelConfig;
  try { cfg = makeConfig(fields as unknown as ModelConfig); } catch (e) { throw e instanceof AcdcError ? bad(`"model": ${e.message}`) : e; }
  const graph = buildGraph(cfg, { splitInput: (o.nodes as string[]).includes(hook.embed()) });
  const counted = graph.counts.addition + graph.counts.direct;
  if (o.total_edges !== counted) throw bad(`"total_edges" is ${o.total_edges} but the recorded model's graph has ${counted} edges`);
  const edgeOf = new Map<string, GraphEdge>();
  for (const e of graph.edges) if (e.type !== "placeholder") edgeOf.set(`${e.parent} ${e.child}`, e);
  const scores = new Float64Array(graph.edges.length).fill(NaN);
  const present = new Uint8Array(graph.edges.length);
  for (const e of graph.edges) if (e.type === "placeholder") present[e.id] = 1;
  const edges: GraphEdge[] = (o.edges as unknown[]).map((x, i) => {
    const r = x as Record<string, unknown>;
    if (r === null || typeof r !== "object" || typeof r.parent !== "string" || typeof r.child !== "string") throw bad(`edge ${i} must have "parent" and "child" node labels`);
    const a = graph.byLabel.get(r.parent), b = graph.byLabel.get(r.child);
    const e = a === undefined || b === undefined ? undefined : edgeOf.get(`${a} ${b}`);
    if (!e) throw bad(`edge ${i} ${r.parent} → ${r.child} is not an edge of the recorded model's graph`);
    if (r.type !== e.type) throw bad(`edge ${i} ${r.parent} → ${r.child} is ${e.type === "addition" ? "an" : "a"} ${e.type} edge, not ${JSON.stringify(r.type)}`);
    if (present[e.id]) throw bad(`edge ${i} ${r.parent} → ${r.child} is listed twice`);
    if (r.score !== null && typeof r.score !== "number") throw bad(`edge ${i}: "score" must be a number or null`);
    present[e.id] = 1;
    scores[e.id] = r.score === null ? NaN : (r.score as number);
    return e;
  });
  if (o.num_kept !== edges.length) throw bad(`"num_kept" is ${o.num_kept} but ${edges.length} edges are listed`);
  const algorithm = o.algorithm as string;
  const scoreKind: ScoreKind = algorithm.startsWith("eap") ? "attribution" : algorithm === "acdc" || algorithm === "hybrid" ? "metric-when-removed" : "mask";
  const topK = o.top_k;
  if (topK !== undefined && typeof topK !== "number") throw bad(`"top_k" must be a number`);
  const circuit: Circuit = {
    algorithm, graph, present, edges, scores, scoreKind,
    baseline: o.baseline as number, metric: o.final_metric as number, trace: [],
    knob: topK !== undefined ? { name: "topK", value: topK } : { name: "threshold", value: o.threshold as number },
    stats: { tested: o.num_tested as number, ms: o.search_ms as number },
  };
  const meta: CircuitMeta = { ablation: o.ablation as string, metric: o.metric as string, model: model as Record<string, unknown> };
  return { json: o as unknown as CircuitJson, graph, circuit, meta };
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
