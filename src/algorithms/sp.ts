// Subnetwork Probing (Cao et al. 2021) as the ACDC paper adapted it
// (subnetwork_probing/train.py): a hard-concrete mask on every head's q, k
// and v and every MLP's output; a masked activation is mask·value +
// (1 − mask)·ablated (the corrupted run's value, or zero under zero
// ablation); the loss is the task metric plus λ times the mean, over the
// mask tensors, of each tensor's mean probability of a non-zero gate; Adam
// on the mask logits only. At the end one more mask is sampled and every
// component whose gate is below 0.5 is masked; the circuit is the graph
// without the masked components' edges, and its metric is measured with a
// real patched pass. λ is the knob a sweep varies.
import type { Patcher } from "../patch/patcher.js";
import type { Circuit } from "../circuit.js";
import { InputError } from "../errors.js";
import { mulberry32 } from "../random.js";
import { AdamParams, edgesWithoutComponents, gateOpen, HARD_CONCRETE, MaskedPass, maskedComponents, measuredCircuit, sampleGate, type MaskedComponent } from "./masks.js";
import type { Progress } from "./progress.js";

export interface SpOptions {
  /** Regularization strength λ (the reference sweeps 10^linspace(−3, 0, 11) on tracr). */
  lambda: number;
  /** Adam steps (the reference's default epochs: 3000). */
  steps?: number;
  /** Adam learning rate (reference 0.001). */
  lr?: number;
  /** Seed of the gate noise (and of the final sample). */
  seed?: number;
  onProgress?: (p: Progress) => void;
}

export const SP_DEFAULTS = { steps: 3000, lr: 0.001, seed: 0 };

/**
 * SP's loss and its gradient in the mask logits for one draw of the gate
 * noise: metric(masked model) + λ·mean over mask tensors of each tensor's mean
 * probability of a non-zero gate. Buffers on the arena (allocate inside a mark).
 */
export class SpObjective {
  readonly components: MaskedComponent[];
  /** Edges each component's gate scales: its direct edge (q/k/v) or the MLP output's addition edges. */
  readonly edgesOf: number[][];
  private readonly share: Float64Array;
  private readonly mp: MaskedPass;
  private readonly W: Float32Array;

  constructor(p: Patcher) {
    const g = p.graph;
    this.components = maskedComponents(g);
    if (this.components.length === 0) throw new InputError("sp: the model has no heads or MLPs to mask");
    this.edgesOf = this.components.map((c) => (g.nodes[c.node].kind === "qkv" ? [g.parents[c.node][0]] : g.children[c.node].filter((eid) => g.edges[eid].type === "addition")));
    // The reference's masks are tensors per layer and hook (q, k, v, mlp); its regularizer is the mean of their means.
    const tensorOf = this.components.map((c) => `${c.layer}.${/\.[qkv]$/.test(c.name) ? c.name.slice(-1) : "mlp"}`);
    const size = new Map<string, number>();
    for (const t of tensorOf) size.set(t, (size.get(t) ?? 0) + 1);
    this.share = Float64Array.from(tensorOf, (t) => 1 / (size.get(t)! * size.size));
    this.mp = new MaskedPass(p, new Set(p.ablation === "zero" ? this.components.map((c) => c.node) : []));
    this.W = new Float32Array(g.edges.length).fill(1);
  }

  /** Loss, metric, regularizer and ∂loss/∂logα at logits `logAlpha` with uniform draws `u` (one per component). */
  evaluate(logAlpha: ArrayLike<number>, u: ArrayLike<number>, lambda: number): { loss: number; metric: number; reg: number; grad: Float64Array } {
    const n = this.components.length, z = new Float64Array(n), dz = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      [z[i], dz[i]] = sampleGate(logAlpha[i], u[i]);
      for (const eid of this.edgesOf[i]) this.W[eid] = z[i];
    }
    const r = this.mp.step(this.W);
    const grad = new Float64Array(n);
    let reg = 0;
    for (let i = 0; i < n; i++) {
      const [open, dOpen] = gateOpen(logAlpha[i]);
      reg += open * this.share[i];
      let dzi = 0;
      for (const eid of this.edgesOf[i]) dzi += r.grad![eid];
      grad[i] = dzi * dz[i] + lambda * dOpen * this.share[i];
    }
    return { loss: r.metric + lambda * reg, metric: r.metric, reg, grad };
  }
}

/** Subnetwork Probing on a fresh patcher (every edge present); the patcher's ablation decides what a mask blends in. */
export function subnetworkProbing(p: Patcher, o: SpOptions): Circuit {
  const t0 = performance.now();
  const steps = o.steps ?? SP_DEFAULTS.steps, lr = o.lr ?? SP_DEFAULTS.lr, seed = o.seed ?? SP_DEFAULTS.seed;
  if (!(typeof o.lambda === "number" && o.lambda >= 0 && Number.isFinite(o.lambda))) throw new InputError(`sp: lambda must be a finite non-negative number, got ${o.lambda}`);
  if (!Number.isInteger(steps) || steps < 1 || steps > 1e6) throw new InputError(`sp: steps must be an integer from 1 to 1000000, got ${steps}`);
  if (!(lr > 0 && Number.isFinite(lr))) throw new InputError(`sp: lr must be a positive number, got ${lr}`);
  if (p.present.some((x) => x === 0)) throw new InputError("sp starts from the full model: use a patcher with every edge present");
  const g = p.graph, e = p.e, baseline = p.current;
  const mark = e.mark();
  try {
    const obj = new SpObjective(p);
    const comps = obj.components, n = comps.length;
    // Initial logit of p_init = 0.9 after the stretch: log(p/(1 − p)), p = (0.9 − γ)/(ζ − γ).
    const { gamma, zeta } = HARD_CONCRETE;
    const p0 = (0.9 - gamma) / (zeta - gamma);
    const params = new AdamParams(p, comps.map(() => Math.log(p0 / (1 - p0))));
    const rand = mulberry32(seed);
    // The reference clamps its uniform noise to [1e-4, 1 − 1e-4].
    const draw = () => Float64Array.from({ length: n }, () => Math.min(0.9999, Math.max(0.0001, rand())));
    for (let t = 0; t < steps; t++) {
      const r = obj.evaluate(params.values(), draw(), o.lambda);
      params.step(r.grad, lr);
      o.onProgress?.({ phase: "sp", done: t + 1, total: steps, ms: performance.now() - t0, extra: { loss: r.loss, metric: r.metric, "expected components": expectedOpen(params.values()) } });
    }
    // One more sample, as the reference's final mask: components whose gate is below 0.5 are masked.
    const la = params.values(), u = draw();
    const masked = comps.filter((_, i) => sampleGate(la[i], u[i])[0] < 0.5);
    const present = edgesWithoutComponents(g, masked);
    const scores = new Float64Array(g.edges.length).fill(NaN);
    comps.forEach((_, i) => { for (const eid of obj.edgesOf[i]) scores[eid] = la[i]; });
    e.reset(mark);
    return measuredCircuit(p, { algorithm: "sp", present, scores, scoreKind: "mask", baseline, knob: { name: "lambda", value: o.lambda }, tested: steps, t0 });
  } finally {
    e.reset(mark);
  }
}

/** Σ of the gates' probabilities of being non-zero: the expected number of components kept. */
function expectedOpen(logAlphas: Float32Array): number {
  let s = 0;
  for (const a of logAlphas) s += gateOpen(a)[0];
  return s;
}
