// Per-edge sensitivities from one backward graph pass: for an addition edge
// p → r, ⟨Δ_p, ∂metric/∂(input of r)⟩; for a direct edge x_in → x,
// ⟨Δ_x, ∂metric/∂x⟩, with Δ a difference of node values the caller chooses.
// With Δ = ablated − clean this is attribution patching's score (EAP); with
// Δ = current − ablated it is ∂metric/∂(edge weight), what mask learning
// needs. A reader reads a prefix of the writers (inputs, then each layer's
// heads and MLP in forward order), so its sums against all of them are one
// GEMM with the stacked writer differences, which are kept packed as the
// GEMM's B operand (one packing per setDeltas, none per backward pass).
import type { GraphEdge } from "../graph/graph.js";
import { READER_KINDS, type BackwardCallbacks, type GraphPass } from "./pass.js";

export class EdgeGradients {
  /** Accumulated scale·⟨Δ, gradient⟩ per edge id (placeholders stay 0). */
  readonly out: Float64Array;
  /** Weight of the next backward pass's contribution (EAP-IG: 1/steps). */
  scale = 1;
  private readonly pass: GraphPass;
  /** Writers in forward order, and how many come before each reader. */
  private readonly writers: number[] = [];
  private readonly prefix: Int32Array;
  private readonly edgeOf = new Map<number, GraphEdge>();
  /** The writers' differences Δ_i [N·D] as the columns of a matrix [N·D, writers] packed by packB. */
  private readonly delta: number;
  /** Scratch [8, N·D]: one panel's worth of differences before packing. */
  private readonly rows8: number;
  private readonly S: number;
  private readonly tmp: number;
  private a: (x: number) => number = () => 0;
  private b: (x: number) => number = () => 0;

  /** Buffers on the engine's arena (the caller frees them with its mark/reset). */
  constructor(pass: GraphPass) {
    this.pass = pass;
    const g = pass.graph, e = pass.model.engine, cfg = pass.model.cfg;
    const ND = pass.N * cfg.dModel;
    this.out = new Float64Array(g.edges.length);
    this.prefix = new Int32Array(g.nodes.length);
    for (const n of g.nodes) if (n.kind === "input" || n.kind === "embed" || n.kind === "pos_embed") this.writers.push(n.id);
    for (const x of pass.order) {
      const kind = g.nodes[x].kind;
      if (kind === "result" || kind === "mlp_out") this.writers.push(x);
      else if (READER_KINDS.has(kind)) this.prefix[x] = this.writers.length;
    }
    for (const ed of g.edges) this.edgeOf.set(ed.parent * g.nodes.length + ed.child, ed);
    this.delta = e.allocF32(e.k.packedBFloats(ND, this.writers.length));
    this.rows8 = e.allocF32(8 * ND);
    this.S = e.allocF32(this.writers.length * (3 * cfg.nHeads + 1));
    this.tmp = e.allocF32(pass.N * cfg.dHead);
  }

  /** Δ_x = a(x) − b(x) for every node (offsets of node values); stacks (packs) the writers' now. */
  setDeltas(a: (x: number) => number, b: (x: number) => number): void {
    this.a = a; this.b = b;
    const e = this.pass.model.engine, ND = this.pass.N * this.pass.model.cfg.dModel, W = this.writers.length;
    for (let p = 0; p < W; p += 8) {
      const n = Math.min(8, W - p);
      for (let i = 0; i < n; i++) e.k.sub(this.rows8 + i * ND * 4, a(this.writers[p + i]), b(this.writers[p + i]), ND);
      e.k.packB(this.delta + e.k.packedBOffset(p, ND) * 4, this.rows8, ND, 1, ND, n, 0);
    }
  }

  /** The callbacks a backward pass reports into (with the forward's edge weights, if any). */
  callbacks(weights: BackwardCallbacks["weights"] = null): BackwardCallbacks {
    return { weights, onReaders: this.onReaders, onDirect: this.onDirect };
  }

  // out[edge(writers[i], readers[j])] += scale·Σ_k g_j[k]·Δ_i[k] for i < prefix:
  // S[j, i] = (grads · Δᵀ)[j, i], Δ read from its packing (the first `pre` columns).
  private readonly onReaders = (readers: number[], grads: number): void => {
    const e = this.pass.model.engine, g = this.pass.graph, nn = g.nodes.length;
    const ND = this.pass.N * this.pass.model.cfg.dModel;
    // Every reader of the group against the writers all of them read (the shortest prefix), then each reader
    // with a longer one (a layer's MLP input also reads its heads) against the rest, from that panel on.
    let pre = 0, common = Infinity;
    for (const r of readers) { pre = Math.max(pre, this.prefix[r]); common = Math.min(common, this.prefix[r]); }
    if (pre === 0) return;
    if (common > 0) e.gemmPacked(readers.length, common, ND, grads, ND, this.delta, this.S, pre);
    const from = common & ~7;
    readers.forEach((r, j) => {
      const n = this.prefix[r] - from;
      if (this.prefix[r] > common) e.gemmPacked(1, n, ND, grads + j * ND * 4, ND, this.delta + e.k.packedBOffset(from, ND) * 4, this.S + (j * pre + from) * 4, pre, { rows: ND });
    });
    const s = e.f32(this.S, pre * readers.length);
    for (let i = 0; i < pre; i++) for (let j = 0; j < readers.length; j++) {
      const ed = this.edgeOf.get(this.writers[i] * nn + readers[j]);
      if (ed) this.out[ed.id] += this.scale * s[j * pre + i];
    }
  };

  // Direct edge x_in → x: Δ_x·∂metric/∂x, summed in float64.
  private readonly onDirect = (x: number, d: number): void => {
    const e = this.pass.model.engine, n = this.pass.N * this.pass.model.cfg.dHead;
    e.k.sub(this.tmp, this.a(x), this.b(x), n);
    const u = e.f32(this.tmp, n), v = e.f32(d, n);
    let s = 0;
    for (let i = 0; i < n; i++) s += u[i] * v[i];
    this.out[this.pass.graph.parents[x][0]] += this.scale * s;
  };
}
