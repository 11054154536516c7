// One circuit search from a plain description, the same way wherever it runs:
// the fetch handler (src/serve/), `acdc verify` and sweep manifests all go
// through here, and it makes exactly the calls `acdc run` and `acdc sweep`
// make (graph of the model's config, Patcher with the named ablation and a
// fresh metric, the registry's algorithm, circuitJson with the model's name
// and config), so a circuit comes out byte-identical to theirs. Also: the
// strict checks of a request's options and data (the same rules and
// messages as the CLI's), and the built-in tasks a manifest can name.
// Not here: finding or fetching files (callers bring a loaded model), nor
// tokenizing a task file (callers bring its token data).
import { buildGraph, type Graph } from "../graph/graph.js";
import { Patcher, ABLATIONS, type Ablation, type PatchData } from "../patch/patcher.js";
import { klMetric, logitDiffMetric, nllMetric, type Metric } from "../metrics.js";
import { ALGORITHMS, getAlgorithm, type Progress, type RunOptions } from "../algorithms/registry.js";
import { MAX_IG_STEPS } from "../algorithms/eap.js";
import { SP_DEFAULTS } from "../algorithms/sp.js";
import { EDGE_PRUNING_DEFAULTS } from "../algorithms/edge-pruning.js";
import { maskedComponents } from "../algorithms/masks.js";
import { circuitJson, type CircuitJson } from "../io/circuit.js";
import type { Circuit } from "../circuit.js";
import type { Transformer } from "../model/transformer.js";
import type { Engine } from "../wasm/engine.js";
import { InputError } from "../errors.js";
import { createTracrModel, tracrTask, type TracrTaskName } from "../tasks/tracr.js";
import { inductionOfflineTask } from "../tasks/induction-offline.js";

/** Token data of a run: what --data holds (correct/incorrect for logit-diff); task data may carry more (labels, nll's targets). */
export type RunData = PatchData & { correct?: number[]; incorrect?: number[]; labels?: number[] | number[][] };

/** What a search does, independent of where its model and data came from: the algorithm's options, the metric and ablation. */
export interface RunSpec extends Omit<RunOptions, "onProgress"> {
  algorithm: string;
  /** kl | logit-diff, or a key of the task's metrics. */
  metric: string;
  ablation: Ablation;
  /** Token and position embeddings as two input nodes (tracr). */
  splitInput?: boolean;
}

/**
 * The mask-learning and ranking methods: the knob each is cut at, and for
 * the trained ones the defaults of steps, lr and seed (a manifest records
 * the values used, so a later change of default cannot change its meaning).
 */
export const MASK_METHODS: Record<string, { knob: "lambda" | "masked" | "sparsity"; trained?: { steps: number; lr: number; seed: number } }> = {
  "sp": { knob: "lambda", trained: SP_DEFAULTS },
  "hisp": { knob: "masked" },
  "edge-pruning": { knob: "sparsity", trained: EDGE_PRUNING_DEFAULTS },
};

/** A task whose data (and, for tracr, model) is built in code: what sweeps run and manifests name. */
export interface BuiltinTask {
  key: string;
  data: RunData;
  metrics: Record<string, () => Metric>;
  defaultMetric: string;
  defaultAblation: Ablation;
  splitInput: boolean;
  /** Built-in model (tracr); undefined when the task's model is a file (induction: models/induction-2l.*). */
  model?: { name: string; create(engine: Engine): Promise<Transformer> };
}

export const BUILTIN_TASKS = ["tracr-reverse", "tracr-proportion", "induction"] as const;

/** A built-in task by key (tracr-reverse, tracr-proportion, induction), with its default data. */
export function builtinTask(key: string): BuiltinTask {
  if (key === "tracr-reverse" || key === "tracr-proportion") {
    const t = tracrTask(key as TracrTaskName);
    return {
      key, data: t.data, metrics: t.metrics, defaultMetric: t.defaultMetric, defaultAblation: t.defaultAblation, splitInput: true,
      model: { name: key, create: (engine) => createTracrModel(t, engine) },
    };
  }
  if (key === "induction") {
    const t = inductionOfflineTask();
    return { key, data: t.data, metrics: t.metrics, defaultMetric: t.defaultMetric, defaultAblation: t.defaultAblation, splitInput: false };
  }
  throw new InputError(`unknown built-in task ${JSON.stringify(key)} (${BUILTIN_TASKS.join(", ")})`);
}

/** The metric a spec names: the task's own, kl, or logit-diff (which needs correct/incorrect in the data). */
export function resolveMetric(name: string, data: RunData, task?: BuiltinTask): () => Metric {
  if (task && name in task.metrics) return task.metrics[name];
  if (name === "kl") return () => klMetric();
  if (name === "logit-diff") {
    if (!data.correct || !data.incorrect) throw new InputError(`metric logit-diff needs "correct" and "incorrect" token lists in the data`);
    return () => logitDiffMetric(data.correct!, data.incorrect!);
  }
  // A task file's nll: the target token each metric row predicts travels with the token data.
  const labels = data.labels?.every((x) => typeof x === "number") ? data.labels as number[] : undefined;
  if (name === "nll" && labels) return () => nllMetric(labels);
  const known = [...(task ? Object.keys(task.metrics) : []), "kl", "logit-diff", ...(labels ? ["nll"] : [])];
  throw new InputError(`unknown metric ${JSON.stringify(name)} (${[...new Set(known)].join(", ")})`);
}

/** A run whose clean and ablated passes are done (bad tokens or options already refused); search() runs the algorithm. */
export class PreparedRun {
  readonly graph: Graph;
  readonly metric: Metric;
  readonly patcher: Patcher;

  constructor(readonly model: Transformer, readonly modelName: string, readonly data: RunData, readonly spec: RunSpec, task?: BuiltinTask) {
    getAlgorithm(spec.algorithm);
    this.graph = buildGraph(model.cfg, { splitInput: spec.splitInput ?? false });
    this.metric = resolveMetric(spec.metric, data, task)();
    if (spec.algorithm in MASK_METHODS) checkMaskRun(model, this.graph, this.metric, spec);
    this.patcher = new Patcher(model, this.graph, data, { ablation: spec.ablation, metric: this.metric });
  }

  /** Run the algorithm; the circuit and its JSON (as `acdc run --out` writes it). */
  search(onProgress?: (p: Progress) => void): { circuit: Circuit; json: CircuitJson } {
    const s = this.spec;
    const circuit = getAlgorithm(s.algorithm).run(this.patcher, {
      threshold: s.threshold, topK: s.topK, igSteps: s.igSteps, lambda: s.lambda, masked: s.masked, sparsity: s.sparsity, steps: s.steps, lr: s.lr, seed: s.seed, onProgress,
    });
    const json = circuitJson(circuit, { ablation: s.ablation, metric: this.metric.name, model: { name: this.modelName, ...this.model.cfg } });
    return { circuit, json };
  }
}

/**
 * What would otherwise stop a mask-learning or ranking run in the middle of
 * its search, checked before it starts (the fetch handler refuses it with a
 * 4xx): a metric with no gradient, rotary embeddings, more HISP components
 * than the model has. Messages as the algorithms' own.
 */
function checkMaskRun(model: Transformer, graph: Graph, metric: Metric, spec: RunSpec): void {
  const what = spec.algorithm === "hisp" ? "HISP" : "mask learning";
  if (!metric.backward) throw new InputError(`metric "${metric.name}" has no gradient; ${what} needs one (kl, logit-diff, nll or a task metric with backward())`);
  if (model.cfg.positional === "rotary") throw new InputError(`${what} does not support rotary position embeddings yet`);
  if (spec.algorithm === "hisp") {
    const n = maskedComponents(graph).length;
    if (spec.masked !== undefined && spec.masked > n) throw new InputError(`hisp: masked must be an integer from 0 to ${n} (the model's head q/k/v and MLP components), got ${spec.masked}`);
  }
}

// ---- checking what a request sends ----

const isObj = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === "object" && !Array.isArray(x);
const isTokenRows = (x: unknown): x is number[][] => Array.isArray(x) && x.every((r) => Array.isArray(r) && r.every((v) => typeof v === "number"));

/** Check --data JSON (already parsed): clean, corrupted, positions, correct, incorrect; the CLI's rules. `labels` also accepts nll's targets (a task file's token data). */
export function checkRunData(j: unknown, where = "data", o: { labels?: boolean } = {}): RunData {
  if (!isObj(j)) throw new InputError(`${where} must be a JSON object with "clean", "corrupted" and "positions"`);
  if (!isTokenRows(j.clean) || j.clean.length === 0) throw new InputError(`${where}: "clean" must be a non-empty list of token-id lists`);
  if (j.corrupted !== undefined && !isTokenRows(j.corrupted)) throw new InputError(`${where}: "corrupted" must be a list of token-id lists`);
  const positions = j.positions;
  if (!Array.isArray(positions) || !positions.every((p) => typeof p === "number" || (Array.isArray(p) && p.every((q) => typeof q === "number")))) {
    throw new InputError(`${where}: "positions" must list one position (or a list of positions) per prompt`);
  }
  const nums = (k: string) => {
    const v = j[k];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === "number")) throw new InputError(`${where}: "${k}" must be a list of token ids`);
    return v as number[];
  };
  const known = new Set(["clean", "corrupted", "positions", "correct", "incorrect", ...(o.labels ? ["labels"] : [])]);
  const extra = Object.keys(j).filter((k) => !known.has(k));
  if (extra.length) throw new InputError(`${where}: unknown field${extra.length > 1 ? "s" : ""} ${extra.map((k) => `"${k}"`).join(", ")} (expected ${[...known].join(", ")})`);
  const out: RunData = { clean: j.clean, positions: positions as number[] | number[][] };
  if (j.corrupted !== undefined) out.corrupted = j.corrupted as number[][];
  const correct = nums("correct"), incorrect = nums("incorrect"), labels = o.labels ? nums("labels") : undefined;
  if (correct) out.correct = correct;
  if (incorrect) out.incorrect = incorrect;
  if (labels) out.labels = labels;
  return out;
}

/** What a request's options are checked against when the data is a task's: its defaults, its metrics, whether it has corrupted prompts. */
export interface OptionContext {
  defaultMetric: string;
  defaultAblation: Ablation;
  /** The metrics it offers (a task file: its own and kl). */
  metrics: string[];
  splitInput: boolean;
  /** False when the task has no corrupted prompts (a task file under zero or mean ablation). */
  corrupted?: boolean;
  /** How the task is named in messages ("the task file"). */
  name?: string;
}

/** The option context of a built-in task. */
export function builtinOptionContext(task: BuiltinTask): OptionContext {
  return { defaultMetric: task.defaultMetric, defaultAblation: task.defaultAblation, metrics: [...new Set([...Object.keys(task.metrics), "kl", "logit-diff"])], splitInput: task.splitInput };
}

const OPTION_KEYS = ["algorithm", "threshold", "top_k", "ig_steps", "metric", "ablation", "lambda", "masked", "sparsity", "steps", "lr", "seed"] as const;
const THRESHOLD_METHODS = ["acdc", "eap", "eap-ig", "hybrid"];

/**
 * Check a request's options (keys as in the manifest: threshold, top_k,
 * ig_steps, metric, ablation, algorithm, and the mask methods' lambda,
 * masked, sparsity, steps, lr, seed) with the CLI's rules; defaults: acdc,
 * and the task's metric and ablation or kl and corrupted.
 */
export function checkRunOptions(raw: unknown, task?: BuiltinTask | OptionContext): RunSpec {
  const ctx = task === undefined ? undefined : "data" in task ? builtinOptionContext(task) : task;
  if (raw === undefined) raw = {};
  if (!isObj(raw)) throw new InputError(`options must be a JSON object`);
  const extra = Object.keys(raw).filter((k) => !(OPTION_KEYS as readonly string[]).includes(k));
  if (extra.length) throw new InputError(`options: unknown option${extra.length > 1 ? "s" : ""} ${extra.map((k) => `"${k}"`).join(", ")} (${OPTION_KEYS.join(", ")})`);
  const str = (k: string, dflt: string) => {
    const v = raw[k];
    if (v === undefined) return dflt;
    if (typeof v !== "string") throw new InputError(`options.${k} must be a string, got ${JSON.stringify(v)}`);
    return v;
  };
  const int = (k: string, lo: number, hi: number) => {
    const v = raw[k];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) throw new InputError(`options.${k} must be an integer from ${lo} to ${hi}, got ${JSON.stringify(v)}`);
    return v;
  };
  const num = (k: string, ok: (v: number) => boolean, what: string) => {
    const v = raw[k];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) throw new InputError(`options.${k} must be ${what}, got ${JSON.stringify(v)}`);
    return v;
  };
  const algorithm = str("algorithm", "acdc");
  const keys = ALGORITHMS.map((a) => a.key);
  if (!keys.includes(algorithm)) throw new InputError(`options.algorithm must be one of ${keys.join(", ")}; got ${JSON.stringify(algorithm)}`);
  const topK = int("top_k", 0, 1e9), igSteps = int("ig_steps", 1, MAX_IG_STEPS);
  const mask = MASK_METHODS[algorithm];
  if (topK !== undefined && algorithm === "acdc") throw new InputError("options.top_k does not apply to algorithm acdc (it keeps what the threshold decides); use eap, eap-ig or hybrid");
  if (topK !== undefined && mask) throw new InputError(`options.top_k does not apply to algorithm ${algorithm} (it is cut by its ${mask.knob}); use eap, eap-ig or hybrid`);
  if (igSteps !== undefined && !["eap-ig", "hybrid"].includes(algorithm)) throw new InputError(`options.ig_steps applies to eap-ig and hybrid, not ${algorithm}`);
  if (algorithm === "hybrid" && topK === undefined) throw new InputError("algorithm hybrid needs options.top_k (EAP-IG candidates for ACDC)");
  // Each mask method's knob, required by it and refused elsewhere (as acdc run's --lambda, --masked, --sparsity).
  for (const [alg, m] of Object.entries(MASK_METHODS)) {
    if (raw[m.knob] !== undefined && algorithm !== alg) throw new InputError(`options.${m.knob} applies to algorithm ${alg}, not ${algorithm}`);
    if (raw[m.knob] === undefined && algorithm === alg) throw new InputError(`algorithm ${alg} needs options.${m.knob}`);
  }
  const knobs: Partial<RunSpec> = {};
  const lambda = num("lambda", (v) => v >= 0, "a non-negative number"), masked = int("masked", 0, 1e6), sparsity = num("sparsity", (v) => v >= 0 && v <= 1, "a fraction in [0, 1]");
  for (const k of ["steps", "lr", "seed"] as const) if (raw[k] !== undefined && !mask?.trained) throw new InputError(`options.${k} applies to sp and edge-pruning, not ${algorithm}`);
  const steps = int("steps", 1, 1e6), lr = num("lr", (v) => v > 0, "a positive number"), seed = int("seed", 0, 2 ** 32 - 1);
  Object.assign(knobs, Object.fromEntries(Object.entries({ lambda, masked, sparsity, steps, lr, seed }).filter(([, v]) => v !== undefined)));
  if (mask && raw.threshold !== undefined) throw new InputError(`options.threshold does not apply to ${algorithm} (it is cut by its ${mask.knob})`);
  const oneShot = algorithm === "eap" || algorithm === "eap-ig";
  if (oneShot && topK !== undefined && raw.threshold !== undefined) throw new InputError(`give options.threshold or options.top_k to ${algorithm}, not both`);
  let threshold: number | undefined;
  if (THRESHOLD_METHODS.includes(algorithm) && !(oneShot && topK !== undefined)) {
    const t = raw.threshold;
    if (t === undefined) throw new InputError("options.threshold is required (e.g. 0.01)");
    if (typeof t !== "number" || !Number.isFinite(t) || t < 0) throw new InputError(`options.threshold must be a non-negative number, got ${JSON.stringify(t)}`);
    threshold = t;
  }
  const metric = str("metric", ctx?.defaultMetric ?? "kl");
  const metrics = ctx ? ctx.metrics : ["kl", "logit-diff"];
  if (!metrics.includes(metric)) throw new InputError(`options.metric must be one of ${metrics.join(", ")}; got ${JSON.stringify(metric)}`);
  const ablation = str("ablation", ctx?.defaultAblation ?? "corrupted") as Ablation;
  if (!ABLATIONS.includes(ablation)) throw new InputError(`options.ablation must be one of ${ABLATIONS.join(", ")}; got ${JSON.stringify(ablation)}`);
  if (ablation === "corrupted" && ctx?.corrupted === false) throw new InputError(`options.ablation corrupted needs "corrupted" prompts, and ${ctx.name ?? "the task"} has none`);
  return { algorithm, threshold, topK, igSteps, ...knobs, metric, ablation, splitInput: ctx?.splitInput ?? false };
}
