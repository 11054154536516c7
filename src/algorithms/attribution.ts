// Circuits from attribution scores (EAP, EAP-IG): keep the top-k edges by
// |score| or those at or above a threshold, drop what cannot reach the
// output, and measure the circuit with a real patched pass (the scores are
// linear estimates; the reported metric is not). Measuring leaves the
// patcher as it was, unless asked to commit the circuit (hybrid's ACDC
// starts from it).
import type { Patcher } from "../patch/patcher.js";
import { keptEdges, pruneToOutput, type Circuit } from "../circuit.js";
import { InputError } from "../errors.js";
import { eapScores } from "./eap.js";
import type { Progress } from "./progress.js";

export interface AttributionOptions {
  /** Keep the k edges of largest |score| … */
  topK?: number;
  /** … or every edge with |score| ≥ threshold. */
  threshold?: number;
  /** Integrated-gradient steps (0: plain EAP). */
  steps?: number;
  /** Leave the circuit set on the patcher (setPresent) for a search that starts from it; by default it is only measured. */
  commit?: boolean;
  onProgress?: (p: Progress) => void;
}

/** Edges chosen from scores by top-k (ties by edge id, so deterministic) or threshold on |score|. */
export function chooseEdges(p: Patcher, scores: Float64Array, o: { topK?: number; threshold?: number }): Uint8Array {
  const g = p.graph;
  if ((o.topK === undefined) === (o.threshold === undefined)) throw new InputError("give exactly one of topK and threshold");
  if (o.topK !== undefined && (!Number.isInteger(o.topK) || o.topK < 0)) throw new InputError(`topK must be a non-negative integer, got ${o.topK}`);
  if (o.threshold !== undefined && !(o.threshold >= 0 && Number.isFinite(o.threshold))) throw new InputError(`threshold must be a finite non-negative number, got ${o.threshold}`);
  const counted = g.edges.filter((ed) => ed.type !== "placeholder").map((ed) => ed.id);
  const chosen = new Uint8Array(g.edges.length);
  if (o.topK !== undefined) {
    const order = [...counted].sort((a, b) => Math.abs(scores[b]) - Math.abs(scores[a]) || a - b);
    for (const id of order.slice(0, o.topK)) chosen[id] = 1;
  } else {
    for (const id of counted) if (Math.abs(scores[id]) >= o.threshold!) chosen[id] = 1;
  }
  return chosen;
}

/** EAP / EAP-IG circuit: score, keep top-k or above a threshold, prune, evaluate with a real patched pass. */
export function attributionCircuit(p: Patcher, key: string, o: AttributionOptions): Circuit {
  const t0 = performance.now();
  const g = p.graph, baseline = p.current, steps = o.steps ?? 0;
  const chosenCheck = { topK: o.topK, threshold: o.threshold };
  chooseEdges(p, new Float64Array(g.edges.length), chosenCheck); // option errors before the expensive part
  const { scores } = eapScores(p, { steps, onProgress: (d, t) => o.onProgress?.({ phase: key, done: d, total: t, ms: performance.now() - t0 }) });
  const present = pruneToOutput(g, chooseEdges(p, scores, chosenCheck));
  const metric = o.commit ? p.setPresent(present) : p.measure(present);
  return {
    algorithm: key, graph: g, present, edges: keptEdges(g, present), scores, scoreKind: "attribution", baseline, metric, trace: [],
    knob: o.topK !== undefined ? { name: "topK", value: o.topK } : { name: "threshold", value: o.threshold! },
    stats: { tested: g.counts.addition + g.counts.direct, ms: performance.now() - t0 },
  };
}
