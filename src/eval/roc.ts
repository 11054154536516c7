// Scoring circuits against a ground truth, as the ACDC paper does: each
// threshold's circuit is one (FPR, TPR) point; (0,0) and (1,1) are added,
// points beaten on both axes by another are dropped, and the area is the
// staircase Σ (1 − xᵢ)(yᵢ − yᵢ₋₁) over the remaining points sorted by x.
import type { Graph, GraphNode } from "../graph/graph.js";

export interface RocPoint { fpr: number; tpr: number; threshold?: number }
export interface Confusion { tp: number; fp: number; fn: number; tn: number; tpr: number; fpr: number }

/** Edge key "parent->child" from node labels. */
export const edgeKey = (parent: string, child: string): string => `${parent}->${child}`;

/** Confusion counts of a predicted set against a truth set over a universe of `total` items. */
export function confusion(predicted: Set<string>, truth: Set<string>, total: number): Confusion {
  let tp = 0;
  for (const x of predicted) if (truth.has(x)) tp++;
  const fp = predicted.size - tp, fn = truth.size - tp, tn = total - tp - fp - fn;
  const pos = tp + fn, neg = fp + tn;
  return { tp, fp, fn, tn, tpr: pos ? tp / pos : 0, fpr: neg ? fp / neg : 0 };
}

/** The heads and MLPs a node belongs to ("0.3" for head 3 of layer 0, "mlp1"); null for input/output. */
export function componentOf(n: GraphNode): string | null {
  if (n.head !== null) return `${n.layer}.${n.head}`;
  if (n.kind === "mlp_in" || n.kind === "mlp_out") return `mlp${n.layer}`;
  return null;
}

/** Every head and MLP of a graph. */
export function allComponents(g: Graph): Set<string> {
  const s = new Set<string>();
  for (const n of g.nodes) { const c = componentOf(n); if (c) s.add(c); }
  return s;
}

/** Components touched by a set of edges given as [parent label, child label]. */
export function componentsOf(g: Graph, edges: Iterable<[string, string]>): Set<string> {
  const s = new Set<string>();
  for (const [p, c] of edges) for (const label of [p, c]) {
    const id = g.byLabel.get(label);
    if (id === undefined) throw new Error(`unknown node "${label}"`);
    const comp = componentOf(g.nodes[id]);
    if (comp) s.add(comp);
  }
  return s;
}

/**
 * The nodes the reference's node ROC counts (its get_node_stats after
 * filter_nodes): every graph node but the MLP inputs, which its filter drops
 * (it means to fold them into the MLP outputs, but the name it builds fails,
 * so they vanish); q/k/v inputs, the embeddings and the output stay.
 */
const countsAsNode = (n: GraphNode) => n.kind !== "mlp_in";

/** Every node of a graph as the reference's node ROC counts them (labels). */
export function allGraphNodes(g: Graph): Set<string> {
  return new Set(g.nodes.filter(countsAsNode).map((n) => n.label));
}

/** The reference's nodes touched by a set of edges given as [parent label, child label]. */
export function graphNodesOf(g: Graph, edges: Iterable<[string, string]>): Set<string> {
  const s = new Set<string>();
  for (const [p, c] of edges) for (const label of [p, c]) {
    const id = g.byLabel.get(label);
    if (id === undefined) throw new Error(`unknown node "${label}"`);
    if (countsAsNode(g.nodes[id])) s.add(label);
  }
  return s;
}

/** Pareto frontier with (0,0) and (1,1), sorted by FPR then TPR. */
export function paretoFrontier(points: RocPoint[]): RocPoint[] {
  const all = [{ fpr: 0, tpr: 0 }, ...points, { fpr: 1, tpr: 1 }];
  const kept = all.filter((p) => !all.some((q) => q !== p && q.fpr <= p.fpr && q.tpr >= p.tpr && (q.fpr < p.fpr || q.tpr > p.tpr)));
  // Identical points: keep one.
  const seen = new Set<string>();
  return kept.filter((p) => { const k = `${p.fpr},${p.tpr}`; if (seen.has(k)) return false; seen.add(k); return true; })
    .sort((a, b) => a.fpr - b.fpr || a.tpr - b.tpr);
}

/** Area under the staircase ROC through the frontier: Σ (1 − xᵢ)(yᵢ − yᵢ₋₁). */
export function rocAuc(points: RocPoint[]): number {
  const f = paretoFrontier(points);
  let auc = 0, prev = 0;
  for (const p of f) { auc += (1 - p.fpr) * (p.tpr - prev); prev = p.tpr; }
  return auc;
}
