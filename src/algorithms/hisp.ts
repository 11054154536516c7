// Head Importance Score for Pruning (Michel et al. 2019, "Are sixteen heads
// really better than one?") as the ACDC paper adapted it
// (experiments/launch_sixteen_heads.py): every head's q, k and v and every
// MLP output gets a mask fixed at 1; a component's importance is
// Σ over prompts of |∂metric_prompt/∂mask| = |⟨value, ∂metric_prompt/∂value⟩|
// (at the clean run, with no ablated value blended in), normalised by the
// L2 norm of its layer's importances; components are ranked by importance
// (stable, descending). The reference then masks components cumulatively
// in that order, the most important first, and turns each state into a
// circuit without their edges; the knob is how many are masked. That order
// is kept (the paper's HISP numbers come from it); `order: "importance"`
// masks the least important first instead, as pruning usually does.
import type { Patcher } from "../patch/patcher.js";
import type { Circuit } from "../circuit.js";
import { InputError } from "../errors.js";
import type { NodeValues } from "../patch/pass.js";
import { edgesWithoutComponents, maskedComponents, measuredCircuit, type MaskedComponent } from "./masks.js";
import type { Progress } from "./progress.js";

export interface HispOptions {
  /** How many components (q/k/v of a head, or an MLP) to mask, in rank order. */
  masked: number;
  /** "reference" (default): the highest-ranked first, as the ACDC paper's code; "importance": the lowest first. */
  order?: "reference" | "importance";
  onProgress?: (p: Progress) => void;
}

export interface HispRanking { components: MaskedComponent[]; scores: Float64Array }

/** Every component's normalised importance, and the components in masking order (reference order: most important first). */
export function hispRanking(p: Patcher, order: "reference" | "importance" = "reference"): HispRanking {
  const g = p.graph, e = p.e, m = p.model, pass = p.pass, cfg = m.cfg;
  if (!p.metric.backward) throw new InputError(`metric "${p.metric.name}" has no gradient; HISP needs one`);
  if (cfg.positional === "rotary") throw new InputError("HISP does not support rotary position embeddings yet");
  if (p.present.some((x) => x === 0)) throw new InputError("HISP scores the full model: use a patcher with every edge present");
  const comps = maskedComponents(g);
  const byNode = new Map(comps.map((c, i) => [c.node, i]));
  const raw = new Float64Array(comps.length);
  const { B, T } = p;
  // Per prompt the metric is the mean over its rows; the batch metric's gradient is (rows of b / R) times it.
  const rowsOf = new Float64Array(B);
  for (const r of p.rowIndex) rowsOf[Math.floor(r / T)]++;
  const mark = e.mark();
  try {
    const save = pass.allocSave();
    const vals: NodeValues = { value: (x) => p.value(x), ablated: (x) => p.ablated(x) };
    pass.run(vals, 0, null, undefined, save); // recomputes the clean values in place (same bits) and keeps what backward needs
    pass.logitsOf(p.value(g.output), save.logits, save);
    const dlogits = e.allocF32(p.R * cfg.dVocab);
    p.metric.backward!(save.logits, dlogits, p.ctx);
    // |Σ over a prompt's rows of value·gradient| summed over prompts, in float64.
    const importance = (x: number, d: number, width: number) => {
      const v = e.f32(p.value(x), B * T * width), gr = e.f32(d, B * T * width);
      let total = 0;
      for (let b = 0; b < B; b++) {
        if (!rowsOf[b]) continue;
        let s = 0;
        for (let i = b * T * width; i < (b + 1) * T * width; i++) s += v[i] * gr[i];
        total += Math.abs((s * p.R) / rowsOf[b]);
      }
      return total;
    };
    pass.backward(vals, save, dlogits, {
      onDirect: (x, d) => { const i = byNode.get(x); if (i !== undefined) raw[i] = importance(x, d, cfg.dHead); },
      onWriter: (x, d) => { const i = byNode.get(x); if (i !== undefined) raw[i] = importance(x, d, cfg.dModel); },
    });
  } finally {
    e.reset(mark);
  }
  // Normalise by each layer's L2 norm (floor 1e-6, as the reference clamps it).
  const scores = new Float64Array(comps.length);
  for (let l = 0; l < cfg.nLayers; l++) {
    const idx = comps.map((c, i) => (c.layer === l ? i : -1)).filter((i) => i >= 0);
    const norm = Math.sqrt(idx.reduce((a, i) => a + raw[i] * raw[i], 0));
    for (const i of idx) scores[i] = raw[i] / Math.max(norm, 1e-6);
  }
  // Stable sort (ties keep the reference's layer/q/k/v/MLP order).
  const rank = comps.map((_, i) => i).sort((a, b) => (order === "reference" ? scores[b] - scores[a] : scores[a] - scores[b]) || a - b);
  return { components: rank.map((i) => comps[i]), scores: Float64Array.from(rank, (i) => scores[i]) };
}

/** HISP's circuit with the first `masked` ranked components masked; its metric from a real patched pass. */
export function hisp(p: Patcher, o: HispOptions): Circuit {
  const t0 = performance.now();
  const g = p.graph, baseline = p.current;
  const ranking = hispRanking(p, o.order ?? "reference");
  const n = ranking.components.length;
  if (!Number.isInteger(o.masked) || o.masked < 0 || o.masked > n) throw new InputError(`hisp: masked must be an integer from 0 to ${n} (the model's head q/k/v and MLP components), got ${o.masked}`);
  const present = edgesWithoutComponents(g, ranking.components.slice(0, o.masked));
  const scores = new Float64Array(g.edges.length).fill(NaN);
  ranking.components.forEach((c, i) => { scores[g.parents[c.node][0]] = ranking.scores[i]; });
  o.onProgress?.({ phase: "hisp", done: 1, total: 1, ms: performance.now() - t0 });
  return measuredCircuit(p, { algorithm: "hisp", present, scores, scoreKind: "attribution", baseline, knob: { name: "masked", value: o.masked }, tested: n, t0 });
}
