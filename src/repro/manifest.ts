// The run manifest: everything needed to re-run a circuit search and check
// that it came out the same, bit for bit. It records what went in (the
// package and kernel build, the model's files and loaded parameters, the
// data, every option) and digests of what came out (the decision trace, the
// circuit JSON), plus the trace itself so `acdc replay` can print the
// decisions without recomputing. A sweep manifest holds one {circuit,
// manifest} pair per run: exactly what one distributed sweep job returns;
// a comparison manifest (several methods, each over its knob and seeds)
// holds one such pair per method, seed and value.
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
//                             (the fetch handler) agree; for a task file,
//                             the token data it produced
//   data.task_sha256          a task file as canonical JSON (as parsed)
//   results.trace_sha256      one line per decision: parent, child, the
//                             metric's (score's, logit's) float64 bits,
//                             kept|removed
//   results.circuit_sha256    the circuit JSON, compact, without search_ms
//                             (and without the "task" label acdc run adds)
//   seal.model/data/options   each input section without its paths (paths
//                             are hints for finding files; moving a file
//                             changes nothing): an edit of the manifest's
//                             inputs after the run shows here
import type { Circuit } from "../circuit.js";
import type { Graph } from "../graph/graph.js";
import type { CircuitJson } from "../io/circuit.js";
import { checkRunData, MASK_METHODS, type RunData, type RunSpec } from "./run.js";
import { AcdcError } from "../errors.js";
import { PACKAGE_NAME, PACKAGE_VERSION } from "../version.js";
import { MemorySha256, Sha256, sha256Hex } from "./sha256.js";
import type { Transformer } from "../model/transformer.js";
import type { Ablation } from "../patch/patcher.js";
import type { KernelBuild } from "../wasm/engine.js";
import {
  KERNELS_WASM_BASE64, KERNELS_THREADS_WASM_BASE64, KERNELS_RELAXED_WASM_BASE64, KERNELS_RELAXED_THREADS_WASM_BASE64,
} from "../wasm/kernels.generated.js";

export const MANIFEST_KIND = "acdc-run-manifest";
export const SWEEP_MANIFEST_KIND = "acdc-sweep-manifest";
export const COMPARE_MANIFEST_KIND = "acdc-compare-manifest";
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

/** The tokenizer a task file names: as written in the file, and for a file (not "gpt2") its size and digest. */
export interface TokenizerRef {
  /** The file's "tokenizer" field as written ("gpt2", "tok512.bin", a URL). */
  spec: string;
  /** Path relative to the manifest's folder (or absolute), when read from a file. */
  path?: string;
  url?: string;
  bytes?: number;
  sha256?: string;
}

export interface DataSection {
  /** "file": a --data JSON; "inline": data in a request body; "task": a built-in task's data (sweeps); "task-file": a task file's prompts, tokenized. */
  source: "file" | "inline" | "task" | "task-file";
  /** Canonical-JSON digest of the token data (see the file header). */
  sha256: string;
  /** The file's bytes, when read from one. */
  file?: FileRef;
  /** Built-in task key, for source "task". */
  task?: string;
  prompts: number;
  /** Source "task-file": the task file as canonical JSON (as parsed: re-spacing it changes nothing); `file` holds its bytes' digest when it came from a file. */
  task_sha256?: string;
  /** Source "task-file": the tokenizer it names (null: its prompts are token ids). */
  tokenizer?: TokenizerRef | null;
  /** Source "task-file": the token data it produced (hashes to `sha256`), so the run re-runs where the tokenizer is not at hand. */
  tokens?: RunData;
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
  /** sp, edge-pruning: the seed of the gate noise (null for methods that draw no random numbers). */
  seed: number | null;
  /** Present for sp, hisp and edge-pruning only: the knob (sp's λ, hisp's masked components, edge-pruning's target sparsity) and, for the trained ones, steps and learning rate as used. */
  lambda?: number | null;
  masked?: number | null;
  sparsity?: number | null;
  steps?: number;
  lr?: number;
  /** Threads the run used (results are the same for any count; not sealed). */
  threads: number;
  deterministic: boolean;
}

/**
 * What a decision's number is: the metric with the edge removed (ACDC,
 * hybrid, in the order tried); an edge's attribution score (EAP, EAP-IG: one
 * per counted edge, graph order); a learned mask logit (SP, Edge Pruning:
 * one per edge the method masks, graph order); a component's importance
 * (HISP: one per head q/k/v and MLP, on the edge into it, graph order).
 */
export type DecisionKind = "metric-when-removed" | "attribution" | "mask-logit" | "importance";
const DECISION_KINDS: DecisionKind[] = ["metric-when-removed", "attribution", "mask-logit", "importance"];

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
    decisions: DecisionKind;
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

/** One run of a comparison: which method, seed and knob value, and the run's circuit and manifest. */
export interface CompareRunRecord extends SweepRunRecord { algorithm: string; seed: number | null; value: number }

/** Several methods on one task, each swept over its knob (and seeds): what `acdc sweep --algorithm LIST|all` ran. */
export interface CompareManifest {
  kind: typeof COMPARE_MANIFEST_KIND;
  version: number;
  task: string;
  ablation: string;
  metric: string;
  /** Each method's knob, values and seeds (null: a method that draws no random numbers), in the order run. */
  methods: { algorithm: string; knob: string; values: number[]; seeds: (number | null)[] }[];
  /** Digest of the comparison JSON (TASK-ABLATION-compare.json) without its timing fields (see compareDigest). */
  result_sha256: string;
  /** Method by method, seed by seed, value by value. */
  runs: CompareRunRecord[];
}
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

/** An incremental SHA-256 (update…, then hex once): Sha256, or a runtime's native one with the same digest. */
export interface Sha256Hasher {
  update(data: Uint8Array): unknown;
  hex(): string;
}

/** Digest of the model's parameters as loaded into wasm memory (`h`: a fresh SHA-256 to stream them through; default the kernels' own, in place). */
export function paramsDigest(model: Transformer, h?: Sha256Hasher): string {
  const p = model.params, e = model.engine, hash = h ?? new MemorySha256(e);
  const total = p.floats * 4, CHUNK = 1 << 24;
  // Views are re-made per chunk: nothing grows memory here, but a view must not outlive a grow.
  for (let off = 0; off < total; off += CHUNK) hash.update(new Uint8Array(e.memory.buffer, p.base + off, Math.min(CHUNK, total - off)));
  return hash.hex();
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

/** The circuit JSON without its timing field (and the "task" label `acdc run --task` adds, a name like a path), as the circuit digest reads it. */
export function circuitWithoutTiming(c: CircuitJson): Omit<CircuitJson, "search_ms"> {
  const { search_ms: _ms, task: _task, ...rest } = c as CircuitJson & { task?: unknown };
  return rest;
}

/** Digest of a circuit JSON (compact, without search_ms or a task label). */
export function circuitDigest(c: CircuitJson): string {
  return sha256Hex(JSON.stringify(circuitWithoutTiming(c)));
}

/** What the decisions of a circuit are (see DecisionKind). */
export function decisionKind(c: Circuit): DecisionKind {
  if (c.algorithm === "hisp") return "importance";
  return c.scoreKind === "mask" ? "mask-logit" : c.scoreKind === "attribution" ? "attribution" : "metric-when-removed";
}

/**
 * The decisions of a circuit in order: ACDC's (and hybrid's) trace; for
 * one-shot methods (EAP, EAP-IG) one per counted edge in graph order, its
 * score and whether the circuit kept it; for the mask methods one per edge
 * the method scored (SP: each masked component's edges, its logit; Edge
 * Pruning: each addition edge, its logit; HISP: the edge into each
 * component, its importance), in graph order. An entry is kept when its
 * edge is; HISP's MLP importance sits on the never-tested edge into the MLP,
 * kept when the MLP still writes anywhere.
 */
export function traceOf(c: Circuit): TraceEntry[] {
  const g = c.graph;
  const entry = (edge: number, value: number, kept: boolean): TraceEntry => {
    const e = g.edges[edge];
    return [g.nodes[e.parent].label, g.nodes[e.child].label, kept ? "kept" : "removed", Number.isFinite(value) ? value : null, f64Hex(value)];
  };
  const kind = decisionKind(c);
  if (kind === "metric-when-removed") return c.trace.map((d) => entry(d.edge, d.metric, !d.removed));
  if (kind === "attribution") return g.edges.filter((e) => e.type !== "placeholder").map((e) => entry(e.id, c.scores[e.id], c.present[e.id] === 1));
  const kept = (e: Graph["edges"][number]) => e.type !== "placeholder" ? c.present[e.id] === 1
    : g.children[e.child].some((id) => g.edges[id].type !== "placeholder" && c.present[id] === 1);
  return g.edges.filter((e) => !Number.isNaN(c.scores[e.id])).map((e) => entry(e.id, c.scores[e.id], kept(e)));
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
  const data: Record<string, unknown> = { ...m.data, file: ref(m.data.file) };
  // A tokenizer's path and URL are hints for finding it, like a file's (set only when present: older seals stay as they were).
  if (m.data.tokenizer) { const { path: _p, url: _u, ...tok } = m.data.tokenizer; data.tokenizer = tok; }
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
      decisions: decisionKind(circuit),
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

/** Digest of a comparison's JSON (as TASK-ABLATION-compare.json holds it) without its timings: each method's ms, each run's searchMs. */
export function compareDigest(json: { methods: Record<string, unknown>[] } & Record<string, unknown>): string {
  const methods = json.methods.map(({ ms: _ms, ...m }) => ({
    ...m, sweeps: (m.sweeps as { runs: { searchMs?: number }[] }[]).map((s) => ({ ...s, runs: s.runs.map(({ searchMs: _s, ...r }) => r) })),
  }));
  return sha256Hex(canonicalJson({ ...json, methods }));
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

/** A manifest (run, sweep or comparison) as the text written to disk. */
export function manifestText(m: RunManifest | SweepManifest | CompareManifest): string {
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
  need(["file", "inline", "task", "task-file"].includes(d.source as string), `${where}.data.source must be file, inline or task, or task-file`);
  need(typeof d.sha256 === "string" && HEX64.test(d.sha256), `${where}.data.sha256 must be 64 hex digits`);
  if (d.file !== undefined) checkFileRef(d.file, `${where}.data.file`);
  need(d.source !== "task" || typeof d.task === "string", `${where}.data.task must name the task`);
  if (d.source === "task-file") checkTaskFileData(d, where);
  need(isObj(o), `${where}.options must be an object`);
  need(typeof o.algorithm === "string", `${where}.options.algorithm must be a string`);
  for (const key of ["threshold", "top_k", "ig_steps", "seed"]) need(numOrNull(o[key]), `${where}.options.${key} must be a number or null`);
  for (const key of ["lambda", "masked", "sparsity"]) need(o[key] === undefined || numOrNull(o[key]), `${where}.options.${key} must be a number or null`);
  for (const key of ["steps", "lr"]) need(o[key] === undefined || (typeof o[key] === "number" && Number.isFinite(o[key])), `${where}.options.${key} must be a number`);
  need(typeof o.metric === "string" && typeof o.ablation === "string", `${where}.options.metric and .ablation must be strings`);
  need(typeof o.split_input === "boolean" && typeof o.deterministic === "boolean", `${where}.options.split_input and .deterministic must be true or false`);
  need(Number.isInteger(o.threads) && (o.threads as number) >= 1, `${where}.options.threads must be a positive integer`);
  need(isObj(s) && [s.model, s.data, s.options].every((x) => typeof x === "string" && HEX64.test(x)), `${where}.seal must hold model, data and options digests`);
  need(isObj(r), `${where}.results must be an object`);
  need(DECISION_KINDS.includes(r.decisions as DecisionKind), `${where}.results.decisions must be one of ${DECISION_KINDS.map((k) => `"${k}"`).join(", ")}`);
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

/** A task file's data section: its canonical digest, the tokenizer it names, and the token data it produced, which must hash to data.sha256. */
function checkTaskFileData(d: Record<string, unknown>, where: string): void {
  need(typeof d.task_sha256 === "string" && HEX64.test(d.task_sha256), `${where}.data.task_sha256 must be 64 hex digits`);
  const tok = d.tokenizer;
  if (tok !== undefined && tok !== null) {
    need(isObj(tok) && typeof tok.spec === "string", `${where}.data.tokenizer must be null or an object with the tokenizer's "spec"`);
    need(tok.sha256 === undefined || (typeof tok.sha256 === "string" && HEX64.test(tok.sha256)), `${where}.data.tokenizer.sha256 must be 64 hex digits`);
    need(tok.bytes === undefined || (Number.isInteger(tok.bytes) && (tok.bytes as number) >= 0), `${where}.data.tokenizer.bytes must be a byte count`);
    need(tok.path === undefined || typeof tok.path === "string", `${where}.data.tokenizer.path must be a string`);
  }
  try {
    checkRunData(d.tokens, `${where}.data.tokens`, { labels: true });
  } catch (e) {
    throw new ManifestError((e as Error).message);
  }
  need(dataDigest(d.tokens as object) === d.sha256, `${where}.data.tokens do not hash to data.sha256 (the recorded tokens were edited)`);
}

/** Parse a manifest's text: a run manifest, or a sweep or comparison manifest (each run checked). */
export function parseManifest(text: string): RunManifest | SweepManifest | CompareManifest {
  let j: unknown;
  try { j = JSON.parse(text); } catch (e) { throw new ManifestError(`manifest is not valid JSON: ${(e as Error).message}`); }
  if (isObj(j) && j.kind === SWEEP_MANIFEST_KIND) return checkSweepManifest(j);
  if (isObj(j) && j.kind === COMPARE_MANIFEST_KIND) return checkCompareManifest(j);
  return checkRunManifest(j);
}

function checkCompareManifest(j: Record<string, unknown>): CompareManifest {
  need(j.version === MANIFEST_VERSION, `comparison manifest version ${JSON.stringify(j.version)} is not one this package reads (${MANIFEST_VERSION})`);
  need(typeof j.task === "string" && typeof j.ablation === "string" && typeof j.metric === "string", "comparison manifest: needs task, ablation and metric");
  need(typeof j.result_sha256 === "string" && HEX64.test(j.result_sha256), "comparison manifest: result_sha256 must be 64 hex digits");
  need(Array.isArray(j.methods) && j.methods.length > 0, "comparison manifest: methods must be a non-empty list");
  let n = 0;
  (j.methods as unknown[]).forEach((m, i) => {
    need(isObj(m) && typeof m.algorithm === "string" && typeof m.knob === "string" && Array.isArray(m.values) && m.values.every((v) => typeof v === "number") &&
      Array.isArray(m.seeds) && m.seeds.length > 0 && m.seeds.every((x) => x === null || Number.isInteger(x)), `comparison manifest: methods[${i}] must hold algorithm, knob, values and seeds`);
    n += (m.values as number[]).length * (m.seeds as unknown[]).length;
  });
  need(Array.isArray(j.runs) && j.runs.length === n, `comparison manifest: needs one run per method, seed and value (${n})`);
  (j.runs as unknown[]).forEach((r, i) => {
    need(isObj(r) && isObj(r.circuit) && typeof r.algorithm === "string" && typeof r.value === "number" && (r.seed === null || Number.isInteger(r.seed)),
      `comparison manifest: runs[${i}] must hold algorithm, seed, value, a circuit and a manifest`);
    const m = checkRunManifest(r.manifest, `comparison manifest runs[${i}].manifest`);
    need(m.options.algorithm === r.algorithm, `comparison manifest: runs[${i}] is ${r.algorithm} but its manifest ran ${m.options.algorithm}`);
  });
  return j as unknown as CompareManifest;
}

/** How run i of a sweep or comparison manifest is named in messages: "run 3 of 21 (threshold 0.01)", "run 5 of 40 (sp seed 1, lambda 0.01)". */
export function runLabel(m: SweepManifest | CompareManifest, i: number): string {
  if (m.kind === SWEEP_MANIFEST_KIND) return `run ${i + 1} of ${m.runs.length} (${m.knob} ${m.values[i]})`;
  const r = m.runs[i], knob = m.methods.find((x) => x.algorithm === r.algorithm)?.knob ?? "value";
  return `run ${i + 1} of ${m.runs.length} (${r.algorithm}${r.seed === null ? "" : ` seed ${r.seed}`}, ${knob} ${r.value})`;
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
 * What differs between two sweep (or two comparison) manifests of the same
 * sweep (say one merged from distributed jobs and one run on a single
 * machine): the values, the result digest, and per run the inputs and
 * output digests. Empty when they agree bit for bit; where and on how many
 * threads each run ran is ignored.
 */
export function diffSweeps(a: SweepManifest | CompareManifest, b: SweepManifest | CompareManifest): string[] {
  const out: string[] = [];
  if (a.kind !== b.kind) return [`kind: ${a.kind} vs ${b.kind}`];
  if (a.kind === SWEEP_MANIFEST_KIND && b.kind === SWEEP_MANIFEST_KIND) {
    for (const k of ["task", "algorithm", "knob"] as const) if (a[k] !== b[k]) out.push(`${k}: ${a[k]} vs ${b[k]}`);
    if (canonicalJson(a.values) !== canonicalJson(b.values)) out.push(`values differ: ${a.values.length} vs ${b.values.length} runs`);
    if (a.result_sha256 !== b.result_sha256) out.push(`sweep result differs: ${a.result_sha256.slice(0, 12)}… vs ${b.result_sha256.slice(0, 12)}…`);
  } else if (a.kind === COMPARE_MANIFEST_KIND && b.kind === COMPARE_MANIFEST_KIND) {
    for (const k of ["task", "ablation", "metric"] as const) if (a[k] !== b[k]) out.push(`${k}: ${a[k]} vs ${b[k]}`);
    if (canonicalJson(a.methods) !== canonicalJson(b.methods)) out.push(`methods differ: ${a.methods.map((m) => m.algorithm).join(",")} (${a.runs.length} runs) vs ${b.methods.map((m) => m.algorithm).join(",")} (${b.runs.length} runs)`);
    if (a.result_sha256 !== b.result_sha256) out.push(`comparison result differs: ${a.result_sha256.slice(0, 12)}… vs ${b.result_sha256.slice(0, 12)}…`);
  }
  const n = Math.min(a.runs.length, b.runs.length);
  for (let i = 0; i < n; i++) {
    const x = a.runs[i].manifest, y = b.runs[i].manifest;
    const pairs: [string, string, string][] = [
      ["kernels", x.kernels.sha256, y.kernels.sha256], ["model", x.seal.model, y.seal.model], ["data", x.seal.data, y.seal.data],
      ["options", x.seal.options, y.seal.options], ["trace", x.results.trace_sha256, y.results.trace_sha256],
      ["circuit", x.results.circuit_sha256, y.results.circuit_sha256], ["circuit JSON", circuitDigest(a.runs[i].circuit), circuitDigest(b.runs[i].circuit)],
    ];
    const label = a.kind === SWEEP_MANIFEST_KIND ? `run ${i + 1} (${a.knob} ${a.values[i]})` : runLabel(a, i).replace(/ of \d+/, "");
    for (const [what, p, q] of pairs) if (p !== q) out.push(`${label}: ${what} differs`);
  }
  return out;
}

/**
 * The manifest's options section of a spec run on `threads` threads. The
 * mask methods' own options appear only for them (with the values used,
 * defaults filled in), so manifests of acdc, eap, eap-ig and hybrid keep
 * their sections exactly as before.
 */
export function optionsSection(spec: RunSpec, threads: number, deterministic: boolean): OptionsSection {
  const mask = MASK_METHODS[spec.algorithm];
  const own: Partial<OptionsSection> = {};
  let seed: number | null = null;
  if (mask) {
    own[mask.knob] = spec[mask.knob] ?? null;
    if (mask.trained) {
      own.steps = spec.steps ?? mask.trained.steps;
      own.lr = spec.lr ?? mask.trained.lr;
      seed = spec.seed ?? mask.trained.seed;
    }
  }
  return {
    algorithm: spec.algorithm, threshold: spec.threshold ?? null, top_k: spec.topK ?? null, ig_steps: spec.igSteps ?? null, ...own,
    metric: spec.metric, ablation: spec.ablation, split_input: spec.splitInput ?? false, seed, threads, deterministic,
  };
}

/** The spec a manifest's options section describes. */
export function specOf(o: OptionsSection): RunSpec {
  const spec: RunSpec = {
    algorithm: o.algorithm, threshold: o.threshold ?? undefined, topK: o.top_k ?? undefined, igSteps: o.ig_steps ?? undefined,
    metric: o.metric, ablation: o.ablation as Ablation, splitInput: o.split_input,
  };
  for (const k of ["lambda", "masked", "sparsity", "steps", "lr"] as const) if (o[k] !== undefined && o[k] !== null) spec[k] = o[k]!;
  if (o.seed !== null) spec.seed = o.seed;
  return spec;
}
