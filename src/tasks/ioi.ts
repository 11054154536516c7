// The paper's IOI task on GPT-2 small (Conmy et al. 2023, §4; code in
// acdc/ioi/utils.py get_all_ioi_things and acdc/ioi/ioi_dataset.py): clean
// and ABC-corrupted prompts as GPT-2 token ids, the KL and logit-difference
// metrics, and the ground-truth circuit as this project's edge labels.
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
import { klMetric, logitDiffMetric } from "../metrics.js";
import { label, LETTERS, type Letter } from "../names.js";
import { logspace } from "../thresholds.js";
import { checkCount, checkSplit, uniqueEdges, type PaperTask, type Split, type TaskData, type TaskEdge } from "./task.js";
import { NumpyRandomState, PythonRandom } from "./seeded.js";
import { gpt2Encode, gpt2Token } from "./gpt2-tokens.js";
import { gpt2SmallConfig } from "./paper-models.js";
import { InputError } from "../errors.js";
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
    const first = (w: string) => { const i = t.indexOf(w); if (i < 0) throw new InputError(`IOI flip: ${w} not in ${p.text}`); return i; };
    const last = (w: string) => { const i = t.lastIndexOf(w); if (i < 0) throw new InputError(`IOI flip: ${w} not in ${p.text}`); return i; };
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
    out.push([label.input(), label.mlpIn(r), "addition"]);
    for (let s = 0; s < r; s++) out.push([label.mlpOut(s), label.mlpIn(r), "addition"]);
  }
  out.push([label.input(), label.output(L), "addition"]);
  for (let s = 0; s < L; s++) out.push([label.mlpOut(s), label.output(L), "addition"]);
  for (const [l, h] of heads) {
    for (const x of LETTERS) {
      out.push([label.qkvInput(l, x, h), label.qkv(l, x, h), "direct"]);
      for (let s = 0; s < l; s++) out.push([label.mlpOut(s), label.qkvInput(l, x, h), "addition"]);
    }
    for (let r = l; r < L; r++) out.push([label.result(l, h), label.mlpIn(r), "addition"]);
  }
  for (const [from, to, letters] of IOI_CONNECTIONS) {
    if (to === "OUTPUT") {
      for (const [l, h] of IOI_CIRCUIT[from]) out.push([label.result(l, h), label.output(L), "addition"]);
      continue; // result → mlp_in of later layers is already kept
    }
    for (const [l2, h2] of IOI_CIRCUIT[to]) for (const x of [...letters] as Letter[]) {
      if (from === "INPUT") { out.push([label.input(), label.qkvInput(l2, x, h2), "addition"]); continue; } // mlp_out senders already kept
      for (const [l1, h1] of IOI_CIRCUIT[from]) if (l1 < l2) out.push([label.result(l1, h1), label.qkvInput(l2, x, h2), "addition"]);
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
    const t = gpt2Encode(p.text);
    if (t.length !== 16) throw new InputError(`IOI prompt ${JSON.stringify(p.text)} is ${t.length} tokens, expected 16`);
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
    defaultMetric: "kl", defaultAblation: "corrupted",
    groundTruth: ioiGroundTruth(),
    thresholds: { kl: logspace(-6, 0, 31), task: logspace(-4, 0, 21) },
    paper: { numExamples: 100, auc: { kl: { acdc: 0.869, hisp: 0.239, sp: 0.888 }, task: { acdc: 0.589, hisp: 0.227, sp: 0.837 } } },
  };
}
