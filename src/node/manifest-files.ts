// Node side of run manifests: hash the files a run read (node:crypto,
// streamed), write `c.manifest.json` beside `--out c.json` and a sweep's
// TASK-sweep.manifest.json, and find a manifest's inputs again for
// `acdc verify` — a path given on the command line, else the recorded path
// (relative to the manifest's folder, then as written), else any file of the
// recorded size and digest in the manifest's folder, the working directory
// or the package's models/. The manifest itself is built in core
// (src/repro/manifest.ts), so a browser or a worker builds the same one.
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Circuit } from "../circuit.js";
import type { CircuitJson } from "../io/circuit.js";
import type { Engine } from "../wasm/engine.js";
import type { Transformer } from "../model/transformer.js";
import { buildManifest, checkRunManifest, circuitDigest, dataDigest, manifestText, paramsDigest, sealOf, sweepDigest, MANIFEST_VERSION, SWEEP_MANIFEST_KIND,
  type DataSection, type FileRef, type ModelSection, type RunManifest, type SweepManifest, type SweepRunRecord } from "../repro/manifest.js";
import { optionsSection, type RunData, type RunSpec } from "../repro/run.js";
import { UsageError, writeAtomic, type ModelFiles } from "./files.js";
import type { SweepResult } from "../eval/sweep.js";

/** Where the manifest of `--out c.json` goes: c.manifest.json (or OUT.manifest.json). */
export function manifestPathFor(outPath: string): string {
  return outPath.endsWith(".json") ? `${outPath.slice(0, -5)}.manifest.json` : `${outPath}.manifest.json`;
}

/** SHA-256 of a file, streamed in 16 MiB reads. */
export function fileDigest(path: string): string {
  const h = createHash("sha256"), buf = new Uint8Array(1 << 24);
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
  return h.digest("hex");
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
    params_sha256: paramsDigest(model),
  };
}

export interface RunRecord {
  outPath: string;
  circuit: Circuit;
  json: CircuitJson;
  model: Transformer;
  name: string;
  files: ModelFiles;
  dataPath: string;
  data: RunData;
  spec: RunSpec;
  engine: Engine;
}

/** Write the manifest of an `acdc run` beside its circuit; returns its path. */
export function writeRunManifest(r: RunRecord): string {
  const path = manifestPathFor(r.outPath), dir = dirname(resolve(path));
  const data: DataSection = { source: "file", sha256: dataDigest(r.data), file: fileRef(r.dataPath, dir), prompts: r.data.clean.length };
  const m = buildManifest({
    model: fileModelSection(r.model, r.name, r.files, dir), data,
    options: optionsSection(r.spec, r.engine.threads, r.engine.deterministic),
    kernels: { build: r.engine.build }, circuitPath: relative(dir, resolve(r.outPath)),
  }, r.circuit, r.json);
  writeAtomic(path, manifestText(m));
  return path;
}

/** Collects a sweep's runs (circuit + manifest each) and writes TASK-sweep.manifest.json. */
export class SweepRecorder {
  private readonly runs: SweepRunRecord[] = [];
  private readonly modelSection: ModelSection;
  private readonly dataSection: DataSection;

  constructor(private readonly o: {
    dir: string; task: string; model: Transformer; modelName: string;
    data: object; spec: Omit<RunSpec, "threshold" | "topK">; topK?: number; knob: "threshold" | "topK"; engine: Engine;
  }) {
    const dir = resolve(o.dir);
    const files = builtinTaskFiles(o.task);
    this.modelSection = files ? fileModelSection(o.model, o.modelName, files, dir)
      : { source: "builtin", format: "tracr", name: o.modelName, builtin: o.task, params_sha256: paramsDigest(o.model) };
    this.dataSection = { source: "task", task: o.task, sha256: dataDigest(o.data), prompts: (o.data as { clean: unknown[] }).clean.length };
  }

  /** Record one finished run (the sweep's onRun). */
  add(value: number, c: Circuit, json: CircuitJson): void {
    const spec: RunSpec = { ...this.o.spec, topK: this.o.topK, [this.o.knob]: value };
    const manifest = buildManifest({
      model: this.modelSection, data: this.dataSection,
      options: optionsSection(spec, this.o.engine.threads, this.o.engine.deterministic), kernels: { build: this.o.engine.build },
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
    const want = sealOf({ model: this.modelSection, data: this.dataSection, options: optionsSection(spec, 1, this.o.engine.deterministic) });
    checkRunManifest(manifest, `the manifest of the run at ${this.o.knob} ${value}`);
    if (circuitDigest(json) !== manifest.results.circuit_sha256) throw new UsageError(`the run at ${this.o.knob} ${value} came back with a circuit its manifest does not describe`);
    const got = sealOf(manifest);
    for (const k of ["model", "data", "options"] as const) {
      if (want[k] !== got[k]) throw new UsageError(`the run at ${this.o.knob} ${value} came back with a manifest of other inputs (its ${k} section differs from this sweep's)`);
    }
    this.runs.push({ circuit: json, manifest: { ...manifest, model: this.modelSection, data: this.dataSection } });
  }

  /** Write the sweep manifest; returns its path. */
  write(s: SweepResult): string {
    const m: SweepManifest = {
      kind: SWEEP_MANIFEST_KIND, version: MANIFEST_VERSION, task: this.o.task, algorithm: s.algorithm, knob: s.knob,
      values: s.runs.map((r) => r.value), result_sha256: sweepDigest({ task: this.o.task, ...s }), runs: this.runs,
    };
    const path = sweepManifestPath(this.o.dir, this.o.task);
    writeAtomic(path, manifestText(m));
    return path;
  }
}

export const sweepManifestPath = (dir: string, task: string) => join(dir, `${task}-sweep.manifest.json`);

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
      weightsGiven = join(weightsGiven, "model.safetensors");
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
  }
  return found;
}
