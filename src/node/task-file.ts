// Task files on the command line (`acdc run --task F`, `acdc sweep --task F`):
// read the file and its tokenizer from disk (paths relative to the file's
// folder), pick the model (--model, else the file's "model"), build the Task
// once the model's geometry is known, and the sweep's output when the file
// has no ground truth (the faithfulness curve only). The parsing and checking
// itself is core code (src/tasks/task-file.ts, text-task.ts).
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { parseTaskJson, readTaskSpec, type TaskSpec } from "../tasks/task-file.js";
import { buildTextTask, type TextTask } from "../tasks/text-task.js";
import { loadTaskTokenizer } from "../tasks/text-task-load.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";
import type { ModelConfig } from "../model/config.js";
import type { Transformer } from "../model/transformer.js";
import { buildGraph, type Graph } from "../graph/graph.js";
import type { Circuit } from "../circuit.js";
import type { Engine } from "../wasm/engine.js";
import type { SweepResult } from "../eval/sweep.js";
import { plotSvg } from "../io/svg.js";
import { loadModelFromPath, looksLikePath, UsageError, writeAtomic, type ModelFiles } from "./files.js";
import { bytesBar } from "./progress.js";

/** A task file read from disk: its JSON, its checked fields and its tokenizer (null for token-id files). */
export interface TaskFile { path: string; dir: string; json: unknown; spec: TaskSpec; tokenizer: Tokenizer | null }

/** True when a --task argument is a file rather than a built-in task's name. */
export function isTaskFileArg(arg: string): boolean {
  return /\.json$/i.test(arg) || (existsSync(arg) && statSync(arg).isFile());
}

/** Bytes of a file, or null when there is none (what loadTokenizer expects of readFile). */
async function readOrNull(path: string): Promise<Uint8Array | null> {
  if (!existsSync(path)) return null;
  if (statSync(path).isDirectory()) throw new Error("it is a folder, not a file");
  return new Uint8Array(readFileSync(path));
}

/** Read and check a task file and load the tokenizer it names; any problem is one line. */
export async function readTaskFile(path: string): Promise<TaskFile> {
  if (!existsSync(path)) throw new UsageError(`task file not found: ${path}`);
  if (statSync(path).isDirectory()) throw new UsageError(`task file ${path} is a folder, not a JSON file`);
  let text: string;
  try { text = readFileSync(path, "utf8"); } catch (e) { throw new UsageError(`cannot read task file ${path}: ${(e as Error).message}`); }
  const json = parseTaskJson(text, path);
  const spec = readTaskSpec(json, path);
  const dir = dirname(resolve(path));
  return { path, dir, json, spec, tokenizer: await loadTaskTokenizer(spec, readOrNull, dir) };
}

/** The tokenizer a task file names, read from `path` instead of where the file says (verify found it elsewhere by its digest). */
export async function loadTokenizerAt(spec: TaskSpec, path: string): Promise<Tokenizer | null> {
  return loadTaskTokenizer({ ...spec, tokenizer: resolve(path) }, readOrNull);
}

/** The --model argument: the command line's, else the file's "model" (a path is relative to the file's folder). */
export function taskModelArg(file: TaskFile, cliModel: string | undefined): string {
  if (cliModel !== undefined) return cliModel;
  const m = file.spec.model;
  if (m === undefined) throw new UsageError(`--model is required: ${file.path} names no "model"`);
  if (isAbsolute(m)) return m;
  const local = join(file.dir, m);
  return looksLikePath(m) || existsSync(local) ? local : m;
}

/** The metrics a task file offers (kl and its own), its default first. */
export function taskMetricNames(file: TaskFile): string[] {
  return [...new Set([file.spec.metric, "kl"])];
}

/** Refuse an ablation the file cannot give before any model is loaded. */
export function checkTaskAblation(file: TaskFile, ablation: string): void {
  if (ablation === "corrupted" && file.spec.corrupted === null) throw new UsageError(`--ablation corrupted needs "corrupted" prompts, and ${file.path} has none`);
}

/** Build the task for the model's geometry (any problem is one line). */
export function buildTaskFile(file: TaskFile, cfg: ModelConfig): TextTask {
  return buildTextTask(file.spec, file.tokenizer, cfg);
}

/** What a task holds, for stderr: sizes, and prompt 0 as the tokenizer spells it. */
export function describeTask(task: TextTask): string {
  const d = task.data, rows = (d.positions as (number | number[])[]).flat().length, tok = task.tokenizer;
  const text = task.texts.clean[0];
  const pieces = d.clean[0].map((id) => (tok && id < tok.vocabSize ? JSON.stringify(tok.piece(id)) : String(id)));
  const shown = pieces.length > 24 ? [...pieces.slice(0, 12), "…", ...pieces.slice(-8)] : pieces;
  return `task ${task.source}: ${d.clean.length} prompt${d.clean.length === 1 ? "" : "s"} × ${d.clean[0].length} tokens, metric ${task.defaultMetric} at ${rows === d.clean.length ? "1 position per prompt" : `${rows} positions in all`}` +
    `${task.groundTruth ? `, ground truth of ${task.groundTruth.length} edges` : ""}\n` +
    `  clean prompt 0${text === null ? "" : ` ${JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}…` : text)}`} → [${shown.join(", ")}]\n`;
}

/** How a circuit compares with the task file's ground truth, as one line. */
export function groundTruthLine(graph: Graph, c: Circuit, task: TextTask): string {
  const truth = new Set(task.groundTruth!.map(([a, b]) => `${a} ${b}`));
  const found = c.edges.filter((e) => truth.has(`${graph.nodes[e.parent].label} ${graph.nodes[e.child].label}`)).length;
  return `ground truth (task file): ${found} of ${truth.size} edges found, ${c.edges.length - found} extra\n`;
}

/** A task file's model (and the files it came from), graph, task and ground truth (null when the file has none), for a sweep. */
export async function taskFileSetup(file: TaskFile, cliModel: string | undefined, engine: Engine, quiet: boolean):
  Promise<{ task: TextTask; model: Transformer; graph: Graph; truth: [string, string][] | null; modelName: string; files: ModelFiles }> {
  const { model, name, files } = await loadModelFromPath(taskModelArg(file, cliModel), { quiet, engine, onProgress: bytesBar(process.stderr, "loading weights", quiet) });
  const task = buildTaskFile(file, model.cfg);
  process.stderr.write(`model ${name}: ${model.cfg.nLayers} layers × ${model.cfg.nHeads} heads, d_model ${model.cfg.dModel}, vocab ${model.cfg.dVocab}\n${describeTask(task)}`);
  return { task, model, graph: buildGraph(model.cfg), truth: task.groundTruth ? task.groundTruth.map(([a, b]) => [a, b]) : null, modelName: name, files };
}

/** The name a task file's sweep outputs are written under: the file's name without .json. */
export function taskFileName(path: string): string {
  return basename(path).replace(/\.json$/i, "");
}

/** Print a sweep with no ground truth: edges kept and metric per run. */
export function printFaithfulness(out: NodeJS.WritableStream, name: string, s: SweepResult): void {
  out.write(`\n${name} (${s.algorithm}): ${s.runs.length} runs; the task file has no "ground_truth", so the faithfulness curve only (no ROC, no AUC)\n`);
  out.write(`  ${s.knob.padStart(9)}   kept  tested   metric\n`);
  for (const r of s.runs) out.write(`  ${r.value.toExponential(2).padStart(9)}  ${String(r.numKept).padStart(5)}  ${String(r.numTested).padStart(6)}   ${r.metric.toExponential(3)}\n`);
}

/** NAME-sweep.json of a sweep with no ground truth: runs and faithfulness, no ROC. */
export function faithfulnessJson(name: string, s: SweepResult): { task: string; runs: { searchMs: number }[] } & Record<string, unknown> {
  const runs = s.runs.map((r) => ({ value: r.value, numKept: r.numKept, numTested: r.numTested, metric: r.metric, searchMs: r.searchMs }));
  return { task: name, algorithm: s.algorithm, knob: s.knob, groundTruth: null, runs, faithfulness: s.faithfulness };
}

/** Write NAME-sweep.json (runs and faithfulness, no ROC) and NAME-faithfulness.svg; returns the paths. */
export function writeFaithfulnessFiles(dir: string, name: string, s: SweepResult): string[] {
  const files = [join(dir, `${name}-sweep.json`), join(dir, `${name}-faithfulness.svg`)];
  writeAtomic(files[0], JSON.stringify(faithfulnessJson(name, s), null, 1) + "\n");
  writeAtomic(files[1], plotSvg([{ name: "circuit metric", points: s.faithfulness }], { title: `${name}: metric vs. edges kept`, xLabel: "edges kept", yLabel: "metric (higher is worse)" }));
  return files;
}
