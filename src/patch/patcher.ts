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
//
// Receivers' inputs are stored by class: receivers whose committed inputs
// are the same bits (every head's q/k/v input of a layer while none of its
// edges is removed: 36 in a GPT-2 layer) share one buffer, and a trial
// builds each class's new input once, normalizes it once and projects
// every head that reads it from that one norm. A trial's receiver inputs
// are built where they are read and not kept: commit() builds them again,
// with the same operations in the same order (so the same bits), into the
// classes' buffers; a class whose members now differ splits. So receivers
// cost one buffer per distinct input rather than three per receiver, and
// the buffers are taken only as classes split. A q/k/v input whose direct
// edge is committed removed can no longer matter (its node keeps the ablated
// value): it leaves its class and is not kept from then on, so a search that
// prunes heads reuses their buffers instead of touching new ones.
//
// Ablated values are kept only where nothing cheap gives them back: a
// head's under resample ablation comes from its ablated z [N,Dh] (z·W_O,
// the kernel of the ablated run, so the same bits) and a zero-ablated
// writer's is 0. A trial computes the one it needs into scratch;
// ablated() computes one into its own buffer on first use and keeps it (so
// a pass that reads many, setPresent or mask learning, computes each once),
// and a search never touches those buffers. (q/k/v nodes' are kept: EAP
// reads them on every backward pass, and recomputing them costs a fifth of
// a forward pass.) Readers' ablated inputs are not kept at all.
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

  // Writers and q/k/v nodes: two buffers each (committed, trial; act says which is committed) and the ablated value.
  private readonly buf0: Float64Array;
  private readonly buf1: Float64Array;
  private readonly act: Uint8Array;
  private readonly corr: Float64Array;
  /** 1 where corr holds the node's ablated value; elsewhere it is computed when asked (ablatedInto). */
  private readonly abKept: Uint8Array;
  /** Per head result under resample ablation: its ablated z [N,Dh] (0 elsewhere). */
  private readonly corrZ: Float64Array;
  /** Scratch [N,D]: an ablated value computed for one use (ablatedScratch). */
  private readonly abTmp: number;
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

  // Readers (q/k/v inputs, MLP inputs, the output): committed inputs by class.
  private readonly isReader: Uint8Array;
  /** Class of each reader's committed input; −1 once retired (its direct edge removed: its input is not kept). */
  private readonly cls: Int32Array;
  /** Per class: its buffer and how many readers it holds (0: free). */
  private readonly clsBuf: number[] = [];
  private readonly clsRef: number[] = [];
  private readonly freeCls: number[] = [];
  /** Reader buffers not in use (a class's buffer returns here when it empties). */
  private readonly freeBuf: number[] = [];
  private readonly handedOut = new Set<number>();
  /** Scratch [N,D]: the trial input of one reader class at a time. */
  private readonly tval: number;
  // This trial's reader groups: readers of one class whose inputs change by the
  // same operations (so stay equal). kind 0: shared running sum minus the
  // removed dirty parents `ps`; 1: committed input plus the present dirty
  // parents' changes `ps`; 2: the trial's own receiver (ps: the removed sender).
  private groups: { cls: number; kind: number; ps: number[]; members: number[] }[] = [];
  private readonly groupOf: Int32Array;
  private readonly groupByKey = new Map<string, number>();

  constructor(model: Transformer, graph: Graph, data: PatchData, opts: PatcherOptions) {
    const cfg = model.cfg;
    this.model = model;
    this.graph = graph;
    this.e = model.engine;
    this.ablation = opts.ablation ?? "corrupted";
    this.metric = opts.metric;
    if (!ABLATIONS.includes(this.ablation)) throw new InputError(`ablation must be corrupted, zero or mean, got ${JSON.stringify(this.ablation)}`);
    const e = this.e;
    const { dModel: D, dVocab: V, dHead: Dh } = cfg;

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

    // Buffers: three per writer and q/k/v node (the ablated one touched only
    // when kept); per reader one at most (a class per distinct input, + 1
    // while a commit splits one), and scratch; checked against the memory
    // limit first.
    const nn = graph.nodes.length;
    this.isReader = new Uint8Array(nn);
    for (const n of graph.nodes) this.isReader[n.id] = READER_KINDS.has(n.kind) ? 1 : 0;
    const readers = graph.nodes.filter((n) => this.isReader[n.id]).map((n) => n.id);
    const initial = this.classes(null);
    const others = graph.nodes.reduce((a, n) => a + (this.isReader[n.id] ? 0 : pass.size[n.id]), 0);
    const heads = graph.nodes.filter((n) => n.kind === "result").length;
    // The reader pool, tval and abTmp; heads' ablated z; the ablated run's q/k/v inputs past the pool.
    const readerFloats = (readers.length + 3) * N * D + heads * N * Dh + new Set(initial).size * N * D;
    e.ensure((3 * others + readerFloats) * 4 + (N * D + R * V) * 8, `patching ${B} prompts × ${T} positions (${R} metric rows) on ${nn} graph nodes`, "use fewer prompts, or shorter prompts (under a causal mask only positions up to the last one the metric reads are kept)");
    this.buf0 = new Float64Array(nn);
    this.buf1 = new Float64Array(nn);
    this.corr = new Float64Array(nn);
    this.act = new Uint8Array(nn);
    this.dirty = new Uint8Array(nn);
    this.dirtyList = new Int32Array(nn);
    for (const n of graph.nodes) {
      if (this.isReader[n.id]) continue;
      const sz = pass.size[n.id];
      this.buf0[n.id] = e.allocF32(sz);
      this.buf1[n.id] = e.allocF32(sz);
      this.corr[n.id] = e.allocF32(sz);
    }
    // Which ablated values are kept from the ablated run (see the header).
    this.abKept = new Uint8Array(nn);
    this.corrZ = new Float64Array(nn);
    for (const n of graph.nodes) {
      if (this.isReader[n.id] || (this.ablation === "zero" && n.kind !== "qkv")) continue;
      if (n.kind === "result" && this.ablation === "corrupted") this.corrZ[n.id] = e.allocF32(N * Dh);
      else this.abKept[n.id] = 1;
    }
    this.abTmp = e.allocF32(N * D);
    // Reader buffers in one block, handed out last-freed first, so memory is touched only as classes split.
    const pool = e.allocF32((readers.length + 1) * N * D);
    for (let i = readers.length; i >= 0; i--) this.freeBuf.push(pool + i * N * D * 4);
    this.cls = new Int32Array(nn).fill(-1);
    this.assignClasses(initial);
    this.tval = e.allocF32(N * D);
    this.groupOf = new Int32Array(nn).fill(-1);
    this.values = { value: (x) => this.value(x), ablated: (x) => this.ablated(x) };
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

    // Clean run into the committed buffers; ablated run into corr where kept,
    // else into the trial buffers (free until the first trial), keeping heads' z.
    const ids = e.alloc(N * 4);
    e.i32(ids, N).set(trunc(clean.ids));
    pass.run(this.values, ids, null);
    const lent = this.lentInputs(initial, false);
    const abOut = (x: number) => (this.isReader[x] ? lent.input(x) : this.abKept[x] ? this.corr[x] : this.buf1[x]);
    const ablatedRun: NodeValues = { value: abOut, ablated: abOut };
    if (this.ablation === "corrupted") e.i32(ids, N).set(trunc(corrupted!.ids));
    pass.run(ablatedRun, ids, null, (x) => {
      lent.done(x);
      if (this.corrZ[x]) e.f32(this.corrZ[x], N * Dh).set(e.f32(pass.lastZ, N * Dh));
      if (this.ablation === "corrupted" || !WRITER_KINDS.has(graph.nodes[x].kind)) return;
      // Every writer replaced as soon as it is computed, so later nodes read the ablated writers.
      const out = abOut(x);
      if (this.ablation === "zero") { e.k.fill(out, 0, pass.size[x]); return; }
      // Mean ablation: the writer's clean value averaged over prompts, per position.
      e.k.batchMean(out, this.buf0[x], B, T, D);
      for (let b = 1; b < B; b++) e.f32(out + b * T * D * 4, T * D).set(e.f32(out, T * D));
    });
    lent.release();

    const cleanLogits = e.allocF32(R * V);
    pass.logitsOf(this.value(graph.output), cleanLogits);
    this.ctx = { engine: e, rows: R, vocab: V, rowPrompt: Int32Array.from(rowPrompt), cleanLogits };
    this.metric.init(this.ctx);
    this.baseline = this.current = this.checkedMetric(cleanLogits, "the clean run");
  }

  /**
   * A class per distinct reader input under edge weights `w` (null: every
   * edge present): readers with the same senders in the same order, the same
   * Σ b_O and the same weights (what the pass sums identically). Reader id →
   * class key (an integer; −1 for other nodes).
   */
  private classes(w: Uint8Array | null): Int32Array {
    const g = this.graph, keys = new Map<string, number>(), out = new Int32Array(g.nodes.length).fill(-1);
    for (const n of g.nodes) {
      if (!this.isReader[n.id]) continue;
      const layer = n.kind === "mlp_in" ? (this.model.cfg.parallelAttnMlp ? n.layer : n.layer + 1) : n.kind === "qkv_input" ? n.layer : -2;
      const key = `${n.kind === "output" ? "o" : layer}|${g.parents[n.id].map((eid) => (w && !w[eid] ? `${g.edges[eid].parent}x` : g.edges[eid].parent)).join(",")}`;
      if (!keys.has(key)) keys.set(key, keys.size);
      out[n.id] = keys.get(key)!;
    }
    return out;
  }

  /** Give each reader a fresh class by `key` (from classes()), every earlier class freed. */
  private assignClasses(key: Int32Array): void {
    for (let c = 0; c < this.clsRef.length; c++) if (this.clsRef[c] > 0) { this.freeBuf.push(this.clsBuf[c]); this.clsRef[c] = 0; }
    this.clsBuf.length = 0; this.clsRef.length = 0; this.freeCls.length = 0;
    const of = new Map<number, number>();
    for (let x = 0; x < key.length; x++) {
      if (key[x] < 0) continue;
      let c = of.get(key[x]);
      if (c === undefined) { c = this.newClass(); of.set(key[x], c); }
      this.cls[x] = c;
      this.clsRef[c]++;
    }
  }

  /** A class with a buffer from the pool and no members yet. */
  private newClass(): number {
    const c = this.freeCls.length ? this.freeCls.pop()! : this.clsBuf.length;
    const buf = this.takeBuf();
    if (buf === undefined) throw new Error("Patcher: reader buffer pool exhausted");
    this.clsBuf[c] = buf;
    this.clsRef[c] = 0;
    return c;
  }

  /** A reader buffer from the pool (undefined: none left), counted in readerBuffers. */
  private takeBuf(): number | undefined {
    const b = this.freeBuf.pop();
    if (b !== undefined) this.handedOut.add(b);
    return b;
  }

  /** A class loses a member; its buffer returns to the pool when it has none left. */
  private leave(c: number): void {
    if (--this.clsRef[c] === 0) { this.freeBuf.push(this.clsBuf[c]); this.freeCls.push(c); }
  }

  /** How many distinct reader inputs are kept now (one [N,D] buffer each). */
  get keptInputs(): number { return this.clsRef.reduce((a, r) => a + (r > 0 ? 1 : 0), 0); }

  /** How many distinct reader buffers have been used so far (each an [N,D] block of touched memory; a pool never handed out is never touched). */
  get readerBuffers(): number { return this.handedOut.size; }

  /** How many writers and q/k/v nodes have their ablated value kept (the rest are computed when needed). */
  get keptAblated(): number { return this.abKept.reduce((a, k) => a + k, 0); }

  /** Committed value of a node (offset of its [N,D] or [N,Dh] buffer; a reader's is its class's). */
  value(node: number): number {
    if (this.isReader[node]) {
      if (this.cls[node] < 0) throw new InputError(`the input ${this.graph.nodes[node].label} is not kept once its edge into ${this.graph.nodes[this.graph.edges[this.graph.children[node][0]].child].label} is removed (setPresent rebuilds every input)`);
      return this.clsBuf[this.cls[node]];
    }
    return this.act[node] ? this.buf1[node] : this.buf0[node];
  }
  /** Ablated (corrupted, zero or mean) value of a writer or q/k/v node, kept from the first call on (readers' are not kept). */
  ablated(node: number): number {
    if (this.isReader[node]) throw new InputError(`the ablated input of ${this.graph.nodes[node].label} is not kept (a pass sums a receiver's input from its senders' values)`);
    if (!this.abKept[node]) { this.ablatedInto(node, this.corr[node]); this.abKept[node] = 1; }
    return this.corr[node];
  }

  /** A writer's or q/k/v node's ablated value for one use: its kept buffer, or computed into a scratch the next call overwrites (nothing kept). */
  ablatedScratch(node: number): number {
    if (this.isReader[node] || this.abKept[node]) return this.ablated(node);
    this.ablatedInto(node, this.abTmp);
    return this.abTmp;
  }

  /** out = the ablated value of a writer not kept: a head's from its z, else 0 (zero ablation). */
  private ablatedInto(x: number, out: number): void {
    if (this.corrZ[x]) this.pass.headOutput(x, this.corrZ[x], out);
    else this.e.k.fill(out, 0, this.pass.size[x]);
  }
  private trialBuf(node: number): number { return this.act[node] ? this.buf0[node] : this.buf1[node]; }

  /**
   * Scratch for a whole-graph pass between trials (attribution): each writer's
   * and q/k/v node's trial buffer, which no trial is using once a pending one
   * is forgotten (this forgets it). Node id → offset of its size; readers have
   * none (0). The next trial overwrites them.
   */
  spare(): (node: number) => number {
    this.reject();
    return (x) => (this.isReader[x] ? 0 : this.trialBuf(x));
  }
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
   * Reader inputs for a pass that keeps none (the ablated run, measure()):
   * an MLP's or the output's in tval (each is read right after it is
   * summed); q/k/v inputs (a layer's are all summed before its heads read
   * them) borrow a pool buffer per class of `key`, returned once every node
   * reading it has run (done(x) after each node), so the next layer's take
   * the same pages. Past the pool, new arena memory: joining the pool
   * (`temporary` false: the constructor) or not (the caller resets the arena
   * after the pass).
   */
  private lentInputs(key: Int32Array, temporary: boolean): { input: (x: number) => number; done: (x: number) => void; release: () => void } {
    const g = this.graph, e = this.e, size = this.N * this.model.cfg.dModel;
    const readersOf = new Map<number, number>(), lentOf = new Map<number, number>(), extra = new Set<number>();
    const giveBack = (b: number) => { if (!extra.has(b)) this.freeBuf.push(b); };
    const inputClass = (x: number) => {
      const n = g.nodes[x];
      if (n.kind === "qkv") return key[g.edges[g.parents[x][0]].parent];
      return this.isReader[x] && n.kind !== "qkv_input" ? key[x] : -1; // may copy a same-class q/k/v sum
    };
    for (const n of g.nodes) { const c = inputClass(n.id); if (c >= 0) readersOf.set(c, (readersOf.get(c) ?? 0) + 1); }
    return {
      input: (x) => {
        if (g.nodes[x].kind !== "qkv_input") return this.tval;
        const c = key[x];
        let b = lentOf.get(c);
        if (b === undefined) {
          b = this.takeBuf();
          if (b === undefined) { b = e.allocF32(size); if (temporary) extra.add(b); }
          lentOf.set(c, b);
        } else if (b < 0) throw new Error(`Patcher: the input of ${g.nodes[x].label} was asked after its buffer was returned`);
        return b;
      },
      done: (x) => {
        const c = inputClass(x);
        if (c < 0) return;
        const left = readersOf.get(c)! - 1;
        readersOf.set(c, left);
        const b = lentOf.get(c);
        if (left === 0 && b !== undefined) { giveBack(b); lentOf.set(c, -1); }
      },
      release: () => { for (const b of lentOf.values()) if (b >= 0) giveBack(b); },
    };
  }

  /** Errors for a mask that is not one per edge, or that removes a placeholder. */
  private checkMask(mask: Uint8Array, what: string): void {
    const g = this.graph;
    if (mask.length !== g.edges.length) throw new InputError(`${what}: mask has ${mask.length} entries, the graph ${g.edges.length} edges`);
    for (const ed of g.edges) if (ed.type === "placeholder" && !mask[ed.id]) throw new InputError(`${what}: placeholder edges cannot be removed`);
  }

  /**
   * The metric of `mask` (as setPresent takes it) by a real patched forward
   * pass, leaving the committed state as it is: writers and q/k/v nodes go
   * to their idle trial buffers and readers' inputs to lent buffers
   * (lentInputs), so a sparse circuit, whose readers' inputs are nearly all
   * different, touches no more memory than the full model. The value
   * setPresent(mask) returns, without its commitment.
   */
  measure(mask: Uint8Array): number {
    this.checkMask(mask, "measure");
    this.reject();
    const g = this.graph, source = (x: number) => g.parents[x].length === 0, mark = this.e.mark();
    const lent = this.lentInputs(this.classes(mask), true);
    // Sources keep their committed values (the pass does not recompute them); an ablated value is consumed where it is read.
    const vals: NodeValues = {
      value: (x) => (this.isReader[x] ? lent.input(x) : source(x) ? this.value(x) : this.trialBuf(x)),
      ablated: (x) => this.ablatedScratch(x),
    };
    try {
      this.pass.run(vals, 0, mask, lent.done);
      this.pass.logitsOf(vals.value(g.output), this.logits);
    } finally {
      lent.release();
      this.e.reset(mark);
    }
    return this.checkedMetric(this.logits, "the circuit measured");
  }

  /**
   * Make `mask` (1 = present, per edge; placeholders must be 1) the committed
   * state, recomputing every node from scratch, and return its metric: a real
   * patched forward pass for circuits chosen by other means (EAP, a file).
   */
  setPresent(mask: Uint8Array): number {
    const g = this.graph;
    this.checkMask(mask, "setPresent");
    this.reject();
    this.present.set(mask);
    this.assignClasses(this.classes(this.present));
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
    const R = ed.child;
    // A retired input reaches nothing: removing an edge into it changes no value.
    if (this.isReader[R] && this.cls[R] < 0) { this.pendingEdge = edgeId; return (this.pendingMetric = this.current); }
    if (ed.type === "addition") {
      this.join(R, `r${R}`, 2, [ed.parent]);
    } else {
      const out = this.trialBuf(R), sz = this.pass.size[R];
      e.f32(out, sz).set(e.f32(this.corr[R], sz));
      this.mark(R);
    }
    this.pendingEdge = edgeId;
    e.k.fill(this.delta, 0, this.N * this.model.cfg.dModel);
    this.propagate(this.orderPos[R] + 1);
    if (!this.dirty[g.output]) return (this.pendingMetric = this.current);
    this.build(this.groupOf[g.output], this.tval);
    this.pass.logitsOf(this.tval, this.logits);
    const where = `removing edge ${g.nodes[ed.parent].label} → ${g.nodes[ed.child].label}`;
    return (this.pendingMetric = this.checkedMetric(this.logits, where));
  }

  private pendingEdge = -1;
  private pendingMetric = NaN;

  /** Mark reader x dirty in the group of `key` (made with kind and senders ps if new). */
  private join(x: number, key: string, kind: number, ps: number[]): void {
    const k = `${this.cls[x]}${key}`;
    let gi = this.groupByKey.get(k);
    if (gi === undefined) {
      gi = this.groups.length;
      this.groups.push({ cls: this.cls[x], kind, ps, members: [] });
      this.groupByKey.set(k, gi);
    }
    this.groups[gi].members.push(x);
    this.groupOf[x] = gi;
    this.mark(x);
  }

  /**
   * out = the new input of group gi's readers: their committed input moved
   * as trial() moves it (the same operations in the same order, at the delta
   * of the group's place in the forward order). out may be the class's own
   * buffer (commit, when the whole class moves together).
   */
  private build(gi: number, out: number): void {
    const k = this.e.k, gr = this.groups[gi], src = this.clsBuf[gr.cls], n = this.N * this.model.cfg.dModel;
    if (gr.kind === 2) { k.addDiff(out, src, this.ablatedScratch(gr.ps[0]), this.value(gr.ps[0]), n); return; }
    if (gr.kind === 0) {
      k.add(out, src, this.delta, n);
      for (const p of gr.ps) k.addDiff(out, out, this.value(p), this.trialBuf(p), n);
      return;
    }
    gr.ps.forEach((p, i) => k.addDiff(out, i === 0 ? src : out, this.trialBuf(p), this.value(p), n));
  }

  private propagate(from: number): void {
    const g = this.graph, e = this.e, order = this.pass.order, size = this.pass.size;
    for (let i = from; i < order.length; i++) {
      const x = order[i];
      const kind = g.nodes[x].kind;
      const pe = g.parents[x];
      if (this.isReader[x]) {
        if (this.cls[x] < 0) continue; // retired: its node reads the ablated value
        // Moves when a present edge comes from a changed sender; the senders that
        // make its change (removed dirty ones when shared, else present dirty ones) key its group.
        let changed = false;
        for (let j = 0; j < pe.length && !changed; j++) changed = this.present[pe[j]] === 1 && this.dirty[g.edges[pe[j]].parent] === 1;
        if (!changed) continue;
        const shared = this.sharedReader[x] === 1, ps: number[] = [];
        for (let j = 0; j < pe.length; j++) {
          const p = g.edges[pe[j]].parent;
          if (this.dirty[p] && (this.present[pe[j]] === 1) !== shared) ps.push(p);
        }
        this.join(x, `${shared ? "s" : "n"}${ps.join(",")}`, shared ? 0 : 1, ps);
      } else if (kind === "qkv") {
        if (this.dirty[x] || !this.present[pe[0]] || !this.dirty[g.edges[pe[0]].parent]) continue;
        this.layerQkv(i);
      } else if (kind === "result" || kind === "mlp_out") {
        let changed = false;
        for (let j = 0; j < pe.length && !changed; j++) changed = this.present[pe[j]] === 1 && this.dirty[g.edges[pe[j]].parent] === 1;
        if (!changed) continue;
        let val = this.liveOf;
        if (kind === "mlp_out") {
          const mi = g.edges[pe[0]].parent;
          this.build(this.groupOf[mi], this.tval);
          val = (n) => (n === mi ? this.tval : this.live(n));
        }
        if (g.nodes[x].layer === this.pass.rowsLayer) {
          // Only the metric rows change; the rest keep the committed value (so add nothing to delta).
          e.f32(this.trialBuf(x), size[x]).set(e.f32(this.value(x), size[x]));
          this.pass.computeRows(x, this.trialBuf(x), val);
        } else {
          this.pass.computeNode(x, this.trialBuf(x), val);
        }
        this.mark(x);
        e.k.addDiff(this.delta, this.delta, this.trialBuf(x), this.value(x), size[x]);
      }
    }
  }

  /**
   * Every q/k/v node from order[i] on in its layer whose input changed (and
   * whose direct edge is present), a reader group at a time: the group's new
   * input built once, normalized once, each node's head projected from it.
   */
  private layerQkv(i: number): void {
    const g = this.graph, order = this.pass.order, layer = g.nodes[order[i]].layer;
    const byGroup = new Map<number, number[]>();
    for (let j = i; j < order.length; j++) {
      const x = order[j], n = g.nodes[x];
      if (n.kind !== "qkv" || n.layer !== layer) break;
      const ed = g.parents[x][0], r = g.edges[ed].parent;
      if (this.dirty[x] || !this.present[ed] || !this.dirty[r]) continue;
      const gi = this.groupOf[r];
      if (!byGroup.has(gi)) byGroup.set(gi, []);
      byGroup.get(gi)!.push(x);
    }
    const e = this.e, size = this.pass.size;
    for (const [gi, nodes] of byGroup) {
      this.build(gi, this.tval);
      // The last layer's queries change at the metric rows only: the other rows keep their committed values.
      if (layer === this.pass.rowsLayer) for (const x of nodes) if (g.nodes[x].letter === "q") e.f32(this.trialBuf(x), size[x]).set(e.f32(this.value(x), size[x]));
      this.pass.computeQkvShared(nodes, this.tval, (x) => this.trialBuf(x));
      for (const x of nodes) this.mark(x);
    }
  }

  /** Keep the last trial: its edge stays removed and its values become current. */
  commit(): void {
    if (this.pendingEdge < 0) throw new InputError("commit() without a pending trial");
    const g = this.graph, e = this.e, order = this.pass.order, size = this.pass.size;
    this.present[this.pendingEdge] = 0;
    // Readers' new inputs, built again as the trial built them: delta replayed
    // in forward order, each class's groups at their place in it.
    e.k.fill(this.delta, 0, this.N * this.model.cfg.dModel);
    const done = new Uint8Array(this.groups.length);
    for (let i = this.orderPos[g.edges[this.pendingEdge].child]; i < order.length; i++) {
      const x = order[i];
      if (!this.dirty[x]) continue;
      const kind = g.nodes[x].kind;
      if (kind === "result" || kind === "mlp_out") e.k.addDiff(this.delta, this.delta, this.trialBuf(x), this.value(x), size[x]);
      else if (this.isReader[x] && !done[this.groupOf[x]]) this.commitClass(this.groups[this.groupOf[x]].cls, done);
    }
    for (let i = 0; i < this.nDirty; i++) {
      const x = this.dirtyList[i];
      if (!this.isReader[x]) this.act[x] ^= 1;
      this.dirty[x] = 0;
    }
    this.nDirty = 0;
    this.clearGroups();
    const ed = g.edges[this.pendingEdge];
    if (ed.type === "direct" && this.isReader[ed.parent] && this.cls[ed.parent] >= 0) {
      this.leave(this.cls[ed.parent]);
      this.cls[ed.parent] = -1;
    }
    this.current = this.pendingMetric;
    this.pendingEdge = -1;
  }

  /** The groups of old class c: in place when one group holds every member, else each into a new class (c freed once empty). */
  private commitClass(c: number, done: Uint8Array): void {
    const gis: number[] = [];
    this.groups.forEach((gr, gi) => { if (gr.cls === c && !done[gi]) gis.push(gi); });
    if (gis.length === 1 && this.groups[gis[0]].members.length === this.clsRef[c]) {
      this.build(gis[0], this.clsBuf[c]);
      done[gis[0]] = 1;
      return;
    }
    for (const gi of gis) {
      const nc = this.newClass();
      this.build(gi, this.clsBuf[nc]);
      for (const x of this.groups[gi].members) { this.cls[x] = nc; this.clsRef[nc]++; this.leave(c); }
      done[gi] = 1;
    }
  }

  private clearGroups(): void {
    for (const gr of this.groups) for (const x of gr.members) this.groupOf[x] = -1;
    this.groups = [];
    this.groupByKey.clear();
  }

  /** Forget the last trial. */
  reject(): void {
    for (let i = 0; i < this.nDirty; i++) this.dirty[this.dirtyList[i]] = 0;
    this.nDirty = 0;
    this.clearGroups();
    this.pendingEdge = -1;
  }
}
