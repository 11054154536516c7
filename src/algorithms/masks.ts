// What the mask-learning methods (Subnetwork Probing, Edge Pruning) and the
// node-importance baseline (HISP) share: hard-concrete gates (Louizos et al.
// 2018, the stretched and clamped binary concrete), a forward and backward
// graph pass under per-edge weights that returns ∂metric/∂weight for every
// edge, an Adam step on the mask logits with the trainer's AdamW kernel, and
// the way node-level masks become edges (the ACDC reference's
// iterative_correspondence_from_mask: a masked head input or MLP loses every
// edge that touches it).
// Random draws come from mulberry32 streams and gate arithmetic from
// Math.exp/log in float64 in JavaScript (one V8 implementation behind Node,
// Deno and Chromium), so a seed fixes every bit on every runtime and thread
// count.
import type { Patcher } from "../patch/patcher.js";
import type { Graph } from "../graph/graph.js";
import type { NodeValues, PassSave } from "../patch/pass.js";
import { EdgeGradients } from "../patch/edge-grads.js";
import { InputError } from "../errors.js";
import { keptEdges, type Circuit, type ScoreKind } from "../circuit.js";

/** Stretch interval (γ, ζ) and temperature β of the hard-concrete gate, the values both reference codes use. */
export const HARD_CONCRETE = { beta: 2 / 3, gamma: -0.1, zeta: 1.1 };

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * A sampled gate z = clamp(sigmoid((log u − log(1−u) + logα)/β)·(ζ−γ) + γ, 0, 1)
 * and dz/dlogα (0 where the clamp is active).
 */
export function sampleGate(logAlpha: number, u: number): [number, number] {
  const { beta, gamma, zeta } = HARD_CONCRETE;
  const s = sigmoid((Math.log(u) - Math.log(1 - u) + logAlpha) / beta);
  const z = s * (zeta - gamma) + gamma;
  if (z <= 0) return [0, 0];
  if (z >= 1) return [1, 0];
  return [z, ((zeta - gamma) * s * (1 - s)) / beta];
}

/** The gate's probability of being non-zero, sigmoid(logα − β·log(−γ/ζ)), and its derivative in logα. */
export function gateOpen(logAlpha: number): [number, number] {
  const { beta, gamma, zeta } = HARD_CONCRETE;
  const p = sigmoid(logAlpha - beta * Math.log(-gamma / zeta));
  return [p, p * (1 - p)];
}

/**
 * Forward and backward graph passes under per-edge weights W (1 keeps an
 * edge, 0 ablates it, fractions blend): the metric and ∂metric/∂W_e for
 * every edge (addition: ⟨sender − ablated, ∂metric/∂receiver input⟩;
 * direct: ⟨computed − ablated, ∂metric/∂node⟩). `zeroAblated` nodes take
 * literal zeros as their ablated value (Subnetwork Probing's zero ablation
 * multiplies the masked activation by its mask); the rest the patcher's.
 */
export class MaskedPass {
  readonly p: Patcher;
  readonly graph: Graph;
  private readonly own: Float64Array;
  private readonly vals: NodeValues;
  private readonly save: PassSave;
  private readonly dlogits: number;
  private readonly grads: EdgeGradients;

  /** Allocates on the engine's arena: call inside a mark/reset the caller owns. */
  constructor(p: Patcher, zeroAblated: Set<number> = new Set()) {
    if (!p.metric.backward) throw new InputError(`metric "${p.metric.name}" has no gradient; mask learning needs one (kl, logit-diff, nll or a task metric with backward())`);
    this.p = p;
    this.graph = p.graph;
    const e = p.e, pass = p.pass, g = p.graph;
    this.own = new Float64Array(g.nodes.length);
    const zeros = new Float64Array(g.nodes.length);
    for (const n of g.nodes) {
      this.own[n.id] = e.allocF32(pass.size[n.id]);
      if (zeroAblated.has(n.id)) { zeros[n.id] = e.allocF32(pass.size[n.id]); e.k.fill(zeros[n.id], 0, pass.size[n.id]); }
      // Sources never change: the clean embeddings, once.
      if (n.kind === "input" || n.kind === "embed" || n.kind === "pos_embed") e.f32(this.own[n.id], pass.size[n.id]).set(e.f32(p.value(n.id), pass.size[n.id]));
    }
    this.vals = { value: (x) => this.own[x], ablated: (x) => zeros[x] || p.ablated(x) };
    this.save = pass.allocSave({ computed: true, rows: true });
    this.dlogits = e.allocF32(p.R * p.model.cfg.dVocab);
    this.grads = new EdgeGradients(pass);
  }

  /** The metric under weights W and, unless `grad` is false, ∂metric/∂W per edge (a fresh array). */
  step(W: Float32Array, grad = true): { metric: number; grad: Float64Array | null } {
    const p = this.p, pass = p.pass, g = this.graph;
    pass.run(this.vals, 0, W, undefined, this.save);
    pass.logitsOf(this.own[g.output], this.save.logits, this.save);
    const metric = p.metric.compute(this.save.logits, p.ctx);
    if (!Number.isFinite(metric)) throw new InputError(`metric "${p.metric.name}" is ${metric} under the learned masks (check the model, data and learning rate)`);
    if (!grad) return { metric, grad: null };
    p.metric.backward!(this.save.logits, this.dlogits, p.ctx);
    this.grads.out.fill(0);
    const computed = this.save.computed;
    this.grads.setDeltas((x) => computed[x] || this.own[x], (x) => this.vals.ablated(x));
    pass.backward(this.vals, this.save, this.dlogits, this.grads.callbacks(W));
    return { metric, grad: this.grads.out.slice() };
  }
}

/** Adam/AdamW (PyTorch's defaults: β 0.9, 0.999, ε 1e-8) on a parameter vector in wasm memory, through the AdamW kernel. */
export class AdamParams {
  readonly n: number;
  private readonly p: Patcher;
  private readonly buf: { x: number; g: number; m: number; v: number };
  private t = 0;

  constructor(p: Patcher, init: ArrayLike<number>) {
    const e = p.e, n = (this.n = init.length);
    this.p = p;
    this.buf = { x: e.allocF32(n), g: e.allocF32(n), m: e.allocF32(n), v: e.allocF32(n) };
    e.f32(this.buf.x, n).set(Array.from(init));
    for (const b of [this.buf.m, this.buf.v]) e.k.fill(b, 0, n);
  }

  /** Current values (a copy). */
  values(): Float32Array { return this.p.e.f32(this.buf.x, this.n).slice(); }

  /** One step against `grad` (descends; `ascend` climbs, as Lagrange multipliers do), with decoupled weight decay. */
  step(grad: ArrayLike<number>, lr: number, o: { ascend?: boolean; weightDecay?: number } = {}): void {
    const e = this.p.e, g = e.f32(this.buf.g, this.n);
    for (let i = 0; i < this.n; i++) g[i] = o.ascend ? -grad[i] : grad[i];
    this.t++;
    e.k.adamw(this.buf.x, this.buf.g, this.buf.m, this.buf.v, this.n, lr, 0.9, 0.999, 1e-8, o.weightDecay ?? 0, this.t);
  }
}

/** A component whose output can be masked: a head's q, k or v (its input and itself), or an MLP. */
export interface MaskedComponent {
  /** "0.3.q" for layer 0 head 3's query, "mlp0" for layer 0's MLP. */
  name: string;
  layer: number;
  /** The q/k/v node, or the mlp_out node. */
  node: number;
}

/** The components node-level methods mask, in the reference's order: per layer, q heads, k heads, v heads, then the MLP. */
export function maskedComponents(g: Graph): MaskedComponent[] {
  const out: MaskedComponent[] = [];
  const L = Math.max(...g.nodes.map((n) => n.layer)), H = Math.max(0, ...g.nodes.map((n) => n.head ?? 0)) + 1;
  const find = (kind: string, l: number, h: number | null, letter: string | null) => g.nodes.find((n) => n.kind === kind && n.layer === l && n.head === h && n.letter === letter);
  for (let l = 0; l < L; l++) {
    for (const letter of ["q", "k", "v"]) for (let h = 0; h < H; h++) {
      const n = find("qkv", l, h, letter);
      if (n) out.push({ name: `${l}.${h}.${letter}`, layer: l, node: n.id });
    }
    const mlp = find("mlp_out", l, null, null);
    if (mlp) out.push({ name: `mlp${l}`, layer: l, node: mlp.id });
  }
  return out;
}

/**
 * Edges kept when `masked` components are removed, as the reference turns
 * node masks into circuits (iterative_correspondence_from_mask): every
 * counted edge but those touching a masked q/k/v node or its input, a masked
 * MLP's output, or a head whose q, k and v are all masked. A masked MLP's
 * input keeps its incoming edges (the reference names that node in a way its
 * graph does not match, so nothing there is removed), and nothing is pruned
 * to the output: the reference counts such circuits as they are.
 */
export function edgesWithoutComponents(g: Graph, masked: Iterable<MaskedComponent>): Uint8Array {
  const gone = new Uint8Array(g.nodes.length);
  const perHead = new Map<number, number>();
  for (const c of masked) {
    const n = g.nodes[c.node];
    gone[c.node] = 1;
    if (n.kind === "qkv") {
      gone[g.edges[g.parents[c.node][0]].parent] = 1; // the q/k/v input
      const result = g.edges[g.children[c.node][0]].child;
      perHead.set(result, (perHead.get(result) ?? 0) + 1);
      if (perHead.get(result) === 3) gone[result] = 1;
    }
  }
  const present = new Uint8Array(g.edges.length);
  for (const ed of g.edges) present[ed.id] = ed.type === "placeholder" || !(gone[ed.parent] || gone[ed.child]) ? 1 : 0;
  return present;
}

/** A learned or ranked mask as a Circuit: `present` measured by a real patched pass on the patcher (its committed state left as it was). */
export function measuredCircuit(p: Patcher, run: { algorithm: string; present: Uint8Array; scores: Float64Array; scoreKind: ScoreKind;
  baseline: number; knob: { name: string; value: number }; tested: number; t0: number }): Circuit {
  const metric = p.measure(run.present);
  return {
    algorithm: run.algorithm, graph: p.graph, present: run.present, edges: keptEdges(p.graph, run.present), scores: run.scores, scoreKind: run.scoreKind,
    baseline: run.baseline, metric, trace: [], knob: run.knob, stats: { tested: run.tested, ms: performance.now() - run.t0 },
  };
}
