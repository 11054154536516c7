// The paper's IOI task on GPT-2 small (Conmy et al. 2023, §4; code in
// acdc/ioi/utils.py get_all_ioi_things and acdc/ioi/ioi_dataset.py): clean
// and ABC-corrupted prompts as GPT-2 token ids, the KL and logit-difference
// metrics, and the ground-truth circuit as this project's edge labels.
// This file also holds what the other GPT-2 task modules share (the task
// shape, GPT-2 small's geometry and the reproductions of the Python, NumPy
// and PyTorch random generators the paper's data depends on).
//
// Data, reproduced exactly (checked against the paper's generation code,
// transcribed and run in CPython 3.11 with NumPy): IOIDataset(prompt_type=
// "ABBA", N=2·100, nb_templates=1, seed=0) draws with Python's `random`
// seeded (0 + 987654321) % 123456789 = 9,
// for each prompt: the template (one: "Then, [A] and [B] went to the [PLACE].
// [B] gave a [OBJECT] to [A]"), then three distinct names from the 99 NAMES
// until distinct (only the first two are used: IO = [A], S = [B]), then a
// PLACE of 8 and an OBJECT of 8. Every name, place and object is one GPT-2
// token after a space, so every prompt is 16 tokens; the paper feeds the first
// 15 (ending at " to", no BOS) and the 16th is the IO answer.
// Corruption "ABC" = three chained gen_flipped_prompts calls, each reseeding
// NumPy's legacy generator with (s + 345467) % 5432 for s = 1, 2, 3:
// ("IO", "RAND") replaces both IO words by a name ≠ IO, S; ("S", "RAND") both S
// words by any name; ("S1", "RAND") the first remaining S word by any name.
// The last two draws are not checked against anything. When the S flip draws
// the IO flip's name, the S1 flip's "first S" is the IO word, so the row ends
// up "E and D ... D gave": a clean-style IOI prompt, not ABC. That happens in
// 4 of the 100 validation rows (16, 29, 65, 97) and 1 test row (120); 10
// test rows reuse a clean name. The paper's data has these rows; so does this.
// Split: the first 100 prompts validate (ACDC runs on these), the next 100 test.
//
// Metrics: KL(clean ‖ patched) at the last position (position 14); logit
// difference logit[IO] − logit[S] at the last position, negated (the code's
// logit_diff_metric: −(mean correct − mean incorrect)).
//
// Ground truth (GROUND_TRUTH.md "IOI", acdc/ioi/utils.py get_ioi_true_edges):
// 26 heads in 7 groups; every other head's q/k/v, inputs and result removed;
// MLP edges kept; circuit heads keep their direct edges, their MLP edges and
// only the listed head/input/output connections. 1,041 counted edges.
//
// Numbers from the paper and its code: 100 validation + 100 test prompts;
// 15 tokens; seeds 0 (clean), 1, 2, 3 (flips) and the seed arithmetic above;
// the 26 heads; thresholds 10^linspace(−6, 0, 31) for KL (GROUND_TRUTH.md)
// and 10^linspace(−4, 0, 21) for the logit difference
// (experiments/launch_spreadsheet.py, NUM_SPACINGS = 21); edge AUCs, KL:
// ACDC 0.869, HISP 0.239, SP 0.888; logit difference: 0.589, 0.227, 0.837.
import { encode } from "gpt-tokenizer/encoding/r50k_base";
import { makeConfig, type ModelConfig } from "../model/config.js";
import type { EdgeType } from "../graph/graph.js";
import type { PatchData } from "../graph/patcher.js";
import { klMetric, logitDiffMetric, type Metric } from "../metrics.js";
import { logspace } from "../eval/sweep.js";

// ---------------------------------------------------------------------------
// Shared by the GPT-2 task modules.

/** [parent label, child label, type], this project's node labels. */
export type TaskEdge = [string, string, EdgeType];

export type Split = "validation" | "test";

/** Edge-level ROC AUCs the paper reports (corrupted ablation). */
export interface PaperAuc { acdc: number; hisp: number; sp: number }

export interface TaskData extends PatchData {
  clean: number[][];
  corrupted: number[][];
  positions: number[] | number[][];
  /** Answer token per metric row (IOI: IO). */
  correct?: number[];
  /** Wrong token per metric row (IOI: S). */
  incorrect?: number[];
}

export interface PaperTask<D = TaskData> {
  key: string;
  name: string;
  /** The geometry of the paper's model (weights are not part of a task). */
  cfg: ModelConfig;
  split: Split;
  data: D;
  /** Fresh metric instances (metrics hold wasm scratch; one per Patcher). */
  metrics: { kl: () => Metric; task: () => Metric };
  /** null where the paper has none (induction). */
  groundTruth: TaskEdge[] | null;
  /** The paper's threshold sweeps, per metric. */
  thresholds: { kl: number[]; task: number[] };
  paper: { numExamples: number; auc: { kl: PaperAuc; task: PaperAuc } | null };
}

/** GPT-2 small: 12 layers, 12 heads of 64, d_model 768, MLP 3072, 50,257 tokens, context 1,024. */
export function gpt2SmallConfig(): ModelConfig {
  return makeConfig({ nLayers: 12, dModel: 768, nHeads: 12, dHead: 64, dMlp: 3072, dVocab: 50257, nCtx: 1024 });
}

/**
 * MT19937, the generator under Python's `random`, NumPy's legacy
 * RandomState and PyTorch's CPU generator (Matsumoto & Nishimura's mt19937ar.c).
 */
export class MT19937 {
  private readonly mt = new Uint32Array(624);
  private i = 624;

  /** init_genrand(seed): NumPy's np.random.seed(int) and torch.manual_seed. */
  static fromInt(seed: number): MT19937 {
    const g = new MT19937();
    g.initGenrand(seed);
    return g;
  }

  /** init_by_array(key): CPython's random.seed(int), key = the int's 32-bit words, least significant first. */
  static fromArray(key: number[]): MT19937 {
    const g = new MT19937(), mt = g.mt;
    g.initGenrand(19650218);
    let i = 1, j = 0;
    for (let k = Math.max(624, key.length); k > 0; k--) {
      const x = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(x, 1664525)) + key[j] + j) >>> 0;
      i++; j++;
      if (i >= 624) { mt[0] = mt[623]; i = 1; }
      if (j >= key.length) j = 0;
    }
    for (let k = 623; k > 0; k--) {
      const x = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(x, 1566083941)) - i) >>> 0;
      i++;
      if (i >= 624) { mt[0] = mt[623]; i = 1; }
    }
    mt[0] = 0x80000000;
    return g;
  }

  private initGenrand(seed: number): void {
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) mt[i] = (Math.imul(1812433253, mt[i - 1] ^ (mt[i - 1] >>> 30)) + i) >>> 0;
    this.i = 624;
  }

  /** The next tempered 32-bit output. */
  next(): number {
    const mt = this.mt;
    if (this.i >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.i = 0;
    }
    let y = mt[this.i++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

const bitLength = (n: number) => (n === 0 ? 0 : 32 - Math.clz32(n));

/** CPython's `random` after random.seed(seed) (integer seed below 2^32), the calls the paper's data uses. */
export class PythonRandom {
  private readonly g: MT19937;
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new RangeError(`PythonRandom: seed must be an integer in [0, 2^32), got ${seed}`);
    this.g = MT19937.fromArray([seed]);
  }
  getrandbits(k: number): number { return this.g.next() >>> (32 - k); }
  /** _randbelow_with_getrandbits: k = n.bit_length() bits, redrawn while ≥ n. */
  randbelow(n: number): number {
    const k = bitLength(n);
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }
  choice<T>(seq: readonly T[]): T { return seq[this.randbelow(seq.length)]; }
  /** random.sample (CPython 3.11): a pool for small populations, else redraws into a set. */
  sample<T>(population: readonly T[], k: number): T[] {
    const n = population.length;
    if (!(k >= 0 && k <= n)) throw new RangeError("sample larger than population");
    let setsize = 21;
    if (k > 5) setsize += 4 ** Math.ceil(Math.log(k * 3) / Math.log(4));
    const out: T[] = [];
    if (n <= setsize) {
      const pool = [...population];
      for (let i = 0; i < k; i++) {
        const j = this.randbelow(n - i);
        out.push(pool[j]);
        pool[j] = pool[n - i - 1];
      }
    } else {
      const selected = new Set<number>();
      for (let i = 0; i < k; i++) {
        let j = this.randbelow(n);
        while (selected.has(j)) j = this.randbelow(n);
        selected.add(j);
        out.push(population[j]);
      }
    }
    return out;
  }
}

/** NumPy's legacy global generator after np.random.seed(seed): randint(n) by masked rejection on 32-bit draws. */
export class NumpyRandomState {
  private readonly g: MT19937;
  constructor(seed: number) { this.g = MT19937.fromInt(seed); }
  randint(n: number): number {
    const rng = n - 1;
    if (rng === 0) return 0;
    let mask = rng;
    mask |= mask >>> 1; mask |= mask >>> 2; mask |= mask >>> 4; mask |= mask >>> 8; mask |= mask >>> 16;
    let v: number;
    while ((v = (this.g.next() & mask) >>> 0) > rng);
    return v;
  }
}

/** PyTorch's CPU generator after torch.manual_seed(seed), for ranges below 2^28 (32-bit draws). */
export class TorchGenerator {
  private readonly g: MT19937;
  constructor(seed: number) { this.g = MT19937.fromInt(seed); }
  /** torch.randint(low, high, (n,)): low + draw % (high − low), serially. */
  randint(low: number, high: number, n: number): number[] {
    const range = high - low;
    if (!(range > 0 && range < 2 ** 28)) throw new RangeError(`TorchGenerator.randint: range ${range} outside (0, 2^28)`);
    return Array.from({ length: n }, () => low + (this.g.next() % range));
  }
  /** torch.randperm(n) on the CPU: forward Fisher–Yates, swap i with i + draw % (n − i). */
  randperm(n: number): number[] {
    const r = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < n - 1; i++) {
      const z = this.g.next() % (n - i);
      [r[i], r[z + i]] = [r[z + i], r[i]];
    }
    return r;
  }
}

/** Token ids of `text` (GPT-2 BPE, r50k_base). */
export function gpt2Encode(text: string): number[] { return encode(text); }

/** The one token of a string that GPT-2 encodes as one token; throws otherwise. */
export function gpt2Token(text: string): number {
  const t = encode(text);
  if (t.length !== 1) throw new Error(`${JSON.stringify(text)} is ${t.length} GPT-2 tokens, expected 1`);
  return t[0];
}

export function checkSplit(split: Split | undefined): Split {
  const s = split ?? "validation";
  if (s !== "validation" && s !== "test") throw new RangeError(`split must be "validation" or "test", got ${JSON.stringify(split)}`);
  return s;
}

export function checkCount(n: number | undefined, dflt: number, what: string): number {
  const v = n ?? dflt;
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${what} must be a positive integer, got ${n}`);
  return v;
}

// Label formatting for the ground truths (the hook names of ../graph/names.ts).
export const lbl = {
  input: "blocks.0.hook_resid_pre",
  output: (L: number) => `blocks.${L - 1}.hook_resid_post`,
  mlpIn: (l: number) => `blocks.${l}.hook_mlp_in`,
  mlpOut: (l: number) => `blocks.${l}.hook_mlp_out`,
  result: (l: number, h: number) => `blocks.${l}.attn.hook_result[${h}]`,
  qkvIn: (l: number, h: number, x: string) => `blocks.${l}.hook_${x}_input[${h}]`,
  qkv: (l: number, h: number, x: string) => `blocks.${l}.attn.hook_${x}[${h}]`,
};

/** Deduplicate edges by (parent, child), keeping the first. */
export function uniqueEdges(edges: TaskEdge[]): TaskEdge[] {
  const seen = new Set<string>();
  return edges.filter(([p, c]) => { const k = `${p} -> ${c}`; if (seen.has(k)) return false; seen.add(k); return true; });
}

// ---------------------------------------------------------------------------
// IOI.

/** ioi_dataset.py NAMES (99 names). */
export const IOI_NAMES: readonly string[] = [
  "Michael", "Christopher", "Jessica", "Matthew", "Ashley", "Jennifer", "Joshua", "Amanda", "Daniel", "David",
  "James", "Robert", "John", "Joseph", "Andrew", "Ryan", "Brandon", "Jason", "Justin", "Sarah",
  "William", "Jonathan", "Stephanie", "Brian", "Nicole", "Nicholas", "Anthony", "Heather", "Eric", "Elizabeth",
  "Adam", "Megan", "Melissa", "Kevin", "Steven", "Thomas", "Timothy", "Christina", "Kyle", "Rachel",
  "Laura", "Lauren", "Amber", "Brittany", "Danielle", "Richard", "Kimberly", "Jeffrey", "Amy", "Crystal",
  "Michelle", "Tiffany", "Jeremy", "Benjamin", "Mark", "Emily", "Aaron", "Charles", "Rebecca", "Jacob",
  "Stephen", "Patrick", "Sean", "Erin", "Jamie", "Kelly", "Samantha", "Nathan", "Sara", "Dustin",
  "Paul", "Angela", "Tyler", "Scott", "Katherine", "Andrea", "Gregory", "Erica", "Mary", "Travis",
  "Lisa", "Kenneth", "Bryan", "Lindsey", "Kristen", "Jose", "Alexander", "Jesse", "Katie", "Lindsay",
  "Shannon", "Vanessa", "Courtney", "Christine", "Alicia", "Cody", "Allison", "Bradley", "Samuel",
];
export const IOI_PLACES: readonly string[] = ["store", "garden", "restaurant", "school", "hospital", "office", "house", "station"];
export const IOI_OBJECTS: readonly string[] = ["ring", "kiss", "bone", "basketball", "computer", "necklace", "drink", "snack"];
/** ABBA_TEMPLATES[0], the only template the paper uses (nb_templates=1). */
export const IOI_TEMPLATE = "Then, [A] and [B] went to the [PLACE]. [B] gave a [OBJECT] to [A]";

export interface IoiPrompt { text: string; io: string; s: string; place: string; object: string }

/** gen_prompt_uniform over the one ABBA template, N prompts, Python seed 9 (= (0 + 987654321) % 123456789). */
export function ioiCleanPrompts(n: number): IoiPrompt[] {
  const r = new PythonRandom((0 + 987654321) % 123456789);
  const templates = [IOI_TEMPLATE];
  const out: IoiPrompt[] = [];
  while (out.length < n) {
    const temp = r.choice(templates);
    let a = "", b = "", c = "";
    while (new Set([a, b, c]).size < 3) { a = r.choice(IOI_NAMES); b = r.choice(IOI_NAMES); c = r.choice(IOI_NAMES); }
    const place = r.choice(IOI_PLACES), object = r.choice(IOI_OBJECTS);
    const text = temp.replace("[PLACE]", place).replace("[OBJECT]", object).replaceAll("[A]", a).replaceAll("[B]", b);
    out.push({ text, io: a, s: b, place, object });
  }
  return out;
}

/** gen_flipped_prompts for the three flips of the ABC corruption; `seed` is the dataset-level seed (1, 2, 3). */
function flip(prompts: IoiPrompt[], kind: "IO" | "S" | "S1", seed: number): IoiPrompt[] {
  const np = new NumpyRandomState((seed + 345467) % 5432);
  const draw = () => IOI_NAMES[np.randint(IOI_NAMES.length)];
  return prompts.map((p0) => {
    const p = { ...p0 }, t = p.text.split(" ");
    // Python's list.index / reversed index, which raise where a name is missing.
    const first = (w: string) => { const i = t.indexOf(w); if (i < 0) throw new Error(`IOI flip: ${w} not in ${p.text}`); return i; };
    const last = (w: string) => { const i = t.lastIndexOf(w); if (i < 0) throw new Error(`IOI flip: ${w} not in ${p.text}`); return i; };
    if (kind === "IO") {
      let r = draw();
      while (r === p.io || r === p.s) r = draw();
      t[first(p.io)] = r;
      t[first(p.io)] = r;
      p.io = r;
    } else {
      const ns = draw();
      t[first(p.s)] = ns;
      if (kind === "S") { t[last(p.s)] = ns; p.s = ns; }
    }
    p.text = t.join(" ");
    return p;
  });
}

/** The ABC corruption of get_all_ioi_things: flips (IO, RAND) seed 1, (S, RAND) seed 2, (S1, RAND) seed 3. */
export function ioiAbcPrompts(clean: IoiPrompt[]): IoiPrompt[] {
  return flip(flip(flip(clean, "IO", 1), "S", 2), "S1", 3);
}

/** IOI_CIRCUIT of acdc/ioi/utils.py, [layer, head] in the code's order. */
export const IOI_CIRCUIT: Readonly<Record<string, readonly (readonly [number, number])[]>> = {
  "name mover": [[9, 9], [10, 0], [9, 6]],
  "backup name mover": [[10, 10], [10, 6], [10, 2], [10, 1], [11, 2], [9, 7], [9, 0], [11, 9]],
  negative: [[10, 7], [11, 10]],
  "s2 inhibition": [[7, 3], [7, 9], [8, 6], [8, 10]],
  induction: [[5, 5], [5, 8], [5, 9], [6, 9]],
  "duplicate token": [[0, 1], [0, 10], [3, 0]],
  "previous token": [[2, 2], [4, 11]],
};

// get_ioi_true_edges' special connections: [from group or INPUT, to group or OUTPUT, letters].
const IOI_CONNECTIONS: [string, string, string][] = [
  ["INPUT", "previous token", "qkv"], ["INPUT", "duplicate token", "qkv"], ["INPUT", "s2 inhibition", "q"],
  ["INPUT", "negative", "kv"], ["INPUT", "name mover", "kv"], ["INPUT", "backup name mover", "kv"],
  ["previous token", "induction", "kv"], ["induction", "s2 inhibition", "kv"], ["duplicate token", "s2 inhibition", "kv"],
  ["s2 inhibition", "negative", "q"], ["s2 inhibition", "name mover", "q"], ["s2 inhibition", "backup name mover", "q"],
  ["negative", "OUTPUT", ""], ["name mover", "OUTPUT", ""], ["backup name mover", "OUTPUT", ""],
];

/**
 * The IOI ground truth, built from the rules of get_ioi_true_edges: the full
 * GPT-2 small graph less every non-circuit head; circuit heads lose input →
 * q/k/v, head → q/k/v and head → output edges; then the special connections
 * are added (INPUT = resid_pre and every mlp_out, OUTPUT = resid_post and every
 * mlp_in, sender layer below receiver layer). What survives: MLP edges
 * (input/mlp_out → mlp_in/output), mlp_out → circuit q/k/v inputs, circuit
 * heads → mlp_in, the circuit heads' direct edges, the special connections.
 */
export function ioiGroundTruth(): TaskEdge[] {
  const L = 12, out: TaskEdge[] = [];
  const heads = Object.values(IOI_CIRCUIT).flat();
  // MLP edges: input and every mlp_out → every later mlp_in and the output.
  for (let r = 0; r < L; r++) {
    out.push([lbl.input, lbl.mlpIn(r), "addition"]);
    for (let s = 0; s < r; s++) out.push([lbl.mlpOut(s), lbl.mlpIn(r), "addition"]);
  }
  out.push([lbl.input, lbl.output(L), "addition"]);
  for (let s = 0; s < L; s++) out.push([lbl.mlpOut(s), lbl.output(L), "addition"]);
  for (const [l, h] of heads) {
    for (const x of "qkv") {
      out.push([lbl.qkvIn(l, h, x), lbl.qkv(l, h, x), "direct"]);
      for (let s = 0; s < l; s++) out.push([lbl.mlpOut(s), lbl.qkvIn(l, h, x), "addition"]);
    }
    for (let r = l; r < L; r++) out.push([lbl.result(l, h), lbl.mlpIn(r), "addition"]);
  }
  for (const [from, to, letters] of IOI_CONNECTIONS) {
    if (to === "OUTPUT") {
      for (const [l, h] of IOI_CIRCUIT[from]) out.push([lbl.result(l, h), lbl.output(L), "addition"]);
      continue; // result → mlp_in of later layers is already kept
    }
    for (const [l2, h2] of IOI_CIRCUIT[to]) for (const x of letters) {
      if (from === "INPUT") { out.push([lbl.input, lbl.qkvIn(l2, h2, x), "addition"]); continue; } // mlp_out senders already kept
      for (const [l1, h1] of IOI_CIRCUIT[from]) if (l1 < l2) out.push([lbl.result(l1, h1), lbl.qkvIn(l2, h2, x), "addition"]);
    }
  }
  return uniqueEdges(out);
}

export interface IoiTaskOptions {
  /** "validation" (default; the prompts ACDC runs on) or "test". */
  split?: Split;
  /** Prompts per split (default the paper's 100); 2× this many are drawn, as the code does. */
  numExamples?: number;
}

export interface IoiTask extends PaperTask {
  data: TaskData & { correct: number[]; incorrect: number[]; positions: number[] };
  prompts: { clean: IoiPrompt[]; corrupted: IoiPrompt[] };
}

/** The IOI task as the paper's get_all_ioi_things builds it. */
export function ioiTask(opts: IoiTaskOptions = {}): IoiTask {
  const split = checkSplit(opts.split), n = checkCount(opts.numExamples, 100, "numExamples");
  const clean = ioiCleanPrompts(2 * n), corrupted = ioiAbcPrompts(clean);
  const toks = (ps: IoiPrompt[]) => ps.map((p) => {
    const t = encode(p.text);
    if (t.length !== 16) throw new Error(`IOI prompt ${JSON.stringify(p.text)} is ${t.length} tokens, expected 16`);
    return t;
  });
  const ct = toks(clean), xt = toks(corrupted);
  const lo = split === "validation" ? 0 : n, rows = Array.from({ length: n }, (_, i) => lo + i);
  const correct = rows.map((i) => ct[i][15]);
  const incorrect = rows.map((i) => gpt2Token(" " + clean[i].s));
  return {
    key: "ioi", name: "IOI (GPT-2 small)", cfg: gpt2SmallConfig(), split,
    data: {
      clean: rows.map((i) => ct[i].slice(0, 15)), corrupted: rows.map((i) => xt[i].slice(0, 15)),
      positions: rows.map(() => 14), correct, incorrect,
    },
    prompts: { clean: rows.map((i) => clean[i]), corrupted: rows.map((i) => corrupted[i]) },
    metrics: { kl: () => klMetric(), task: () => logitDiffMetric(correct, incorrect) },
    groundTruth: ioiGroundTruth(),
    thresholds: { kl: logspace(-6, 0, 31), task: logspace(-4, 0, 21) },
    paper: { numExamples: 100, auc: { kl: { acdc: 0.869, hisp: 0.239, sp: 0.888 }, task: { acdc: 0.589, hisp: 0.227, sp: 0.837 } } },
  };
}
