// A sweep as independent jobs, so it can be spread over processes, machines
// or serverless handlers: one job per run (one method at one knob value,
// under one seed), each carrying everything needed to rebuild that run — the
// model by reference (built in, or files by path and sha256, with the digest
// of the loaded parameters), the data (a built-in task's key, or the token
// ids themselves), metric, ablation and every option. runJob does on a
// loaded model exactly what sweep() does for one value; mergeSweep and
// mergeComparison put the results back through the same sweepRow,
// sweepResult and methodResult, so a merged sweep is the single-machine
// sweep bit for bit. Not here: finding files, queues, processes, HTTP
// (src/node/distrib/).
import type { Graph } from "../graph/graph.js";
import type { Transformer } from "../model/transformer.js";
import { Patcher, type Ablation } from "../patch/patcher.js";
import { klMetric, logitDiffMetric, nllMetric, type Metric } from "../metrics.js";
import { getAlgorithm, type RunOptions } from "../algorithms/registry.js";
import { circuitJson, type CircuitJson } from "../io/circuit.js";
import { countedEdges } from "../circuit.js";
import { InputError } from "../errors.js";
import { PACKAGE_VERSION } from "../version.js";
import { buildManifest, canonicalJson, f64Hex, hexF64, type DataSection, type ModelSection, type RunManifest } from "../repro/manifest.js";
import { builtinTask, type RunData, type RunSpec } from "../repro/run.js";
import { optionsSection } from "../repro/manifest.js";
import { sha256Hex } from "../repro/sha256.js";
import { scoreEdges, sweepResult, sweepRow, type SweepResult, type SweepRun } from "./sweep.js";
import { methodResult, type MethodPlan, type MethodResult } from "./compare.js";

export const JOB_KIND = "acdc-sweep-job";
export const JOB_VERSION = 1;

/** Token data a job carries (a task file's, tokenized by the coordinator): --data's fields, and nll's labels. */
export type JobTokens = RunData;

/** A job's data: a built-in task's (rebuilt by key) or the tokens themselves. */
export type JobData = { task: string } | { tokens: JobTokens };

/** Every option a run reads, as JSON (no callbacks). */
export type JobOptions = Omit<RunOptions, "onProgress">;

export interface SweepJob {
  kind: typeof JOB_KIND;
  version: number;
  /** The package that made the job; a worker of another version refuses it (its results could differ). */
  package: string;
  /** The sweep's name (its files are called after it). */
  sweep: string;
  /** Where this run sits: method (plan) index, seed index, value index. */
  method: number;
  seed: number;
  run: number;
  /** The model: built in (tracr) or files (absolute paths as the coordinator saw them, bytes, sha256), and params_sha256 of the loaded parameters. */
  model: ModelSection;
  data: JobData;
  /** dataDigest of the data (the built-in task's or the tokens). */
  dataSha256: string;
  /** Token and position embeddings as two input nodes (tracr). */
  splitInput: boolean;
  /** A metric of the task (built-in) or kl | logit-diff | nll (tokens). */
  metric: string;
  ablation: Ablation;
  algorithm: string;
  /** The option the sweep varies, and this run's value of it. */
  knob: keyof RunOptions;
  value: number;
  /** The other options (top-k for hybrid, steps and seed for the trained methods, …). */
  options: JobOptions;
  /** Build a run manifest (where the single-machine sweep writes one). */
  manifest: boolean;
}

/** What every job of a sweep shares. */
export type JobBase = Omit<SweepJob, "kind" | "version" | "package" | "method" | "seed" | "run" | "algorithm" | "knob" | "value" | "options">;

export interface JobResult {
  /** The circuit JSON, as `acdc run --out` writes it. */
  circuit: CircuitJson;
  /** The run manifest, when the job asked for one (endpoints always send theirs). */
  manifest: RunManifest | null;
  /** The circuit's metric as float64 bits (JSON loses −0 and NaN). */
  metric: string;
  /** Search time in ms, unrounded where known (a timing field: never compared). */
  searchMs: number;
  /** Who ran it (host:pid, or an endpoint's URL), for reports. */
  by: string;
}

/** One job per (method, seed, value), in that order: the order the single-machine sweep runs them. */
export function sweepJobs(base: JobBase, plans: MethodPlan[]): SweepJob[] {
  const jobs: SweepJob[] = [];
  plans.forEach((m, method) => m.seeds.forEach((seed, si) => m.values.forEach((value, run) => {
    // As compareMethods builds them: the plan's options, then the seed; undefined options are dropped (JSON would drop them anyway).
    const options = JSON.parse(JSON.stringify({ ...m.options, ...(seed === undefined ? {} : { seed }) })) as JobOptions;
    jobs.push({ kind: JOB_KIND, version: JOB_VERSION, package: PACKAGE_VERSION, ...base, method, seed: si, run, algorithm: m.algorithm, knob: m.knob, value, options });
  })));
  return jobs;
}

/** A short digest naming a sweep's job list; job ids are `KEY-INDEX`, so the same sweep queued twice is the same jobs. */
export function sweepKey(jobs: SweepJob[]): string {
  return sha256Hex(canonicalJson(jobs)).slice(0, 16);
}

/** "tracr-reverse acdc threshold=1.00e-3" (and ", seed 2" for seeded runs): a job as reports name it. */
export function describeJob(j: SweepJob): string {
  return `${j.sweep} ${j.algorithm} ${j.knob}=${Number.isInteger(j.value) ? j.value : j.value.toExponential(2)}${j.options.seed !== undefined ? `, seed ${j.options.seed}` : ""}`;
}

/** Check that a job is one this package can run as its coordinator meant (kind, version, package version). */
export function checkJob(j: unknown): SweepJob {
  const o = j as Partial<SweepJob> | null;
  if (!o || typeof o !== "object" || o.kind !== JOB_KIND) throw new InputError(`not a sweep job (kind ${JSON.stringify(o?.kind)})`);
  if (o.version !== JOB_VERSION) throw new InputError(`sweep job version ${o.version} is not one this worker reads (${JOB_VERSION})`);
  if (o.package !== PACKAGE_VERSION) throw new InputError(`the job was made by acdc-wasm ${o.package} and this worker is ${PACKAGE_VERSION}: results could differ, so it refuses (run workers of the coordinator's version)`);
  getAlgorithm(o.algorithm ?? "");
  return o as SweepJob;
}

/** The token data a job runs on. */
export function jobData(j: SweepJob): JobTokens {
  return "task" in j.data ? builtinTask(j.data.task).data : j.data.tokens;
}

/** Fresh metrics for a job's runs: the built-in task's own, or kl, logit-diff or nll on the tokens. */
export function jobMetric(j: SweepJob, data: JobTokens): () => Metric {
  if ("task" in j.data) {
    const t = builtinTask(j.data.task);
    if (!(j.metric in t.metrics)) throw new InputError(`task ${t.key} has no metric ${JSON.stringify(j.metric)} (${Object.keys(t.metrics).join(", ")})`);
    return t.metrics[j.metric];
  }
  switch (j.metric) {
    case "kl": return () => klMetric();
    case "logit-diff":
      if (!data.correct || !data.incorrect) throw new InputError(`metric logit-diff needs "correct" and "incorrect" in the job's data`);
      return () => logitDiffMetric(data.correct!, data.incorrect!);
    case "nll":
      // One target token per metric row; per-prompt target lists (a text task's nll) go through their task, not a job.
      if (!data.labels || !data.labels.every((x) => typeof x === "number")) throw new InputError(`metric nll needs one "labels" token per metric row in the job's data`);
      return () => nllMetric(data.labels as number[]);
    default: throw new InputError(`unknown metric ${JSON.stringify(j.metric)} for token data (kl, logit-diff, nll)`);
  }
}

/** A loaded model, its graph, data and metric: what a worker keeps between jobs of one sweep. */
export interface JobSetup {
  model: Transformer;
  graph: Graph;
  data: JobTokens;
  metric: () => Metric;
}

/** The manifest's data section of a job. */
function dataSection(j: SweepJob, data: JobTokens): DataSection {
  return "task" in j.data
    ? { source: "task", task: j.data.task, sha256: j.dataSha256, prompts: data.clean.length }
    : { source: "inline", sha256: j.dataSha256, prompts: data.clean.length };
}

/** Run one job on a loaded setup: the calls sweep() makes for one value, then the circuit JSON and (if asked) the run manifest. */
export function runJob(setup: JobSetup, j: SweepJob, by: string): JobResult {
  const e = setup.model.engine, mark = e.mark();
  try {
    const metric = setup.metric();
    const p = new Patcher(setup.model, setup.graph, setup.data, { ablation: j.ablation, metric });
    const c = getAlgorithm(j.algorithm).run(p, { ...j.options, [j.knob]: j.value });
    const json = circuitJson(c, { ablation: j.ablation, metric: metric.name, model: { name: j.model.name, ...setup.model.cfg } });
    let manifest: RunManifest | null = null;
    if (j.manifest) {
      const spec: RunSpec = {
        algorithm: j.algorithm, metric: j.metric, ablation: j.ablation, splitInput: j.splitInput,
        threshold: j.options.threshold, topK: j.options.topK, igSteps: j.options.igSteps, [j.knob]: j.value,
      };
      manifest = buildManifest({
        model: j.model, data: dataSection(j, setup.data), options: optionsSection(spec, e.threads, e.deterministic), kernels: { build: e.build },
      }, c, json);
    }
    return { circuit: json, manifest, metric: f64Hex(c.metric), searchMs: c.stats.ms, by };
  } finally {
    e.reset(mark);
  }
}

/** The sweep row a job's result gives, scored here against the coordinator's ground truth. */
export function resultRow(g: Graph, j: SweepJob, r: JobResult, truth: [string, string][]): SweepRun {
  const c = r.circuit;
  if (c.algorithm !== j.algorithm || c.total_edges !== countedEdges(g) || c.num_kept !== c.edges.length) {
    throw new InputError(`the result of ${describeJob(j)} is not a circuit of this sweep (algorithm ${c.algorithm}, ${c.total_edges} edges in its graph, ${c.num_kept} kept)`);
  }
  return sweepRow(j.value, { numKept: c.num_kept, numTested: c.num_tested, metric: hexF64(r.metric), searchMs: r.searchMs },
    scoreEdges(g, c.edges.map((x) => [x.parent, x.child]), truth));
}

function need(results: (JobResult | undefined)[], jobs: SweepJob[]): JobResult[] {
  const missing = jobs.findIndex((_, i) => !results[i]);
  if (missing >= 0) throw new InputError(`no result for job ${missing + 1} (${describeJob(jobs[missing])})`);
  return results as JobResult[];
}

/** The rows of one (method, seed) sweep in value order. */
function rowsOf(g: Graph, jobs: SweepJob[], results: JobResult[], truth: [string, string][], method: number, seed: number): SweepRun[] {
  return jobs.flatMap((j, i) => (j.method === method && j.seed === seed ? [{ run: j.run, row: resultRow(g, j, results[i], truth) }] : []))
    .sort((a, b) => a.run - b.run).map((x) => x.row);
}

/** Merge the results of a one-method sweep's jobs (results[i] for jobs[i]) into the SweepResult sweep() gives. */
export function mergeSweep(g: Graph, jobs: SweepJob[], results: (JobResult | undefined)[], truth: [string, string][]): SweepResult {
  const rs = need(results, jobs);
  if (jobs.some((j) => j.method !== 0 || j.seed !== 0)) throw new InputError("mergeSweep takes the jobs of one method and one seed (use mergeComparison)");
  return sweepResult(getAlgorithm(jobs[0].algorithm).key, jobs[0].knob, rowsOf(g, jobs, rs, truth, 0, 0));
}

/** Merge a comparison's jobs into the MethodResult list compareMethods gives (ms: the runs' summed search time). */
export function mergeComparison(g: Graph, plans: MethodPlan[], jobs: SweepJob[], results: (JobResult | undefined)[], truth: [string, string][]): MethodResult[] {
  const rs = need(results, jobs);
  return plans.map((m, k) => {
    const sweeps = m.seeds.map((_, si) => sweepResult(getAlgorithm(m.algorithm).key, m.knob, rowsOf(g, jobs, rs, truth, k, si)));
    const ms = jobs.reduce((a, j, i) => a + (j.method === k ? rs[i].searchMs : 0), 0);
    return methodResult(m, sweeps, ms);
  });
}
