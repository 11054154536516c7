// Edge-level activation patching over the graph, recomputing only what an
// edge changes. One clean and one ablated run fill every node's value; then
// a trial removes one edge: the receiver's input moves by (ablated − current)
// of that sender, and the change flows forward only through present edges to
// nodes whose inputs actually changed ("dirty"), each recomputed into its
// second buffer. Accepting a trial flips the dirty nodes' buffers; rejecting
// forgets them. No allocation after create().
//
// Receiver input (ACDC_SPEC "Patching"): Σ present parents' current values +
// Σ removed parents' ablated values + the constant b_O sums. A trial moves it
// by Σ over dirty present parents of (new − old), in parent order.
import type { Transformer } from "../model/transformer.js";
import { checkTokens, InputError } from "../model/transformer.js";
import type { Engine } from "../wasm/engine.js";
import type { Graph } from "./graph.js";
import type { Metric, MetricContext } from "../metrics.js";

export type Ablation = "corrupted" | "zero" | "mean";

export interface PatchData {
  clean: number[][];
  /** Needed for corrupted (resample) ablation. */
  corrupted?: number[][];
  /** Positions whose logits the metric reads: one per prompt, or a list per prompt. */
  positions: number[] | number[][];
}

export interface PatcherOptions {
  ablation?: Ablation;
  metric: Metric;
}

export class Patcher {
  readonly model: Transformer;
  readonly graph: Graph;
  readonly e: Engine;
  readonly ablation: Ablation;
  readonly metric: Metric;
  readonly B: number;
  /** Positions kept: the latest metric position + 1 under a causal mask, else all. */
  readonly T: number;
  readonly N: number;
  /** Metric rows (prompt positions read). */
  readonly R: number;
  readonly ctx: MetricContext;
  /** Metric of the unpatched model, and of the current (committed) state. */
  readonly baseline: number;
  current: number;
  /** 1 where the edge is present. */
  readonly present: Uint8Array;
  /** Flat row (b·T + position) of each metric row, [R]. */
  readonly rowIndex: Int32Array;

  private readonly buf0: Float64Array; // offsets, two buffers per node
  private readonly buf1: Float64Array;
  private readonly act: Uint8Array;
  private readonly corr: Float64Array;
  private readonly size: Int32Array; // floats per node value
  private readonly dirty: Uint8Array;
  private readonly dirtyList: Int32Array;
  private nDirty = 0;
  private readonly order: Int32Array; // forward order (reverse of visiting order)
  private readonly orderPos: Int32Array;
  private readonly s: { ln: number; z: number; pattern: number; rot: number; mlp: number; rowsIdx: number; gathered: number; lnf: number; logits: number; delta: number };
  // 1 for a reader whose parents are exactly the writers before it in forward
  // order (every reader of the standard graph): its trial input is then
  // value + (Σ deltas of dirty writers so far) − (deltas of its removed dirty
  // parents), one shared running sum instead of one pass per parent.
  private readonly sharedReader: Uint8Array;
  private readonly bcum: number[]; // Σ_{j<l} b_O[j], [D] each, l = 0..L

  constructor(model: Transformer, graph: Graph, data: PatchData, opts: PatcherOptions) {
    const cfg = model.cfg;
    this.model = model;
    this.graph = graph;
    this.e = model.engine;
    this.ablation = opts.ablation ?? "corrupted";
    this.metric = opts.metric;
    if (!["corrupted", "zero", "mean"].includes(this.ablation)) throw new InputError(`ablation must be corrupted, zero or mean, got ${JSON.stringify(this.ablation)}`);
    const e = this.e;
    const { dModel: D, dHead: Dh, dVocab: V, nLayers: L } = cfg;

    // Data: shapes, positions, causal truncation.
    const clean = checkTokens(cfg, data.clean, "clean");
    const B = clean.B, T0 = clean.T;
    const pos: number[][] = (data.positions as (number | number[])[]).map((p) => (Array.isArray(p) ? p : [p]));
    if (pos.length !== B) throw new InputError(`positions: ${pos.length} entries for ${B} prompts`);
    for (let b = 0; b < B; b++) for (const p of pos[b]) if (!Number.isInteger(p) || p < 0 || p >= T0) throw new InputError(`positions: ${p} for prompt ${b} is outside [0, ${T0})`);
    let corrupted: { ids: Int32Array; B: number; T: number } | null = null;
    if (this.ablation === "corrupted") {
      if (!data.corrupted) throw new InputError("corrupted ablation needs corrupted inputs");
      corrupted = checkTokens(cfg, data.corrupted, "corrupted");
      if (corrupted.B !== B || corrupted.T !== T0) throw new InputError(`clean is [${B}, ${T0}] but corrupted is [${corrupted.B}, ${corrupted.T}]: shapes must match`);
    }
    // Causal models: later positions cannot affect the metric's, so drop them.
    const T = cfg.causal ? Math.max(...pos.flat()) + 1 : T0;
    this.B = B; this.T = T;
    const N = (this.N = B * T);
    const trunc = (ids: Int32Array) => {
      const out = new Int32Array(N);
      for (let b = 0; b < B; b++) out.set(ids.subarray(b * T0, b * T0 + T), b * T);
      return out;
    };

    // Node buffers.
    const nn = graph.nodes.length;
    this.size = new Int32Array(nn);
    this.buf0 = new Float64Array(nn);
    this.buf1 = new Float64Array(nn);
    this.corr = new Float64Array(nn);
    this.act = new Uint8Array(nn);
    this.dirty = new Uint8Array(nn);
    this.dirtyList = new Int32Array(nn);
    for (const n of graph.nodes) {
      const sz = n.kind === "qkv" ? N * Dh : N * D;
      this.size[n.id] = sz;
      this.buf0[n.id] = e.allocF32(sz);
      this.buf1[n.id] = e.allocF32(sz);
      this.corr[n.id] = e.allocF32(sz);
    }
    this.present = new Uint8Array(graph.edges.length).fill(1);
    this.order = Int32Array.from(graph.visitOrder).reverse();
    this.orderPos = new Int32Array(nn);
    this.order.forEach((id, i) => (this.orderPos[id] = i));
    this.sharedReader = new Uint8Array(nn);
    const writersSoFar = new Set<number>();
    for (const x of this.order) {
      const k = graph.nodes[x].kind;
      if (k === "qkv_input" || k === "mlp_in" || k === "output") {
        const ps = new Set(graph.parents[x].map((eid) => graph.edges[eid].parent));
        this.sharedReader[x] = ps.size === writersSoFar.size && [...ps].every((p) => writersSoFar.has(p)) ? 1 : 0;
      }
      if (k === "input" || k === "embed" || k === "pos_embed" || k === "result" || k === "mlp_out") writersSoFar.add(x);
    }

    const rowsList: number[] = [], rowPrompt: number[] = [];
    for (let b = 0; b < B; b++) for (const p of pos[b]) { rowsList.push(b * T + p); rowPrompt.push(b); }
    const R = (this.R = rowsList.length);
    this.s = {
      ln: e.allocF32(N * D), z: e.allocF32(N * Dh), pattern: e.allocF32(B * T * T),
      rot: e.allocF32(2 * N * Dh), mlp: cfg.attnOnly ? 0 : e.allocF32(model.mlpScratchFloats(N)),
      rowsIdx: e.alloc(R * 4), gathered: e.allocF32(R * D), lnf: e.allocF32(R * D), logits: e.allocF32(R * V),
      delta: e.allocF32(N * D),
    };
    e.i32(this.s.rowsIdx, R).set(rowsList);
    this.rowIndex = Int32Array.from(rowsList);
    this.bcum = [];
    let acc = new Float32Array(D);
    for (let l = 0; l <= L; l++) {
      this.bcum.push(e.upload(acc));
      if (l < L) { acc = acc.slice(); const bO = e.f32(model.layers[l].bO, D); for (let d = 0; d < D; d++) acc[d] += bO[d]; }
    }

    // Clean run into buffer 0; ablated run into corr.
    const ids = e.alloc(N * 4);
    e.i32(ids, N).set(trunc(clean.ids));
    this.runAll(ids, this.buf0, "none");
    if (this.ablation === "corrupted") {
      e.i32(ids, N).set(trunc(corrupted!.ids));
      this.runAll(ids, this.corr, "none");
    } else {
      this.runAll(ids, this.corr, this.ablation);
    }

    const cleanLogits = e.allocF32(R * V);
    this.logitsOf(this.buf0[graph.output], cleanLogits);
    this.ctx = { engine: e, rows: R, vocab: V, rowPrompt: Int32Array.from(rowPrompt), cleanLogits };
    this.metric.init(this.ctx);
    this.baseline = this.current = this.metric.compute(cleanLogits, this.ctx);
  }

  /** Committed value of a node (offset of its [N,D] or [N,Dh] buffer). */
  value(node: number): number { return this.act[node] ? this.buf1[node] : this.buf0[node]; }
  /** Ablated (corrupted, zero or mean) value of a node. */
  ablated(node: number): number { return this.corr[node]; }
  private trialBuf(node: number): number { return this.act[node] ? this.buf0[node] : this.buf1[node]; }
  private live(node: number): number { return this.dirty[node] ? this.trialBuf(node) : this.value(node); }
  private readonly liveOf = (node: number): number => this.live(node);
  private mark(node: number): void { this.dirty[node] = 1; this.dirtyList[this.nDirty++] = node; }

  /** logits[R,V] at the metric rows from an output (resid_post) value [N,D]. */
  private logitsOf(resid: number, out: number): void {
    this.e.k.gatherRows(this.s.gathered, resid, this.s.rowsIdx, this.R, this.model.cfg.dModel);
    this.model.unembed(this.s.gathered, this.R, out, this.s.lnf);
  }

  // Compute a head's q/k/v, a head's result or an MLP's output from its
  // parents' values as `val` gives them.
  private computeNode(x: number, out: number, val: (n: number) => number): void {
    const g = this.graph, m = this.model, n = g.nodes[x];
    const N = this.N;
    switch (n.kind) {
      case "qkv": {
        const input = g.edges[g.parents[x][0]].parent;
        const L = m.layers[n.layer];
        m.normalize(this.s.ln, val(input), N, L.ln1w, L.ln1b);
        // Grouped-query attention: query head h reads key/value head h·Hkv/H
        // (each query head still has its own k/v nodes, as if ungrouped).
        const h = n.letter === "q" ? n.head! : Math.floor((n.head! * m.cfg.nKvHeads) / m.cfg.nHeads);
        m.projectHead(n.layer, n.letter!, h, this.s.ln, N, out);
        return;
      }
      case "result": {
        m.attendOne(this.s.z, this.s.pattern, val(this.qkvOf(x, 0)), val(this.qkvOf(x, 1)), val(this.qkvOf(x, 2)), this.B, this.T, this.s.rot);
        m.headResult(n.layer, n.head!, this.s.z, N, out);
        return;
      }
      case "mlp_out": {
        const input = g.edges[g.parents[x][0]].parent;
        m.mlp(n.layer, val(input), N, out, this.s.mlp);
        return;
      }
      default:
        throw new Error(`computeNode: ${n.label} is not a computed node`);
    }
  }

  // q, k, v node ids of every result node, found once (the trial loop allocates nothing).
  private qkvIds: Int32Array | null = null;
  private qkvOf(result: number, letter: 0 | 1 | 2): number {
    if (!this.qkvIds) {
      const g = this.graph;
      this.qkvIds = new Int32Array(3 * g.nodes.length).fill(-1);
      for (const n of g.nodes) {
        if (n.kind !== "result") continue;
        for (const eid of g.parents[n.id]) {
          const p = g.nodes[g.edges[eid].parent];
          this.qkvIds[3 * n.id + "qkv".indexOf(p.letter!)] = p.id;
        }
      }
    }
    return this.qkvIds[3 * result + letter];
  }

  /** A reader's input from scratch: the constant Σ earlier b_O plus each parent edge's sender value (`src(edge)` gives its offset). */
  private sumInputs(x: number, out: number, src: (edge: number) => number): void {
    const g = this.graph, m = this.model, e = this.e, n = g.nodes[x];
    const layer = n.kind === "qkv_input" ? n.layer : n.kind === "mlp_in" ? n.layer + 1 : m.cfg.nLayers;
    e.k.fill(out, 0, this.size[x]);
    e.k.addBias(out, this.bcum[layer], this.N, m.cfg.dModel);
    for (const eid of g.parents[x]) e.k.add(out, out, src(eid), this.size[x]);
  }

  /** Full run (every edge present) writing every node's value into `dst`. */
  private runAll(ids: number, dst: Float64Array, writers: "none" | "zero" | "mean"): void {
    const g = this.graph, m = this.model, e = this.e;
    const { B, T } = this;
    const D = m.cfg.dModel;
    const val = (n: number) => dst[n];
    let lastSum = -1; // receivers of one layer share one parent list: sum once, copy
    for (const x of this.order) {
      const n = g.nodes[x];
      const out = dst[x];
      const sz = this.size[x];
      switch (n.kind) {
        case "input": m.embedTokens(out, ids, B, T); break;
        case "embed": e.k.embed(out, ids, m.WE, 0, B, T, D); break;
        case "pos_embed":
          for (let b = 0; b < B; b++) e.f32(out + b * T * D * 4, T * D).set(e.f32(m.Wpos, T * D));
          break;
        case "qkv_input": case "mlp_in": case "output": {
          if (lastSum >= 0 && sameParents(g, lastSum, x)) { e.f32(out, sz).set(e.f32(dst[lastSum], sz)); break; }
          this.sumInputs(x, out, (eid) => dst[g.edges[eid].parent]);
          lastSum = x;
          break;
        }
        default: this.computeNode(x, out, val);
      }
      if (writers !== "none" && (n.kind === "input" || n.kind === "embed" || n.kind === "pos_embed" || n.kind === "result" || n.kind === "mlp_out")) {
        if (writers === "zero") e.k.fill(out, 0, sz);
        else {
          // Mean ablation: the writer's clean value averaged over prompts, per position.
          const clean = this.buf0[x];
          e.k.batchMean(out, clean, B, T, D);
          for (let b = 1; b < B; b++) e.f32(out + b * T * D * 4, T * D).set(e.f32(out, T * D));
        }
      }
    }
  }

  /**
   * Make `mask` (1 = present, per edge; placeholders must be 1) the committed
   * state, recomputing every node from scratch, and return its metric: a real
   * patched forward pass for circuits chosen by other means (EAP, a file).
   */
  setPresent(mask: Uint8Array): number {
    const g = this.graph, e = this.e;
    if (mask.length !== g.edges.length) throw new InputError(`setPresent: mask has ${mask.length} entries, the graph ${g.edges.length} edges`);
    for (const ed of g.edges) if (ed.type === "placeholder" && !mask[ed.id]) throw new InputError("setPresent: placeholder edges cannot be removed");
    this.reject();
    this.present.set(mask);
    for (const x of this.order) {
      const n = g.nodes[x], out = this.value(x), sz = this.size[x];
      if (n.kind === "input" || n.kind === "embed" || n.kind === "pos_embed") continue; // sources never change
      if (n.kind === "qkv_input" || n.kind === "mlp_in" || n.kind === "output") {
        this.sumInputs(x, out, (eid) => (this.present[eid] ? this.value(g.edges[eid].parent) : this.corr[g.edges[eid].parent]));
      } else if (n.kind === "qkv" && !this.present[g.parents[x][0]]) {
        e.f32(out, sz).set(e.f32(this.corr[x], sz));
      } else {
        this.computeNode(x, out, (id) => this.value(id));
      }
    }
    this.logitsOf(this.value(g.output), this.s.logits);
    return (this.current = this.metric.compute(this.s.logits, this.ctx));
  }

  /**
   * Metric with edge `edgeId` removed on top of the committed state. The
   * state is unchanged until commit() (keep it) or reject().
   */
  trial(edgeId: number): number {
    const g = this.graph, e = this.e;
    const ed = g.edges[edgeId];
    if (!this.present[edgeId]) throw new Error(`edge ${edgeId} is already removed`);
    if (ed.type === "placeholder") throw new Error("placeholder edges are never tested");
    this.reject();
    const R = ed.child;
    const out = this.trialBuf(R);
    if (ed.type === "addition") e.k.addDiff(out, this.value(R), this.corr[ed.parent], this.value(ed.parent), this.size[R]);
    else e.f32(out, this.size[R]).set(e.f32(this.corr[R], this.size[R]));
    this.mark(R);
    this.pendingEdge = edgeId;
    e.k.fill(this.s.delta, 0, this.N * this.model.cfg.dModel);
    this.propagate(this.orderPos[R] + 1);
    if (!this.dirty[g.output]) return (this.pendingMetric = this.current);
    this.logitsOf(this.trialBuf(g.output), this.s.logits);
    return (this.pendingMetric = this.metric.compute(this.s.logits, this.ctx));
  }

  private pendingEdge = -1;
  private pendingMetric = NaN;

  private propagate(from: number): void {
    const g = this.graph, e = this.e;
    for (let i = from; i < this.order.length; i++) {
      const x = this.order[i];
      const kind = g.nodes[x].kind;
      const pe = g.parents[x];
      if ((kind === "qkv_input" || kind === "mlp_in" || kind === "output") && this.sharedReader[x]) {
        let anyPresent = false;
        for (let j = 0; j < pe.length && !anyPresent; j++) anyPresent = this.present[pe[j]] === 1 && this.dirty[g.edges[pe[j]].parent] === 1;
        if (!anyPresent) continue;
        const out = this.trialBuf(x);
        e.k.add(out, this.value(x), this.s.delta, this.size[x]);
        for (let j = 0; j < pe.length; j++) {
          const eid = pe[j];
          const p = g.edges[eid].parent;
          if (!this.present[eid] && this.dirty[p]) e.k.addDiff(out, out, this.value(p), this.trialBuf(p), this.size[x]);
        }
        this.mark(x);
      } else if (kind === "qkv_input" || kind === "mlp_in" || kind === "output") {
        let base = -1;
        const out = this.trialBuf(x);
        for (let j = 0; j < pe.length; j++) {
          const eid = pe[j];
          const p = g.edges[eid].parent;
          if (!this.present[eid] || !this.dirty[p]) continue;
          e.k.addDiff(out, base < 0 ? this.value(x) : out, this.trialBuf(p), this.value(p), this.size[x]);
          base = 1;
        }
        if (base > 0) this.mark(x);
      } else if (kind === "qkv" || kind === "result" || kind === "mlp_out") {
        let changed = false;
        for (let j = 0; j < pe.length && !changed; j++) changed = this.present[pe[j]] === 1 && this.dirty[g.edges[pe[j]].parent] === 1;
        if (!changed) continue;
        this.computeNode(x, this.trialBuf(x), this.liveOf);
        this.mark(x);
        if (kind !== "qkv") e.k.addDiff(this.s.delta, this.s.delta, this.trialBuf(x), this.value(x), this.size[x]);
      }
    }
  }

  /** Keep the last trial: its edge stays removed and its values become current. */
  commit(): void {
    if (this.pendingEdge < 0) throw new Error("commit() without a pending trial");
    this.present[this.pendingEdge] = 0;
    for (let i = 0; i < this.nDirty; i++) { const x = this.dirtyList[i]; this.act[x] ^= 1; this.dirty[x] = 0; }
    this.nDirty = 0;
    this.current = this.pendingMetric;
    this.pendingEdge = -1;
  }

  /** Forget the last trial. */
  reject(): void {
    for (let i = 0; i < this.nDirty; i++) this.dirty[this.dirtyList[i]] = 0;
    this.nDirty = 0;
    this.pendingEdge = -1;
  }
}

function sameParents(g: Graph, a: number, b: number): boolean {
  const pa = g.parents[a], pb = g.parents[b];
  if (pa.length !== pb.length) return false;
  for (let i = 0; i < pa.length; i++) if (g.edges[pa[i]].parent !== g.edges[pb[i]].parent) return false;
  return true;
}
