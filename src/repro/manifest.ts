// The run manifest: everything needed to re-run a circuit search and check
// that it came out the same, bit for bit. It records what went in (the
// package and kernel build, the model's files and loaded parameters, the
// data, every option) and digests of what came out (the decision trace, the
// circuit JSON), plus the trace itself so `acdc replay` can print the
// decisions without recomputing. A sweep manifest holds one {circuit,
// manifest} pair per run: exactly what one distributed sweep job returns.
// Pure functions of their arguments; no I/O (src/node/manifest-files.ts
// reads and writes files, src/repro/verify.ts re-runs).
//
// Digests, all SHA-256 in hex:
//   model.weights / config    the bytes of each file
//   model.params_sha256       the loaded parameters as they sit in wasm
//                             memory (f32, table order): covers built-in
//                             models and any change of loader
//   data.sha256               the data as canonical JSON (keys sorted, no
//                             spaces), so a file and the same data inline
//                             (the fetch handler) agree
//   results.trace_sha256      one line per decision: parent, child, the
//                             metric's float64 bits, kept|removed
//   results.circuit_sha256    the circuit JSON, compact, without search_ms
//   seal.model/data/options   each input section without its paths (paths
//                             are hints for finding files; moving a file
//                             changes nothing): an edit of the manifest's
//                             inputs after the run shows here
import type { Circuit } from "../circuit.js";
import type { CircuitJson } from "../io/circuit.js";
import { AcdcError } from "../errors.js";
import { PACKAGE_NAME, PACKAGE_VERSION } from "../version.js";
import { Sha256, sha256Hex } from "./sha256.js";
import type { Transformer } from "../model/transformer.js";
import type { KernelBuild } from "../wasm/engine.js";
import {
  KERNELS_WASM_BASE64, KERNELS_THREADS_WASM_BASE64, KERNELS_RELAXED_WASM_BASE64, KERNELS_RELAXED_THREADS_WASM_BASE64,
} from "../wasm/kernels.generated.js";

export const MANIFEST_KIND = "acdc-run-manifest";
export const SWEEP_MANIFEST_KIND = "acdc-sweep-manifest";
export const MANIFEST_VERSION = 1;

/** A manifest that cannot be read: not JSON, wrong kind or version, missing or mistyped fields, a trace that does not hash to its digest. */
export class ManifestError extends AcdcError {
  constructor(message: string) { super(message, "ManifestError"); }
}

/** One file that went into a run: where it was (a hint), its size and digest. */
export interface FileRef {
  /** Path relative to the manifest's folder (or as given), when the run read a file. */
  path?: string;
  /** URL, when the run fetched it (the fetch handler). */
  url?: string;
  bytes: number;
  sha256: string;
}

export interface ModelSection {
  /** "file": weights (and config) from files or bytes; "builtin": compiled in code (tracr). */
  source: "file" | "builtin";
  format: "safetensors" | "llama2c" | "tracr";
  /** The name circuits carry in their "model" field. */
  name: string;
  /** Built-in model key (tracr-reverse, tracr-proportion). */
  builtin?: string;
  weights?: FileRef;
  config?: FileRef | null;
  params_sha256: string;
}

export interface DataSection {
  /** "file": a --data JSON; "inline": data in a request body; "task": a built-in task's data (sweeps). A text task file will be a fourth source. */
  source: "file" | "inline" | "task";
  /** Canonical-JSON digest of the token data (see the file header). */
  sha256: string;
  /** The file's bytes, when read from one. */
  file?: FileRef;
  /** Built-in task key, for source "task". */
  task?: string;
  prompts: number;
}

export interface OptionsSection {
  algorithm: string;
  threshold: number | null;
  top_k: number | null;
  ig_steps: number | null;
  /** kl | logit-diff, or a key of the task's metrics for task data. */
  metric: string;
  ablation: string;
  /** Graph with token and position embeddings as two input nodes (tracr). */
  split_input: boolean;
  /** No algorithm draws random numbers yet; recorded so one that does has its place. */
  seed: number | null;
  /** Threads the run used (results are the same for any count; not sealed). */
  threads: number;
  deterministic: boolean;
}

/** One decision as the manifest stores it: parent, child, "kept"|"removed", metric (null when not finite), metric float64 bits in hex. */
export type TraceEntry = [string, string, "kept" | "removed", number | null, string];

export interface RunManifest {
  kind: typeof MANIFEST_KIND;
  version: number;
  package: { name: string; version: string };
  kernels: { build: KernelBuild; sha256: string };
  runtime: { name: string; version: string };
  created: string;
  model: ModelSection;
  data: DataSection;
  options: OptionsSection;
  seal: { model: string; data: string; options: string };
  results: {
    /** What a decision's number is: the metric with the edge removed (ACDC, hybrid) or the edge's attribution score (EAP, EAP-IG: one decision per edge, graph order). */
    decisions: "metric-when-removed" | "attribution";
    num_decisions: number;
    trace_sha256: string;
    circuit_sha256: string;
    baseline: string;
    metric: string;
    num_kept: number;
  };
  /** The circuit file written beside the manifest, if any (relative path). */
  circuit?: string;
  trace: TraceEntry[];
}

export interface SweepRunRecord { circuit: CircuitJson; manifest: RunManifest }

export interface SweepManifest {
  kind: typeof SWEEP_MANIFEST_KIND;
  version: number;
  task: string;
  algorithm: string;
  knob: string;
  values: number[];
  /** Digest of the sweep JSON (TASK-sweep.json) without its timing fields. */
  result_sha256: string;
  runs: SweepRunRecord[];
}

// ---- digests ----

const hexView = new DataView(new ArrayBuffer(8));
/** The 16 hex digits of a float64's bits (big-endian), so -0, NaN and ±Infinity survive JSON. */
export function f64Hex(x: number): string {
  hexView.setFloat64(0, x);
  return hexView.getUint32(0).toString(16).padStart(8, "0") + hexView.getUint32(4).toString(16).padStart(8, "0");
}
/** The float64 whose bits are 16 hex digits. */
export function hexF64(h: string): number {
  hexView.setUint32(0, parseInt(h.slice(0, 8), 16));
  hexView.setUint32(4, parseInt(h.slice(8, 16), 16));
  return hexView.getFloat64(0);
}

/** JSON with object keys sorted at every level, no spaces: one text per value. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? "null" : canonicalJson(x))).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
}

/** Digest of run data (clean, corrupted, positions, correct, incorrect, and whatever else a task's data holds). */
export function dataDigest(data: object): string {
  return sha256Hex(canonicalJson(data));
}

/** Digest of the model's parameters as loaded into wasm memory. */
export function paramsDigest(model: Transformer): string {
  const p = model.params, e = model.engine;
  const h = new Sha256();
  const total = p.floats * 4, CHUNK = 1 << 24;
  // Views are re-made per chunk: nothing grows memory here, but a view must not outlive a grow.
  for (let off = 0; off < total; off += CHUNK) h.update(new Uint8Array(e.memory.buffer, p.base + off, Math.min(CHUNK, total - off)));
  return h.hex();
}

const KERNEL_SOURCES: Record<KernelBuild, string> = {
  "simd": KERNELS_WASM_BASE64,
  "simd-threads": KERNELS_THREADS_WASM_BASE64,
  "relaxed-simd": KERNELS_RELAXED_WASM_BASE64,
  "relaxed-simd-threads": KERNELS_RELAXED_THREADS_WASM_BASE64,
};
const kernelHashes = new Map<KernelBuild, string>();

/** SHA-256 of the wasm bytes of one of the embedded kernel builds. */
export function kernelDigest(build: KernelBuild): string {
  let h = kernelHashes.get(build);
  if (!h) {
    const b64 = KERNEL_SOURCES[build];
    if (b64 === undefined) throw new ManifestError(`unknown kernel build "${build}"`);
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    h = sha256Hex(bytes);
    kernelHashes.set(build, h);
  }
  return h;
}

/** The circuit JSON without its timing fields, as the circuit digest reads it. */
export function circuitWithoutTiming(c: CircuitJson): Omit<CircuitJson, "search_ms"> {
  const { search_ms: _ms, ...rest } = c;
  return rest;
}

/** Digest of a circuit JSON (compact, without search_ms). */
export function circuitDigest(c: CircuitJson): string {
  return sha256Hex(JSON.stringify(circuitWithoutTiming(c)));
}

/**
 * The decisions of a circuit in order: ACDC's (and hybrid's) trace, or for
 * one-shot methods (EAP, EAP-IG) one per counted edge in graph order, its
 * score and whether the circuit kept it.
 */
export function traceOf(c: Circuit): TraceEntry[] {
  const g = c.graph;
  const entry = (edge: number, value: number, kept: boolean): TraceEntry => {
    const e = g.edges[edge];
    return [g.nodes[e.parent].label, g.nodes[e.child].label, kept ? "kept" : "removed", Number.isFinite(value) ? value : null, f64Hex(value)];
  };
  if (c.scoreKind !== "attribution") return c.trace.map((d) => entry(d.edge, d.metric, !d.removed));
  return g.edges.filter((e) => e.type !== "placeholder").map((e) => entry(e.id, c.scores[e.id], c.present[e.id] === 1));
}

/** Digest of a trace: one line per decision, "parent\tchild\tbits\tkept|removed\n". */
export function traceDigest(trace: TraceEntry[]): string {
  const h = new Sha256();
  for (const [p, ch, d, , bits] of trace) h.update(`${p}\t${ch}\t${bits}\t${d}\n`);
  return h.hex();
}

/** The three seals of a manifest's inputs (paths and URLs left out; threads too, which cannot change a result). */
export function sealOf(m: Pick<RunManifest, "model" | "data" | "options">): RunManifest["seal"] {
  const ref = (f: FileRef | null | undefined) => (f ? { bytes: f.bytes, sha256: f.sha256 } : f ?? null);
  const model = { ...m.model, weights: ref(m.model.weights), config: ref(m.model.config) };
  const data = { ...m.data, file: ref(m.data.file) };
  const { threads: _t, ...options } = m.options;
  return { model: sha256Hex(canonicalJson(model)), data: sha256Hex(canonicalJson(data)), options: sha256Hex(canonicalJson(options)) };
}

// ---- the runtime ----

/** The runtime this code runs in and its version (node, deno, workerd, edge-runtime, or a browser's user agent). */
export function runtimeInfo(): { name: string; version: string } {
  const g = globalThis as Record<string, unknown> & { Deno?: { version?: { deno?: string } }; navigator?: { userAgent?: string } };
  if (g.Deno?.version?.deno) return { name: "deno", version: g.Deno.version.deno };
  // The edge-runtime package sets EdgeRuntime = "edge-runtime"; Vercel's own edge sets its name there too.
  if (typeof g.EdgeRuntime === "string") return { name: g.EdgeRuntime === "edge-runtime" ? "edge-runtime" : `edge (${g.EdgeRuntime})`, version: "" };
  const ua = g.navigator?.userAgent ?? "";
  if (ua === "Cloudflare-Workers") return { name: "workerd", version: "" };
  // Looked up by name: core code stays free of Node's globals, and Node is only one runtime among several.
  const node = (g["process"] as { versions?: { node?: string } } | undefined)?.versions?.node;
  if (node) return { name: "node", version: node };
  if (ua) return { name: "browser", version: ua };
  return { name: "unknown", version: "" };
}

// ---- building ----

export interface ManifestInputs {
  model: ModelSection;
  data: DataSection;
  options: OptionsSection;
  kernels: { build: KernelBuild };
  runtime?: { name: string; version: string };
  /** The circuit file's path relative to the manifest, when one is written beside it. */
  circuitPath?: string;
}

/** The manifest of a finished run: its inputs, and digests of the circuit and its decisions. */
export function buildManifest(inputs: ManifestInputs, circuit: Circuit, json: CircuitJson): RunManifest {
  const trace = traceOf(circuit);
  const sections = { model: inputs.model, data: inputs.data, options: inputs.options };
  return {
    kind: MANIFEST_KIND,
    version: MANIFEST_VERSION,
    package: { name: PACKAGE_NAME, version: PACKAGE_VERSION },
    kernels: { build: inputs.kernels.build, sha256: kernelDigest(inputs.kernels.build) },
    runtime: inputs.runtime ?? runtimeInfo(),
    created: new Date().toISOString(),
    ...sections,
    seal: sealOf(sections),
    results: {
      decisions: circuit.scoreKind === "attribution" ? "attribution" : "metric-when-removed",
      num_decisions: trace.length,
      trace_sha256: traceDigest(trace),
      circuit_sha256: circuitDigest(json),
      baseline: f64Hex(circuit.baseline),
      metric: f64Hex(circuit.metric),
      num_kept: circuit.edges.length,
    },
    ...(inputs.circuitPath ? { circuit: inputs.circuitPath } : {}),
    trace,
  };
}

/** Digest of a sweep's JSON (as TASK-sweep.json holds it) without per-run timings. */
export function sweepDigest(sweepJson: { runs: { searchMs?: number }[] } & Record<string, unknown>): string {
  const runs = sweepJson.runs.map(({ searchMs: _ms, ...r }) => r);
  return sha256Hex(canonicalJson({ ...sweepJson, runs }));
}

// ---- writing ----

/**
 * Pretty JSON where an array of scalars stays on one line, so a trace reads
 * one decision per line and a manifest of thousands of decisions stays
 * greppable. Parses back to the same value.
 */
export function formatJson(v: unknown, indent = ""): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  const inner = indent + " ";
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    if (v.every((x) => x === null || typeof x !== "object")) return JSON.stringify(v);
    return `[\n${v.map((x) => inner + formatJson(x, inner)).join(",\n")}\n${indent}]`;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined);
  if (keys.length === 0) return "{}";
  return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)}: ${formatJson(o[k], inner)}`).join(",\n")}\n${indent}}`;
}

/** A manifest (run or sweep) as the text written to disk. */
export function manifestText(m: RunManifest | SweepManifest): string {
  return formatJson(m) + "\n";
}

// ---- reading ----

const HEX64 = /^[0-9a-f]{64}$/, HEX16 = /^[0-9a-f]{16}$/;

function need(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new ManifestError(msg);
}
const isObj = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === "object" && !Array.isArray(x);
const numOrNull = (x: unknown) => x === null || (typeof x === "number" && Number.isFinite(x));

function checkFileRef(f: unknown, where: string): void {
  need(isObj(f), `${where} must be an object`);
  need(typeof f.sha256 === "string" && HEX64.test(f.sha256), `${where}.sha256 must be 64 hex digits`);
  need(Number.isInteger(f.bytes) && (f.bytes as number) >= 0, `${where}.bytes must be a byte count`);
  need(f.path === undefined || typeof f.path === "string", `${where}.path must be a string`);
  need(f.url === undefined || typeof f.url === "string", `${where}.url must be a string`);
}

/** Check one run manifest's shape, and that its trace hashes to its digest; returns it typed. */
export function checkRunManifest(j: unknown, where = "manifest"): RunManifest {
  need(isObj(j), `${where} must be a JSON object`);
  need(j.kind === MANIFEST_KIND, `${where}: "kind" must be "${MANIFEST_KIND}", got ${JSON.stringify(j.kind)}`);
  need(j.version === MANIFEST_VERSION, `${where}: version ${JSON.stringify(j.version)} is not one this package reads (${MANIFEST_VERSION})`);
  const k = j.kernels, m = j.model, d = j.data, o = j.options, r = j.results, s = j.seal;
  need(isObj(k) && typeof k.build === "string" && k.build in KERNEL_SOURCES && typeof k.sha256 === "string" && HEX64.test(k.sha256), `${where}.kernels must name a kernel build and its sha256`);
  need(isObj(m), `${where}.model must be an object`);
  need(m.source === "file" || m.source === "builtin", `${where}.model.source must be "file" or "builtin"`);
  need(["safetensors", "llama2c", "tracr"].includes(m.format as string), `${where}.model.format must be safetensors, llama2c or tracr`);
  need(typeof m.name === "string", `${where}.model.name must be a string`);
  need(typeof m.params_sha256 === "string" && HEX64.test(m.params_sha256), `${where}.model.params_sha256 must be 64 hex digits`);
  if (m.source === "file") {
    checkFileRef(m.weights, `${where}.model.weights`);
    if (m.format === "safetensors") checkFileRef(m.config, `${where}.model.config`);
  } else {
    need(typeof m.builtin === "string", `${where}.model.builtin must name the built-in model`);
  }
  need(isObj(d), `${where}.data must be an object`);
  need(["file", "inline", "task"].includes(d.source as string), `${where}.data.source must be file, inline or task`);
  need(typeof d.sha256 === "string" && HEX64.test(d.sha256), `${where}.data.sha256 must be 64 hex digits`);
  if (d.file !== undefined) checkFileRef(d.file, `${where}.data.file`);
  need(d.source !== "task" || typeof d.task === "string", `${where}.data.task must name the task`);
  need(isObj(o), `${where}.options must be an object`);
  need(typeof o.algorithm === "string", `${where}.options.algorithm must be a string`);
  for (const key of ["threshold", "top_k", "ig_steps", "seed"]) need(numOrNull(o[key]), `${where}.options.${key} must be a number or null`);
  need(typeof o.metric === "string" && typeof o.ablation === "string", `${where}.options.metric and .ablation must be strings`);
  need(typeof o.split_input === "boolean" && typeof o.deterministic === "boolean", `${where}.options.split_input and .deterministic must be true or false`);
  need(Number.isInteger(o.threads) && (o.threads as number) >= 1, `${where}.options.threads must be a positive integer`);
  need(isObj(s) && [s.model, s.data, s.options].every((x) => typeof x === "string" && HEX64.test(x)), `${where}.seal must hold model, data and options digests`);
  need(isObj(r), `${where}.results must be an object`);
  need(r.decisions === "metric-when-removed" || r.decisions === "attribution", `${where}.results.decisions must be "metric-when-removed" or "attribution"`);
  for (const key of ["trace_sha256", "circuit_sha256"]) need(typeof r[key] === "string" && HEX64.test(r[key] as string), `${where}.results.${key} must be 64 hex digits`);
  for (const key of ["baseline", "metric"]) need(typeof r[key] === "string" && HEX16.test(r[key] as string), `${where}.results.${key} must be 16 hex digits (float64 bits)`);
  need(Array.isArray(j.trace), `${where}.trace must be a list of decisions`);
  const trace = j.trace as unknown[];
  trace.forEach((e, i) => {
    need(Array.isArray(e) && e.length === 5 && typeof e[0] === "string" && typeof e[1] === "string" && (e[2] === "kept" || e[2] === "removed") &&
      numOrNull(e[3]) && typeof e[4] === "string" && HEX16.test(e[4]), `${where}.trace[${i}] must be [parent, child, "kept"|"removed", metric, "16 hex digits"]`);
  });
  need(r.num_decisions === trace.length, `${where}.results.num_decisions is ${r.num_decisions} but the trace holds ${trace.length}`);
  need(traceDigest(trace as TraceEntry[]) === r.trace_sha256, `${where}.trace does not hash to results.trace_sha256 (the trace was edited, or cut short)`);
  return j as unknown as RunManifest;
}

/** Parse a manifest's text: a run manifest or a sweep manifest (each run checked). */
export function parseManifest(text: string): RunManifest | SweepManifest {
  let j: unknown;
  try { j = JSON.parse(text); } catch (e) { throw new ManifestError(`manifest is not valid JSON: ${(e as Error).message}`); }
  if (isObj(j) && j.kind === SWEEP_MANIFEST_KIND) return checkSweepManifest(j);
  return checkRunManifest(j);
}

function checkSweepManifest(j: Record<string, unknown>): SweepManifest {
  need(j.version === MANIFEST_VERSION, `sweep manifest version ${JSON.stringify(j.version)} is not one this package reads (${MANIFEST_VERSION})`);
  need(typeof j.task === "string" && typeof j.algorithm === "string" && typeof j.knob === "string", "sweep manifest: needs task, algorithm and knob");
  need(Array.isArray(j.values) && j.values.every((v) => typeof v === "number"), "sweep manifest: values must be numbers");
  need(typeof j.result_sha256 === "string" && HEX64.test(j.result_sha256), "sweep manifest: result_sha256 must be 64 hex digits");
  need(Array.isArray(j.runs) && j.runs.length === (j.values as number[]).length, "sweep manifest: needs one run per value");
  (j.runs as unknown[]).forEach((r, i) => {
    need(isObj(r) && isObj(r.circuit), `sweep manifest: runs[${i}] must hold a circuit and a manifest`);
    checkRunManifest(r.manifest, `sweep manifest runs[${i}].manifest`);
  });
  return j as unknown as SweepManifest;
}

/**
 * What differs between two sweep manifests of the same sweep (say one merged
 * from distributed jobs and one run on a single machine): the values, the
 * result digest, and per run the inputs and output digests. Empty when they
 * agree bit for bit; where and on how many threads each run ran is ignored.
 */
export function diffSweeps(a: SweepManifest, b: SweepManifest): string[] {
  const out: string[] = [];
  for (const k of ["task", "algorithm", "knob"] as const) if (a[k] !== b[k]) out.push(`${k}: ${a[k]} vs ${b[k]}`);
  if (canonicalJson(a.values) !== canonicalJson(b.values)) out.push(`values differ: ${a.values.length} vs ${b.values.length} runs`);
  if (a.result_sha256 !== b.result_sha256) out.push(`sweep result differs: ${a.result_sha256.slice(0, 12)}… vs ${b.result_sha256.slice(0, 12)}…`);
  const n = Math.min(a.runs.length, b.runs.length);
  for (let i = 0; i < n; i++) {
    const x = a.runs[i].manifest, y = b.runs[i].manifest;
    const pairs: [string, string, string][] = [
      ["kernels", x.kernels.sha256, y.kernels.sha256], ["model", x.seal.model, y.seal.model], ["data", x.seal.data, y.seal.data],
      ["options", x.seal.options, y.seal.options], ["trace", x.results.trace_sha256, y.results.trace_sha256],
      ["circuit", x.results.circuit_sha256, y.results.circuit_sha256], ["circuit JSON", circuitDigest(a.runs[i].circuit), circuitDigest(b.runs[i].circuit)],
    ];
    for (const [what, p, q] of pairs) if (p !== q) out.push(`run ${i + 1} (${a.knob} ${a.values[i]}): ${what} differs`);
  }
  return out;
}
