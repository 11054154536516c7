// Edge-level activation patching over the graph, recomputing only what an
// edge changes. One clean and one ablated graph pass fill every node's value;
// then a trial removes one edge: the receiver's input moves by (ablated −
// current) of that sender, and the change flows forward only through present
// edges to nodes whose inputs actually changed ("dirty"), each recomputed
// into its second buffer. Accepting a trial flips the dirty nodes' buffers;
// rejecting forgets them. No allocation after construction.
//
// Receiver input (ACDC_SPEC "Patching"): Σ present parents' current values +
// Σ removed parents' ablated values + the constant b_O sums. A trial moves it
// by Σ over dirty present parents of (new − old), in parent order.
import type { Transformer } from "../model/transformer.js";
import { checkTokens } from "../model/transformer.js";
import type { Engine } from "../wasm/engine.js";
import type { Graph } from "../graph/graph.js";
import type { Metric, MetricContext } from "../metrics.js";
import { InputError } from "../errors.js";
import { GraphPass, READER_KINDS, WRITER_KINDS, type NodeValues } from "./pass.js";

export type Ablation = "corrupted" | "zero" | "mean";
export const ABLATIONS: readonly Ablation[] = ["corrupted", "zero", "mean"];

export interface PatchData {
  clean: number[][];
  /** Needed for corrupted (resample) ablation. */
  corrupted?: number[][];
  /** Positions whose logits the metric reads: one per prompt, or a non-empty list per prompt. */
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
  readonly pass: GraphPass;
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
  /** Committed values (value) and ablated values (ablated) as a pass reads them. */
  readonly values: NodeValues;

  private readonly buf0: Float64Array; // offsets, two buffers per node
  private readonly buf1: Float64Array;
  private readonly act: Uint8Array;
  private readonly corr: Float64Array;
  private readonly dirty: Uint8Array;
  private readonly dirtyList: Int32Array;
  private nDirty = 0;
  private readonly orderPos: Int32Array;
  private readonly logits: number;
  private readonly delta: number;
  // 1 for a reader whose parents are exactly the writers before it in forward
  // order (every reader of the standard graph): its trial input is then
  // value + (Σ deltas of dirty writers so far) − (deltas of its removed dirty
  // parents), one shared running sum instead of one pass per parent.
  private readonly sharedReader: Uint8Array;

  constructor(model: Transformer, graph: Graph, data: PatchData, opts: PatcherOptions) {
    const cfg = model.cfg;
    this.model = model;
    this.graph = graph;
    this.e = model.engine;
    this.ablation = opts.ablation ?? "corrupted";
    this.metric = opts.metric;
    if (!ABLATIONS.includes(this.ablation)) throw new InputError(`ablation must be corrupted, zero or mean, got ${JSON.stringify(this.ablation)}`);
    const e = this.e;
    const { dModel: D, dVocab: V } = cfg;

    // Data: shapes, positions, causal truncation.
    const clean = checkTokens(cfg, data.clean, "clean");
    const B = clean.B, T0 = clean.T;
    if (!Array.isArray(data.positions)) throw new InputError("positions: expected one position (or a list of positions) per prompt");
    const pos: number[][] = (data.positions as (number | number[])[]).map((p) => (Array.isArray(p) ? p : [p]));
    if (pos.length !== B) throw new InputError(`positions: ${pos.length} entries for ${B} prompts`);
    for (let b = 0; b < B; b++) {
      if (pos[b].length === 0) throw new InputError(`positions: prompt ${b} has an empty list (every prompt needs at least one position the metric reads)`);
      for (const p of pos[b]) if (!Number.isInteger(p) || p < 0 || p >= T0) throw new InputError(`positions: ${JSON.stringify(p)} for prompt ${b} is outside [0, ${T0})`);
    }
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
    const rowsList: number[] = [], rowPrompt: number[] = [];
    for (let b = 0; b < B; b++) for (const p of pos[b]) { rowsList.push(b * T + p); rowPrompt.push(b); }
    this.rowIndex = Int32Array.from(rowsList);
    const R = (this.R = rowsList.length);
    const pass = (this.pass = new GraphPass(model, graph, B, T, this.rowIndex));

    // Node buffers: three per node (two for trials, one ablated), checked against the memory limit before any is made.
    const nn = graph.nodes.length;
    const floats = graph.nodes.reduce((a, n) => a + pass.size[n.id], 0);
    e.ensure(3 * floats * 4 + (N * D + R * V) * 8, `patching ${B} prompts × ${T} positions (${R} metric rows) on ${nn} graph nodes`, "use fewer prompts, or shorter prompts (under a causal mask only positions up to the last one the metric reads are kept)");
    this.buf0 = new Float64Array(nn);
    this.buf1 = new Float64Array(nn);
    this.corr = new Float64Array(nn);
    this.act = new Uint8Array(nn);
    this.dirty = new Uint8Array(nn);
    this.dirtyList = new Int32Array(nn);
    for (const n of graph.nodes) {
      const sz = pass.size[n.id];
      this.buf0[n.id] = e.allocF32(sz);
      this.buf1[n.id] = e.allocF32(sz);
      this.corr[n.id] = e.allocF32(sz);
    }
    this.values = { value: (x) => this.value(x), ablated: (x) => this.corr[x] };
    this.present = new Uint8Array(graph.edges.length).fill(1);
    this.orderPos = new Int32Array(nn);
    pass.order.forEach((id, i) => (this.orderPos[id] = i));
    this.sharedReader = new Uint8Array(nn);
    const writersSoFar = new Set<number>();
    for (const x of pass.order) {
      const k = graph.nodes[x].kind;
      if (READER_KINDS.has(k)) {
        const ps = new Set(graph.parents[x].map((eid) => graph.edges[eid].parent));
        this.sharedReader[x] = ps.size === writersSoFar.size && [...ps].every((p) => writersSoFar.has(p)) ? 1 : 0;
      }
      if (WRITER_KINDS.has(k)) writersSoFar.add(x);
    }
    this.logits = e.allocF32(R * V);
    this.delta = e.allocF32(N * D);

    // Clean run into buffer 0; ablated run into corr.
    const ids = e.alloc(N * 4);
    e.i32(ids, N).set(trunc(clean.ids));
    const into = (buf: Float64Array): NodeValues => ({ value: (x) => buf[x], ablated: (x) => buf[x] });
    pass.run(into(this.buf0), ids, null);
    if (this.ablation === "corrupted") {
      e.i32(ids, N).set(trunc(corrupted!.ids));
      pass.run(into(this.corr), ids, null);
    } else {
      // Every writer replaced as soon as it is computed, so later nodes read the ablated writers.
      const zero = this.ablation === "zero";
      pass.run(into(this.corr), ids, null, (x) => {
        if (!WRITER_KINDS.has(graph.nodes[x].kind)) return;
        const out = this.corr[x];
        if (zero) { e.k.fill(out, 0, pass.size[x]); return; }
        // Mean ablation: the writer's clean value averaged over prompts, per position.
        e.k.batchMean(out, this.buf0[x], B, T, D);
        for (let b = 1; b < B; b++) e.f32(out + b * T * D * 4, T * D).set(e.f32(out, T * D));
      });
    }

    const cleanLogits = e.allocF32(R * V);
    pass.logitsOf(this.buf0[graph.output], cleanLogits);
    this.ctx = { engine: e, rows: R, vocab: V, rowPrompt: Int32Array.from(rowPrompt), cleanLogits };
    this.metric.init(this.ctx);
    this.baseline = this.current = this.checkedMetric(cleanLogits, "the clean run");
  }

  /** Committed value of a node (offset of its [N,D] or [N,Dh] buffer). */
  value(node: number): number { return this.act[node] ? this.buf1[node] : this.buf0[node]; }
  /** Ablated (corrupted, zero or mean) value of a node. */
  ablated(node: number): number { return this.corr[node]; }
  private trialBuf(node: number): number { return this.act[node] ? this.buf0[node] : this.buf1[node]; }
  private live(node: number): number { return this.dirty[node] ? this.trialBuf(node) : this.value(node); }
  private readonly liveOf = (node: number): number => this.live(node);
  private mark(node: number): void { this.dirty[node] = 1; this.dirtyList[this.nDirty++] = node; }

  /** The metric of logits at the metric rows; a non-finite value stops the search, saying where. */
  private checkedMetric(logits: number, where: string): number {
    const v = this.metric.compute(logits, this.ctx);
    if (!Number.isFinite(v)) throw new InputError(`metric "${this.metric.name}" is ${v} on ${where}: the model's outputs overflow or are not finite (check the weights and inputs)`);
    return v;
  }

  /**
   * Make `mask` (1 = present, per edge; placeholders must be 1) the committed
   * state, recomputing every node from scratch, and return its metric: a real
   * patched forward pass for circuits chosen by other means (EAP, a file).
   */
  setPresent(mask: Uint8Array): number {
    const g = this.graph;
    if (mask.length !== g.edges.length) throw new InputError(`setPresent: mask has ${mask.length} entries, the graph ${g.edges.length} edges`);
    for (const ed of g.edges) if (ed.type === "placeholder" && !mask[ed.id]) throw new InputError("setPresent: placeholder edges cannot be removed");
    this.reject();
    this.present.set(mask);
    this.pass.run(this.values, 0, this.present);
    this.pass.logitsOf(this.value(g.output), this.logits);
    return (this.current = this.checkedMetric(this.logits, "the circuit set by setPresent"));
  }

  /**
   * Metric with edge `edgeId` removed on top of the committed state. The
   * state is unchanged until commit() (keep it) or reject().
   */
  trial(edgeId: number): number {
    const g = this.graph, e = this.e;
    const ed = g.edges[edgeId];
    if (!this.present[edgeId]) throw new InputError(`edge ${edgeId} is already removed`);
    if (ed.type === "placeholder") throw new InputError("placeholder edges are never tested");
    this.reject();
    const R = ed.child, sz = this.pass.size[R];
    const out = this.trialBuf(R);
    if (ed.type === "addition") e.k.addDiff(out, this.value(R), this.corr[ed.parent], this.value(ed.parent), sz);
    else e.f32(out, sz).set(e.f32(this.corr[R], sz));
    this.mark(R);
    this.pendingEdge = edgeId;
    e.k.fill(this.delta, 0, this.N * this.model.cfg.dModel);
    this.propagate(this.orderPos[R] + 1);
    if (!this.dirty[g.output]) return (this.pendingMetric = this.current);
    this.pass.logitsOf(this.trialBuf(g.output), this.logits);
    const where = `removing edge ${g.nodes[ed.parent].label} → ${g.nodes[ed.child].label}`;
    return (this.pendingMetric = this.checkedMetric(this.logits, where));
  }

  private pendingEdge = -1;
  private pendingMetric = NaN;

  private propagate(from: number): void {
    const g = this.graph, e = this.e, order = this.pass.order, size = this.pass.size;
    for (let i = from; i < order.length; i++) {
      const x = order[i];
      const kind = g.nodes[x].kind;
      const pe = g.parents[x];
      if ((kind === "qkv_input" || kind === "mlp_in" || kind === "output") && this.sharedReader[x]) {
        let anyPresent = false;
        for (let j = 0; j < pe.length && !anyPresent; j++) anyPresent = this.present[pe[j]] === 1 && this.dirty[g.edges[pe[j]].parent] === 1;
        if (!anyPresent) continue;
        const out = this.trialBuf(x);
        e.k.add(out, this.value(x), this.delta, size[x]);
        for (let j = 0; j < pe.length; j++) {
          const eid = pe[j];
          const p = g.edges[eid].parent;
          if (!this.present[eid] && this.dirty[p]) e.k.addDiff(out, out, this.value(p), this.trialBuf(p), size[x]);
        }
        this.mark(x);
      } else if (kind === "qkv_input" || kind === "mlp_in" || kind === "output") {
        let base = -1;
        const out = this.trialBuf(x);
        for (let j = 0; j < pe.length; j++) {
          const eid = pe[j];
          const p = g.edges[eid].parent;
          if (!this.present[eid] || !this.dirty[p]) continue;
          e.k.addDiff(out, base < 0 ? this.value(x) : out, this.trialBuf(p), this.value(p), size[x]);
          base = 1;
        }
        if (base > 0) this.mark(x);
      } else if (kind === "qkv" || kind === "result" || kind === "mlp_out") {
        let changed = false;
        for (let j = 0; j < pe.length && !changed; j++) changed = this.present[pe[j]] === 1 && this.dirty[g.edges[pe[j]].parent] === 1;
        if (!changed) continue;
        this.pass.computeNode(x, this.trialBuf(x), this.liveOf);
        this.mark(x);
        if (kind !== "qkv") e.k.addDiff(this.delta, this.delta, this.trialBuf(x), this.value(x), size[x]);
      }
    }
  }

  /** Keep the last trial: its edge stays removed and its values become current. */
  commit(): void {
    if (this.pendingEdge < 0) throw new InputError("commit() without a pending trial");
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
