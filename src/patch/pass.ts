// The graph pass: the model computed node by node over the ACDC graph, each
// receiver's input mixed from its senders. A receiver (a head's q/k/v input,
// an MLP's input, the output) reads Σ earlier b_O + Σ over its incoming
// edges of the edge's contribution: the sender's current value when the
// edge is present (weight 1), its ablated value when removed (weight 0),
// ablated + w·(current − ablated) in between (learned masks). A removed
// direct edge replaces a head's q/k/v by its ablated value. The forward pass
// can keep what the backward pass needs; the backward pass hands each
// receiver's gradient ∂metric/∂input to a callback (attribution scores,
// mask gradients) and flows on through every component.
// The Patcher runs it for its clean and ablated caches and for circuits set
// from outside, and runs single nodes (computeNode) in its trials; EAP and
// mask learning run it whole. The arithmetic is Transformer's components.
// Legend: B batch, T positions, N = B·T, R metric rows, D d_model, H heads,
// Dh d_head, M d_mlp, V vocab, L layers.
import type { Transformer, MlpBuffers } from "../model/transformer.js";
import type { Graph } from "../graph/graph.js";

/** Per-edge mix: 1 (or true) keeps the sender's value, 0 its ablated value; fractions blend (Float32Array only). */
export type EdgeWeights = Uint8Array | Float32Array;

/** Where a pass reads and writes node values. */
export interface NodeValues {
  /** Offset of node x's value ([N,D], or [N,Dh] for a q/k/v node). */
  value(x: number): number;
  /** Offset of node x's ablated value (needed where a weight is below 1). */
  ablated(x: number): number;
}

/** What the forward pass keeps for backward: per reader mean/rstd, per head pattern, per MLP its buffers, the final rows. */
export interface PassSave {
  mean: Float64Array; rstd: Float64Array; // offsets per node id (readers)
  pattern: Float64Array; // per result node
  /** With mask learning: each q/k/v node's value before its direct edge's mix [N,Dh] (offset per node; 0: not kept). */
  computed: Float64Array;
  mlp: MlpBuffers[];
  gathered: number; lnf: number; meanf: number; rstdf: number; logits: number;
  /**
   * The pass computes rowsLayer's queries, head results and MLP at the
   * metric rows only (zeros elsewhere) and backward follows: for passes
   * whose values serve only the logits and gradients (attribution, masks).
   */
  rows: boolean;
}

/** What a backward pass reports, and the edge weights its forward ran with. */
export interface BackwardCallbacks {
  /** Per-edge weights of the forward pass (null or absent: every edge present). */
  weights?: EdgeWeights | null;
  /** Readers' input gradients ∂metric/∂input, stacked [k, N·D], one group at a time (see GraphPass.backward). */
  onReaders?: (ids: number[], grads: number) => void;
  /** A q/k/v node's gradient ∂metric/∂value [N,Dh]. */
  onDirect?: (x: number, d: number) => void;
  /** A head result's or MLP output's gradient ∂metric/∂value [N,D]. */
  onWriter?: (x: number, d: number) => void;
}

/** Node kinds that write the residual stream. */
export const WRITER_KINDS = new Set(["input", "embed", "pos_embed", "result", "mlp_out"]);
/** Node kinds that read it. */
export const READER_KINDS = new Set(["qkv_input", "mlp_in", "output"]);

export class GraphPass {
  readonly model: Transformer;
  readonly graph: Graph;
  readonly B: number;
  readonly T: number;
  readonly N: number;
  /** Metric rows (b·T + position) and their count. */
  readonly rows: Int32Array;
  readonly R: number;
  /** Forward order of node ids (the reverse of ACDC's visiting order). */
  readonly order: Int32Array;
  /** Floats per node value. */
  readonly size: Int32Array;
  /** The q, k, v node ids of each result node (−1 elsewhere), [3·nodes]. */
  readonly qkvIds: Int32Array;
  /** Σ_{j<l} b_O[j] as [D] offsets, l = 0..L: the constant part of a reader's input before layer l. */
  readonly bcum: number[];
  private readonly s: { ln: number; lnPos: number; z: number; pattern: number; rot: number; mlp: MlpBuffers | null; rowsIdx: number; gathered: number; lnf: number; tmp: number;
    rowsIn: number; rowsOut: number; ptrs: number };
  /** Most senders a reader has (the size of s.ptrs, the sender list sumInputs hands the kernel). */
  private readonly maxParents: number;
  /**
   * The layer whose query side (queries, head results, MLP) only the metric
   * rows need: the last one, whose outputs reach nothing but the logits
   * there (its keys and values still need every row). −1 when that saves
   * nothing (the metric reads at least half the rows, or shortformer
   * positions, whose W_pos rows do not follow a gather).
   */
  readonly rowsLayer: number;
  /**
   * What s.ln holds: the normalized value at offset lnOf for layer lnLayer
   * (−1: nothing). Within run(), the q/k/v nodes reading one input share one
   * norm (every head of a layer, when every edge is present); its stats, when
   * saved, are those of reader lnReader.
   */
  private lnOf = -1;
  private lnLayer = -1;
  private lnReader = -1;

  constructor(model: Transformer, graph: Graph, B: number, T: number, rows: Int32Array) {
    const e = model.engine, cfg = model.cfg;
    const { dModel: D, dHead: Dh, nLayers: L } = cfg;
    this.model = model; this.graph = graph;
    this.B = B; this.T = T;
    const N = (this.N = B * T);
    this.rows = rows; this.R = rows.length;
    this.order = Int32Array.from(graph.visitOrder).reverse();
    const nn = graph.nodes.length;
    this.size = new Int32Array(nn);
    for (const n of graph.nodes) this.size[n.id] = n.kind === "qkv" ? N * Dh : N * D;
    this.qkvIds = new Int32Array(3 * nn).fill(-1);
    for (const n of graph.nodes) {
      if (n.kind !== "result") continue;
      for (const eid of graph.parents[n.id]) {
        const p = graph.nodes[graph.edges[eid].parent];
        this.qkvIds[3 * n.id + "qkv".indexOf(p.letter!)] = p.id;
      }
    }
    const R = this.R;
    this.s = {
      ln: e.allocF32(N * D), lnPos: cfg.positional === "shortformer" ? e.allocF32(N * D) : 0, z: e.allocF32(N * Dh), pattern: e.allocF32(B * T * T), rot: e.allocF32(2 * N * Dh),
      mlp: cfg.attnOnly ? null : model.mlpScratch(e.allocF32(model.mlpScratchFloats(N)), N, true),
      rowsIdx: e.alloc(R * 4), gathered: e.allocF32(R * D), lnf: e.allocF32(R * D), tmp: e.allocF32(N * D),
      rowsIn: e.allocF32(R * D), rowsOut: e.allocF32(R * D), ptrs: e.alloc(4 * Math.max(1, ...graph.parents.map((p) => p.length))),
    };
    this.maxParents = Math.max(1, ...graph.parents.map((p) => p.length));
    this.rowsLayer = 2 * R <= N && cfg.positional !== "shortformer" ? L - 1 : -1;
    e.i32(this.s.rowsIdx, R).set(rows);
    this.bcum = [];
    let acc = new Float32Array(D);
    for (let l = 0; l <= L; l++) {
      this.bcum.push(e.upload(acc));
      if (l < L) { acc = acc.slice(); const bO = e.f32(model.layers[l].bO, D); for (let d = 0; d < D; d++) acc[d] += bO[d]; }
    }
  }

  /** Layer whose Σ b_O prefix a reader's input carries (an MLP beside its layer's attention reads none of that layer's). */
  private readerLayer(x: number): number {
    const n = this.graph.nodes[x];
    if (n.kind === "mlp_in") return this.model.cfg.parallelAttnMlp ? n.layer : n.layer + 1;
    return n.kind === "qkv_input" ? n.layer : this.model.cfg.nLayers;
  }

  /** A reader's input from scratch: Σ earlier b_O plus each incoming edge's sender offset `src(edge)`, in parent order. */
  sumInputs(x: number, out: number, src: (edge: number) => number): void {
    const g = this.graph, e = this.model.engine, pe = g.parents[x];
    if (pe.length > this.maxParents) throw new Error("sumInputs: more senders than the pass expected");
    const ptrs = e.i32(this.s.ptrs, pe.length);
    pe.forEach((eid, i) => (ptrs[i] = src(eid)));
    e.k.sumInputs(out, this.bcum[this.readerLayer(x)], this.s.ptrs, pe.length, this.model.cfg.dModel, 0, this.N);
  }

  /** A reader's input under per-edge weights: Σ b_O + Σ_e ablated + w_e·(value − ablated) (exact adds for weights 0 and 1). */
  mixInputs(x: number, out: number, vals: NodeValues, w: EdgeWeights): void {
    const g = this.graph, e = this.model.engine, n = this.size[x];
    e.k.fill(out, 0, n);
    e.k.addBias(out, this.bcum[this.readerLayer(x)], this.N, this.model.cfg.dModel);
    for (const eid of g.parents[x]) {
      const p = g.edges[eid].parent, we = w[eid];
      if (we === 1) e.k.add(out, out, vals.value(p), n);
      else if (we === 0) e.k.add(out, out, vals.ablated(p), n);
      else { e.k.lerp(this.s.tmp, vals.ablated(p), vals.value(p), we, n); e.k.add(out, out, this.s.tmp, n); }
    }
  }

  /**
   * A head's q/k/v, a head's result or an MLP's output from its parents'
   * values as `val` gives them; `save` keeps the norm statistics and
   * attention pattern for backward. `shared`: a q/k/v node may take s.ln as
   * it is when it holds the same input's norm (run() only, which resets it
   * whenever a reader's value is written).
   */
  computeNode(x: number, out: number, val: (n: number) => number, save?: PassSave, shared = false): void {
    const g = this.graph, m = this.model, n = g.nodes[x], N = this.N;
    if (save?.rows && n.layer === this.rowsLayer && n.letter !== "k" && n.letter !== "v") {
      // Zeros outside the metric rows, so the attention over them stays finite.
      m.engine.k.fill(out, 0, this.size[x]);
      if (n.kind !== "qkv") { this.computeRows(x, out, val, save); return; }
      const input = g.edges[g.parents[x][0]].parent;
      this.normalizeInput(n.layer, val(input), input, save, shared);
      this.projectRows(x, out);
      return;
    }
    switch (n.kind) {
      case "qkv": {
        const input = g.edges[g.parents[x][0]].parent;
        this.normalizeInput(n.layer, val(input), input, save, shared);
        this.projectNode(x, this.lnFor(n.letter!), out);
        return;
      }
      case "result": {
        const pattern = save ? save.pattern[x] : this.s.pattern;
        m.attend(n.layer, this.s.z, pattern, val(this.qkvIds[3 * x]), val(this.qkvIds[3 * x + 1]), val(this.qkvIds[3 * x + 2]), this.B, this.T, 1, 1, 0, 1, this.s.rot);
        this.headOutput(x, this.s.z, out);
        return;
      }
      case "mlp_out": {
        const input = g.edges[g.parents[x][0]].parent;
        const s = save ? save.mlp[n.layer] : this.s.mlp!;
        if (save) { s.mean = save.mean[input]; s.rstd = save.rstd[input]; }
        m.mlp(n.layer, val(input), N, out, s);
        return;
      }
      default:
        throw new Error(`computeNode: ${n.label} is not a computed node`);
    }
  }

  /** Head result node x's value out [N,D] from its attention-weighted values z [N,Dh] (z·W_O of its head). */
  headOutput(x: number, z: number, out: number): void {
    const m = this.model, n = this.graph.nodes[x];
    m.headResult(n.layer, n.head!, z, m.cfg.dHead, this.N, out, m.cfg.dModel);
  }

  /** Offset of the z [N,Dh] of the head computeNode computed last (scratch: the next head overwrites it). */
  get lastZ(): number { return this.s.z; }

  /**
   * s.ln = ln1 of layer l applied to the reader value at `src` (reader id
   * `input`, whose stats `save` keeps); with `shared`, skipped when s.ln
   * already holds it (the stats copied from the reader normalized then).
   */
  private normalizeInput(l: number, src: number, input: number, save: PassSave | undefined, shared: boolean): void {
    const m = this.model, Lp = m.layers[l], e = m.engine, N = this.N;
    if (shared && this.lnOf === src && this.lnLayer === l) {
      if (save && save.mean[input] && save.mean[input] !== save.mean[this.lnReader]) e.f32(save.mean[input], N).set(e.f32(save.mean[this.lnReader], N));
      if (save && save.rstd[input] && save.rstd[input] !== save.rstd[this.lnReader]) e.f32(save.rstd[input], N).set(e.f32(save.rstd[this.lnReader], N));
      return;
    }
    m.normalize(this.s.ln, src, N, Lp.ln1w, Lp.ln1b, save ? save.mean[input] : 0, save ? save.rstd[input] : 0);
    this.lnOf = src; this.lnLayer = l; this.lnReader = input;
    // Shortformer: a constant W_pos joins the queries' and keys' input after ln1 (so backward is unchanged).
    if (this.s.lnPos) {
      e.f32(this.s.lnPos, N * m.cfg.dModel).set(e.f32(this.s.ln, N * m.cfg.dModel));
      m.addPositions(this.s.lnPos, this.B, this.T);
    }
  }

  /** The normalized input a q/k/v node of `letter` projects: s.ln, or with shortformer positions s.lnPos (q and k). */
  private lnFor(letter: string): number { return this.s.lnPos && letter !== "v" ? this.s.lnPos : this.s.ln; }

  /** q/k/v node x's head projected from the normalized input `ln` into out [N, Dh]. */
  private projectNode(x: number, ln: number, out: number): void {
    const m = this.model, n = this.graph.nodes[x];
    // Grouped-query attention: query head h reads key/value head h·Hk/H
    // (each query head still has its own k/v nodes, as if ungrouped).
    const h = n.letter === "q" ? n.head! : m.kvHead(n.head!);
    m.project(n.layer, n.letter!, ln, this.N, h, h + 1, out, m.cfg.dHead);
  }

  /**
   * Several q/k/v nodes of one layer whose readers hold the same value
   * `input` (offset): one norm, then each node's head projected into out(x).
   * The bits of computeNode on each.
   */
  computeQkvShared(nodes: number[], input: number, out: (x: number) => number): void {
    const g = this.graph, first = g.nodes[nodes[0]], m = this.model, { dModel: D, dHead: Dh } = m.cfg;
    this.normalizeInput(first.layer, input, -1, undefined, false);
    this.lnOf = -1; // not a run's reader value: never taken as shared
    for (const x of nodes) {
      const n = g.nodes[x];
      // Last layer's queries: the metric rows only, into out(x)'s rows (the others left as they are).
      if (n.letter === "q" && n.layer === this.rowsLayer) this.projectRows(x, out(x));
      else this.projectNode(x, this.lnFor(n.letter!), out(x));
    }
    void D; void Dh;
  }

  /** Query node x's head projected from s.ln at the metric rows only, into those rows of out. */
  private projectRows(x: number, out: number): void {
    const m = this.model, n = this.graph.nodes[x], { dModel: D, dHead: Dh } = m.cfg;
    m.engine.k.gatherRows(this.s.rowsIn, this.s.ln, this.s.rowsIdx, this.R, D);
    m.project(n.layer, "q", this.s.rowsIn, this.R, n.head!, n.head! + 1, this.s.rowsOut, Dh);
    this.scatterRows(out, this.s.rowsOut, Dh);
  }

  /** dst[rows[r], :] = src[r, :] for the R metric rows (width floats a row). */
  private scatterRows(dst: number, src: number, width: number): void {
    const mem = this.model.engine.f32(0, this.model.engine.memory.buffer.byteLength >> 2);
    for (let r = 0; r < this.R; r++) mem.copyWithin((dst >> 2) + this.rows[r] * width, (src >> 2) + r * width, (src >> 2) + (r + 1) * width);
  }

  /**
   * computeNode for a head result or MLP output of rowsLayer at the metric
   * rows only, written into those rows of out (the other rows left as they
   * are): the bits computeNode gives there (every kernel is row by row).
   */
  computeRows(x: number, out: number, val: (n: number) => number, save?: PassSave): void {
    const g = this.graph, m = this.model, n = g.nodes[x], e = m.engine, { dModel: D, dHead: Dh } = m.cfg;
    if (n.kind === "result") {
      const pattern = save ? save.pattern[x] : this.s.pattern;
      m.attend(n.layer, this.s.z, pattern, val(this.qkvIds[3 * x]), val(this.qkvIds[3 * x + 1]), val(this.qkvIds[3 * x + 2]), this.B, this.T, 1, 1, 0, 1, this.s.rot);
      e.k.gatherRows(this.s.rowsIn, this.s.z, this.s.rowsIdx, this.R, Dh);
      m.headResult(n.layer, n.head!, this.s.rowsIn, Dh, this.R, this.s.rowsOut, D);
    } else {
      const input = g.edges[g.parents[x][0]].parent;
      // With save, the MLP's buffers hold its R rows compactly (stats in the reader's first R entries): backward reads them so.
      const s = save ? save.mlp[n.layer] : this.s.mlp!;
      if (save) { s.mean = save.mean[input]; s.rstd = save.rstd[input]; }
      e.k.gatherRows(this.s.rowsIn, val(input), this.s.rowsIdx, this.R, D);
      m.mlp(n.layer, this.s.rowsIn, this.R, this.s.rowsOut, s);
    }
    this.scatterRows(out, this.s.rowsOut, D);
  }

  /** A source node's value (the input embeddings) from token ids (an Int32 offset [N]). */
  computeSource(x: number, out: number, ids: number): void {
    const m = this.model, kind = this.graph.nodes[x].kind;
    if (kind === "input") m.embedTokens(out, ids, this.B, this.T);
    else if (kind === "embed") m.embedTokensOnly(out, ids, this.B, this.T);
    else m.embedPositions(out, this.B, this.T);
  }

  /**
   * Every node's value, in forward order: sources from `ids` (skipped when
   * ids is 0: their values are already in place), readers mixed under `w`
   * (null: every edge present), computed nodes from their inputs. `after(x)`
   * runs once node x is written (ablation runs replace writers there).
   */
  run(vals: NodeValues, ids: number, w: EdgeWeights | null, after?: (x: number) => void, save?: PassSave): void {
    const g = this.graph, e = this.model.engine;
    let last = -1; // consecutive readers with the same senders and weights share one sum: copy it
    this.lnOf = -1;
    for (const x of this.order) {
      const n = g.nodes[x], out = vals.value(x);
      switch (n.kind) {
        case "input": case "embed": case "pos_embed":
          if (ids) this.computeSource(x, out, ids);
          break;
        case "qkv_input": case "mlp_in": case "output":
          if (out === this.lnOf) this.lnOf = -1; // that value is about to change
          if (last >= 0 && this.sameMix(last, x, w)) {
            if (out !== vals.value(last)) e.f32(out, this.size[x]).set(e.f32(vals.value(last), this.size[x]));
          }
          else if (w) this.mixInputs(x, out, vals, w);
          else this.sumInputs(x, out, (eid) => vals.value(g.edges[eid].parent));
          last = x;
          break;
        case "qkv": {
          const we = w ? w[g.parents[x][0]] : 1;
          const keep = save?.computed[x] ?? 0;
          if (keep) {
            // Mask learning needs the unmixed value even where the weight is 0 (its gradient is ⟨computed − ablated, ∂metric/∂x⟩).
            this.computeNode(x, keep, (id) => vals.value(id), save, true);
            if (we === 1) e.f32(out, this.size[x]).set(e.f32(keep, this.size[x]));
            else e.k.lerp(out, vals.ablated(x), keep, we, this.size[x]);
          } else if (we === 0) e.f32(out, this.size[x]).set(e.f32(vals.ablated(x), this.size[x]));
          else {
            this.computeNode(x, out, (id) => vals.value(id), save, true);
            if (we !== 1) e.k.lerp(out, vals.ablated(x), out, we, this.size[x]);
          }
          break;
        }
        default:
          this.computeNode(x, out, (id) => vals.value(id), save);
      }
      after?.(x);
    }
  }

  /**
   * What backward reads from a saved pass (norm statistics, attention
   * patterns, MLP pre-activations) for node values `vals` already holds,
   * as run() with every edge present would have left them (the Patcher's
   * clean run): the bits run() saves, without its projections, sums and
   * MLP outputs (about a third of its arithmetic). With save.rows, vals
   * gives rowsLayer's queries as run() leaves them, zero outside the metric
   * rows. The final norm's rows are logitsOf's.
   */
  tape(vals: NodeValues, save: PassSave): void {
    const g = this.graph, m = this.model, e = m.engine;
    this.lnOf = -1;
    for (const x of this.order) {
      const n = g.nodes[x];
      const input = n.kind === "qkv" || n.kind === "mlp_out" ? g.edges[g.parents[x][0]].parent : -1;
      if (n.kind === "qkv") this.normalizeInput(n.layer, vals.value(input), input, save, true);
      else if (n.kind === "result") {
        const [q, k, v] = [0, 1, 2].map((i) => vals.value(this.qkvIds[3 * x + i]));
        m.attend(n.layer, this.s.z, save.pattern[x], q, k, v, this.B, this.T, 1, 1, 0, 1, this.s.rot);
      } else if (n.kind === "mlp_out") {
        const s = save.mlp[n.layer];
        s.mean = save.mean[input]; s.rstd = save.rstd[input];
        if (save.rows && n.layer === this.rowsLayer) {
          e.k.gatherRows(this.s.rowsIn, vals.value(input), this.s.rowsIdx, this.R, m.cfg.dModel);
          m.mlpIn(n.layer, this.s.rowsIn, this.R, s);
        } else m.mlpIn(n.layer, vals.value(input), this.N, s);
      }
    }
    this.lnOf = -1;
  }

  /** Whether readers a and b have the same senders in the same order under the same weights (so the same input). */
  private sameMix(a: number, b: number, w: EdgeWeights | null): boolean {
    const g = this.graph, pa = g.parents[a], pb = g.parents[b];
    if (pa.length !== pb.length || this.readerLayer(a) !== this.readerLayer(b)) return false;
    for (let i = 0; i < pa.length; i++) {
      if (g.edges[pa[i]].parent !== g.edges[pb[i]].parent) return false;
      if (w && w[pa[i]] !== w[pb[i]]) return false;
    }
    return true;
  }

  /** logits[R,V] at the metric rows from an output (resid_post) value [N,D]; with `save`, keeps rows and stats. */
  logitsOf(resid: number, out: number, save?: PassSave): void {
    const m = this.model, D = m.cfg.dModel;
    const gathered = save ? save.gathered : this.s.gathered, lnf = save ? save.lnf : this.s.lnf;
    m.engine.k.gatherRows(gathered, resid, this.s.rowsIdx, this.R, D);
    m.unembed(gathered, this.R, out, lnf, save?.meanf ?? 0, save?.rstdf ?? 0);
  }

  /**
   * Buffers for what one saved forward pass keeps (allocated on the arena);
   * `computed` keeps q/k/v values before their mix; `rows` makes the pass
   * compute the last layer's query side at the metric rows only (PassSave.rows).
   */
  allocSave(opts: { computed?: boolean; rows?: boolean } = {}): PassSave {
    const m = this.model, e = m.engine, g = this.graph, cfg = m.cfg;
    const { dModel: D, dVocab: V } = cfg, N = this.N, R = this.R;
    const stat = cfg.normalization !== "none";
    const nn = g.nodes.length;
    const save: PassSave = {
      mean: new Float64Array(nn), rstd: new Float64Array(nn), pattern: new Float64Array(nn), computed: new Float64Array(nn), mlp: [],
      gathered: e.allocF32(R * D), lnf: e.allocF32(R * D), meanf: stat ? e.allocF32(R) : 0, rstdf: stat ? e.allocF32(R) : 0,
      logits: e.allocF32(R * V), rows: opts.rows === true && this.rowsLayer >= 0,
    };
    for (const n of g.nodes) {
      if ((n.kind === "qkv_input" || n.kind === "mlp_in") && stat) { save.mean[n.id] = e.allocF32(N); save.rstd[n.id] = e.allocF32(N); }
      if (n.kind === "result") save.pattern[n.id] = e.allocF32(this.B * this.T * this.T);
      if (n.kind === "qkv" && opts.computed) save.computed[n.id] = e.allocF32(this.size[n.id]);
    }
    if (!cfg.attnOnly) {
      // Backward reads each MLP's pre-activations (and SwiGLU gate) and stats, not its normalized input or
      // activations (those feed weight gradients only, which no graph pass takes): one shared scratch for those.
      const M = cfg.dMlp, ln = e.allocF32(N * D), post = e.allocF32(N * M), swiglu = cfg.actFn === "swiglu";
      const gate = swiglu ? 0 : e.allocF32(N * M);
      for (let l = 0; l < cfg.nLayers; l++) save.mlp.push({ ln, mean: 0, rstd: 0, pre: e.allocF32(N * M), post, gate: swiglu ? e.allocF32(N * M) : gate });
    }
    return save;
  }

  /**
   * Backward from dlogits [R,V] through a saved pass. Without `weights`
   * (every edge present) each writer's gradient is the running sum of the
   * gradients of every reader after it; with per-edge `weights` (the ones
   * the forward ran with) it is Σ over its edges of weight · the reader's
   * gradient, and a q/k/v node's gradient reaches its computation scaled by
   * its direct edge's weight. `onReaders(ids, grads)` receives each group of
   * readers' input gradients ∂metric/∂input stacked [k, N·D] (the output;
   * then per layer, last first, its q/k/v inputs, heads ascending, q, k, v,
   * followed by its MLP's input);
   * `onDirect(x, d)` each q/k/v node's gradient [N,Dh] (of its mixed value).
   */
  backward(vals: NodeValues, save: PassSave, dlogits: number, cb: BackwardCallbacks): void {
    const m = this.model, e = m.engine, g = this.graph, cfg = m.cfg;
    const { nLayers: L, nHeads: H, dModel: D, dHead: Dh, dMlp: M } = cfg;
    const { B, T, N, R } = this, ND = N * D;
    const W = cb.weights ?? null;
    const mark = e.mark();
    try {
      const f = (n: number) => e.allocF32(n);
      const G = f(ND), dlnf = f(R * D), dRows = f(R * D), dz = f(N * Dh), dpat = f(B * T * T), dln = f(ND), dscaled = f(N * Dh);
      const dx = { q: f(N * Dh), k: f(N * Dh), v: f(N * Dh) };
      const mlpTmp = cfg.attnOnly ? null : { dpost: f(N * M), dpre: f(N * M), dgate: f(N * M), dln };
      // Reader gradients: one shared block (running sum) or, with weights, kept per reader until every writer before it is done.
      const gradOf = new Float64Array(g.nodes.length);
      const block = (k: number) => f(k * ND);
      // A layer's reader gradients: its 3H q/k/v inputs, then its MLP's input (reported together, one GEMM in EdgeGradients).
      const slots = 3 * H + (cfg.attnOnly ? 0 : 1);
      const shared = W ? 0 : block(slots);
      const parallel = cfg.parallelAttnMlp === true;
      const rotScratch = f(m.attendBackwardScratchFloats(B, T, 1, 1));
      // The metric rows of rowsLayer's query side (save.rows): gathered operands and results.
      const rowsMode = save.rows, rIn = f(R * D), rX = f(R * D), rOut = f(R * D), rQ = f(R * Dh), rStat = f(2 * R);
      const gather = (dst: number, src: number, width: number) => e.k.gatherRows(dst, src, this.s.rowsIdx, R, width);
      const scatter = (dst: number, src: number, width: number, n: number) => { e.k.fill(dst, 0, n); this.scatterRows(dst, src, width); };
      const gOut = W ? block(1) : f(ND);
      // ∂metric/∂(writer value): Σ over its addition edges of weight · reader gradient.
      const writerGrad = (w: number): number => {
        if (!W) return G;
        e.k.fill(G, 0, ND);
        for (const eid of g.children[w]) {
          const ed = g.edges[eid];
          if (ed.type === "addition" && W[eid] !== 0) e.k.axpy(G, W[eid], gradOf[ed.child], ND);
        }
        return G;
      };
      const byKind = (kind: string, l: number, h: number | null = null, letter: string | null = null) =>
        g.nodes.find((n) => n.kind === kind && n.layer === l && n.head === h && n.letter === letter)!.id;

      // The output receiver: back through the unembedding and final norm at the metric rows.
      m.unembedBackward(dlogits, R, dlnf);
      m.normalizeBackward(dRows, 0, 0, dlnf, save.gathered, R, m.lnfw, save.meanf, save.rstdf);
      e.k.fill(gOut, 0, ND);
      for (let r = 0; r < R; r++) e.k.add(gOut + this.rows[r] * D * 4, gOut + this.rows[r] * D * 4, dRows + r * D * 4, D);
      gradOf[g.output] = gOut;
      cb.onReaders?.([g.output], gOut);
      if (!W) e.f32(G, ND).set(e.f32(gOut, ND));

      for (let l = L - 1; l >= 0; l--) {
        const layerBlock = W ? block(slots) : shared;
        const rows = rowsMode && l === this.rowsLayer;
        let mi = -1, gMi = 0;
        if (!cfg.attnOnly) {
          const mo = byKind("mlp_out", l);
          mi = g.edges[g.parents[mo][0]].parent;
          const s = save.mlp[l];
          s.mean = save.mean[mi]; s.rstd = save.rstd[mi];
          gMi = layerBlock + 3 * H * ND * 4;
          const Gm = writerGrad(mo);
          cb.onWriter?.(mo, Gm);
          if (rows) {
            // The forward ran this MLP on the metric rows alone (its buffers hold them compactly); the gradient is zero elsewhere.
            gather(rIn, Gm, D); gather(rX, vals.value(mi), D);
            m.mlpBackward(l, rIn, rX, R, s, rOut, null, mlpTmp!);
            scatter(gMi, rOut, D, ND);
          } else {
            m.mlpBackward(l, Gm, vals.value(mi), N, s, gMi, null, mlpTmp!);
          }
          gradOf[mi] = gMi;
          // A sequential MLP reads its layer's heads: its input gradient reaches them. A parallel one does not (added after them).
          if (!W && !parallel) e.k.add(G, G, gMi, ND);
        }
        // Heads: each result feeds everything after it, not its own layer's inputs.
        const readers: number[] = [];
        for (let h = 0; h < H; h++) {
          const res = byKind("result", l, h);
          const [q, k, v] = [0, 1, 2].map((i) => this.qkvIds[3 * res + i]);
          const Gr = writerGrad(res);
          cb.onWriter?.(res, Gr);
          if (rows) {
            gather(rIn, Gr, D);
            m.headResultBackward(l, rIn, R, h, h + 1, rQ, Dh);
            scatter(dz, rQ, Dh, N * Dh);
          } else {
            m.headResultBackward(l, Gr, N, h, h + 1, dz, Dh);
          }
          e.k.fill(dx.k, 0, N * Dh);
          e.k.fill(dx.v, 0, N * Dh);
          m.attendBackward(l, dx.q, dx.k, dx.v, dpat, dz, vals.value(q), vals.value(k), vals.value(v), save.pattern[res], B, T, 1, 1, 0, 1, rotScratch);
          for (const [node, letter] of [[q, "q"], [k, "k"], [v, "v"]] as const) {
            cb.onDirect?.(node, dx[letter]);
            const input = g.edges[g.parents[node][0]].parent;
            const hh = letter === "q" ? h : m.kvHead(h);
            const slot = layerBlock + readers.length * ND * 4;
            const wd = W ? W[g.parents[node][0]] : 1;
            let d = dx[letter];
            if (wd !== 1) { e.k.fill(dscaled, 0, N * Dh); e.k.axpy(dscaled, wd, d, N * Dh); d = dscaled; }
            if (rows && letter === "q") {
              // Queries: the gradient is zero outside the metric rows.
              gather(rQ, d, Dh);
              m.projectBackward(l, letter, rQ, Dh, R, hh, hh + 1, rIn, false);
              gather(rX, vals.value(input), D);
              const mean = save.mean[input] ? rStat : 0, rstd = save.rstd[input] ? rStat + R * 4 : 0;
              if (mean) gather(mean, save.mean[input], 1);
              if (rstd) gather(rstd, save.rstd[input], 1);
              m.normalizeBackward(rOut, 0, 0, rIn, rX, R, m.layers[l].ln1w, mean, rstd);
              scatter(slot, rOut, D, ND);
            } else {
              m.projectBackward(l, letter, d, Dh, N, hh, hh + 1, dln, false);
              m.normalizeBackward(slot, 0, 0, dln, vals.value(input), N, m.layers[l].ln1w, save.mean[input], save.rstd[input]);
            }
            gradOf[input] = slot;
            readers.push(input);
          }
        }
        if (mi >= 0) readers.push(mi);
        cb.onReaders?.(readers, layerBlock);
        if (!W) for (let j = 0; j < 3 * H; j++) e.k.add(G, G, layerBlock + j * ND * 4, ND);
        if (!W && parallel && mi >= 0) e.k.add(G, G, gMi, ND);
      }
    } finally {
      e.reset(mark);
    }
  }
}
