// Edge Pruning (Bhaskar et al. 2024, princeton-nlp/Edge-Pruning): a
// hard-concrete mask on every addition edge of the split-q/k/v graph (each
// receiver's input is Σ over its senders of z·value + (1 − z)·ablated) and
// on every writer node (a head's or MLP's output), logits initialised near
// 10 (every gate open). The loss is the task metric plus a Lagrangian that
// pulls the edge sparsity 1 − Σz/|E| to a target that warms up linearly
// from 0: λ₁(s − t) + λ₂(s − t)², with λ₁, λ₂ climbing (gradient ascent) as
// the masks descend. Direct edges and the input embeddings are not masked,
// as in the reference. The final circuit keeps the (1 − target)·|E| edges of
// largest mask logit among writers whose node gate stays open (the
// threshold search that hits the target exactly), pruned to what reaches the
// output; its metric is a real patched pass. The knob is the target sparsity.
import type { Patcher } from "../patch/patcher.js";
import type { Circuit } from "../circuit.js";
import { pruneToOutput } from "../circuit.js";
import { InputError } from "../errors.js";
import { gaussian, mulberry32 } from "../random.js";
import { AdamParams, gateOpen, MaskedPass, measuredCircuit, sampleGate } from "./masks.js";
import type { Progress } from "./progress.js";

export interface EdgePruningOptions {
  /** Target edge sparsity (fraction of addition edges removed), in [0, 1]. */
  sparsity: number;
  /** Optimisation steps (the reference's tracr runs: 6000). */
  steps?: number;
  /** Steps over which the target rises linearly from 0 (default steps − 100; the reference: 5900 of 6000). */
  warmup?: number;
  /** Learning rate of the edge and node mask logits (reference tracr: 0.03). */
  lr?: number;
  /** Learning rate of the Lagrange multipliers (reference tracr: 0.001). */
  regLr?: number;
  /** Also pull node sparsity to `nodeSparsity` (the reference disables it in its scripts: default off). */
  nodeSparsity?: number;
  seed?: number;
  onProgress?: (p: Progress) => void;
}

export const EDGE_PRUNING_DEFAULTS = { steps: 6000, lr: 0.03, regLr: 0.001, seed: 0 };
/** torch.optim.AdamW's default, which the reference leaves in place. */
const WEIGHT_DECAY = 0.01;

/**
 * Edge Pruning's loss and its gradients for one draw of the gate noise: the
 * metric under edge weights z_e·z_(sender node), plus the Lagrangian terms
 * λ₁(s − t) + λ₂(s − t)² for edge (and optionally node) sparsity s = 1 − Σz/n.
 * Parameters: the addition edges' logits, then the writer nodes' (heads, MLPs).
 */
export class EdgePruningObjective {
  /** Addition edges and writer nodes, in parameter order. */
  readonly edges: number[];
  readonly writers: number[];
  private readonly writerIndex: Int32Array;
  private readonly mp: MaskedPass;
  private readonly W: Float32Array;
  private readonly graph: Patcher["graph"];

  constructor(p: Patcher) {
    const g = (this.graph = p.graph);
    this.edges = g.edges.filter((ed) => ed.type === "addition").map((ed) => ed.id);
    this.writers = g.nodes.filter((n) => n.kind === "result" || n.kind === "mlp_out").map((n) => n.id);
    this.writerIndex = new Int32Array(g.nodes.length).fill(-1);
    this.writers.forEach((w, i) => (this.writerIndex[w] = i));
    this.mp = new MaskedPass(p);
    this.W = new Float32Array(g.edges.length).fill(1);
  }

  /** Writer-parameter index of an edge's sender (−1: an input, unmasked). */
  senderOf(i: number): number { return this.writerIndex[this.graph.edges[this.edges[i]].parent]; }

  /**
   * At logits `la` and uniform draws `u` (one per parameter), with multipliers
   * λ = [λ₁e, λ₂e, λ₁n, λ₂n] and targets (node target null: no node term):
   * loss, metric, sparsities, ∂loss/∂logits and ∂loss/∂λ.
   */
  evaluate(la: ArrayLike<number>, u: ArrayLike<number>, lam: ArrayLike<number>, target: number, nodeTarget: number | null):
    { loss: number; metric: number; sE: number; sN: number; grad: Float64Array; gradLambda: number[] } {
    const nE = this.edges.length, nN = this.writers.length, n = nE + nN;
    const z = new Float64Array(n), dz = new Float64Array(n);
    for (let i = 0; i < n; i++) [z[i], dz[i]] = sampleGate(la[i], u[i]);
    for (let i = 0; i < nE; i++) {
      const w = this.senderOf(i);
      this.W[this.edges[i]] = z[i] * (w >= 0 ? z[nE + w] : 1);
    }
    const r = this.mp.step(this.W);
    let zSum = 0;
    for (let i = 0; i < nE; i++) zSum += z[i];
    const sE = 1 - zSum / nE;
    // ∂/∂z_e of λ₁(s − t) + λ₂(s − t)² with s = 1 − Σz/|E|.
    const dRegE = -(lam[0] + 2 * lam[1] * (sE - target)) / nE;
    const grad = new Float64Array(n);
    for (let i = 0; i < nE; i++) {
      const eid = this.edges[i], w = this.senderOf(i);
      const gw = r.grad![eid];
      grad[i] += (gw * (w >= 0 ? z[nE + w] : 1) + dRegE) * dz[i];
      if (w >= 0) grad[nE + w] += gw * z[i];
    }
    let sN = 0, loss = r.metric + lam[0] * (sE - target) + lam[1] * (sE - target) ** 2;
    if (nodeTarget !== null) {
      let s = 0;
      for (let j = 0; j < nN; j++) s += z[nE + j];
      sN = 1 - s / nN;
      const dRegN = -(lam[2] + 2 * lam[3] * (sN - nodeTarget)) / nN;
      for (let j = 0; j < nN; j++) grad[nE + j] += dRegN;
      loss += lam[2] * (sN - nodeTarget) + lam[3] * (sN - nodeTarget) ** 2;
    }
    for (let j = 0; j < nN; j++) grad[nE + j] *= dz[nE + j];
    const gradLambda = [sE - target, (sE - target) ** 2, nodeTarget !== null ? sN - nodeTarget : 0, nodeTarget !== null ? (sN - nodeTarget) ** 2 : 0];
    return { loss, metric: r.metric, sE, sN, grad, gradLambda };
  }
}

/** Edge Pruning on a fresh patcher (every edge present). */
export function edgePruning(p: Patcher, o: EdgePruningOptions): Circuit {
  const t0 = performance.now();
  const steps = o.steps ?? EDGE_PRUNING_DEFAULTS.steps, warmup = o.warmup ?? Math.max(0, steps - 100);
  const lr = o.lr ?? EDGE_PRUNING_DEFAULTS.lr, regLr = o.regLr ?? EDGE_PRUNING_DEFAULTS.regLr, seed = o.seed ?? EDGE_PRUNING_DEFAULTS.seed;
  if (!(typeof o.sparsity === "number" && o.sparsity >= 0 && o.sparsity <= 1)) throw new InputError(`edge-pruning: sparsity must be a number in [0, 1], got ${o.sparsity}`);
  if (!Number.isInteger(steps) || steps < 1 || steps > 1e6) throw new InputError(`edge-pruning: steps must be an integer from 1 to 1000000, got ${steps}`);
  if (!Number.isInteger(warmup) || warmup < 0 || warmup > steps) throw new InputError(`edge-pruning: warmup must be an integer from 0 to steps (${steps}), got ${warmup}`);
  for (const [k, v] of [["lr", lr], ["regLr", regLr]] as const) if (!(v > 0 && Number.isFinite(v))) throw new InputError(`edge-pruning: ${k} must be a positive number, got ${v}`);
  if (o.nodeSparsity !== undefined && !(o.nodeSparsity >= 0 && o.nodeSparsity <= 1)) throw new InputError(`edge-pruning: nodeSparsity must be in [0, 1], got ${o.nodeSparsity}`);
  if (p.present.some((x) => x === 0)) throw new InputError("edge-pruning starts from the full model: use a patcher with every edge present");
  const g = p.graph, e = p.e, baseline = p.current;
  const mark = e.mark();
  try {
    const obj = new EdgePruningObjective(p);
    const nE = obj.edges.length, nN = obj.writers.length;
    const normal = gaussian(mulberry32(seed));
    // Logits ~ N(10, 0.01²): every gate starts fully open.
    const params = new AdamParams(p, Array.from({ length: nE + nN }, () => 10 + 0.01 * normal()));
    const lambdas = new AdamParams(p, [0, 0, 0, 0]); // λ₁, λ₂ for edges, then for nodes
    const rand = mulberry32(seed + 1);
    const draw = () => Float64Array.from({ length: nE + nN }, () => 1e-6 + (1 - 2e-6) * rand());
    for (let t = 0; t < steps; t++) {
      const warm = (x: number) => (warmup > 0 && t < warmup ? (x * t) / warmup : x);
      const target = warm(o.sparsity), nodeTarget = o.nodeSparsity === undefined ? null : warm(o.nodeSparsity);
      const r = obj.evaluate(params.values(), draw(), lambdas.values(), target, nodeTarget);
      // The reference's optimiser is torch's AdamW with its default weight decay 0.01 on every group: it
      // shrinks the logits from 10 toward 0, where the gates stop saturating and gradients flow.
      params.step(r.grad, lr, { weightDecay: WEIGHT_DECAY });
      lambdas.step(r.gradLambda, regLr, { ascend: true, weightDecay: WEIGHT_DECAY });
      o.onProgress?.({ phase: "edge-pruning", done: t + 1, total: steps, ms: performance.now() - t0, extra: { loss: r.loss, metric: r.metric, sparsity: r.sE, target, "expected edges": nE - expectedClosed(params.values(), nE) } });
    }
    // The final circuit: keep the (1 − target)·|E| edges of largest logit among open writers.
    const la = params.values();
    const nodeOpen = (w: number) => w < 0 || gateOpen(la[nE + w])[0] > 0.5;
    const keep = Math.round((1 - o.sparsity) * nE);
    const order = obj.edges.map((_, i) => i).filter((i) => nodeOpen(obj.senderOf(i))).sort((a, b) => la[b] - la[a] || a - b).slice(0, keep);
    const chosen = new Uint8Array(g.edges.length);
    for (const i of order) chosen[obj.edges[i]] = 1;
    // A q/k/v input's direct edge means something only when the input receives an edge: with none,
    // the head reads the corrupted input either way, so the edge would be circuit padding.
    for (const ed of g.edges) if (ed.type === "direct") chosen[ed.id] = g.parents[ed.parent].some((pid) => chosen[pid]) ? 1 : 0;
    const present = pruneToOutput(g, chosen);
    const scores = new Float64Array(g.edges.length).fill(NaN);
    obj.edges.forEach((eid, i) => (scores[eid] = la[i]));
    e.reset(mark);
    return measuredCircuit(p, { algorithm: "edge-pruning", present, scores, scoreKind: "mask", baseline, knob: { name: "sparsity", value: o.sparsity }, tested: steps, t0 });
  } finally {
    e.reset(mark);
  }
}

/** Σ of the edge gates' probabilities of being zero: the expected number of removed edges. */
function expectedClosed(la: Float32Array, nE: number): number {
  let s = 0;
  for (let i = 0; i < nE; i++) s += 1 - gateOpen(la[i])[0];
  return s;
}
