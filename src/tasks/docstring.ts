// The paper's docstring task on attn-only-4l (Conmy et al. 2023, §4, after
// Heimersheim & Janiak 2023; code in acdc/docstring/utils.py and
// acdc/docstring/prompts.py): prompts, their "random_random" corruption,
// the docstring metric and the 37-edge ground truth.
//
// Model: TransformerLens "attn-only-4l" (NeelNanda/Attn_Only_4L512W_C4_Code):
// 4 layers × 8 heads of 64, d_model 512, attention only, LNPre (here "LN"),
// 48,262 tokens of NeelNanda/gpt-neox-tokenizer-digits, not GPT-2's. nCtx is
// set to 1,024 without a check against the model's config: the prompts use 41.
//
// Data: the prompt strings are reproduced exactly (checked against the
// paper's generator, transcribed and run in CPython 3.11): prompt i of 2·50 is
// docstring_induction_prompt_generator("rest", n_matching_args=3,
// n_def_prefix_args=2, n_def_suffix_args=1, n_doc_prefix_args=0,
// met_desc_len=3, arg_desc_len=2, seed=i), which seeds Python's `random` with
// i and draws random.sample of 15 of the 111 variable names (method name,
// a spare answer, 3 + 2 replacement arguments, 2 non-matching, 3 matching,
// 2 prefix, 1 suffix), 3 description words and 2 × 2 argument-description
// words from the 687 nouns. The clean prompt is
//   \ndef M(self, p1, p2, m1, m2, m3, s1):\n    """d1 d2 d3\n\n    :param m1: a b\n    :param m2: c d\n    :param
// and the answer " m3"; the wrong answers are the other 13 drawn arguments.
// Corruption "random_random" (get_all_docstring_things' default
// dataset_version): m1, m2, m3 in the definition and the two documented
// arguments replaced by the 3 + 2 fresh names.
// Token ids need the model's tokenizer, which this package does not ship
// (nor can fetch): pass one as `tokenizer` ({ encode, bos }) to get `data`,
// built as the code builds it (to_tokens with a prepended BOS, 41 tokens;
// answers are the first token of each " name"); without it `data` is null and
// `prompts` holds the strings.
//
// Metric (raw_docstring_metric): at the last position,
// −mean(logit[correct] − max over the 13 wrong logits); higher is worse.
// Ground truth: get_docstring_subgraph_true_edges, 37 edges as listed there.
//
// Numbers from the paper and its code: 50 validation + 50 test prompts
// (seeds 0–49 and 50–99); 41 tokens with BOS; the generator arguments above;
// thresholds 10^linspace(−4, 0, 21) for both metrics (GROUND_TRUTH.md);
// edge AUCs, KL: ACDC 0.982, HISP 0.183, SP 0.937; docstring metric: 0.972,
// 0.177, 0.942.
import type { Metric } from "../metrics.js";
import { klMetric } from "../metrics.js";
import { InputError } from "../errors.js";
import { label } from "../names.js";
import type { Letter } from "../names.js";
import { logspace } from "../thresholds.js";
import { checkCount, checkSplit, type PaperTask, type Split, type TaskData, type TaskEdge } from "./task.js";
import { PythonRandom } from "./seeded.js";
import { attnOnly4lConfig } from "./paper-models.js";

/** prompts.py variable_names (111). */
export const DOCSTRING_VARIABLE_NAMES: readonly string[] = (
  "data name file value test new result line user key default request path output node item url model " +
  "response text version function log string field start number values sub index error current context " +
  "image message check json create size event state row obj parser end files form query fields instance " +
  "label run action target array code num table source msg config first required options ret update " +
  "module status group content client filename results last read command val base format color settings " +
  "order found count match tag title parent call session token server host date description mode " +
  "expected project info valid page header option task shape load names port old resource root"
).split(" ");

/** prompts.py common_single_token_nouns (687). */
export const DOCSTRING_NOUNS: readonly string[] = [
  "price", "control", "action", "cost", "issue", "process", "position", "course", "minute", "education", "type",
  "research", "subject", "girl", "age", "father", "force", "order", "value", "act", "matter", "health", "lot",
  "street", "patient", "class", "mind", "church", "condition", "paper", "bank", "century", "section",
  "activity", "table", "building", "sense", "sort", "staff", "team", "student", "language", "town", "plan",
  "management", "morning", "committee", "product", "practice", "evidence", "ground", "letter", "foot", "boy",
  "back", "game", "food", "union", "role", "event", "land", "art", "support", "range", "stage", "trade",
  "voice", "arm", "club", "field", "history", "parent", "account", "material", "care", "manager", "project",
  "record", "example", "training", "window", "air", "light", "wife", "quality", "rule", "pound", "story", "tax",
  "worker", "data", "model", "nature", "bed", "hospital", "method", "unit", "detail", "date", "wall",
  "computer", "amount", "bit", "president", "chapter", "property", "son", "director", "leader", "south",
  "application", "board", "king", "production", "operation", "share", "lord", "contract", "picture", "test",
  "security", "election", "source", "colour", "future", "site", "loss", "shop", "animal", "heart", "purpose",
  "standard", "page", "doctor", "factor", "hair", "love", "music", "charge", "pattern", "design", "piece",
  "population", "tree", "knowledge", "performance", "plant", "pressure", "fire", "environment", "size",
  "analysis", "rest", "success", "thought", "region", "list", "relation", "set", "space", "statement", "demand",
  "sea", "step", "capital", "choice", "player", "station", "film", "feature", "income", "individual", "cup",
  "technology", "machine", "cell", "degree", "energy", "growth", "treatment", "mile", "function", "risk",
  "sound", "task", "top", "resource", "floor", "science", "style", "hall", "horse", "response", "character",
  "user", "answer", "dog", "look", "brother", "argument", "season", "bill", "element", "glass", "duty", "claim",
  "fund", "leg", "park", "title", "note", "daughter", "sun", "box", "river", "profit", "division", "stone",
  "post", "client", "help", "image", "oil", "sector", "attack", "direction", "seat", "employment", "goal",
  "sign", "ability", "campaign", "fish", "item", "medium", "show", "version", "drug", "library", "press",
  "surface", "blood", "culture", "memory", "return", "bar", "talk", "access", "deal", "star", "text", "cause",
  "mouth", "payment", "context", "reference", "second", "article", "chair", "earth", "object", "agency", "card",
  "collection", "communication", "public", "document", "weight", "bird", "rock", "call", "edge", "miss",
  "option", "quarter", "stock", "aid", "concept", "match", "network", "radio", "target", "finger", "forest",
  "race", "sex", "ball", "crime", "message", "peace", "review", "scale", "scene", "speech", "band",
  "expression", "hill", "reader", "owner", "trust", "truth", "turn", "file", "past", "start", "trial",
  "balance", "copy", "league", "length", "wind", "front", "move", "pain", "spirit", "train", "contact",
  "official", "strength", "cash", "gas", "shape", "agent", "pair", "protection", "rise", "driver", "master",
  "meaning", "vote", "adult", "play", "fig", "route", "speed", "credit", "impact", "danger", "flower", "half",
  "path", "track", "video", "aim", "bag", "comment", "content", "distance", "gold", "link", "skin", "boat",
  "dad", "prison", "sight", "wine", "offer", "writer", "hole", "package", "confidence", "generation", "key",
  "phone", "sample", "ship", "threat", "volume", "author", "background", "engine", "entry", "stuff", "yard",
  "bus", "regulation", "row", "song", "category", "consumer", "football", "meal", "wood", "bridge",
  "description", "existence", "flat", "lip", "session", "sheet", "code", "flight", "limit", "plate", "rain",
  "respect", "writing", "capacity", "dream", "selection", "spring", "while", "definition", "egg", "examination",
  "mark", "notice", "output", "will", "address", "bottom", "kid", "middle", "neck", "run", "acid", "assembly",
  "birth", "ear", "error", "module", "store", "transfer", "wave", "channel", "component", "cut", "fee", "lead",
  "weather", "block", "brain", "guide", "program", "screen", "connection", "cover", "map", "metal", "phase",
  "pool", "search", "sequence", "sky", "sum", "trip", "cat", "display", "gallery", "gate", "heat", "location",
  "reading", "theme", "drive", "faith", "hell", "learning", "opening", "priority", "spot", "tool", "castle",
  "coal", "flow", "lane", "motion", "release", "total", "wing", "border", "index", "pocket", "ring", "billion",
  "device", "engineering", "fruit", "lake", "leaf", "pub", "request", "square", "tone", "walk", "chain",
  "circle", "creation", "fall", "present", "shot", "fashion", "god", "mass", "panel", "fan", "iron", "origin",
  "ticket", "bone", "cancer", "chief", "editor", "fuel", "general", "height", "round", "vision", "warning",
  "being", "cross", "living", "rail", "working", "column", "finding", "gap", "grass", "plane", "root", "score",
  "shadow", "shock", "touch", "database", "formation", "male", "ref", "resident", "resolution", "topic",
  "break", "camp", "currency", "phrase", "thinking", "coat", "mill", "stress", "boot", "command", "depth",
  "female", "frame", "framework", "holder", "ice", "inch", "port", "protein", "rose", "saving", "string",
  "wheel", "bishop", "cycle", "export", "hat", "load", "mode", "setting", "stairs", "travel", "average",
  "camera", "focus", "green", "guard", "input", "layer", "poll", "sleep", "suit", "bread", "cake", "efficiency",
  "peak", "self", "angle", "bay", "bid", "cloud", "custom", "dollar", "variable", "zone", "actor", "chip",
  "core", "final", "frequency", "gain", "guy", "relative", "rent", "reply", "secret", "shirt", "apple",
  "instance", "intelligence", "lad", "pipe", "anger", "disk", "fight", "hero", "journal", "left", "mail",
  "pace", "paragraph", "platform", "print", "rank", "sand", "scope", "shift", "stream", "chemical", "clock",
  "delay", "host", "human", "count", "mission", "pack", "seed", "tail", "tie", "watch", "dark", "hold", "mine",
  "net", "tip", "dimension", "operator", "professional", "shell", "storage", "summary", "tube", "conduct",
  "determination", "drop", "import", "label", "percent", "pot", "proof", "unity", "win", "wire", "bell",
  "comfort", "complex", "draft", "grade", "lift", "mouse", "movie", "profile", "standing", "belt", "black",
  "check", "joy", "local", "pit", "red", "register", "storm", "album", "ban", "bench", "button", "cap", "chart",
  "coin", "dust", "folk", "margin", "pole", "stand", "stick", "tin"
];

export interface DocstringPrompt {
  clean: string;
  /** The "random_random" corruption. */
  corrupted: string;
  /** " m3". */
  correct: string;
  /** The other 13 drawn arguments, each with a leading space, in draw order. */
  wrong: string[];
}

/** docstring_prompt_templ for style "rest" without defaults. */
function template(metName: string, metDesc: string[], defArgs: string[], docArgs: string[], docDesc: string[][]): string {
  const ind4 = "    ";
  const defAndDesc = `def ${metName}(self, ${defArgs.join(", ")}):\n${ind4}"""${metDesc.join(" ")}\n`;
  const docLines = docArgs.map((a, i) => `${ind4}:param ${a}: ${docDesc[i].join(" ")}`).join("\n");
  return `\n${defAndDesc}\n${docLines}\n${ind4}:param`;
}

/** docstring_induction_prompt_generator("rest", 3 matching, 2 prefix, 1 suffix, 0 doc prefix, met_desc_len 3, arg_desc_len 2, seed). */
export function docstringPrompt(seed: number): DocstringPrompt {
  const nMatch = 3, nNot = nMatch - 1, nPre = 2, nSuf = 1, nDocPre = 0;
  const r = new PythonRandom(seed);
  const [metName, ...allArgs] = r.sample(DOCSTRING_VARIABLE_NAMES, 2 + nMatch + nNot + nNot + nMatch + nPre + nSuf + nDocPre);
  let rest = allArgs.slice(1); // allArgs[0] is random_answer, unused by random_random
  const take = (k: number) => { const x = rest.slice(0, k); rest = rest.slice(k); return x; };
  const rrDef = take(nMatch), rrDoc = take(nNot);
  take(nNot); // not_matching_args
  const matching = take(nMatch), pre = take(nPre), suf = take(nSuf), docPre = take(nDocPre);
  const cleanDef = [...pre, ...matching, ...suf], cleanDoc = [...docPre, ...matching.slice(0, -1)];
  const metDesc = r.sample(DOCSTRING_NOUNS, 3);
  const docDesc = cleanDoc.map(() => r.sample(DOCSTRING_NOUNS, 2));
  const answer = matching[nMatch - 1];
  return {
    clean: template(metName, metDesc, cleanDef, cleanDoc, docDesc),
    corrupted: template(metName, metDesc, [...pre, ...rrDef, ...suf], [...docPre, ...rrDoc], docDesc),
    correct: " " + answer,
    wrong: allArgs.filter((a) => a !== answer).map((a) => " " + a),
  };
}

/**
 * raw_docstring_metric: −mean over rows of (logit[correct] − max over the
 * row's wrong tokens); one row per prompt (rows map through rowPrompt).
 */
export function docstringMetric(correct: ArrayLike<number>, wrong: readonly (readonly number[])[]): Metric {
  return {
    name: "docstring",
    init(ctx) {
      if (correct.length !== wrong.length) throw new InputError(`docstring: ${correct.length} correct tokens but ${wrong.length} wrong lists`);
      for (let r = 0; r < ctx.rows; r++) {
        const b = ctx.rowPrompt[r];
        if (b >= correct.length) throw new InputError(`docstring: no answer for prompt ${b}`);
        if (wrong[b].length === 0) throw new InputError(`docstring: prompt ${b} has no wrong tokens`);
        for (const t of [correct[b], ...wrong[b]]) if (!Number.isInteger(t) || t < 0 || t >= ctx.vocab) throw new InputError(`docstring: token ${t} is outside the vocabulary [0, ${ctx.vocab})`);
      }
    },
    compute(logits, ctx) {
      const { rows: R, vocab: V } = ctx;
      const x = ctx.engine.f32(logits, R * V);
      let s = 0;
      for (let r = 0; r < R; r++) {
        const b = ctx.rowPrompt[r], o = r * V;
        let m = -Infinity;
        for (const t of wrong[b]) if (x[o + t] > m) m = x[o + t];
        s += x[o + correct[b]] - m;
      }
      return -s / R;
    },
  };
}

const H = (l: number, h: number) => label.result(l, h);

/** get_docstring_subgraph_true_edges ("the manual graph, from Stefan"), 37 edges in the code's order. */
export function docstringGroundTruth(): TaskEdge[] {
  const inp = label.input(), q = (l: number, h: number, x: Letter) => label.qkvInput(l, x, h);
  const d = (l: number, h: number, x: Letter): TaskEdge => [label.qkvInput(l, x, h), label.qkv(l, x, h), "direct"];
  const a = (p: string, c: string): TaskEdge => [p, c, "addition"];
  const out: TaskEdge[] = [
    a(H(0, 5), q(1, 4, "v")), d(0, 5, "v"), a(inp, q(0, 5, "v")),
    d(2, 0, "q"), a(inp, q(2, 0, "q")), a(H(0, 5), q(2, 0, "q")),
    d(2, 0, "k"), a(inp, q(2, 0, "k")), a(H(0, 5), q(2, 0, "k")),
    d(2, 0, "v"), a(H(1, 4), q(2, 0, "v")),
    d(1, 4, "v"), a(inp, q(1, 4, "v")),
    d(1, 2, "q"), d(1, 2, "k"), a(inp, q(1, 2, "q")), a(inp, q(1, 2, "k")), a(H(0, 5), q(1, 2, "q")), a(H(0, 5), q(1, 2, "k")),
  ];
  for (const h of [0, 6]) {
    out.push(
      a(H(3, h), label.output(4)),
      d(3, h, "q"), a(H(1, 4), q(3, h, "q")),
      d(3, h, "v"), a(inp, q(3, h, "v")), a(H(0, 5), q(3, h, "v")),
      d(3, h, "k"), a(H(2, 0), q(3, h, "k")), a(H(1, 2), q(3, h, "k")),
    );
  }
  return out;
}

/** A tokenizer for the docstring model: encode without BOS, and the BOS id to prepend. */
export interface DocstringTokenizer {
  encode(text: string): number[];
  bos: number;
}

export interface DocstringTaskOptions {
  split?: Split;
  /** Prompts per split (default the paper's 50); prompt i uses seed i, the test split seeds n..2n−1. */
  numExamples?: number;
  /** attn-only-4l's tokenizer (NeelNanda/gpt-neox-tokenizer-digits); without it `data` is null. */
  tokenizer?: DocstringTokenizer;
}

export interface DocstringTask extends PaperTask<(TaskData & { positions: number[]; correct: number[]; wrong: number[][] }) | null> {
  prompts: DocstringPrompt[];
}

/** The docstring task as get_all_docstring_things builds it (dataset_version "random_random"). */
export function docstringTask(opts: DocstringTaskOptions = {}): DocstringTask {
  const split = checkSplit(opts.split), n = checkCount(opts.numExamples, 50, "numExamples");
  const lo = split === "validation" ? 0 : n;
  const prompts = Array.from({ length: n }, (_, i) => docstringPrompt(lo + i));
  let data: DocstringTask["data"] = null;
  const tk = opts.tokenizer;
  if (tk) {
    const toks = (s: string) => [tk.bos, ...tk.encode(s)];
    const first = (s: string) => { const t = tk.encode(s); if (t.length === 0) throw new InputError(`docstring: ${JSON.stringify(s)} encodes to no tokens`); return t[0]; };
    const clean = prompts.map((p) => toks(p.clean)), corrupted = prompts.map((p) => toks(p.corrupted));
    const T = clean[0].length;
    for (const [i, t] of [...clean, ...corrupted].entries()) if (t.length !== T) throw new InputError(`docstring: prompt ${i % n} tokenises to ${t.length} tokens, not ${T} like the first (the paper stacks them unpadded)`);
    const correct = prompts.map((p) => first(p.correct));
    const wrong = prompts.map((p) => p.wrong.map(first));
    data = { clean, corrupted, positions: prompts.map(() => T - 1), correct, wrong };
  }
  const need = () => { if (!data) throw new InputError("docstring: the task metric needs token ids; pass the model's tokenizer as `tokenizer`"); return data; };
  return {
    key: "docstring", name: "Docstring (attn-only-4l)", cfg: attnOnly4lConfig(), split, data, prompts,
    metrics: { kl: () => klMetric(), task: () => { const d = need(); return docstringMetric(d.correct, d.wrong); } },
    defaultMetric: "kl", defaultAblation: "corrupted",
    groundTruth: docstringGroundTruth(),
    thresholds: { kl: logspace(-4, 0, 21), task: logspace(-4, 0, 21) },
    paper: { numExamples: 50, auc: { kl: { acdc: 0.982, hisp: 0.183, sp: 0.937 }, task: { acdc: 0.972, hisp: 0.177, sp: 0.942 } } },
  };
}
