// A task written as text (a task file, task-file.ts) made into a Task:
// prompts tokenized, the positions the metric reads found, answers and
// targets turned into token ids, everything checked against the tokenizer and
// the model's geometry, the ground truth checked against the model's graph.
// Core code with no tokenizer of its own: the caller brings a loaded one
// (text-task-load.ts loads the one a file names), so run manifests and the
// fetch handler rebuild a task without pulling in the tokenizer libraries.
//
// Tokenization choices (README "Tasks written as text"):
// - A text answer (correct, incorrect) or nll target is the text that
//   follows the prompt, spaces included (" Mary"), and is tokenized in that
//   context: its tokens are those of prompt + answer after the prompt's own.
//   This is what the model would see, whatever the tokenizer (GPT-2 keeps
//   " Mary" whole; a SentencePiece one has no separate leading space).
// - bos adds the tokenizer's BOS to text prompts only: a token-id prompt is
//   used exactly as written.
// - A {"marker": text} position is the token where the marker's text ends
//   (what the model reads there predicts what follows the marker); a
//   {"token": t} position is a token whose piece ("Ġto", "▁to") or text
//   (" to") is t, or whose id is t.
//
// Every error about a prompt is one line: the file, the prompt's index, its
// text and its tokens as the tokenizer spells them, and what is wrong.
//
// Unlike the built-in tasks this builds the model's graph (buildGraph) to
// check the file's ground-truth labels, so a typo is refused here, not
// after a sweep has run.
import { InputError } from "../errors.js";
import type { ModelConfig } from "../model/config.js";
import { buildGraph } from "../graph/graph.js";
import { klMetric, logitDiffMetric, nllMetric } from "../metrics.js";
import { logspace } from "../thresholds.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";
import type { Task, TaskData, TaskEdge } from "./task.js";
import type { AnswerSpec, PromptSpec, TaskSpec } from "./task-file.js";

/** The data of a text task: corrupted is absent when the file leaves it out (zero or mean ablation). */
export type TextTaskData = Omit<TaskData, "corrupted"> & { corrupted?: number[][]; /** nll: the target token each metric row predicts. */ labels?: number[] };

/** A task file made into a Task, with what it was made from. */
export interface TextTask extends Task<TextTaskData> {
  source: string;
  spec: TaskSpec;
  tokenizer: Tokenizer | null;
  /** Each prompt's text (null where the file gives token ids). */
  texts: { clean: (string | null)[]; corrupted: (string | null)[] };
}

/** Default threshold sweep, the paper's induction one: 10^linspace(−4, 0, 21). */
const DEFAULT_THRESHOLDS = () => logspace(-4, 0, 21);
const MAX_SHOWN_TOKENS = 64;

/** Text of a prompt for a message, cut in the middle when long. */
function showText(s: string): string {
  return JSON.stringify(s.length > 100 ? `${s.slice(0, 60)}…${s.slice(-30)}` : s);
}

/** Tokens as the tokenizer spells them (["▁The", "▁cat"]), or ids without one; cut in the middle when long. */
function showTokens(tok: Tokenizer | null, ids: number[]): string {
  const one = (id: number) => {
    if (tok === null || !Number.isInteger(id) || id < 0 || id >= tok.vocabSize) return String(id);
    try { return JSON.stringify(tok.piece(id)); } catch { return String(id); } // an id the vocabulary skips
  };
  const parts = ids.length > MAX_SHOWN_TOKENS
    ? [...ids.slice(0, 24).map(one), `… ${ids.length - 48} more …`, ...ids.slice(-24).map(one)]
    : ids.map(one);
  return `[${parts.join(", ")}]`;
}

/** Build the Task: tokenize and check every prompt, answer, target, position and ground-truth edge. */
export function buildTextTask(spec: TaskSpec, tok: Tokenizer | null, cfg: ModelConfig): TextTask {
  const src = spec.source;
  if (spec.tokenizer !== undefined && tok === null) throw new InputError(`${src}: the file names the tokenizer ${JSON.stringify(spec.tokenizer)} but none was given`);
  const n = spec.clean.length;
  const textOf = (p: PromptSpec) => (typeof p === "string" ? p : null);
  const texts = { clean: spec.clean.map(textOf), corrupted: (spec.corrupted ?? []).map(textOf) };

  // A prompt as a message names it: `clean prompt 3 "text" → ["▁The", …] (19 tokens)`.
  const who = (i: number, side: "clean" | "corrupted", ids: number[]) => {
    const t = texts[side][i];
    return `${side} prompt ${i} ${t === null ? "" : `${showText(t)} → `}${showTokens(tok, ids)} (${ids.length} token${ids.length === 1 ? "" : "s"})`;
  };
  const fail = (i: number, side: "clean" | "corrupted", ids: number[], msg: string) => new InputError(`${src}: ${who(i, side, ids)}: ${msg}`);
  const encode = (text: string, bos: boolean, what: string): number[] => {
    try {
      return tok!.encode(text, { bos });
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`${src}: ${what} ${showText(text)}: ${e.message}`);
      throw e;
    }
  };

  // Prompts as token ids.
  const tokenize = (p: PromptSpec, i: number, side: "clean" | "corrupted"): number[] => {
    if (typeof p !== "string") return p.slice();
    const ids = encode(p, spec.bos, `${side} prompt ${i}`);
    if (ids.length === 0) throw new InputError(`${src}: ${side} prompt ${i} ${showText(p)} has no tokens`);
    return ids;
  };
  const clean = spec.clean.map((p, i) => tokenize(p, i, "clean"));
  const corrupted = spec.corrupted?.map((p, i) => tokenize(p, i, "corrupted")) ?? null;

  // The text after a prompt, in context: its tokens are those of prompt + text beyond the prompt's own.
  const continuation = (i: number, text: string, what: string): number[] => {
    const own = clean[i], base = spec.bos ? own.slice(1) : own;
    const full = encode((texts.clean[i] as string) + text, false, `${what} after clean prompt ${i}`);
    if (full.length < base.length || base.some((id, j) => full[j] !== id)) {
      throw fail(i, "clean", own, `appending ${what} ${JSON.stringify(text)} changes the prompt's own tokens (prompt + ${what} → ${showTokens(tok, full)}); give ${what} as token ids`);
    }
    const rest = full.slice(base.length);
    if (rest.length === 0) throw fail(i, "clean", own, `${what} ${JSON.stringify(text)} adds no token after the prompt`);
    return rest;
  };

  // nll: the target follows the prompt in both runs (same tokens), and the metric reads the positions that predict it.
  let labels: number[] | undefined;
  const targetOf: number[][] = [];
  if (spec.target) {
    spec.target.forEach((t, i) => {
      if (typeof t !== "string") targetOf.push(t.slice());
      else if (texts.clean[i] === null) throw fail(i, "clean", clean[i], `the target ${JSON.stringify(t)} is text but the prompt is token ids; give the target as token ids`);
      else targetOf.push(continuation(i, t, "target"));
    });
  }

  // Shapes: clean and corrupted of one prompt alike, all prompts alike (they run as one batch).
  if (corrupted) {
    for (let i = 0; i < n; i++) {
      if (clean[i].length !== corrupted[i].length) {
        throw new InputError(`${src}: ${who(i, "clean", clean[i])} but ${who(i, "corrupted", corrupted[i])}; a prompt's clean and corrupted versions must have the same number of tokens`);
      }
    }
  }
  const inputs = (rows: number[][]) => rows.map((r, i) => (spec.target ? [...r, ...targetOf[i]] : r));
  const cleanIn = inputs(clean), corruptedIn = corrupted ? inputs(corrupted) : null;
  for (let i = 1; i < n; i++) {
    if (cleanIn[i].length !== cleanIn[0].length) {
      throw fail(i, "clean", clean[i], `${cleanIn[i].length} tokens${spec.target ? " with its target" : ""}, but prompt 0 has ${cleanIn[0].length}; every prompt must have the same number of tokens (the prompts run as one batch)`);
    }
  }
  const tokHint = tok && tok.vocabSize > cfg.dVocab ? ` (the tokenizer has ${tok.vocabSize} tokens: is it the model's?)` : "";
  for (const [side, rows] of [["clean", cleanIn], ["corrupted", corruptedIn]] as const) {
    if (!rows) continue;
    rows.forEach((row, i) => {
      if (row.length > cfg.nCtx) throw fail(i, side, row, `longer than the model's context (n_ctx = ${cfg.nCtx})`);
      const j = row.findIndex((id) => id >= cfg.dVocab);
      if (j >= 0) throw fail(i, side, row, `token ${row[j]} at position ${j} is outside the model's vocabulary [0, ${cfg.dVocab})${tokHint}`);
    });
  }

  // Positions the metric reads, per prompt.
  const positions = cleanIn.map((row, i) => promptPositions(spec, i, row, clean[i].length, targetOf[i], texts.clean[i], tok, (msg) => fail(i, "clean", row, msg)));
  if (spec.target) labels = targetOf.flat();

  // Answers (logit-diff), one per prompt, repeated for each position the prompt's metric reads.
  const answerId = (a: AnswerSpec, i: number, what: string): number => {
    if (typeof a === "number") {
      if (a >= cfg.dVocab) throw fail(i, "clean", clean[i], `${what} ${a} is outside the model's vocabulary [0, ${cfg.dVocab})`);
      return a;
    }
    if (texts.clean[i] === null) throw fail(i, "clean", clean[i], `${what} ${JSON.stringify(a)} is text but the prompt is token ids; give ${what} as a token id`);
    const ids = continuation(i, a, what);
    if (ids.length !== 1) {
      const first = tok!.decode([...clean[i], ids[0]]).slice(tok!.decode(clean[i]).length);
      throw fail(i, "clean", clean[i], `${what} ${JSON.stringify(a)} is ${ids.length} tokens after the prompt ${showTokens(tok, ids)}; logit-diff compares single tokens (give one token, e.g. its first: ${JSON.stringify(first)} or id ${ids[0]})`);
    }
    if (ids[0] >= cfg.dVocab) throw fail(i, "clean", clean[i], `${what} ${JSON.stringify(a)} is token ${ids[0]}, outside the model's vocabulary [0, ${cfg.dVocab})${tokHint}`);
    return ids[0];
  };
  let correct: number[] | undefined, incorrect: number[] | undefined;
  if (spec.correct && spec.incorrect) {
    const c = spec.correct.map((a, i) => answerId(a, i, "correct")), w = spec.incorrect.map((a, i) => answerId(a, i, "incorrect"));
    c.forEach((id, i) => { if (id === w[i]) throw fail(i, "clean", clean[i], `correct and incorrect are the same token (${showTokens(tok, [id])}); their logit difference is always 0`); });
    correct = positions.flatMap((ps, i) => ps.map(() => c[i]));
    incorrect = positions.flatMap((ps, i) => ps.map(() => w[i]));
  }

  const groundTruth = spec.groundTruth ? checkGroundTruth(spec, cfg) : null;
  const one = positions.every((ps) => ps.length === 1);
  const data: TextTaskData = { clean: cleanIn, positions: one ? positions.map((ps) => ps[0]) : positions };
  if (corruptedIn) data.corrupted = corruptedIn;
  if (correct && incorrect) { data.correct = correct; data.incorrect = incorrect; }
  if (labels) data.labels = labels;

  const metrics: Task["metrics"] = { kl: () => klMetric() };
  if (spec.metric === "logit-diff") metrics["logit-diff"] = () => logitDiffMetric(correct!, incorrect!);
  if (spec.metric === "nll") metrics.nll = () => nllMetric(labels!);
  const sweep = spec.thresholds ?? DEFAULT_THRESHOLDS();
  const stem = src.replace(/^.*[\\/]/, "").replace(/\.json$/i, "");
  return {
    key: stem, name: spec.name ?? stem, cfg, data, metrics,
    defaultMetric: spec.metric, defaultAblation: spec.ablation, groundTruth,
    thresholds: { kl: spec.metric === "kl" ? sweep : DEFAULT_THRESHOLDS(), [spec.metric]: sweep },
    source: src, spec, tokenizer: tok, texts,
  };
}

/**
 * The positions prompt `i` is read at. `row` is the model input (prompt, then
 * the nll target), `promptLen` the prompt's own length.
 */
function promptPositions(spec: TaskSpec, i: number, row: number[], promptLen: number, target: number[] | undefined, text: string | null, tok: Tokenizer | null, fail: (msg: string) => Error): number[] {
  const T = row.length, p = spec.positions;
  // nll: position t predicts token t + 1, so the target's k tokens are read from the prompt's last position on.
  if (target) return target.map((_, j) => promptLen - 1 + j);
  const index = (x: number) => {
    const q = x < 0 ? T + x : x;
    if (q < 0 || q >= T) throw fail(`position ${x} is outside its ${T} tokens (0 … ${T - 1}, or -${T} … -1 from the end)`);
    return q;
  };
  const pick = (found: number[], what: string) => {
    if (found.length === 0) throw fail(`${what} not found`);
    const occ = p.kind === "marker" || p.kind === "token" ? p.occurrence : "last";
    return occ === "first" ? [found[0]] : occ === "last" ? [found[found.length - 1]] : found;
  };
  switch (p.kind) {
    case "last": return [T - 1];
    case "index": return [index(p.index)];
    case "list": {
      const qs = p.perPrompt[i].map(index);
      const dup = qs.find((q, j) => qs.indexOf(q) !== j);
      if (dup !== undefined) throw fail(`positions[${i}] names position ${dup} twice (once from the end)`);
      return qs;
    }
    case "token": {
      const first = spec.bos && text !== null ? 1 : 0;
      const spans = text !== null && typeof p.token === "string" ? tokenSpans(tok!, row.slice(first), text) : null;
      const found: number[] = [];
      for (let t = first; t < T; t++) {
        const id = row[t];
        const hit = typeof p.token === "number" ? id === p.token
          : (tok !== null && id < tok.vocabSize && tok.piece(id) === p.token) || (spans !== null && text!.slice(spans[t - first][0], spans[t - first][1]) === p.token);
        if (hit) found.push(t);
      }
      return pick(found, `token ${JSON.stringify(p.token)}${typeof p.token === "string" ? " (as a piece or as text)" : ""}`);
    }
    case "marker": {
      if (text === null) throw fail(`the prompt is token ids, so a text marker cannot be placed; use {"token": id} or indices`);
      const first = spec.bos ? 1 : 0;
      const spans = tokenSpans(tok!, row.slice(first), text);
      if (spans === null) throw fail(`the tokenizer does not give back the prompt's text (decoded: ${JSON.stringify(tok!.decode(row.slice(first)))}), so the marker cannot be placed; give positions as indices`);
      const found: number[] = [];
      for (let at = text.indexOf(p.text); at >= 0; at = text.indexOf(p.text, at + 1)) {
        const end = at + p.text.length;
        const t = spans.findIndex(([, e]) => e >= end);
        if (!found.includes(t + first)) found.push(t + first);
      }
      return pick(found, `marker ${JSON.stringify(p.text)}`);
    }
  }
}

/**
 * [start, end) of each token's text in `text`, from decoding growing prefixes;
 * null when the tokens do not decode back to `text`.
 */
function tokenSpans(tok: Tokenizer, ids: number[], text: string): [number, number][] | null {
  if (tok.decode(ids) !== text) return null;
  const spans: [number, number][] = [];
  let start = 0;
  for (let t = 0; t < ids.length; t++) {
    // A token that ends inside a UTF-8 character decodes to U+FFFD; it ends where the character does.
    const end = Math.min(tok.decode(ids.slice(0, t + 1)).replace(/\uFFFD+$/, "").length, text.length);
    spans.push([start, Math.max(start, end)]);
    start = Math.max(start, end);
  }
  return spans;
}

/** The file's ground-truth edges as edges of the model's graph; a label that is not there is one line naming the entry. */
function checkGroundTruth(spec: TaskSpec, cfg: ModelConfig): TaskEdge[] {
  const g = buildGraph(cfg);
  const edgeOf = new Map<string, string>();
  for (const e of g.edges) if (e.type !== "placeholder") edgeOf.set(`${e.parent} ${e.child}`, e.type);
  return spec.groundTruth!.map(([p, c, type], i) => {
    const where = `${spec.source}: ground_truth[${i}] ${JSON.stringify([p, c])}`;
    const a = g.byLabel.get(p), b = g.byLabel.get(c);
    if (a === undefined || b === undefined) {
      throw new InputError(`${where}: the model's graph (${cfg.nLayers} layers × ${cfg.nHeads} heads${cfg.attnOnly ? ", attention only" : ""}) has no node ${JSON.stringify(a === undefined ? p : c)} (labels look like ${JSON.stringify(g.nodes[g.output].label)}; \`acdc run\` prints the circuit's)`);
    }
    const t = edgeOf.get(`${a} ${b}`);
    if (t === undefined) throw new InputError(`${where}: not an edge of the model's graph (no ${p} → ${c}, or it is a placeholder edge, never tested)`);
    if (type !== undefined && type !== t) throw new InputError(`${where}: is a ${t} edge, not ${type}`);
    return [p, c, t as "addition" | "direct"];
  });
}
