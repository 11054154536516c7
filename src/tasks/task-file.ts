// The task file (a JSON object) read into a TaskSpec: every field's type and
// shape checked, defaults filled in, nothing tokenized yet. What the fields
// mean in tokens (prompt lengths, markers, answers) is text-task.ts's job,
// once the tokenizer and the model's geometry are known. Errors are one-line
// InputErrors that start with the file's name and name the field.
//
// Fields (README "Tasks written as text" is the user's guide):
//   tokenizer   "gpt2" | "r50k" | path to tokenizer.json | path to a llama2.c .bin
//               (relative to the task file's folder); absent: every prompt,
//               answer and target is token ids
//   bos         prepend the tokenizer's BOS to text prompts (default false)
//   clean, corrupted   one prompt each: text, or a list of token ids
//               (corrupted may be left out under "ablation": "zero" or "mean")
//   metric      "kl" (default) | "logit-diff" (needs correct, incorrect) |
//               "nll" (needs target)
//   correct, incorrect  one answer (text or a token id) for every prompt, or a
//               list with one per prompt
//   target      the continuation whose negative log-likelihood nll measures:
//               text for every prompt, or a list with one (text or ids) per prompt
//   positions   "last" (default) | an index (negative counts from the end) |
//               a list with an index or a list of indices per prompt |
//               {"marker": text} | {"token": text, piece or id}, each with an
//               optional "occurrence": "last" (default) | "first" | "all"
//   ablation    "corrupted" (default) | "zero" | "mean"
//   thresholds  a list of numbers, or "LO:HI:N" (N values 10^LO … 10^HI)
//   ground_truth  [[parent label, child label], …] (an optional third entry
//               "addition" | "direct" is checked against the graph)
//   model       the model to use when the command line names none
//   name, description   free text
import { InputError } from "../errors.js";
import { logspace } from "../thresholds.js";
import type { TaskAblation } from "./task.js";

export type PromptSpec = string | number[];
export type AnswerSpec = string | number;
export type Occurrence = "first" | "last" | "all";
export type TaskFileMetric = "kl" | "logit-diff" | "nll";

export type PositionsSpec =
  | { kind: "last" }
  | { kind: "index"; index: number }
  | { kind: "list"; perPrompt: number[][] }
  | { kind: "marker"; text: string; occurrence: Occurrence }
  | { kind: "token"; token: string | number; occurrence: Occurrence };

/** A task file, checked for shape; per-prompt fields are expanded to one entry per prompt. */
export interface TaskSpec {
  /** The file's name as given, for messages. */
  source: string;
  name?: string;
  description?: string;
  /** A --model argument, as written in the file (a path relative to the file's folder, or a hub id). */
  model?: string;
  tokenizer?: string;
  bos: boolean;
  clean: PromptSpec[];
  corrupted: PromptSpec[] | null;
  metric: TaskFileMetric;
  correct?: AnswerSpec[];
  incorrect?: AnswerSpec[];
  target?: PromptSpec[];
  positions: PositionsSpec;
  ablation: TaskAblation;
  thresholds?: number[];
  groundTruth: [string, string, ("addition" | "direct")?][] | null;
}

const FIELDS = ["name", "description", "model", "tokenizer", "bos", "clean", "corrupted", "metric", "correct", "incorrect", "target", "positions", "ablation", "thresholds", "ground_truth"];
const METRICS: TaskFileMetric[] = ["kl", "logit-diff", "nll"];
const ABLATIONS: TaskAblation[] = ["corrupted", "zero", "mean"];
const OCCURRENCES: Occurrence[] = ["last", "first", "all"];

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
const isId = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0;
/** A value as it appears in the file, cut short. */
export const shown = (x: unknown): string => {
  const s = JSON.stringify(x) ?? String(x);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
};

/** Parse a task file's text; invalid JSON is one line naming the file. */
export function parseTaskJson(text: string, source = "task file"): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`${source} is not valid JSON (${String((e as Error).message).split("\n")[0]})`);
  }
}

/** Check a parsed task file's fields and fill in defaults. */
export function readTaskSpec(json: unknown, source = "task file"): TaskSpec {
  const bad = (msg: string) => new InputError(`${source}: ${msg}`);
  if (!isObject(json)) throw bad(`the top level must be a JSON object, got ${shown(json)}`);
  const unknown = Object.keys(json).filter((k) => !FIELDS.includes(k));
  if (unknown.length) throw bad(`unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${k}"`).join(", ")} (the fields are ${FIELDS.join(", ")})`);

  const text = (k: string): string | undefined => {
    const v = json[k];
    if (v === undefined) return undefined;
    if (typeof v !== "string" || v.trim() === "") throw bad(`"${k}" must be a non-empty string, got ${shown(v)}`);
    return v;
  };
  const oneOf = <T extends string>(k: string, allowed: readonly T[], dflt: T): T => {
    const v = json[k];
    if (v === undefined) return dflt;
    if (!allowed.includes(v as T)) throw bad(`"${k}" must be ${allowed.map((a) => `"${a}"`).join(" | ")}, got ${shown(v)}`);
    return v as T;
  };
  const tokenizer = text("tokenizer");
  if (json.bos !== undefined && typeof json.bos !== "boolean") throw bad(`"bos" must be true or false, got ${shown(json.bos)}`);
  const bos = json.bos === true;
  if (bos && tokenizer === undefined) throw bad(`"bos": true needs a "tokenizer" (with token-id prompts, write the BOS id into each prompt)`);
  const metric = oneOf("metric", METRICS, "kl");
  const ablation = oneOf("ablation", ABLATIONS, "corrupted");

  // A prompt (or an nll target) is text or a non-empty list of token ids.
  const prompt = (v: unknown, where: string): PromptSpec => {
    if (typeof v === "string") {
      if (v === "") throw bad(`${where} is an empty string`);
      if (tokenizer === undefined) throw bad(`${where} is text but the file names no "tokenizer" ("gpt2", or a path to a tokenizer.json or a llama2.c .bin); without one, give token ids`);
      return v;
    }
    if (Array.isArray(v) && v.length > 0 && v.every(isId)) return v as number[];
    throw bad(`${where} must be text or a non-empty list of token ids (integers ≥ 0), got ${shown(v)}`);
  };
  const prompts = (k: string): PromptSpec[] => {
    const v = json[k];
    if (!Array.isArray(v)) throw bad(`"${k}" must be a list of prompts (text or token-id lists), got ${shown(v)}`);
    if (v.length === 0) throw bad(`"${k}" is an empty list; give at least one prompt`);
    return v.map((p, i) => prompt(p, `${k}[${i}]`));
  };
  if (json.clean === undefined) throw bad(`"clean" is missing: the list of prompts the model does the task on`);
  const clean = prompts("clean");
  const n = clean.length;
  let corrupted: PromptSpec[] | null = null;
  if (json.corrupted === undefined) {
    if (ablation === "corrupted") throw bad(`"corrupted" is missing: corrupted prompts are what a removed edge's sender is taken from (or set "ablation": "zero" or "mean")`);
  } else {
    corrupted = prompts("corrupted");
    if (corrupted.length !== n) throw bad(`"clean" has ${n} prompts but "corrupted" has ${corrupted.length}; they pair up one to one`);
  }

  // Metric-specific fields: present exactly when the metric uses them.
  const uses: Record<string, TaskFileMetric> = { correct: "logit-diff", incorrect: "logit-diff", target: "nll" };
  for (const [k, m] of Object.entries(uses)) {
    if (json[k] !== undefined && metric !== m) throw bad(`"${k}" applies to "metric": "${m}", not "${metric}"`);
    if (json[k] === undefined && metric === m) throw bad(`"metric": "${m}" needs "${k}"${m === "nll" ? " (the continuation whose log-likelihood it measures)" : " (one answer per prompt: text or a token id)"}`);
  }
  const answer = (v: unknown, where: string): AnswerSpec => {
    if (isId(v)) return v;
    if (typeof v === "string" && v !== "") {
      if (tokenizer === undefined) throw bad(`${where} is text but the file names no "tokenizer"; give a token id`);
      return v;
    }
    throw bad(`${where} must be text or a token id, got ${shown(v)}`);
  };
  const answers = (k: string): AnswerSpec[] | undefined => {
    const v = json[k];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) return clean.map(() => answer(v, `"${k}"`));
    if (v.length !== n) throw bad(`"${k}" has ${v.length} entries for ${n} prompts (give one per prompt, or one for all)`);
    return v.map((a, i) => answer(a, `${k}[${i}]`));
  };
  const correct = answers("correct"), incorrect = answers("incorrect");
  let target: PromptSpec[] | undefined;
  if (json.target !== undefined) {
    const v = json.target;
    if (typeof v === "string") target = clean.map(() => prompt(v, `"target"`));
    else if (Array.isArray(v) && v.length === n && v.every((x) => typeof x === "string" || Array.isArray(x))) target = v.map((x, i) => prompt(x, `target[${i}]`));
    else throw bad(`"target" must be text (the same continuation for every prompt) or a list with one per prompt (text or token ids), ${Array.isArray(v) ? `got ${v.length} entries for ${n} prompts` : `got ${shown(v)}`}`);
  }

  const positions = readPositions(json.positions, n, metric, bad);
  const thresholds = readThresholds(json.thresholds, bad);
  const groundTruth = readGroundTruth(json.ground_truth, bad);
  const spec: TaskSpec = { source, bos, clean, corrupted, metric, positions, ablation, groundTruth };
  const opt = { name: text("name"), description: text("description"), model: text("model"), tokenizer, correct, incorrect, target, thresholds };
  for (const [k, v] of Object.entries(opt)) if (v !== undefined) (spec as unknown as Record<string, unknown>)[k] = v;
  return spec;
}

function readPositions(v: unknown, n: number, metric: TaskFileMetric, bad: (m: string) => Error): PositionsSpec {
  if (v !== undefined && metric === "nll") throw bad(`"positions" does not apply to "metric": "nll": it reads the positions that predict the target's tokens; leave "positions" out`);
  if (v === undefined || v === "last") return { kind: "last" };
  if (Number.isInteger(v)) return { kind: "index", index: v as number };
  if (Array.isArray(v)) {
    if (v.length !== n) throw bad(`"positions" has ${v.length} entries for ${n} prompts (give one index or a list of indices per prompt, or "last", or a marker)`);
    return {
      kind: "list",
      perPrompt: v.map((p, i) => {
        const list = Array.isArray(p) ? p : [p];
        if (list.length === 0 || !list.every((x) => Number.isInteger(x))) throw bad(`positions[${i}] must be an index or a non-empty list of indices (integers; negative counts from the end), got ${shown(p)}`);
        const dup = list.find((x, j) => list.indexOf(x) !== j);
        if (dup !== undefined) throw bad(`positions[${i}] lists ${dup} twice`);
        return list as number[];
      }),
    };
  }
  if (isObject(v)) {
    const keys = Object.keys(v);
    const kind = keys.filter((k) => k === "marker" || k === "token");
    const extra = keys.filter((k) => k !== "marker" && k !== "token" && k !== "occurrence");
    if (kind.length !== 1 || extra.length) throw bad(`"positions" as an object is {"marker": text} or {"token": text, piece or id}, with an optional "occurrence"; got ${shown(v)}`);
    const occ = v.occurrence ?? "last";
    if (!OCCURRENCES.includes(occ as Occurrence)) throw bad(`positions.occurrence must be "last" | "first" | "all", got ${shown(v.occurrence)}`);
    if (kind[0] === "marker") {
      if (typeof v.marker !== "string" || v.marker === "") throw bad(`positions.marker must be non-empty text, got ${shown(v.marker)}`);
      return { kind: "marker", text: v.marker, occurrence: occ as Occurrence };
    }
    if (!(typeof v.token === "string" && v.token !== "") && !isId(v.token)) throw bad(`positions.token must be a token's text or piece, or a token id, got ${shown(v.token)}`);
    return { kind: "token", token: v.token as string | number, occurrence: occ as Occurrence };
  }
  throw bad(`"positions" must be "last", an index, a list with one per prompt, {"marker": text} or {"token": text}; got ${shown(v)}`);
}

/** A list of non-negative thresholds, or "LO:HI:N" (N values 10^LO … 10^HI, evenly spaced in the exponent). */
function readThresholds(v: unknown, bad: (m: string) => Error): number[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "string") {
    const m = /^\s*(-?\d+(?:\.\d+)?)\s*:\s*(-?\d+(?:\.\d+)?)\s*:\s*(\d+)\s*$/.exec(v);
    const lo = Number(m?.[1]), hi = Number(m?.[2]), count = Number(m?.[3]);
    if (!m || count < 1 || count > 1000 || lo > hi) throw bad(`"thresholds" as text is "LO:HI:N": exponents of 10 with LO ≤ HI and 1 ≤ N ≤ 1000 (e.g. "-4:0:21" for 1e-4 … 1), got ${shown(v)}`);
    return logspace(lo, hi, count);
  }
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number" && Number.isFinite(x) && x >= 0)) return v as number[];
  throw bad(`"thresholds" must be a non-empty list of numbers ≥ 0 or "LO:HI:N", got ${shown(v)}`);
}

function readGroundTruth(v: unknown, bad: (m: string) => Error): TaskSpec["groundTruth"] {
  if (v === undefined) return null;
  if (!Array.isArray(v) || v.length === 0) throw bad(`"ground_truth" must be a non-empty list of [parent label, child label] edges, got ${shown(v)}`);
  const seen = new Map<string, number>();
  return v.map((e, i) => {
    const ok = Array.isArray(e) && (e.length === 2 || e.length === 3) && typeof e[0] === "string" && typeof e[1] === "string" && (e.length === 2 || e[2] === "addition" || e[2] === "direct");
    if (!ok) throw bad(`ground_truth[${i}] must be [parent label, child label] (optionally with "addition" or "direct"), got ${shown(e)}`);
    const key = `${e[0]} -> ${e[1]}`;
    if (seen.has(key)) throw bad(`ground_truth[${i}] repeats ground_truth[${seen.get(key)}] (${e[0]} → ${e[1]})`);
    seen.set(key, i);
    return e as [string, string, ("addition" | "direct")?];
  });
}
