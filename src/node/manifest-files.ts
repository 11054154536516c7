// Node side of run manifests: hash the files a run read (node:crypto,
// streamed), write `c.manifest.json` beside `--out c.json`, a sweep's
// TASK-sweep.manifest.json and a comparison's TASK-ABLATION-compare.manifest.json,
// and find a manifest's inputs again for `acdc verify` — a path given on the
// command line, else the recorded path (relative to the manifest's folder,
// then as written), else any file of the recorded size and digest in the
// manifest's folder, the working directory or the package's models/. A task
// file's tokenizer is looked for first where the task file names it. The
// manifest itself is built in core (src/repro/manifest.ts), so a browser or
// a worker builds the same one.
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Circuit } from "../circuit.js";
import type { CircuitJson } from "../io/circuit.js";
import type { Engine } from "../wasm/engine.js";
import type { Transformer } from "../model/transformer.js";
import { buildManifest, canonicalJson, checkRunManifest, circuitDigest, compareDigest, dataDigest, manifestText, paramsDigest, sealOf, sweepDigest, COMPARE_MANIFEST_KIND, MANIFEST_VERSION, SWEEP_MANIFEST_KIND,
  type CompareManifest, type CompareRunRecord, type DataSection, type FileRef, type ModelSection, type RunManifest, type SweepManifest, type SweepRunRecord,
  type TokenizerRef } from "../repro/manifest.js";
import { type RunData, type RunSpec } from "../repro/run.js";
import { optionsSection, type Sha256Hasher } from "../repro/manifest.js";
import { sha256Hex } from "../repro/sha256.js";
import { parseTaskJson, readTaskSpec } from "../tasks/task-file.js";
import { resolvePath } from "../tokenizers/load.js";
import type { VerifyInputs } from "../repro/verify.js";
import type { MethodPlan } from "../eval/compare.js";
import type { SweepResult } from "../eval/sweep.js";
import { loadTaskTokenizer } from "../tasks/text-task-load.js";
import { folderWeights, UsageError, writeAtomic, type ModelFiles } from "./files.js";
import { loadTokenizerAt, type TaskFile } from "./task-file.js";

/** Where the manifest of `--out c.json` goes: c.manifest.json (or OUT.manifest.json). */
export function manifestPathFor(outPath: string): string {
  return outPath.endsWith(".json") ? `${outPath.slice(0, -5)}.manifest.json` : `${outPath}.manifest.json`;
}

/** SHA-256 of a file, streamed in 1 MiB reads (a run hashes its weights file at the end, when its memory is at its peak: a bigger buffer only adds to that). */
export function fileDigest(path: string): string {
  const h = nodeSha256(), buf = new Uint8Array(1 << 20);
  const fd = openSync(path, "r");
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.hex();
}

/** paramsDigest with Node's native SHA-256: the same digest, about 12× faster (GPT-2-small's 622 MiB: 0.48 s instead of 5.7). */
export function nodeParamsDigest(model: Transformer): string {
  return paramsDigest(model, nodeSha256());
}

/** A fresh incremental SHA-256 from node:crypto, in the shape the portable Sha256 has. */
export function nodeSha256(): Sha256Hasher {
  const h = createHash("sha256");
  return { update: (d) => h.update(d), hex: () => h.digest("hex") };
}

/** A file as the manifest records it: its path (relative when inside the manifest's folder, so the folder can move whole), size, digest. */
export function fileRef(path: string, manifestDir: string): FileRef {
  const abs = resolve(path), rel = relative(manifestDir, abs);
  return { path: rel === "" ? basename(path) : rel.startsWith("..") || isAbsolute(rel) ? abs : rel, bytes: statSync(path).size, sha256: fileDigest(path) };
}

/** The model section of a model loaded from files. */
export function fileModelSection(model: Transformer, name: string, files: ModelFiles, manifestDir: string): ModelSection {
  return {
    source: "file", format: files.config ? "safetensors" : "llama2c", name,
    weights: fileRef(files.weights, manifestDir), config: files.config ? fileRef(files.config, manifestDir) : null,
    params_sha256: nodeParamsDigest(model),
  };
}

/** The tokenizer a task file names as the manifest records it: the name ("gpt2"), or the file it resolves to (relative to the task file's folder). */
function tokenizerRef(file: TaskFile, manifestDir: string): TokenizerRef | null {
  const spec = file.spec.tokenizer;
  if (spec === undefined) return null;
  if (spec === "gpt2" || spec === "r50k") return { spec };
  return { spec, ...fileRef(resolvePath(spec, file.dir), manifestDir) };
}

/** The data section of a run on a task file: the file (bytes and canonical JSON), its tokenizer, and the token data it made. */
export function taskFileDataSection(file: TaskFile, data: RunData, manifestDir: string): DataSection {
  return {
    source: "task-file", sha256: dataDigest(data), file: fileRef(file.path, manifestDir), prompts: data.clean.length,
    task_sha256: sha256Hex(canonicalJson(file.json)), tokenizer: tokenizerRef(file, manifestDir), tokens: data,
  };
}

export interface RunRecord {
  outPath: string;
  circuit: Circuit;
  json: CircuitJson;
  model: Transformer;
  name: string;
  files: ModelFiles;
  /** The --data file, or the task file the data was made from. */
  dataPath?: string;
  taskFile?: TaskFile;
  data: RunData;
  spec: RunSpec;
  engine: Engine;
}

/** Write the manifest of an `acdc run` beside its circuit; returns its path. */
export function writeRunManifest(r: RunRecord): string {
  const path = manifestPathFor(r.outPath), dir = dirname(resolve(path));
  const data: DataSection = r.taskFile ? taskFileDataSection(r.taskFile, r.data, dir)
    : { source: "file", sha256: dataDigest(r.data), file: fileRef(r.dataPath!, dir), prompts: r.data.clean.length };
  const m = buildManifest({
    model: fileModelSection(r.model, r.name, r.files, dir), data,
    options: optionsSection(r.spec, r.engine.threads, r.engine.deterministic),
    kernels: { build: r.engine.build }, circuitPath: relative(dir, resolve(r.outPath)),
  }, r.circuit, r.json);
  writeAtomic(path, manifestText(m));
  return path;
}

/** What the runs of a sweep or comparison share: the task (built in, or a task file and the model it ran on), and the engine. */
export interface SweepInputs {
  dir: string;
  /** The built-in task's key, or a task file's name (its file name without .json). */
  task: string;
  model: Transformer;
  modelName: string;
  data: RunData;
  engine: Engine;
  /** A task file's run: the file, and the model's files. */
  taskFile?: TaskFile;
  modelFiles?: ModelFiles;
}

/** The model and data sections every run of a sweep shares. */
function sweepSections(o: SweepInputs): { model: ModelSection; data: DataSection } {
  const dir = resolve(o.dir);
  if (o.taskFile) return { model: fileModelSection(o.model, o.modelName, o.modelFiles!, dir), data: taskFileDataSection(o.taskFile, o.data, dir) };
  const files = builtinTaskFiles(o.task);
  return {
    model: files ? fileModelSection(o.model, o.modelName, files, dir)
      : { source: "builtin", format: "tracr", name: o.modelName, builtin: o.task, params_sha256: nodeParamsDigest(o.model) },
    data: { source: "task", task: o.task, sha256: dataDigest(o.data), prompts: o.data.clean.length },
  };
}

/** Collects a sweep's runs (circuit + manifest each) and writes TASK-sweep.manifest.json. */
/**
 * A run computed elsewhere, checked against what this sweep would have
 * recorded: its circuit is the one its manifest describes, its model and
 * options seal as this sweep's, and it ran on the same tokens (the data
 * section's token digest: a worker records a task file's tokens inline).
 * Its model and data sections are then replaced by this sweep's own (which
 * differ only in paths), so the file reads as a local sweep's.
 */
function checkedRemote(sections: { model: ModelSection; data: DataSection }, spec: RunSpec, engine: Engine, what: string, json: CircuitJson, manifest: RunManifest | null): RunManifest {
  if (!manifest) throw new UsageError(`${what} came back without its run manifest`);
  checkRunManifest(manifest, `the manifest of ${what}`);
  if (circuitDigest(json) !== manifest.results.circuit_sha256) throw new UsageError(`${what} came back with a circuit its manifest does not describe`);
  const want = sealOf({ ...sections, options: optionsSection(spec, 1, engine.deterministic) }), got = sealOf(manifest);
  for (const k of ["model", "options"] as const) {
    if (want[k] !== got[k]) throw new UsageError(`${what} came back with a manifest of other inputs (its ${k} section differs from this sweep's)`);
  }
  if (manifest.data.sha256 !== sections.data.sha256) throw new UsageError(`${what} came back with a manifest of other token data`);
  const local = { ...manifest, model: sections.model, data: sections.data };
  return { ...local, seal: sealOf(local) };
}

export class SweepRecorder {
  private readonly runs: SweepRunRecord[] = [];
  private readonly sections: { model: ModelSection; data: DataSection };

  constructor(private readonly o: SweepInputs & { spec: Omit<RunSpec, "threshold" | "topK">; topK?: number; knob: "threshold" | "topK" }) {
    this.sections = sweepSections(o);
  }

  /** Record one finished run (the sweep's onRun). */
  add(value: number, c: Circuit, json: CircuitJson): void {
    const spec: RunSpec = { ...this.o.spec, topK: this.o.topK, [this.o.knob]: value };
    const manifest = buildManifest({
      ...this.sections, options: optionsSection(spec, this.o.engine.threads, this.o.engine.deterministic), kernels: { build: this.o.engine.build },
    }, c, json);
    this.runs.push({ circuit: json, manifest });
  }

  /**
   * Record a run computed elsewhere (a distributed sweep's job): its manifest
   * must seal the inputs this sweep would have recorded; its model and data
   * sections are then replaced by this sweep's own (which differ only in
   * paths, relative to this folder), so the file reads as a local sweep's.
   */
  addRemote(value: number, json: CircuitJson, manifest: RunManifest | null): void {
    const spec: RunSpec = { ...this.o.spec, topK: this.o.topK, [this.o.knob]: value };
    if (!manifest) throw new UsageError(`the run at ${this.o.knob} ${value} came back without its run manifest`);
    this.runs.push({ circuit: json, manifest: checkedRemote(this.sections, spec, this.o.engine, `the run at ${this.o.knob} ${value}`, json, manifest) });
  }

  /** Write the sweep manifest; `written` is the sweep JSON as written when it is not the sweep result itself (a task file without ground truth). Returns its path. */
  write(s: SweepResult, written?: { runs: { searchMs?: number }[] } & Record<string, unknown>): string {
    const m: SweepManifest = {
      kind: SWEEP_MANIFEST_KIND, version: MANIFEST_VERSION, task: this.o.task, algorithm: s.algorithm, knob: s.knob,
      values: s.runs.map((r) => r.value), result_sha256: sweepDigest(written ?? { task: this.o.task, ...s }), runs: this.runs,
    };
    const path = sweepManifestPath(this.o.dir, this.o.task);
    writeAtomic(path, manifestText(m));
    return path;
  }
}

export const sweepManifestPath = (dir: string, task: string) => join(dir, `${task}-sweep.manifest.json`);

/** Collects a comparison's runs (per method, seed and value: circuit + manifest) and writes STEM-compare.manifest.json. */
export class CompareRecorder {
  private readonly runs: CompareRunRecord[] = [];
  private readonly sections: { model: ModelSection; data: DataSection };

  constructor(private readonly o: SweepInputs & { stem: string; spec: Pick<RunSpec, "metric" | "ablation" | "splitInput">; plans: MethodPlan[] }) {
    this.sections = sweepSections(o);
  }

  /** Record one finished run (the comparison's onRun). */
  add(method: string, seedIndex: number, value: number, c: Circuit, json: CircuitJson): void {
    const plan = this.o.plans.find((p) => p.algorithm === method)!;
    const seed = plan.seeds[seedIndex];
    const spec: RunSpec = { algorithm: method, ...this.o.spec, ...plan.options, ...(seed === undefined ? {} : { seed }), [plan.knob]: value } as RunSpec;
    const manifest = buildManifest({
      ...this.sections, options: optionsSection(spec, this.o.engine.threads, this.o.engine.deterministic), kernels: { build: this.o.engine.build },
    }, c, json);
    this.runs.push({ algorithm: method, seed: seed ?? null, value, circuit: json, manifest });
  }

  /** Record a run computed elsewhere (a distributed comparison's job), checked as SweepRecorder.addRemote checks one. */
  addRemote(method: string, seedIndex: number, value: number, json: CircuitJson, manifest: RunManifest | null): void {
    const plan = this.o.plans.find((p) => p.algorithm === method)!;
    const seed = plan.seeds[seedIndex];
    const spec: RunSpec = { algorithm: method, ...this.o.spec, ...plan.options, ...(seed === undefined ? {} : { seed }), [plan.knob]: value } as RunSpec;
    const what = `the ${method} run at ${plan.knob} ${value}${seed === undefined ? "" : ` (seed ${seed})`}`;
    this.runs.push({ algorithm: method, seed: seed ?? null, value, circuit: json, manifest: checkedRemote(this.sections, spec, this.o.engine, what, json, manifest) });
  }

  /** Write the comparison manifest for the comparison JSON as written; returns its path. */
  write(written: { methods: Record<string, unknown>[] } & Record<string, unknown>): string {
    const m: CompareManifest = {
      kind: COMPARE_MANIFEST_KIND, version: MANIFEST_VERSION, task: this.o.task, ablation: this.o.spec.ablation, metric: this.o.spec.metric,
      methods: this.o.plans.map((p) => ({ algorithm: p.algorithm, knob: p.knob, values: p.values, seeds: p.seeds.map((x) => x ?? null) })),
      result_sha256: compareDigest(written), runs: this.runs,
    };
    const path = compareManifestPath(this.o.dir, this.o.stem);
    writeAtomic(path, manifestText(m));
    return path;
  }
}

export const compareManifestPath = (dir: string, stem: string) => join(dir, `${stem}-compare.manifest.json`);

/** The package's own models/ folder (the trained induction model lives there). */
export function packageModelsDir(): string {
  return fileURLToPath(new URL("../../models/", import.meta.url));
}

/** The model files of a built-in task whose model is a file (induction), or null (tracr: built in code). */
export function builtinTaskFiles(task: string): ModelFiles | null {
  if (task !== "induction") return null;
  const dir = packageModelsDir();
  return { weights: join(dir, "induction-2l.safetensors"), config: join(dir, "induction-2l.config.json"), name: "induction-2l" };
}

// ---- finding inputs for verify ----

/** Files directly in `dirs` (and one level down) of exactly `bytes` bytes whose digest is `sha256`. */
export function findByHash(dirs: string[], bytes: number, sha256: string): string | null {
  const seen = new Set<string>();
  const candidates = (d: string, depth: number): string[] => {
    if (!existsSync(d) || seen.has(d)) return [];
    seen.add(d);
    let names: string[];
    try { names = readdirSync(d); } catch { return []; }
    const out: string[] = [];
    for (const n of names) {
      if (n.startsWith(".") || n === "node_modules") continue;
      const p = join(d, n);
      let st;
      try { st = statSync(p); } catch { continue; }
      if (st.isFile() && st.size === bytes) out.push(p);
      else if (st.isDirectory() && depth > 0) out.push(...candidates(p, depth - 1));
    }
    return out;
  };
  for (const d of dirs) for (const p of candidates(d, 1)) if (fileDigest(p) === sha256) return p;
  return null;
}

/** The recorded path of a file, relative to the manifest's folder or as written, if it exists. */
function findByPath(ref: FileRef, manifestDir: string): string | null {
  if (!ref.path) return null;
  const options = isAbsolute(ref.path) ? [ref.path] : [join(manifestDir, ref.path), ref.path];
  return options.find((p) => existsSync(p) && statSync(p).isFile()) ?? null;
}

export interface FoundInputs {
  weights?: string;
  config?: string;
  data?: string;
  /** How each was found, for the report: "given", "at its recorded path", "by sha256". */
  how: Record<string, string>;
}

/**
 * Find the files a run manifest needs: given ones win; else the recorded
 * path; else a file of the recorded size and digest nearby. Nothing found →
 * a UsageError saying where it looked and which option gives it.
 */
export function findInputs(m: RunManifest, manifestPath: string, given: { model?: string; config?: string; data?: string }): FoundInputs {
  const dir = dirname(resolve(manifestPath));
  const dirs = [dir, process.cwd(), packageModelsDir()];
  const found: FoundInputs = { how: {} };
  const locate = (what: string, ref: FileRef, option: string, givenPath?: string): string => {
    if (givenPath) {
      if (!existsSync(givenPath)) throw new UsageError(`${option} ${givenPath}: file not found`);
      found.how[what] = "given";
      return givenPath;
    }
    const byPath = findByPath(ref, dir);
    if (byPath) { found.how[what] = `at its recorded path`; return byPath; }
    const byHash = findByHash(dirs, ref.bytes, ref.sha256);
    if (byHash) { found.how[what] = `found by sha256 (${byHash})`; return byHash; }
    throw new UsageError(`the run's ${what} (${ref.path ?? ref.url ?? "no path recorded"}, ${ref.bytes} bytes, sha256 ${ref.sha256.slice(0, 12)}…) is neither at its recorded path nor anywhere in ${[...new Set(dirs)].join(", ")} by its digest; give it with ${option}`);
  };
  if (m.model.source === "file") {
    let weightsGiven = given.model, configGiven = given.config;
    // --model DIR or NAME.safetensors finds its config the way `acdc run` does.
    if (weightsGiven && existsSync(weightsGiven) && statSync(weightsGiven).isDirectory()) {
      configGiven ??= join(weightsGiven, "config.json");
      weightsGiven = folderWeights(weightsGiven) ?? join(weightsGiven, "model.safetensors");
    } else if (weightsGiven?.endsWith(".safetensors") && !configGiven) {
      const stem = weightsGiven.slice(0, -".safetensors".length);
      configGiven = [`${stem}.config.json`, join(dirname(weightsGiven), "config.json")].find((c) => existsSync(c));
    }
    found.weights = locate("model weights", m.model.weights!, "--model", weightsGiven);
    if (m.model.format === "safetensors") found.config = locate("model config", m.model.config!, "--config", configGiven);
  }
  if (m.data.source === "file") {
    if (given.data) {
      if (!existsSync(given.data)) throw new UsageError(`--data ${given.data}: file not found`);
      found.data = given.data;
      found.how.data = "given";
    } else if (m.data.file) {
      found.data = locate("data", m.data.file, "--data");
    }
  } else if (m.data.source === "inline") {
    if (!given.data) throw new UsageError(`the run's data came inline (a request body); give it with --data FILE (its canonical sha256 is ${m.data.sha256.slice(0, 12)}…)`);
    found.data = given.data;
    found.how.data = "given";
  } else if (m.data.source === "task-file" && given.data) {
    throw new UsageError("--data applies to runs on a --data file or inline data; this run's data is a task file (give it with --task)");
  }
  return found;
}

/**
 * A task file's run: the task file (given, at its recorded path, or by
 * sha256) and the tokenizer it names (given; where the task file names it;
 * at its recorded path; by sha256), read and loaded for verifyRun. Either
 * missing is no error — verify then re-runs from the manifest's recorded
 * tokens — but `why` says which; `how` says where each was found.
 */
export async function findTaskInputs(m: RunManifest, manifestPath: string, given: { task?: string; tokenizer?: string }):
  Promise<{ task?: VerifyInputs["task"]; how: Record<string, string>; why?: string }> {
  const dir = dirname(resolve(manifestPath));
  const dirs = [dir, process.cwd(), packageModelsDir()];
  const how: Record<string, string> = {};
  for (const [k, p] of Object.entries(given)) if (p !== undefined && !existsSync(p)) throw new UsageError(`--${k} ${p}: file not found`);
  const ref = m.data.file;
  let path = given.task;
  if (path) how["task file"] = "given";
  else if (ref) {
    path = findByPath(ref, dir) ?? undefined;
    if (path) how["task file"] = "at its recorded path";
    else if ((path = findByHash(dirs, ref.bytes, ref.sha256) ?? undefined)) how["task file"] = `found by sha256 (${path})`;
  }
  if (!path) return { how, why: ref ? `the task file ${ref.path} was not found; give it with --task to tokenize it again` : "the task file came inline; give it with --task to tokenize it again" };
  const text = readFileSync(path, "utf8");
  const spec = readTaskSpec(parseTaskJson(text, path), path);
  const task: NonNullable<VerifyInputs["task"]> = { file: text, source: path, tokenizer: null };
  const tok = m.data.tokenizer;
  if (spec.tokenizer === undefined || spec.tokenizer === "gpt2" || spec.tokenizer === "r50k") {
    if (spec.tokenizer !== undefined) task.tokenizer = await loadTaskTokenizer(spec, async () => null); // built in: no file
    return { task, how };
  }
  // Where the task file names it, unless given; then the manifest's record of it.
  let tokPath = given.tokenizer;
  if (tokPath) how.tokenizer = "given";
  else {
    const named = resolvePath(spec.tokenizer, dirname(resolve(path)));
    if (existsSync(named) && statSync(named).isFile()) { tokPath = named; how.tokenizer = "where the task file names it"; }
    else if (tok?.sha256 && tok.bytes !== undefined) {
      const r = { path: tok.path, bytes: tok.bytes, sha256: tok.sha256 };
      tokPath = findByPath(r, dir) ?? undefined;
      if (tokPath) how.tokenizer = "at its recorded path";
      else if ((tokPath = findByHash(dirs, r.bytes, r.sha256) ?? undefined)) how.tokenizer = `found by sha256 (${tokPath})`;
    }
  }
  if (!tokPath) return { task, how, why: `the tokenizer ${JSON.stringify(spec.tokenizer)} was not found; give it with --tokenizer to tokenize the task file again` };
  task.tokenizer = await loadTokenizerAt(spec, tokPath);
  task.tokenizerFile = new Uint8Array(readFileSync(tokPath));
  return { task, how };
}
