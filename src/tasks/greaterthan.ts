// The paper's greater-than task on GPT-2 small (Conmy et al. 2023, §4, after
// Hanna et al. 2023; code in acdc/greaterthan/utils.py): prompts "The {noun}
// lasted from the year {YYYY} to {YY}" as GPT-2 token ids, the "01"
// corruption, the probability-difference metric and the ground-truth circuit.
//
// Data, reproduced exactly as far as can be checked without PyTorch (not
// available here): YEARS = for centuries 11–17, the years c02..c98
// whose " YYYY" encodes as [" YY", "YY"], less the first and the last such
// year of each century (604 years); get_year_data(2·100) seeds PyTorch with
// torch.random.manual_seed(54) and draws torch.randint(0, 120, (200,)) nouns
// then torch.randint(0, 604, (200,)) years (PyTorch's CPU generator is
// MT19937 seeded by init_genrand, and randint is low + draw % range, drawn
// serially; checked against the well-known torch.manual_seed(0) →
// randint(0, 10, (5,)) = 4, 9, 3, 0, 3, and the draws against MT19937 as
// NumPy computes it). Each prompt is "The {noun} lasted from
// the year {YYYY} to " + YY: 10 tokens, no BOS: The, noun, lasted, from, the,
// year, " YY", "YY", " to", " YY". The 120 nouns are each one token after a space.
// Corruption: token 7 (the year's last two digits) becomes 486 = "01".
// Split: the first 100 prompts validate, the next 100 test.
//
// Metric (greaterthan_metric): at the last position, p = softmax(logits);
// with csum the cumulative sum of p over the tokens "00".."99" and y the
// prompt's YY, −(csum[99] − 2·csum[y]) = −(P(> YY) − P(≤ YY)): higher is worse.
// The code takes csum[y] as 0 when y = 0; no year in YEARS ends in 00 or 01.
//
// Ground truth (GROUND_TRUTH.md "Greater-than", get_greaterthan_true_edges),
// built here by the code's own steps: 262 counted edges.
//
// Numbers from the paper and its code: 100 validation + 100 test prompts;
// seed 54; centuries 11–17; the 120 nouns; token 486; the groups (heads 0.1;
// 0.3, 0.5; MLPs 0–3; heads 5.5, 6.1, 6.9, 7.10, 8.11, 9.1; MLPs 8–11);
// thresholds from experiments/launch_spreadsheet.py (GROUND_TRUTH.md lists
// none for greater-than): 10^linspace(−6, −4, 11) for KL (the line it
// replaced, 10^linspace(−4, 0, 21), is commented out there) and
// 10^linspace(−3, −1, 21) for the task metric; edge AUCs, KL: ACDC 0.853,
// HISP 0.279, SP 0.820; task metric: 0.461, 0.275, 0.848.
import type { Metric } from "../metrics.js";
import { klMetric } from "../metrics.js";
import { InputError } from "../errors.js";
import { label, LETTERS } from "../names.js";
import { logspace } from "../thresholds.js";
import { checkCount, checkSplit, uniqueEdges, type PaperTask, type Split, type TaskData, type TaskEdge } from "./task.js";
import { TorchGenerator } from "./seeded.js";
import { gpt2Decode, gpt2Encode, gpt2Token } from "./gpt2-tokens.js";
import { gpt2SmallConfig } from "./paper-models.js";

/** acdc/greaterthan/utils.py NOUNS (120). */
export const GREATERTHAN_NOUNS: readonly string[] = [
  "abduction", "accord", "affair", "agreement", "appraisal", "assaults", "assessment", "attack", "attempts", "campaign",
  "captivity", "case", "challenge", "chaos", "clash", "collaboration", "coma", "competition", "confrontation", "consequence",
  "conspiracy", "construction", "consultation", "contact", "contract", "convention", "cooperation", "custody", "deal",
  "decline", "decrease", "demonstrations", "development", "disagreement", "disorder", "dispute", "domination", "dynasty", "effect",
  "effort", "employment", "endeavor", "engagement", "epidemic", "evaluation", "exchange", "existence", "expansion",
  "expedition", "experiments", "fall", "fame", "flights", "friendship", "growth", "hardship", "hostility", "illness",
  "impact", "imprisonment", "improvement", "incarceration", "increase", "insurgency", "invasion", "investigation", "journey",
  "kingdom", "marriage", "modernization", "negotiation", "notoriety", "obstruction", "operation", "order", "outbreak",
  "outcome", "overhaul", "patrols", "pilgrimage", "plague", "plan", "practice", "process", "program", "progress",
  "project", "pursuit", "quest", "raids", "reforms", "reign", "relationship", "retaliation", "riot", "rise", "rivalry", "romance",
  "rule", "sanctions", "shift", "siege", "slump", "stature", "stint", "strikes", "study",
  "test", "testing", "tests", "therapy", "tour", "tradition", "treaty", "trial", "trip", "unemployment",
  "voyage", "warfare", "work",
];

/** The token the corruption writes at position 7: "01". */
export const GREATERTHAN_CORRUPT_TOKEN = 486;

/** GreaterThanConstants.YEARS: per century 11–17, the years c02..c98 that split as " YY" + "YY", less the first and last. */
export function greaterThanYears(): string[] {
  const years: string[] = [];
  for (let c = 11; c < 18; c++) {
    const ok: string[] = [];
    for (let y = c * 100 + 2; y < c * 100 + 99; y++) {
      const s = String(y), a = gpt2Encode(" " + s);
      if (a.length === 2 && a[0] === gpt2Encode(" " + s.slice(0, 2))[0] && a[1] === gpt2Encode(s.slice(2))[0]) ok.push(s);
    }
    years.push(...ok.slice(1, -1));
  }
  return years;
}

/** Token ids of "00".."99" (GreaterThanConstants.TOKENS). */
export function yearSuffixTokens(): number[] {
  return Array.from({ length: 100 }, (_, i) => gpt2Token(String(i).padStart(2, "0")));
}

export interface GreaterThanPrompt { text: string; noun: string; year: string }

/** get_year_data(n): torch.manual_seed(54), n noun draws, then n year draws. */
export function greaterThanPrompts(n: number): GreaterThanPrompt[] {
  const years = greaterThanYears(), g = new TorchGenerator(54);
  const nouns = g.randint(0, GREATERTHAN_NOUNS.length, n), ys = g.randint(0, years.length, n);
  return nouns.map((ni, i) => {
    const noun = GREATERTHAN_NOUNS[ni], year = years[ys[i]];
    return { text: `The ${noun} lasted from the year ${year} to ${year.slice(0, 2)}`, noun, year };
  });
}

/**
 * greaterthan_metric: −mean over rows of (csum[99] − 2·csum[y]), csum the
 * cumulative softmax probability over `suffixTokens` ("00".."99") and y the
 * prompt's YY (`yearEnds[prompt]`). Rows map to prompts through rowPrompt.
 */
export function greaterThanMetric(yearEnds: ArrayLike<number>, suffixTokens: ArrayLike<number> = yearSuffixTokens()): Metric {
  if (suffixTokens.length !== 100) throw new InputError(`greater-than: need 100 suffix tokens, got ${suffixTokens.length}`);
  const csum = new Float64Array(100);
  let lp = 0; // log-softmax [R,V], by the kernel: the R×V work stays in wasm
  return {
    name: "greaterthan",
    init(ctx) {
      lp = ctx.engine.allocF32(ctx.rows * ctx.vocab);
      for (const t of Array.from(suffixTokens)) if (!Number.isInteger(t) || t < 0 || t >= ctx.vocab) throw new InputError(`greater-than: token ${t} is outside the vocabulary [0, ${ctx.vocab})`);
      for (let r = 0; r < ctx.rows; r++) {
        const y = yearEnds[ctx.rowPrompt[r]];
        if (!Number.isInteger(y) || y < 0 || y > 99) throw new InputError(`greater-than: row ${r} has year end ${y}, expected 0..99`);
      }
    },
    compute(logits, ctx) {
      const { rows: R, vocab: V } = ctx;
      ctx.engine.k.logSoftmax(lp, logits, R, V);
      const x = ctx.engine.f32(lp, R * V);
      let s = 0;
      for (let r = 0; r < R; r++) {
        const o = r * V;
        let acc = 0;
        for (let i = 0; i < 100; i++) { acc += Math.exp(x[o + suffixTokens[i]]); csum[i] = acc; }
        const y = yearEnds[ctx.rowPrompt[r]];
        s += csum[99] - 2 * (y === 0 ? 0 : csum[y]);
      }
      return -s / R;
    },
  };
}

export const GREATERTHAN_CIRCUIT: Readonly<Record<string, readonly (readonly [number, number | null])[]>> = {
  "0305": [[0, 3], [0, 5]],
  "01": [[0, 1]],
  MEARLY: [[0, null], [1, null], [2, null], [3, null]],
  AMID: [[5, 5], [6, 1], [6, 9], [7, 10], [8, 11], [9, 1]],
  MLATE: [[8, null], [9, null], [10, null], [11, null]],
};

/** get_greaterthan_true_edges, step by step. */
export function greaterThanGroundTruth(): TaskEdge[] {
  const L = 12, C = GREATERTHAN_CIRCUIT, out: TaskEdge[] = [];
  // A component's senders (outp) or receivers.
  const hooks = (l: number, h: number | null, outp: boolean): string[] =>
    outp ? [h === null ? label.mlpOut(l) : label.result(l, h)] : h === null ? [label.mlpIn(l)] : LETTERS.map((x) => label.qkvInput(l, x, h));
  for (const g of ["0305", "01", "MEARLY"]) for (const [l, h] of C[g]) for (const r of hooks(l, h, false)) out.push([label.input(), r, "addition"]);
  for (const g of ["AMID", "MLATE"]) for (const [l, h] of C[g]) for (const s of hooks(l, h, true)) out.push([s, label.output(L), "addition"]);
  for (const g of ["MEARLY", "MLATE"]) for (const [i1] of C[g]) for (const [i2] of C[g]) if (i1 < i2) out.push([label.mlpOut(i1), label.mlpIn(i2), "addition"]);
  for (const [g1, g2] of [["01", "MEARLY"], ["01", "AMID"], ["0305", "AMID"], ["MEARLY", "AMID"], ["AMID", "MLATE"]]) {
    for (const [i1, j1] of C[g1]) for (const [i2, j2] of C[g2]) {
      // Same layer only from a head to that layer's MLP.
      if (i1 >= i2 && !(i1 === i2 && j1 !== null && j2 === null)) continue;
      for (const s of hooks(i1, j1, true)) for (const r of hooks(i2, j2, false)) out.push([s, r, "addition"]);
    }
  }
  for (const [l, h] of Object.values(C).flat()) if (h !== null) for (const x of LETTERS) out.push([label.qkvInput(l, x, h), label.qkv(l, x, h), "direct"]);
  // Hanna et al.'s AMID queries read clean MLPs: all MLPs before the last AMID layer are chained, and feed every AMID q.
  const maxAmid = Math.max(...C.AMID.map(([l]) => l));
  for (let s = 0; s < maxAmid; s++) for (let r = s + 1; r < maxAmid; r++) out.push([label.mlpOut(s), label.mlpIn(r), "addition"]);
  for (const [l, h] of C.AMID) for (let s = 0; s < l; s++) out.push([label.mlpOut(s), label.qkvInput(l, "q", h as number), "addition"]);
  return uniqueEdges(out);
}

export interface GreaterThanTaskOptions {
  split?: Split;
  /** Prompts per split (default the paper's 100); the draws depend on it, as get_year_data(2·n) draws. */
  numExamples?: number;
}

export interface GreaterThanTask extends PaperTask {
  data: TaskData & { positions: number[] };
  /** YY of each prompt (0–99), what the metric compares against. */
  yearEnds: number[];
  prompts: GreaterThanPrompt[];
}

/** The greater-than task as get_all_greaterthan_things builds it. */
export function greaterThanTask(opts: GreaterThanTaskOptions = {}): GreaterThanTask {
  const split = checkSplit(opts.split), n = checkCount(opts.numExamples, 100, "numExamples");
  const all = greaterThanPrompts(2 * n);
  const toks = all.map((p) => {
    const t = gpt2Encode(p.text);
    if (t.length !== 10 || gpt2Decode([t[7]]) !== p.year.slice(2)) throw new InputError(`greater-than prompt ${JSON.stringify(p.text)} does not tokenise as 10 tokens with the year's end at 7`);
    return t;
  });
  const lo = split === "validation" ? 0 : n, rows = Array.from({ length: n }, (_, i) => lo + i);
  const clean = rows.map((i) => toks[i]);
  const corrupted = clean.map((t) => t.map((x, j) => (j === 7 ? GREATERTHAN_CORRUPT_TOKEN : x)));
  const yearEnds = rows.map((i) => Number(all[i].year.slice(2)));
  const suffix = yearSuffixTokens();
  return {
    key: "greaterthan", name: "Greater-than (GPT-2 small)", cfg: gpt2SmallConfig(), split,
    data: { clean, corrupted, positions: rows.map(() => 9) },
    yearEnds, prompts: rows.map((i) => all[i]),
    metrics: { kl: () => klMetric(), task: () => greaterThanMetric(yearEnds, suffix) },
    defaultMetric: "kl", defaultAblation: "corrupted",
    groundTruth: greaterThanGroundTruth(),
    thresholds: { kl: logspace(-6, -4, 11), task: logspace(-3, -1, 21) },
    paper: { numExamples: 100, auc: { kl: { acdc: 0.853, hisp: 0.279, sp: 0.82 }, task: { acdc: 0.461, hisp: 0.275, sp: 0.848 } } },
  };
}
