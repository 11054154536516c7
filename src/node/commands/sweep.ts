// `acdc demo` and `acdc sweep`: the paper's tracr tasks (and the trained
// induction model) end to end, offline. demo runs ACDC once on
// tracr-reverse (compiled in code, nothing downloaded), scores it against the
// ground truth over the paper's threshold sweep and writes circuit.json /
// .dot / .svg; sweep prints the ROC table of any registered algorithm, its
// runs done here or, as jobs, on other processes, machines or fetch handlers
// (--workers, --queue, --endpoints: src/node/distrib/), with the same outputs.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildGraph, type Graph } from "../../graph/graph.js";
import { Patcher, ABLATIONS, type Ablation } from "../../patch/patcher.js";
import { acdc } from "../../algorithms/acdc.js";
import { ALGORITHMS, getAlgorithm } from "../../algorithms/registry.js";
import { circuitDot, circuitJson } from "../../io/circuit.js";
import { circuitSvg, plotSvg, rocSvg } from "../../io/svg.js";
import { sweep, type SweepResult } from "../../eval/sweep.js";
import { compareMethods, defaultPlan, type MethodPlan, type MethodResult } from "../../eval/compare.js";
import { comparisonJson, compareFiles, printComparison, writeComparisonFiles } from "./compare-report.js";
import { paretoFrontier } from "../../eval/roc.js";
import { searchTrajectory, trajectoryOf, type Trajectory } from "../../eval/trajectory.js";
import { hexF64, type RunManifest } from "../../repro/manifest.js";
import { logspace } from "../../thresholds.js";
import { createTracrModel, tracrTask, TRACR_REFERENCE_AUC, TRACR_THRESHOLDS, type TracrTaskName } from "../../tasks/tracr.js";
import { inductionGroundTruth, inductionOfflineTask } from "../../tasks/induction-offline.js";
import type { Task } from "../../tasks/task.js";
import type { Transformer } from "../../model/transformer.js";
import { loadModel } from "../../model/load.js";
import { createEngine, type Engine } from "../../wasm/engine.js";
import { checkOutputPath, UsageError, writeAtomic, type ModelFiles } from "../files.js";
import { progressBar } from "../progress.js";
import { oneOf, parseInteger, parseNumber, parseOptions, parseThreads, parseThreshold } from "../args.js";
import { checkTaskAblation, faithfulnessJson, isTaskFileArg, printFaithfulness, readTaskFile, taskFileName, taskFileSetup, writeFaithfulnessFiles, type TaskFile } from "../task-file.js";
import { CompareRecorder, compareManifestPath, SweepRecorder, sweepManifestPath, type SweepInputs } from "../manifest-files.js";
import type { RunData } from "../../repro/run.js";
import { builtinTaskFiles } from "../manifest-files.js";
import { mergeComparison, mergeSweep, sweepJobs, type JobResult, type SweepJob } from "../../eval/jobs.js";
import type { TextTask } from "../../tasks/text-task.js";
import { DISTRIB_HELP, DISTRIB_OPTIONS, distribOptions, jobBase, runDistributed, type Distrib } from "../distrib/coordinator.js";

const TASKS = ["tracr-reverse", "tracr-proportion", "induction"] as const;
type TaskName = (typeof TASKS)[number];
const PAPER_AUC: Partial<Record<TaskName, number>> = { "tracr-reverse": 1.0, "tracr-proportion": 1.0 };
/** The methods `--algorithm all` compares: the paper's three, Edge Pruning and EAP-IG. */
const COMPARED = ["acdc", "sp", "hisp", "edge-pruning", "eap-ig"];
/** Steps the reference's SP sweeps train for (its launcher's --epochs). */
const SP_SWEEP_STEPS = 10000;

export const SWEEP_HELP = `acdc sweep --task ${TASKS.join("|")} [options]
acdc sweep --task FILE.json [--model M] [options]

Run an algorithm at each value of its knob and score each circuit against
the task's ground truth: TP/FP/FN, edge and head/MLP TPR/FPR per run, the
ROC AUCs and the faithfulness curve (metric vs. edges kept).
  --task T         tracr-reverse, tracr-proportion (compiled from RASP), or
                   induction (the trained 2-layer model shipped in models/;
                   ground truth from its attention patterns), or a task file
                   (README "Tasks written as text"): ROC and AUC when the file has a
                   "ground_truth", else the faithfulness curve only
  --model M        task files: the model (default the file's "model")
  --algorithm A    ${ALGORITHMS.map((a) => a.key).join("|")} (default acdc),
                   a comma-separated list of them, or all (= ${COMPARED.join(",")}):
                   each method sweeps its own knob (ACDC τ, SP λ, HISP masked
                   components 0…n, Edge Pruning target sparsity, EAP-IG edge
                   count) and one table gives every method's edge and head/MLP AUC
  --seeds N        sp, edge-pruning: one sweep per seed 0…N−1, AUC as mean ± spread
                   (default 5 for sp, 1 for edge-pruning)
  --steps N        sp, edge-pruning: optimisation steps per run (default: the
                   reference's: sp 10000 as in its sweeps, edge-pruning 6000)
  --ablation zero|corrupted|mean  default: the task's (zero for tracr, corrupted for induction
                   and task files unless the file says otherwise)
  --thresholds LO:HI:N   N thresholds 10^LO … 10^HI, evenly spaced in the
                   exponent (LO, HI are exponents of 10: -5:-1:21 is the paper's
                   tracr sweep 1e-5 … 1e-1, the default)
  --top-k K        hybrid: EAP-IG candidates per run (required for hybrid)
  --threads N|auto threads for the kernels (default 1)
${DISTRIB_HELP}  --out-dir DIR    where TASK-sweep.json, TASK-roc.svg, TASK-faithfulness.svg go (default .;
                   TASK is a task file's name without .json), and TASK-sweep.manifest.json:
                   each run's circuit and run manifest (acdc verify --run I checks one); several
                   methods: TASK-ABLATION-compare.json, -roc.svg, -node-roc.svg, -faithfulness.svg
                   and TASK-ABLATION-compare.manifest.json (one circuit and manifest per method,
                   seed and value)
  --quiet          no progress line
`;

export const DEMO_HELP = `acdc demo [--threshold T] [--out-dir DIR] [--threads N|auto] [--quiet]

Build the tracr-reverse model (compiled in code; no download), run ACDC
with zero ablation, print the circuit against the ground truth and the AUC of
the paper's threshold sweep, write circuit.json, circuit.dot, circuit.svg and
the ROC and faithfulness plots.
  --threshold T    ACDC's threshold (default 0.001)
  --out-dir DIR    where the files go (default .)
  --threads N|auto threads for the kernels (default 1)
  --quiet          no progress lines
`;

function parseTask(s: string | undefined): TaskName {
  if (!s) throw new UsageError(`--task is required (one of ${TASKS.join(", ")})`);
  if (!(TASKS as readonly string[]).includes(s)) throw new UsageError(`unknown task "${s}" (one of ${TASKS.join(", ")}, or a task file ending in .json)`);
  return s as TaskName;
}

/** "LO:HI:N": N values 10^LO … 10^HI, evenly spaced in the exponent. */
export function parseThresholds(s: string | undefined, dflt: number[]): number[] {
  if (s === undefined) return dflt;
  const parts = s.split(":");
  if (parts.length !== 3) throw new UsageError(`--thresholds must be LO:HI:N (exponents of 10 and a count, e.g. -5:-1:21 for 1e-5 … 1e-1), got "${s}"`);
  const lo = parseNumber("thresholds", parts[0]), hi = parseNumber("thresholds", parts[1]);
  const n = parseInteger("thresholds", parts[2], 1, 1000);
  // A user writing 0.001:0.1:5 means thresholds, not exponents: 10^0.001 … 10^0.1 would be absurd thresholds > 1.
  if (lo > 0 && hi > 0 && lo < 1 && hi < 1) throw new UsageError(`--thresholds ${s}: LO and HI are exponents of 10 (e.g. -3:-1:${n} for 0.001 … 0.1), not the thresholds themselves`);
  if (lo > hi) throw new UsageError(`--thresholds ${s}: LO must not exceed HI`);
  if (hi > 6 || lo < -30) throw new UsageError(`--thresholds ${s}: exponents outside [-30, 6] are not thresholds any metric here reaches`);
  return logspace(lo, hi, n);
}

const pct = (x: number) => x.toFixed(3);

function printSweep(out: NodeJS.WriteStream, name: string, s: SweepResult, paper?: number) {
  out.write(`\n${name} (${s.algorithm}): ${s.runs.length} runs\n`);
  out.write(`  ${s.knob.padStart(9)}   kept  tested  TP  FP  FN   edge TPR  edge FPR   node TPR  node FPR   metric\n`);
  for (const r of s.runs) {
    out.write(`  ${r.value.toExponential(2).padStart(9)}  ${String(r.numKept).padStart(5)}  ${String(r.numTested).padStart(6)}` +
      `  ${String(r.edges.tp).padStart(2)}  ${String(r.edges.fp).padStart(2)}  ${String(r.edges.fn).padStart(2)}` +
      `   ${pct(r.edges.tpr).padStart(8)}  ${pct(r.edges.fpr).padStart(8)}   ${pct(r.nodes.tpr).padStart(8)}  ${pct(r.nodes.fpr).padStart(8)}   ${r.metric.toExponential(2)}\n`);
  }
  out.write(`  AUC (edges) ${s.edgeAuc.toFixed(3)}   AUC (heads and MLPs) ${s.nodeAuc.toFixed(3)}${paper !== undefined ? `   paper (ACDC, edges): ${paper.toFixed(3)}` : ""}\n`);
}

function sweepFiles(dir: string, name: string): string[] {
  return [join(dir, `${name}-sweep.json`), join(dir, `${name}-roc.svg`), join(dir, `${name}-faithfulness.svg`)];
}

/** The sweep's JSON, ROC and faithfulness plot; `shown`, one run whose search path the plot draws (a sweep of equal circuits is one point otherwise). */
function writeSweepFiles(dir: string, name: string, s: SweepResult, shown?: { path: Trajectory; label: string }): string[] {
  const files = sweepFiles(dir, name);
  writeAtomic(files[0], JSON.stringify({ task: name, ...s, edgeFrontier: paretoFrontier(s.edgeRoc), nodeFrontier: paretoFrontier(s.nodeRoc) }, null, 1) + "\n");
  writeAtomic(files[1], rocSvg(`${name}: ROC against the ground truth`, [
    { name: `edges (AUC ${s.edgeAuc.toFixed(3)})`, frontier: paretoFrontier(s.edgeRoc) },
    { name: `heads/MLPs (AUC ${s.nodeAuc.toFixed(3)})`, frontier: paretoFrontier(s.nodeRoc) },
  ]));
  const path = shown ? shown.path : { path: [], refused: [] };
  writeAtomic(files[2], plotSvg([
    { name: `sweep: ${s.runs.length} circuits`, points: s.faithfulness },
    ...(path.path.length ? [{ name: `${shown!.label}, edge by edge`, points: path.path, step: true }] : []),
    ...(path.refused.length ? [{ name: "kept edges: metric if removed", points: path.refused, line: false }] : []),
  ], { title: `${name}: metric vs. edges kept`, xLabel: "edges kept", yLabel: "metric (higher is worse)" }));
  return files;
}

/** The output folder, made if needed, and each file in it checked writable. */
function prepareOutDir(dir: string, files: string[]): void {
  try { mkdirSync(dir, { recursive: true }); } catch (e) { throw new UsageError(`--out-dir ${dir}: ${(e as Error).message}`); }
  for (const f of files) checkOutputPath(f, "--out-dir");
}

/** A task's model, graph and ground truth, built offline. */
async function taskSetup(name: TaskName, engine: Engine): Promise<{ task: Task; model: Transformer; graph: Graph; truth: [string, string][] }> {
  if (name === "induction") {
    const task = inductionOfflineTask();
    const dir = new URL("../../../models/", import.meta.url);
    const model = await loadModel(new Uint8Array(readFileSync(new URL("induction-2l.safetensors", dir))), JSON.parse(readFileSync(new URL("induction-2l.config.json", dir), "utf8")), { engine });
    const truth = inductionGroundTruth(model, task.data.clean).edges.map(([a, b]) => [a, b] as [string, string]);
    return { task, model, graph: buildGraph(model.cfg), truth };
  }
  const task = tracrTask(name);
  const model = await createTracrModel(task, engine);
  return { task, model, graph: buildGraph(task.cfg, task.graph), truth: task.groundTruth.map(([a, b]) => [a, b]) };
}

export async function sweepCommand(args: string[]): Promise<void> {
  const values = parseOptions(args, {
    task: { type: "string" }, ablation: { type: "string" }, thresholds: { type: "string" }, "out-dir": { type: "string" },
    quiet: { type: "boolean" }, algorithm: { type: "string" }, threads: { type: "string" }, "top-k": { type: "string" },
    seeds: { type: "string" }, steps: { type: "string" }, model: { type: "string" }, ...DISTRIB_OPTIONS,
  });
  if (values.help) { process.stdout.write(SWEEP_HELP); return; }
  const str = (k: string) => values[k] as string | undefined;
  const dist = await distribOptions(values, parseThreads(str("threads")));
  const taskFile = str("task") && !(TASKS as readonly string[]).includes(str("task")!) && isTaskFileArg(str("task")!) ? await readTaskFile(str("task")!) : null;
  if (!taskFile && str("model")) throw new UsageError("--model applies to task files; the built-in tasks bring their own model");
  const name = taskFile ? taskFileName(taskFile.path) : parseTask(str("task"));
  const methods = parseAlgorithms(str("algorithm"));
  const stochastic = methods.filter((m) => m === "sp" || m === "edge-pruning");
  for (const k of ["seeds", "steps"]) {
    if (str(k) !== undefined && stochastic.length === 0) throw new UsageError(`--${k} applies to sp and edge-pruning (the methods trained from random gate noise)`);
  }
  const defaultThresholds = taskFile ? taskFile.spec.thresholds ?? logspace(-4, 0, 21) : name === "induction" ? logspace(-4, 0, 21) : TRACR_THRESHOLDS;
  if (methods.length > 1 || getAlgorithm(methods[0]).knob.option !== "threshold") {
    if (str("top-k") !== undefined) throw new UsageError("--top-k applies to a hybrid sweep alone");
    if (str("thresholds") !== undefined && !methods.includes("acdc")) throw new UsageError("--thresholds sets ACDC's thresholds; acdc is not among the methods");
    if (taskFile && str("ablation")) checkTaskAblation(taskFile, str("ablation")!);
    const setup = (engine: Engine) => (taskFile ? taskFileSetup(taskFile, str("model"), engine, Boolean(values.quiet)) : taskSetup(name as TaskName, engine));
    return compareCommand(name, methods, values, { setup, defaultThresholds, tracr: name.startsWith("tracr-") && !taskFile, taskFile, builtin: !taskFile, dist });
  }
  const alg = getAlgorithm(methods[0]);
  const topK = str("top-k") === undefined ? undefined : parseInteger("top-k", str("top-k")!, 1, 1e9);
  if (alg.key === "hybrid" && topK === undefined) throw new UsageError("--algorithm hybrid needs --top-k");
  if (topK !== undefined && alg.key !== "hybrid") throw new UsageError(`--top-k applies to the hybrid sweep only (${alg.key} sweeps its ${alg.knob.option})`);
  const thresholds = parseThresholds(str("thresholds"), defaultThresholds);
  if (taskFile && str("ablation")) checkTaskAblation(taskFile, str("ablation")!);
  const dir = str("out-dir") ?? ".";
  prepareOutDir(dir, [...sweepFiles(dir, name), sweepManifestPath(dir, name)]);
  const quiet = Boolean(values.quiet);
  const engine = await createEngine({ threads: parseThreads(str("threads")) });
  const setup = taskFile ? await taskFileSetup(taskFile, str("model"), engine, quiet) : await taskSetup(name as TaskName, engine);
  const { task, model, graph, truth } = setup;
  const ablation = oneOf<Ablation>("ablation", str("ablation"), ABLATIONS, task.defaultAblation);
  process.stderr.write(`${task.name}: ${task.cfg.nLayers} layers, d_model ${task.cfg.dModel}; ${graph.counts.addition + graph.counts.direct} edges; ` +
    `${task.data.clean.length} prompts; ${ablation} ablation; metric ${task.defaultMetric}; ${alg.name}\n`);
  const bar = progressBar(process.stderr, `sweep ${name}`, quiet, "runs");
  const t0 = performance.now();
  const inputs = sweepInputs(dir, name, setup, engine, taskFile);
  const modelName = inputs.modelName, metricName = task.metrics[task.defaultMetric]().name;
  const rec = new SweepRecorder({ ...inputs, knob: "threshold", topK,
    spec: { algorithm: alg.key, metric: task.defaultMetric, ablation, splitInput: Boolean(task.graph?.splitInput) } });
  // The faithfulness plot also draws one search edge by edge: the middle run's (local sweeps).
  let shown: { path: Trajectory; label: string } | undefined;
  let s: SweepResult;
  if (dist) {
    const plan: MethodPlan = { algorithm: alg.key, knob: alg.knob.option, values: thresholds, seeds: [undefined], options: { topK } };
    const { jobs, results } = await runJobs(dist, [plan], {
      name, task, model, ablation, quiet, builtin: !taskFile, manifest: true,
      modelName: "modelName" in setup ? setup.modelName : modelName, files: "files" in setup ? setup.files : builtinTaskFiles(name),
    });
    s = mergeSweep(graph, jobs, results, truth ?? []);
    jobs.forEach((j, i) => rec.addRemote(j.value, results[i].circuit, results[i].manifest));
    const mid = Math.floor(jobs.length / 2), m = results[mid].manifest;
    if (m) shown = { path: manifestTrajectory(m, graph), label: `${alg.key} at ${alg.knob.option} ${jobs[mid].value.toExponential(1)}` };
  } else {
    s = sweep({
      model, graph, data: task.data, metric: task.metrics[task.defaultMetric], ablation, algorithm: alg.key, values: thresholds,
      options: { topK }, groundTruth: truth ?? [],
      onRun: (i, n, v, c) => {
        rec.add(v, c, circuitJson(c, { ablation, metric: metricName, model: { name: modelName, ...model.cfg } }));
        bar.update({ phase: "sweep", done: i + 1, total: n, ms: performance.now() - t0 });
        if (i === Math.floor(n / 2)) shown = { path: searchTrajectory(c), label: `${alg.key} at ${alg.knob.option} ${v.toExponential(1)}` };
      },
    });
  }
  bar.finish();
  if (truth === null) printFaithfulness(process.stdout, name, s);
  else printSweep(process.stdout, name, s, ablation === "zero" && alg.key === "acdc" ? PAPER_AUC[name as TaskName] : undefined);
  for (const f of truth === null ? writeFaithfulnessFiles(dir, name, s) : writeSweepFiles(dir, name, s, shown)) process.stdout.write(`wrote ${f}\n`);
  process.stdout.write(`wrote ${rec.write(s, truth === null ? faithfulnessJson(name, s) : undefined)}\n`);
  engine.dispose();
}

/** What every run's manifest of a sweep shares: the task and model (built in, or a task file's), its data, the engine. */
function sweepInputs(dir: string, name: string, setup: { task: { data: RunData }; model: Transformer; modelName?: string; files?: ModelFiles }, engine: Engine, taskFile: TaskFile | null): SweepInputs {
  const modelName = taskFile ? setup.modelName! : name === "induction" ? "induction-2l" : name;
  return { dir, task: name, model: setup.model, modelName, data: setup.task.data, engine, ...(taskFile ? { taskFile, modelFiles: setup.files } : {}) };
}

/** The search path a run manifest records (its decisions, in order). */
function manifestTrajectory(m: RunManifest, g: Graph): Trajectory {
  const decisions = m.results.decisions === "metric-when-removed" ? m.trace.map((e) => ({ removed: e[2] === "removed", metric: hexF64(e[4]) })) : [];
  return trajectoryOf(g.counts.addition + g.counts.direct, hexF64(m.results.baseline), decisions, m.results.num_kept, hexF64(m.results.metric));
}

/** A sweep's runs as jobs on local processes, a queue or endpoints (src/node/distrib/); the results in job order. */
async function runJobs(dist: Distrib, plans: MethodPlan[], o: {
  name: string; task: Task | TextTask; model: Transformer; modelName: string; files: ModelFiles | null; ablation: Ablation;
  builtin: boolean; manifest: boolean; quiet: boolean;
}): Promise<{ jobs: SweepJob[]; results: JobResult[] }> {
  const jobs = sweepJobs(jobBase({
    sweep: o.name, model: o.model, modelName: o.modelName, files: o.files, task: o.builtin ? o.name : null, tokens: o.task.data,
    splitInput: Boolean(o.task.graph?.splitInput), metric: o.task.defaultMetric, ablation: o.ablation, manifest: o.manifest,
  }), plans);
  return { jobs, results: await runDistributed(jobs, dist, { label: `sweep ${o.name}`, quiet: o.quiet }) };
}

/** "all", one key, or a comma-separated list of keys. */
function parseAlgorithms(s: string | undefined): string[] {
  if (s === undefined) return ["acdc"];
  if (s === "all") return [...COMPARED];
  const keys = s.split(",");
  const known = ALGORITHMS.map((a) => a.key);
  for (const k of keys) if (!known.includes(k)) throw new UsageError(`--algorithm: unknown method "${k}" (one of ${known.join(", ")}, a comma-separated list, or all)`);
  if (new Set(keys).size !== keys.length) throw new UsageError(`--algorithm ${s}: a method is listed twice`);
  if (keys.length > 1 && keys.includes("hybrid")) throw new UsageError("--algorithm: hybrid needs --top-k and sweeps alone");
  return keys;
}

/** Several methods (or one without a threshold) on one task: each swept over its own knob, one AUC table. */
async function compareCommand(name: string, methods: string[], values: Record<string, string | boolean | undefined>,
  how: { setup: (e: Engine) => ReturnType<typeof taskFileSetup> | ReturnType<typeof taskSetup>; defaultThresholds: number[]; tracr: boolean; taskFile: TaskFile | null; builtin: boolean; dist: Distrib | null }): Promise<void> {
  const str = (k: string) => values[k] as string | undefined;
  const seedsOpt = str("seeds") === undefined ? undefined : parseInteger("seeds", str("seeds")!, 1, 100);
  const steps = str("steps") === undefined ? undefined : parseInteger("steps", str("steps")!, 1, 1e6);
  const thresholds = parseThresholds(str("thresholds"), how.defaultThresholds);
  const dir = str("out-dir") ?? ".";
  const quiet = Boolean(values.quiet);
  const engine = await createEngine({ threads: parseThreads(str("threads")) });
  const setup = await how.setup(engine);
  const { task, model, graph, truth } = setup;
  if (truth === null) throw new UsageError(`comparing methods needs a ground truth to score against; the task file ${name} has no "ground_truth" (sweep one method for its faithfulness curve)`);
  const ablation = oneOf<Ablation>("ablation", str("ablation"), ABLATIONS, task.defaultAblation);
  const stem = `${name}-${ablation}`;
  prepareOutDir(dir, [...compareFiles(dir, stem), compareManifestPath(dir, stem)]);
  const plans = methods.map((m) => {
    const seeds = seedsOpt ?? (m === "sp" ? 5 : 1);
    return defaultPlan(m, graph, { thresholds, tracr: how.tracr, seeds, steps: steps ?? (m === "sp" ? SP_SWEEP_STEPS : undefined) });
  });
  const total = plans.reduce((a, p) => a + p.values.length * p.seeds.length, 0);
  process.stderr.write(`${task.name}: ${task.cfg.nLayers} layers, d_model ${task.cfg.dModel}; ${graph.counts.addition + graph.counts.direct} edges; ` +
    `${task.data.clean.length} prompts; ${ablation} ablation; metric ${task.defaultMetric}; ` +
    `${plans.map((p) => `${p.algorithm} ×${p.values.length}${p.seeds.length > 1 ? `×${p.seeds.length} seeds` : ""}`).join(", ")} (${total} runs)\n`);
  const bar = progressBar(process.stderr, `compare ${stem}`, quiet, "runs", { showPhase: true });
  const inputs = sweepInputs(dir, name, setup, engine, how.taskFile);
  const metricName = task.metrics[task.defaultMetric]().name;
  const rec = new CompareRecorder({ ...inputs, stem, plans, spec: { metric: task.defaultMetric, ablation, splitInput: Boolean(task.graph?.splitInput) } });
  // Methods differ in cost by orders of magnitude: the bar and its ETA follow the current method's runs.
  let results: MethodResult[];
  if (how.dist) {
    const { jobs, results: rs } = await runJobs(how.dist, plans, {
      name, task, model, ablation, quiet, builtin: how.builtin, manifest: true,
      modelName: "modelName" in setup ? setup.modelName : name === "induction" ? "induction-2l" : name, files: "files" in setup ? setup.files : builtinTaskFiles(name),
    });
    results = mergeComparison(graph, plans, jobs, rs, truth);
    jobs.forEach((j, i) => rec.addRemote(plans[j.method].algorithm, j.seed, j.value, rs[i].circuit, rs[i].manifest));
  } else {
    results = compareMethods({
      model, graph, data: task.data, metric: task.metrics[task.defaultMetric], ablation, groundTruth: truth, methods: plans,
      onRun: (method, seed, i, n, value, c) => {
        rec.add(method, seed, value, c, circuitJson(c, { ablation, metric: metricName, model: { name: inputs.modelName, ...model.cfg } }));
        const k = plans.findIndex((p) => p.algorithm === method), seeds = plans[k].seeds.length;
        bar.update({ phase: `${k + 1}/${plans.length} ${method}${seeds > 1 ? ` (${seeds} seeds)` : ""}`, done: seed * n + i + 1, total: seeds * n, ms: 0 });
      },
    });
  }
  bar.finish();
  const ref = how.tracr && ablation !== "mean" ? TRACR_REFERENCE_AUC[name as TracrTaskName][ablation] : undefined;
  printComparison(process.stdout, `${name}, ${ablation} ablation, metric ${task.defaultMetric}: ROC AUC against the ground truth` +
    (ref ? " (reference: the paper's auc_tables.tex)" : ""), results, ref);
  const context = { task: name, ablation, metric: task.defaultMetric, edges: graph.counts.addition + graph.counts.direct, reference: ref ?? null };
  for (const f of writeComparisonFiles(dir, stem, context, results)) process.stdout.write(`wrote ${f}\n`);
  process.stdout.write(`wrote ${rec.write(comparisonJson(context, results))}\n`);
  engine.dispose();
}

export async function demoCommand(args: string[]): Promise<void> {
  const values = parseOptions(args, { threshold: { type: "string" }, "out-dir": { type: "string" }, quiet: { type: "boolean" }, threads: { type: "string" } });
  if (values.help) { process.stdout.write(DEMO_HELP); return; }
  const threshold = parseThreshold(values.threshold as string | undefined, 1e-3);
  const dir = (values["out-dir"] as string | undefined) ?? ".";
  const quiet = Boolean(values.quiet);
  prepareOutDir(dir, [...["circuit.json", "circuit.dot", "circuit.svg"].map((f) => join(dir, f)), ...sweepFiles(dir, "tracr-reverse")]);
  const out = process.stdout;
  const engine = await createEngine({ threads: parseThreads(values.threads as string | undefined) });
  const name: TracrTaskName = "tracr-reverse";
  const task = tracrTask(name);
  const model = await createTracrModel(task, engine);
  const graph = buildGraph(task.cfg, task.graph);
  const counted = graph.counts.addition + graph.counts.direct;
  out.write(`acdc-wasm demo: tracr-reverse, a transformer compiled in code from the RASP program\n` +
    `  length = SelectorWidth(Select(tokens, tokens, TRUE)); opp = length − indices − 1;\n` +
    `  reverse = Aggregate(Select(indices, opp, EQ), tokens)\n` +
    `  ${task.cfg.nLayers} layers × ${task.cfg.nHeads} head, MLPs, d_model ${task.cfg.dModel}; graph of ${counted} edges; ` +
    `${task.data.clean.length} prompts (BOS + permutations of 1 2 3); zero ablation; metric: squared output difference\n\n`);

  const bar = progressBar(process.stderr, `ACDC τ=${threshold}`, quiet);
  const p = new Patcher(model, graph, task.data, { ablation: "zero", metric: task.metrics.task() });
  const r = acdc(p, { threshold, onProgress: (x) => bar.update(x) });
  bar.finish();
  const truth = new Set(task.groundTruth.map(([a, b]) => `${a}->${b}`));
  out.write(`\ncircuit at τ=${threshold}: ${r.edges.length} of ${counted} edges (${r.stats.tested} tested, ${r.stats.ms.toFixed(0)} ms); metric ${r.metric.toExponential(2)}\n`);
  for (const e of r.edges) {
    const a = graph.nodes[e.parent].label, b = graph.nodes[e.child].label;
    out.write(`  ${truth.has(`${a}->${b}`) ? "✓" : "✗"} ${a} → ${b}${e.type === "direct" ? " (direct)" : ""}\n`);
  }
  const found = r.edges.filter((e) => truth.has(`${graph.nodes[e.parent].label}->${graph.nodes[e.child].label}`)).length;
  out.write(`  ${found} of ${truth.size} ground-truth edges found, ${r.edges.length - found} extra\n`);

  const sbar = progressBar(process.stderr, `sweep ${name}`, quiet, "runs");
  const t0 = performance.now();
  const s = sweep({
    model, graph, data: task.data, metric: task.metrics.task, ablation: "zero", values: TRACR_THRESHOLDS,
    groundTruth: task.groundTruth.map(([a, b]) => [a, b]), onRun: (i, n) => sbar.update({ phase: "sweep", done: i + 1, total: n, ms: performance.now() - t0 }),
  });
  sbar.finish();
  out.write(`\nthreshold sweep 10^linspace(−5, −1, 21): AUC (edges) ${s.edgeAuc.toFixed(3)}, AUC (heads and MLPs) ${s.nodeAuc.toFixed(3)}; paper: ${PAPER_AUC[name]!.toFixed(3)}\n\n`);

  const json = circuitJson(r, { ablation: "zero", metric: "l2", model: { name, ...task.cfg } });
  const files: [string, string][] = [
    ["circuit.json", JSON.stringify({ ...json, task: name, auc: { edges: s.edgeAuc, nodes: s.nodeAuc } }, null, 1) + "\n"],
    ["circuit.dot", circuitDot(r)],
    ["circuit.svg", circuitSvg(graph, r.edges, `tracr-reverse: ACDC circuit at τ=${threshold} (${r.edges.length} edges)`)],
  ];
  for (const [f, text] of files) { writeAtomic(join(dir, f), text); out.write(`wrote ${join(dir, f)}\n`); }
  for (const f of writeSweepFiles(dir, name, s, { path: searchTrajectory(r), label: `ACDC at τ=${threshold}` })) out.write(`wrote ${f}\n`);
  engine.dispose();
}

