// Edge attribution patching (EAP, Syed et al. 2023) and EAP with integrated
// gradients (EAP-IG, Hanna et al. 2024): every edge scored at once from
// forward and backward graph passes instead of one patched pass per edge.
//
// score(parent → receiver) = Σ_{b,t,d} (ablated − clean value of the parent)
//   · ∂metric/∂(receiver input): the first-order change of the metric when
// the edge is removed. The metrics here already average over the batch, so
// this is the EAP paper's per-example score averaged over the batch;
// for a direct edge q_input → q the parent difference is the q node's own
// (ablated − clean) and the gradient is ∂metric/∂q. Plain EAP takes the
// gradient in the clean run; EAP-IG averages it over m runs whose input
// nodes are interpolated ablated + (k/m)(clean − ablated), k = 1..m.
//
// With every edge present, one graph pass forward and back per step gives
// every receiver's gradient (patch/pass.ts). At α = 1 (plain EAP, IG's last
// step) the forward pass is the patcher's clean run, already computed: only
// what backward reads is (norm statistics, attention patterns, MLP
// pre-activations). A receiver reads a prefix of
// the writers (inputs, then each layer's heads and MLP in forward order),
// so its scores against all of them are one GEMM with the stacked writer
// differences.
import type { Patcher } from "../patch/patcher.js";
import type { GraphEdge } from "../graph/graph.js";
import type { NodeValues, PassSave } from "../patch/pass.js";
import { READER_KINDS } from "../patch/pass.js";
import { EdgeGradients } from "../patch/edge-grads.js";
import { InputError } from "../errors.js";

export interface EapOptions {
  /** Integrated-gradient steps m; 0 (default) for plain EAP. */
  steps?: number;
  /**
   * Rerun the clean forward pass for the α = 1 step (plain EAP, IG's last) instead of taking the patcher's clean
   * values: the same bits, a forward pass slower; for checking.
   */
  recompute?: boolean;
  /** Called after each integrated-gradient step (done, total). */
  onProgress?: (done: number, total: number) => void;
}

export interface EapScores {
  /** Score per edge id (NaN for placeholders). */
  scores: Float64Array;
  steps: number;
  ms: number;
}

/** Most integrated-gradient steps accepted (each is a forward and a backward pass). */
export const MAX_IG_STEPS = 1000;

/** Score every counted edge with EAP (steps 0) or EAP-IG (steps m ≥ 1). Needs a fresh patcher (every edge present). */
export function eapScores(p: Patcher, opts: EapOptions = {}): EapScores {
  const t0 = performance.now();
  const steps = opts.steps ?? 0;
  if (!Number.isInteger(steps) || steps < 0 || steps > MAX_IG_STEPS) throw new InputError(`steps must be an integer from 0 to ${MAX_IG_STEPS}, got ${steps}`);
  const g = p.graph, m = p.model, e = p.e, cfg = m.cfg, metric = p.metric, pass = p.pass;
  if (!metric.backward) throw new InputError(`metric "${metric.name}" has no gradient; EAP needs one (kl, logit-diff or a task metric with backward())`);
  if (p.present.some((x) => x === 0)) throw new InputError("EAP scores the full model: use a patcher with every edge present");
  const mark = e.mark();
  try {
    const runs = steps === 0 ? [1] : Array.from({ length: steps }, (_, k) => (k + 1) / steps);
    const reuse = !opts.recompute;
    // The last layer's query side at the metric rows only: its other rows reach neither the logits nor any gradient.
    const save = pass.allocSave({ rows: true });
    const dlogits = e.allocF32(p.R * cfg.dVocab);
    const grads = new EdgeGradients(pass);
    // Δ = ablated − clean of the patcher's runs: the score is the linear estimate of removing the edge. A writer's
    // ablated value is read once, here (computed for that use when the patcher does not keep it); a q/k/v node's,
    // always kept, on every backward pass.
    grads.setDeltas((x) => p.ablatedScratch(x), (x) => p.value(x));
    grads.scale = 1 / runs.length;
    // A step's node values: at α = 1 (plain EAP, IG's last step) the patcher's clean run is that step's forward
    // pass, so only what backward reads is computed (pass.tape); other steps run the pass into buffers of their own.
    const own = runs.some((a) => a !== 1 || !reuse) ? ownValues(p) : null;
    const stepVals: NodeValues = { value: (x) => own![x], ablated: (x) => p.ablated(x) };
    const inputs = g.nodes.filter((n) => n.kind === "input" || n.kind === "embed" || n.kind === "pos_embed").map((n) => n.id);
    const ND = p.N * cfg.dModel;
    runs.forEach((alpha, k) => {
      let vals = stepVals;
      if (alpha === 1 && reuse) {
        vals = cleanValues(p, save);
        pass.tape(vals, save);
      } else {
        // Inputs ablated + α(clean − ablated); at α = 1 (recompute) the clean inputs themselves, as the patcher's run had them.
        for (const id of inputs) {
          if (alpha === 1) e.f32(own![id], ND).set(e.f32(p.value(id), ND));
          else e.k.lerp(own![id], p.ablatedScratch(id), p.value(id), alpha, ND);
        }
        pass.run(vals, 0, null, undefined, save);
      }
      pass.logitsOf(vals.value(g.output), save.logits, save);
      metric.backward!(save.logits, dlogits, p.ctx);
      pass.backward(vals, save, dlogits, grads.callbacks());
      opts.onProgress?.(k + 1, runs.length);
    });
    const scores = grads.out;
    for (const ed of g.edges) if (ed.type === "placeholder") scores[ed.id] = NaN;
    return { scores, steps, ms: performance.now() - t0 };
  } finally {
    e.reset(mark);
  }
}

/**
 * Buffers for a pass's own node values (offsets by node id): the patcher's idle trial buffers for writers and
 * q/k/v nodes; readers with the same senders share one new buffer (every edge is present).
 */
function ownValues(p: Patcher): Float64Array {
  const g = p.graph, e = p.e, pass = p.pass;
  const own = new Float64Array(g.nodes.length), spare = p.spare();
  let lastReader = -1;
  for (const x of pass.order) {
    const n = g.nodes[x];
    if (!READER_KINDS.has(n.kind)) own[x] = spare(x);
    else if (lastReader >= 0 && sameSenders(g.parents, g.edges, lastReader, x)) own[x] = own[lastReader];
    else own[x] = e.allocF32(pass.size[x]);
    if (READER_KINDS.has(n.kind)) lastReader = x;
  }
  return own;
}

/**
 * The patcher's clean values as a saved run() would hold them: with save.rows, the last layer's queries zero
 * outside the metric rows, copied into their idle trial buffers (own values' too: no earlier step needs them now).
 */
function cleanValues(p: Patcher, save: PassSave): NodeValues {
  const g = p.graph, pass = p.pass, e = p.e, Dh = p.model.cfg.dHead;
  const rowsQ = new Map<number, number>();
  if (save.rows) {
    const spare = p.spare();
    for (const n of g.nodes) {
      if (n.kind !== "qkv" || n.letter !== "q" || n.layer !== pass.rowsLayer) continue;
      const buf = spare(n.id);
      const src = e.f32(p.value(n.id), pass.size[n.id]), dst = e.f32(buf, pass.size[n.id]);
      dst.fill(0);
      for (const r of pass.rows) dst.set(src.subarray(r * Dh, (r + 1) * Dh), r * Dh);
      rowsQ.set(n.id, buf);
    }
  }
  return { value: (x) => rowsQ.get(x) ?? p.value(x), ablated: (x) => p.ablated(x) };
}

function sameSenders(parents: number[][], edges: GraphEdge[], a: number, b: number): boolean {
  const pa = parents[a], pb = parents[b];
  if (pa.length !== pb.length) return false;
  for (let i = 0; i < pa.length; i++) if (edges[pa[i]].parent !== edges[pb[i]].parent) return false;
  return true;
}
