// Verification and replay of a run manifest, in any runtime: re-run the
// search from the manifest's inputs and options and compare every digest,
// naming what differs — an input (the kernels, the model's files or loaded
// parameters, the data, an edited option) and the first decision whose edge,
// metric bits or outcome differ, with both values. replayText prints the
// recorded decisions without computing anything. The caller brings the
// inputs' bytes (src/node/ finds them by path or hash; a browser fetches
// them); nothing here reads files.
//
// A run on a task file re-runs from the task file itself when the caller
// brings it (and the tokenizer it names, already loaded): the file is
// tokenized again and the token data compared with the manifest's, so a
// changed prompt or tokenizer is caught as data. Without them (a browser
// or Deno with no tokenizer, a file that cannot be found) it re-runs from
// the token data the manifest records, and the report says so.
import { createEngine } from "../wasm/engine.js";
import { loadModel } from "../model/load.js";
import { bytesSource, type ByteSource } from "../model/formats/tensor.js";
import type { Progress } from "../algorithms/registry.js";
import type { CircuitJson } from "../io/circuit.js";
import { AcdcError, InputError } from "../errors.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";
import { parseTaskJson, readTaskSpec } from "../tasks/task-file.js";
import { buildTextTask } from "../tasks/text-task.js";
import { MemorySha256, Sha256, sha256Hex } from "./sha256.js";
import {
  canonicalJson, circuitDigest, dataDigest, hexF64, kernelDigest, paramsDigest, runtimeInfo, sealOf, traceDigest, traceOf, f64Hex,
  type RunManifest, type Sha256Hasher, type TraceEntry,
} from "./manifest.js";
import { builtinTask, checkRunData, PreparedRun, type BuiltinTask, type RunData } from "./run.js";
import { specOf } from "./manifest.js";

/** The inputs a verification needs beyond the manifest: whatever its model and data sources call for. */
export interface VerifyInputs {
  /** The weights file (file models); for a sharded checkpoint, its index JSON (the file the manifest records). */
  weights?: Uint8Array | ByteSource;
  /** A sharded checkpoint's shards by the names its index gives them (the loaded parameters' digest checks them). */
  shards?: Map<string, ByteSource>;
  /** The config file's bytes (safetensors models). */
  config?: Uint8Array;
  /** The data: a --data file's bytes or text, or the parsed object (file and inline data). */
  data?: Uint8Array | string | object;
  /**
   * Data from a task file: the file's bytes or text, and the tokenizer it
   * names, loaded (acdc-wasm/tokenizers' loadTaskTokenizer) with its file's
   * bytes for the digest. Without it (or without a tokenizer the file
   * needs) the run re-runs from the token data the manifest records.
   */
  task?: { file: Uint8Array | string; source?: string; tokenizer?: Tokenizer | null; tokenizerFile?: Uint8Array };
  /** Threads for the re-run (default the manifest's; any count gives the same bits). */
  threads?: number | "auto";
  /** A fresh incremental SHA-256 for the big digests (weights file, loaded parameters): default the rounds in the kernels (MemorySha256); Node's node:crypto gives the same digests 7–12× faster. */
  sha256?: () => Sha256Hasher;
  onProgress?: (p: Progress) => void;
}

export type DifferenceKind = "kernels" | "model" | "config" | "params" | "data" | "options" | "decision" | "circuit" | "result" | "circuit-file";

export interface Difference { kind: DifferenceKind; message: string }

export interface VerifyReport {
  ok: boolean;
  differences: Difference[];
  /** Where the re-run ran. */
  runtime: { name: string; version: string };
  threads: number;
  build: string;
  decisions: number;
  /** The first decision that differs, as the manifest and the re-run have it (index from 0). */
  firstDecision?: { index: number; manifest: TraceEntry | null; rerun: TraceEntry | null };
  /** The re-run's circuit. */
  circuit: CircuitJson;
  /** For a task file's run: where the re-run's token data came from (the task file re-tokenized, or the manifest's recorded tokens, and why). */
  dataFrom?: string;
}

const short = (h: string) => h.slice(0, 12);

/** Digest of bytes or of a ByteSource read in chunks (with `h`, a fresh SHA-256). */
export async function digestOf(src: Uint8Array | ByteSource, h: Sha256Hasher = new Sha256()): Promise<string> {
  if (src instanceof Uint8Array) { h.update(src); return h.hex(); }
  const CHUNK = 1 << 24;
  for (let off = 0; off < src.byteLength; off += CHUNK) h.update(await src.read(off, Math.min(CHUNK, src.byteLength - off)));
  return h.hex();
}

/** Parse data given as bytes, text or an object, with the --data rules. */
export function dataFrom(input: Uint8Array | string | object, where = "data"): RunData {
  if (typeof input === "string" || input instanceof Uint8Array) {
    const text = typeof input === "string" ? input : new TextDecoder().decode(input);
    let j: unknown;
    try { j = JSON.parse(text); } catch (e) { throw new InputError(`${where} is not valid JSON: ${(e as Error).message}`); }
    return checkRunData(j, where);
  }
  return checkRunData(input, where);
}

/** A decision as one line of text: metric and outcome (and bits). */
export function decisionText(e: TraceEntry | null): string {
  if (!e) return "(none)";
  const v = hexF64(e[4]);
  return `${e[0]} → ${e[1]}: ${v} (bits ${e[4]}) ${e[2]}`;
}

/** The first index where two traces differ, or -1. */
function firstDifference(a: TraceEntry[], b: TraceEntry[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i], y = b[i];
    if (!x || !y || x[0] !== y[0] || x[1] !== y[1] || x[2] !== y[2] || x[4] !== y[4]) return i;
  }
  return -1;
}

/** Compare a circuit file with the manifest: its digest, and the options it records against the manifest's. */
export function checkCircuitFile(m: RunManifest, c: CircuitJson, name = "the circuit file"): Difference[] {
  const out: Difference[] = [];
  const o = m.options;
  const recorded: [string, unknown, unknown][] = [["algorithm", c.algorithm, o.algorithm], ["ablation", c.ablation, o.ablation]];
  // A circuit cut by top-k records top_k (and threshold 0); one cut by a threshold records only the threshold;
  // one cut by a mask method's knob records neither (threshold 0), and its knob is sealed in the manifest alone.
  if (c.top_k !== undefined) recorded.push(["top_k", c.top_k, o.top_k]);
  else if (!(o.threshold === null && c.threshold === 0)) recorded.push(["threshold", c.threshold, o.threshold]);
  for (const [k, inFile, inManifest] of recorded) {
    if (inFile !== inManifest) out.push({ kind: "options", message: `option ${k} is ${JSON.stringify(inManifest)} in the manifest but ${JSON.stringify(inFile)} in ${name}: the manifest was edited, or belongs to another circuit` });
  }
  const d = circuitDigest(c);
  if (d !== m.results.circuit_sha256) out.push({ kind: "circuit-file", message: `${name} does not match the manifest (sha256 ${short(d)}…, manifest ${short(m.results.circuit_sha256)}…): it was edited or belongs to another run` });
  return out;
}

/** What a decision's number is called in messages. */
const NOUNS: Record<RunManifest["results"]["decisions"], string> = {
  "metric-when-removed": "metric", "attribution": "metric", "mask-logit": "mask logit", "importance": "importance",
};

/**
 * A task file's token data made again from the file and its tokenizer, for
 * the model's geometry; a changed file, tokenizer or token data is pushed to
 * `diffs`. `why` instead when it cannot be made (the tokenizer the file
 * names was not given, or the file no longer builds).
 */
function rebuildTaskData(m: RunManifest, t: NonNullable<VerifyInputs["task"]>, cfg: Parameters<typeof buildTextTask>[2], diffs: Difference[]): { data: RunData } | { why: string } {
  const source = t.source ?? m.data.file?.path ?? "the task file";
  const text = typeof t.file === "string" ? t.file : new TextDecoder().decode(t.file);
  const json = parseTaskJson(text, source);
  const td = sha256Hex(canonicalJson(json));
  if (td !== m.data.task_sha256) diffs.push({ kind: "data", message: `task file differs: ${source} as parsed has sha256 ${short(td)}…, the manifest's ${short(m.data.task_sha256 ?? "")}… (a prompt, answer or field changed)` });
  const spec = readTaskSpec(json, source);
  const rec = m.data.tokenizer;
  if (spec.tokenizer !== undefined && !t.tokenizer) return { why: `the tokenizer ${JSON.stringify(spec.tokenizer)} the task file names was not given` };
  if (t.tokenizerFile && rec?.sha256) {
    const kd = sha256Hex(t.tokenizerFile);
    if (kd !== rec.sha256) diffs.push({ kind: "data", message: `tokenizer differs: ${spec.tokenizer} has sha256 ${short(kd)}… (${t.tokenizerFile.byteLength} bytes), the manifest's ${short(rec.sha256)}… (${rec.bytes} bytes)` });
  }
  let data: RunData;
  try {
    data = buildTextTask(spec, t.tokenizer ?? null, cfg).data;
  } catch (e) {
    if (!(e instanceof AcdcError)) throw e;
    diffs.push({ kind: "data", message: `the task file no longer makes the run's tokens: ${e.message}` });
    return { why: "the task file no longer builds" };
  }
  const dd = dataDigest(data);
  if (dd !== m.data.sha256) diffs.push({ kind: "data", message: `data differs: the task file tokenized again gives token data with sha256 ${short(dd)}…, the manifest's ${short(m.data.sha256)}… (a prompt, the tokenizer or a position changed)` });
  return { data };
}

/** Re-run a manifest's search and compare everything; ok only when every digest matches. */
export async function verifyRun(m: RunManifest, inputs: VerifyInputs = {}): Promise<VerifyReport> {
  const diffs: Difference[] = [];
  const seal = sealOf(m);
  for (const k of ["model", "data", "options"] as const) {
    if (seal[k] !== m.seal[k]) diffs.push({ kind: k, message: `the manifest's ${k} section was changed after the run (its seal is ${short(seal[k])}…, written ${short(m.seal[k])}…)` });
  }
  const kd = kernelDigest(m.kernels.build);
  if (kd !== m.kernels.sha256) diffs.push({ kind: "kernels", message: `kernels differ: this package's ${m.kernels.build} build has sha256 ${short(kd)}…, the run's had ${short(m.kernels.sha256)}… (package ${m.package.version})` });

  // Data first: it is cheap, and a bad data file should not wait for a model load.
  let task: BuiltinTask | undefined;
  let data: RunData;
  if (m.data.source === "task") {
    task = builtinTask(m.data.task!);
    data = task.data;
  } else if (m.data.source === "task-file") {
    // The recorded tokens to start with (they hash to the manifest's digest, as parsing checked); the task file, if given, replaces them once the model's geometry is known.
    data = checkRunData(m.data.tokens, "the manifest's data.tokens", { labels: true });
  } else {
    if (inputs.data === undefined) throw new InputError(`the manifest's data (${m.data.source}${m.data.file?.path ? ` ${m.data.file.path}` : ""}, sha256 ${short(m.data.sha256)}…) was not given`);
    data = dataFrom(inputs.data);
  }
  const dd = dataDigest(data);
  if (dd !== m.data.sha256) diffs.push({ kind: "data", message: `data differs: its sha256 is ${short(dd)}…, the manifest's ${short(m.data.sha256)}… (a token, position or answer changed)` });

  const engine = await createEngine({ threads: inputs.threads ?? m.options.threads, deterministic: m.options.deterministic });
  try {
    let model;
    if (m.model.source === "builtin") {
      task ??= builtinTask(m.model.builtin!);
      if (!task.model) throw new InputError(`built-in task ${m.model.builtin} has no built-in model`);
      model = await task.model.create(engine);
    } else {
      if (!inputs.weights) throw new InputError(`the manifest's model weights (${m.model.weights?.path ?? m.model.weights?.url ?? m.model.name}, sha256 ${short(m.model.weights!.sha256)}…) were not given`);
      const src = inputs.weights instanceof Uint8Array ? bytesSource(inputs.weights, m.model.weights?.path ?? "weights") : inputs.weights;
      const wd = await digestOf(src, inputs.sha256?.() ?? new MemorySha256(engine));
      if (wd !== m.model.weights!.sha256) diffs.push({ kind: "model", message: `model weights differ: ${src.name} has sha256 ${short(wd)}… (${src.byteLength} bytes), the manifest ${short(m.model.weights!.sha256)}… (${m.model.weights!.bytes} bytes)` });
      let config: Record<string, unknown> | null = null;
      if (m.model.format === "safetensors") {
        if (!inputs.config) throw new InputError(`the manifest's model config (sha256 ${short(m.model.config!.sha256)}…) was not given`);
        const cd = sha256Hex(inputs.config);
        if (cd !== m.model.config!.sha256) diffs.push({ kind: "config", message: `model config differs: sha256 ${short(cd)}…, the manifest's ${short(m.model.config!.sha256)}…` });
        try { config = JSON.parse(new TextDecoder().decode(inputs.config)); } catch (e) { throw new InputError(`the model config is not valid JSON: ${(e as Error).message}`); }
      }
      if (inputs.shards) {
        const index = JSON.parse(new TextDecoder().decode(await src.read(0, src.byteLength))) as Record<string, unknown>;
        model = await loadModel({ index, shards: inputs.shards }, config, { engine });
      } else {
        model = await loadModel(src, config, { engine });
      }
    }
    const pd = paramsDigest(model, inputs.sha256?.());
    if (pd !== m.model.params_sha256 && !diffs.some((d) => d.kind === "model" || d.kind === "config")) {
      diffs.push({ kind: "params", message: `loaded parameters differ (sha256 ${short(pd)}…, manifest ${short(m.model.params_sha256)}…) although the files match: ${inputs.shards ? "a shard's contents changed (the index records only their names), or " : ""}the loader or built-in model changed` });
    }
    let dataFrom: string | undefined;
    if (m.data.source === "task-file") {
      const rebuilt = inputs.task ? rebuildTaskData(m, inputs.task, model.cfg, diffs) : null;
      if (rebuilt && "data" in rebuilt) { data = rebuilt.data; dataFrom = "the task file, tokenized again"; }
      else dataFrom = `the manifest's recorded tokens (${rebuilt?.why ?? (m.data.file ? "the task file was not given" : "the task file came inline")})`;
    }

    const run = new PreparedRun(model, m.model.name, data, specOf(m.options), task);
    const { circuit, json } = run.search(inputs.onProgress);
    const trace = traceOf(circuit);
    let firstDecision: VerifyReport["firstDecision"];
    if (traceDigest(trace) !== m.results.trace_sha256) {
      const i = firstDifference(m.trace, trace);
      const a = m.trace[i] ?? null, b = trace[i] ?? null;
      firstDecision = { index: i, manifest: a, rerun: b };
      const noun = NOUNS[m.results.decisions];
      const what = !a || !b ? `the re-run made ${trace.length} decisions, the manifest ${m.trace.length}`
        : a[0] !== b[0] || a[1] !== b[1] ? `the re-run ${m.results.decisions === "metric-when-removed" ? "tried" : "scored"} ${b[0]} → ${b[1]}, the manifest ${a[0]} → ${a[1]}`
        : `${a[0]} → ${a[1]}: ${noun} ${hexF64(b[4])} (bits ${b[4]}) ${b[2]} on the re-run, ${hexF64(a[4])} (bits ${a[4]}) ${a[2]} in the manifest`;
      diffs.push({ kind: "decision", message: `decision ${i + 1} of ${m.trace.length} differs: ${what}` });
    }
    const base = f64Hex(circuit.baseline), fin = f64Hex(circuit.metric);
    if (base !== m.results.baseline || fin !== m.results.metric) {
      diffs.push({ kind: "result", message: `metric of the full model and circuit: ${circuit.baseline} and ${circuit.metric} on the re-run, ${hexF64(m.results.baseline)} and ${hexF64(m.results.metric)} in the manifest` });
    }
    const cd = circuitDigest(json);
    if (cd !== m.results.circuit_sha256) {
      diffs.push({ kind: "circuit", message: `circuit differs: sha256 ${short(cd)}… (${json.num_kept} edges) on the re-run, ${short(m.results.circuit_sha256)}… (${m.results.num_kept} edges) in the manifest` });
    }
    return { ok: diffs.length === 0, differences: diffs, runtime: runtimeInfo(), threads: engine.threads, build: engine.build, decisions: trace.length, firstDecision, circuit: json, ...(dataFrom ? { dataFrom } : {}) };
  } finally {
    engine.dispose();
  }
}

/** The recorded decisions as text, one per line, with the run's description; computes nothing but the trace's digest. */
export function replayText(m: RunManifest): string {
  const o = m.options;
  const knob = o.lambda != null ? `λ=${o.lambda}` : o.masked != null ? `masked ${o.masked}` : o.sparsity != null ? `sparsity ${o.sparsity}`
    : o.top_k !== null && o.algorithm !== "hybrid" ? `top-k ${o.top_k}` : `τ=${o.threshold}${o.top_k !== null ? `, top-k ${o.top_k}` : ""}`;
  const training = o.steps !== undefined ? `, ${o.steps} steps, lr ${o.lr}, seed ${o.seed}` : "";
  const d = m.data;
  const dataText = d.source === "task" ? `task ${d.task}`
    : d.source === "task-file" ? `task file ${d.file?.path ?? "(inline)"}${d.tokenizer ? `, tokenizer ${d.tokenizer.spec}` : ""}`
    : d.file?.path ?? d.source;
  const heading: Record<RunManifest["results"]["decisions"], string> = {
    "metric-when-removed": "decisions in order", "attribution": "scores (one per edge, graph order)",
    "mask-logit": "mask logits (one per masked edge, graph order)", "importance": "importances (one per head q/k/v and MLP, on the edge into it, graph order)",
  };
  const lines = [
    `${m.package.name} ${m.package.version} on ${m.runtime.name} ${m.runtime.version}`.trimEnd() + ` (${m.kernels.build} kernels ${short(m.kernels.sha256)}…, ${o.threads} thread${o.threads > 1 ? "s" : ""})`,
    `${o.algorithm} ${knob}${training}, metric ${o.metric}, ${o.ablation} ablation`,
    `model ${m.model.name} (${m.model.source === "builtin" ? `built-in ${m.model.builtin}` : `${m.model.format} ${short(m.model.weights!.sha256)}…`}), data ${dataText} (${short(d.sha256)}…, ${d.prompts} prompts)`,
    `${heading[m.results.decisions]}:`,
  ];
  const w = String(m.trace.length).length;
  m.trace.forEach((e, i) => lines.push(`${String(i + 1).padStart(w)}  ${e[2].padEnd(7)}  ${String(hexF64(e[4])).padEnd(24)}  ${e[0]} → ${e[1]}`));
  const ok = traceDigest(m.trace) === m.results.trace_sha256;
  lines.push(`metric: ${hexF64(m.results.baseline)} (full model) → ${hexF64(m.results.metric)} (circuit); kept ${m.results.num_kept} edges`);
  lines.push(`trace sha256 ${m.results.trace_sha256} (${ok ? "matches its" : "DOES NOT match its"} ${m.trace.length} entries)`);
  return lines.join("\n") + "\n";
}
