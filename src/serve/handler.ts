// Circuit discovery behind a standard fetch handler (Request → Response), so
// one file serves from Node (`acdc serve`), Deno (Deno.serve), Cloudflare's
// workerd and Vercel's edge runtime. POST /v1/run takes
//   {"model": {"safetensors": URL|base64, "config": URL|base64|{…}, "name"?}
//            | {"llama2c": URL|base64, "name"?} | {"builtin": "tracr-reverse"},
//    "data": <the --data JSON> | {"task": "tracr-reverse"|"tracr-proportion"|"induction"}
//            | {"task": {<a task file>}},
//    "options": {"threshold", "algorithm", "metric", "ablation", "top_k", "ig_steps",
//                "lambda", "masked", "sparsity", "steps", "lr", "seed"}}
// and answers application/x-ndjson: progress lines, then one result line
// {"type":"result","circuit":…,"manifest":…} (the circuit exactly as
// `acdc run --out` writes it) or one error line. Everything that can be
// checked before the search — the body, the limits, fetching and loading
// the model, the tokens (clean and ablated passes) — is, and is refused with
// HTTP 4xx and one line; only the search itself (and its time limit) runs
// inside the 200 stream. No file system, no Node API.
//
// A run is synchronous once the search starts (ACDC decides edge by edge on
// the calling thread), so in a single-threaded isolate the progress lines of
// the search reach the client together with the result; the ones before it
// (fetching, loading, the clean and ablated passes) stream as they happen.
// The time limit is checked between decisions against performance.now(),
// which workerd freezes during synchronous work: there the platform's own
// CPU limit is what stops a long search.
//
// A task file whose prompts are text needs a tokenizer, and the tokenizer
// libraries are large: the handler has none of its own. The host passes
// acdc-wasm/tokenizers' loadTokenizer (`acdc serve` does); the file names
// its tokenizer as "gpt2" or by URL (there are no files to be relative to).
import { createEngine, provideKernelModule, type Engine } from "../wasm/engine.js";
import { loadModel } from "../model/load.js";
import { bytesSource } from "../model/formats/tensor.js";
import { AcdcError } from "../errors.js";
import { PACKAGE_NAME, PACKAGE_VERSION } from "../version.js";
import type { Progress } from "../algorithms/registry.js";
import { buildManifest, canonicalJson, dataDigest, paramsDigest, runtimeInfo, type DataSection, type FileRef, type ModelSection, type TokenizerRef } from "../repro/manifest.js";
import { BUILTIN_TASKS, builtinTask, checkRunData, checkRunOptions, PreparedRun, type BuiltinTask, type OptionContext, type RunData } from "../repro/run.js";
import { optionsSection } from "../repro/manifest.js";
import { sha256Hex } from "../repro/sha256.js";
import { readTaskSpec, type TaskSpec } from "../tasks/task-file.js";
import { buildTextTask } from "../tasks/text-task.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";
import type { ReadFile } from "../tokenizers/load.js";

export interface ServeLimits {
  /** Request body bytes (base64 models count 4/3 of their size). */
  maxBodyBytes: number;
  /** Weights (and config) bytes, decoded or fetched. */
  maxModelBytes: number;
  /** Prompts in the data. */
  maxPrompts: number;
  /** Tokens in the longest prompt. */
  maxPositions: number;
  /** Seconds the search may run (checked between decisions). */
  maxSeconds: number;
}

export const DEFAULT_LIMITS: ServeLimits = {
  maxBodyBytes: 64 * 2 ** 20, maxModelBytes: 48 * 2 ** 20, maxPrompts: 512, maxPositions: 1024, maxSeconds: 300,
};

export interface HandlerOptions {
  limits?: Partial<ServeLimits>;
  /** Kernel threads per run (1, the default, everywhere but a Node or Deno server given --threads). */
  threads?: number | "auto";
  /** How model URLs are fetched (default the global fetch). */
  fetch?: (url: string) => Promise<Response>;
  /** The simd kernels compiled by the host (workerd: `import kernels from "./kernels.wasm"`), where compiling wasm from bytes is forbidden. */
  kernels?: WebAssembly.Module;
  /** The runtime named in manifests (default: detected). */
  runtime?: { name: string; version: string };
  /** Loads the tokenizer a task file names (acdc-wasm/tokenizers' loadTokenizer); without it only task files of token ids are accepted. */
  loadTokenizer?: (spec: string, readFile: ReadFile) => Promise<Tokenizer>;
}

/** A refusal before the stream starts: an HTTP status and one line. */
class Refusal extends AcdcError {
  constructor(readonly status: number, message: string) { super(message, "Refusal"); }
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, " ").trim();
const NDJSON = { "content-type": "application/x-ndjson; charset=utf-8", "cache-control": "no-store" };
const line = (o: unknown) => JSON.stringify(o) + "\n";
const refuse = (status: number, message: string) => new Response(line({ type: "error", message: oneLine(message) }), { status, headers: NDJSON });
const isObj = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === "object" && !Array.isArray(x);
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** Read a body, refusing (413) past `limit` bytes without reading the rest. */
async function readLimited(body: ReadableStream<Uint8Array> | null, limit: number, what: string): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > limit) {
      await reader.cancel().catch(() => {});
      throw new Refusal(413, `${what} is larger than the limit of ${mib(limit)}`);
    }
    parts.push(value);
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.byteLength; }
  return out;
}

const BASE64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

function decodeBase64(s: string, where: string): Uint8Array {
  if (!BASE64.test(s)) throw new Refusal(400, `${where} is neither an http(s) URL nor base64`);
  let bin: string;
  try { bin = atob(s.replace(/\s+/g, "")); } catch { throw new Refusal(400, `${where} is not valid base64`); }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

interface Bytes { bytes: Uint8Array; url?: string }

/** A file given as a URL (fetched, within the limit) or as base64. */
async function resolveBytes(v: unknown, where: string, limit: number, fetchImpl: (url: string) => Promise<Response>): Promise<Bytes> {
  if (typeof v !== "string" || v.length === 0) throw new Refusal(400, `${where} must be a URL or base64 bytes (a non-empty string)`);
  if (/^https?:\/\//i.test(v)) {
    let res: Response;
    try { res = await fetchImpl(v); } catch (e) { throw new Refusal(400, `${where}: cannot fetch ${v}: ${(e as Error)?.message ?? e}`); }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new Refusal(400, `${where}: ${v} answered HTTP ${res.status}`);
    }
    const declared = Number(res.headers.get("content-length") ?? NaN);
    if (declared > limit) {
      await res.body?.cancel().catch(() => {});
      throw new Refusal(413, `${where}: ${v} is ${mib(declared)}, over the model limit of ${mib(limit)}`);
    }
    return { bytes: await readLimited(res.body, limit, `${where} (${v})`), url: v };
  }
  if (v.length * 0.75 > limit + 3) throw new Refusal(413, `${where} is over the model limit of ${mib(limit)}`);
  return { bytes: decodeBase64(v, where) };
}

const ref = (b: Bytes): FileRef => ({ ...(b.url ? { url: b.url } : {}), bytes: b.bytes.byteLength, sha256: sha256Hex(b.bytes) });

/** The stem of a URL's last path segment ("…/induction-2l.safetensors" → "induction-2l"). */
function urlStem(url: string | undefined): string | undefined {
  if (!url) return undefined;
  let last: string | undefined;
  try { last = new URL(url).pathname.split("/").filter(Boolean).pop(); } catch { return undefined; }
  return last ? decodeURIComponent(last).replace(/\.(safetensors|bin)$/i, "") : undefined;
}

interface ModelRequest { kind: "safetensors" | "llama2c" | "builtin"; name?: string; raw: Record<string, unknown> }

function checkModelRequest(m: unknown): ModelRequest {
  if (!isObj(m)) throw new Refusal(400, `"model" must be an object: {"safetensors": URL|base64, "config": URL|base64|{…}}, {"llama2c": URL|base64} or {"builtin": NAME}`);
  const kinds = (["safetensors", "llama2c", "builtin"] as const).filter((k) => m[k] !== undefined);
  if (kinds.length !== 1) throw new Refusal(400, `"model" must have exactly one of "safetensors", "llama2c", "builtin"${kinds.length ? `; it has ${kinds.join(" and ")}` : ""}`);
  const allowed = new Set([kinds[0], "name", ...(kinds[0] === "safetensors" ? ["config"] : [])]);
  const extra = Object.keys(m).filter((k) => !allowed.has(k));
  if (extra.length) throw new Refusal(400, `"model" has unknown field${extra.length > 1 ? "s" : ""} ${extra.map((k) => `"${k}"`).join(", ")}`);
  if (m.name !== undefined && (typeof m.name !== "string" || !m.name)) throw new Refusal(400, `"model.name" must be a non-empty string`);
  if (kinds[0] === "safetensors" && m.config === undefined) throw new Refusal(400, `"model.config" is required with "model.safetensors" (URL, base64 or the config object)`);
  return { kind: kinds[0], name: m.name as string | undefined, raw: m };
}

/** The data of a request: token data (given, or a built-in task's), or a task file to tokenize once the model is known. */
interface DataRequest { data?: RunData; task?: BuiltinTask; file?: { json: Record<string, unknown>; spec: TaskSpec }; section: Omit<DataSection, "sha256"> }

const WHERE = "data.task";

function checkDataRequest(d: unknown, limits: ServeLimits): DataRequest {
  if (!isObj(d)) throw new Refusal(400, `"data" must be an object: the --data JSON (clean, corrupted, positions…), {"task": NAME} or {"task": {a task file}}`);
  let data: RunData, task: BuiltinTask | undefined;
  if (d.task !== undefined) {
    if (Object.keys(d).length > 1) throw new Refusal(400, `"data" with "task" takes nothing else`);
    if (isObj(d.task)) {
      const spec = readTaskSpec(d.task, WHERE);
      if (spec.clean.length > limits.maxPrompts) throw new Refusal(413, `${WHERE} has ${spec.clean.length} prompts, over the limit of ${limits.maxPrompts}`);
      const tok = spec.tokenizer;
      if (tok !== undefined && tok !== "gpt2" && tok !== "r50k" && !/^https?:\/\//i.test(tok)) {
        throw new Refusal(400, `${WHERE}: "tokenizer" ${JSON.stringify(tok)} is a path, and a request has no files beside it; name "gpt2" or an http(s) URL of a tokenizer.json or llama2.c .bin`);
      }
      return { file: { json: d.task, spec }, section: { source: "task-file", prompts: spec.clean.length } };
    }
    if (typeof d.task !== "string") throw new Refusal(400, `"data.task" must name a built-in task (${BUILTIN_TASKS.join(", ")}) or be a task file object`);
    if (!(BUILTIN_TASKS as readonly string[]).includes(d.task)) throw new Refusal(400, `unknown task ${JSON.stringify(d.task)} (${BUILTIN_TASKS.join(", ")})`);
    task = builtinTask(d.task);
    data = task.data;
  } else {
    data = checkRunData(d, "data");
  }
  checkDataLimits(data, limits);
  return { data, task, section: task ? { source: "task", task: task.key, prompts: data.clean.length } : { source: "inline", prompts: data.clean.length } };
}

function checkDataLimits(data: RunData, limits: ServeLimits): void {
  if (data.clean.length > limits.maxPrompts) throw new Refusal(413, `data has ${data.clean.length} prompts, over the limit of ${limits.maxPrompts}`);
  const longest = Math.max(...data.clean.map((r) => r.length));
  if (longest > limits.maxPositions) throw new Refusal(413, `data has a prompt of ${longest} tokens, over the limit of ${limits.maxPositions}`);
}

/** What a request's options are checked against for a task file: its metric and ablation by default, its metric or kl. */
function taskFileContext(spec: TaskSpec): OptionContext {
  return { defaultMetric: spec.metric, defaultAblation: spec.ablation, metrics: [...new Set([spec.metric, "kl"])], splitInput: false, corrupted: spec.corrupted !== null, name: WHERE };
}

/** A fetch handler for POST /v1/run (and GET / for what it is). */
export function createHandler(o: HandlerOptions = {}): { fetch(req: Request): Promise<Response> } {
  const limits: ServeLimits = { ...DEFAULT_LIMITS, ...o.limits };
  for (const [k, v] of Object.entries(limits)) if (typeof v !== "number" || !(v > 0)) throw new RangeError(`acdc-wasm serve: limit ${k} must be a positive number, got ${v}`);
  const fetchImpl = o.fetch ?? ((url: string) => fetch(url));
  if (o.kernels) provideKernelModule("simd", o.kernels);

  async function run(req: Request): Promise<Response> {
    const declared = Number(req.headers.get("content-length") ?? NaN);
    if (declared > limits.maxBodyBytes) return refuse(413, `request body of ${mib(declared)} is over the limit of ${mib(limits.maxBodyBytes)}`);
    let engine: Engine | undefined;
    try {
      const text = new TextDecoder().decode(await readLimited(req.body, limits.maxBodyBytes, "request body"));
      let body: unknown;
      try { body = JSON.parse(text); } catch (e) { throw new Refusal(400, `request body is not JSON: ${(e as Error).message}`); }
      if (!isObj(body)) throw new Refusal(400, `request body must be a JSON object with "model", "data" and "options"`);
      const extra = Object.keys(body).filter((k) => !["model", "data", "options"].includes(k));
      if (extra.length) throw new Refusal(400, `unknown field${extra.length > 1 ? "s" : ""} ${extra.map((k) => `"${k}"`).join(", ")} (expected model, data, options)`);
      if (body.model === undefined) throw new Refusal(400, `"model" is missing`);
      if (body.data === undefined) throw new Refusal(400, `"data" is missing`);
      const mreq = checkModelRequest(body.model);
      const dreq = checkDataRequest(body.data, limits);
      const spec = checkRunOptions(body.options, dreq.file ? taskFileContext(dreq.file.spec) : dreq.task);
      // A task file's tokenizer, fetched and loaded before the model (a bad one is refused early).
      const tokenizer = dreq.file ? await taskTokenizer(dreq.file.spec) : null;
      if (mreq.kind === "builtin") {
        const t = builtinTask(String(mreq.raw.builtin));
        if (!t.model) throw new Refusal(400, `"${mreq.raw.builtin}" has no built-in model (built-in models: tracr-reverse, tracr-proportion)`);
        spec.splitInput = t.splitInput;
      }

      // The model: fetched or decoded within the limit, hashed, loaded.
      let weights: Bytes | undefined, config: Bytes | undefined, configJson: Record<string, unknown> | null = null;
      if (mreq.kind === "safetensors") {
        weights = await resolveBytes(mreq.raw.safetensors, "model.safetensors", limits.maxModelBytes, fetchImpl);
        const c = mreq.raw.config;
        config = isObj(c) ? { bytes: new TextEncoder().encode(JSON.stringify(c)) } : await resolveBytes(c, "model.config", limits.maxModelBytes, fetchImpl);
        try { configJson = JSON.parse(new TextDecoder().decode(config.bytes)); } catch (e) { throw new Refusal(400, `model.config is not JSON: ${(e as Error).message}`); }
        if (!isObj(configJson)) throw new Refusal(400, "model.config must be a JSON object");
      } else if (mreq.kind === "llama2c") {
        weights = await resolveBytes(mreq.raw.llama2c, "model.llama2c", limits.maxModelBytes, fetchImpl);
      }
      engine = await createEngine({ threads: o.threads ?? 1 });
      let model, modelSection: ModelSection;
      if (mreq.kind === "builtin") {
        const key = String(mreq.raw.builtin);
        model = await builtinTask(key).model!.create(engine);
        modelSection = { source: "builtin", format: "tracr", name: mreq.name ?? key, builtin: key, params_sha256: "" };
      } else {
        const name = mreq.name ?? urlStem(weights!.url) ?? "model";
        model = await loadModel(bytesSource(weights!.bytes, `model.${mreq.kind}`), configJson, { engine });
        modelSection = { source: "file", format: mreq.kind, name, weights: ref(weights!), config: config ? ref(config) : null, params_sha256: "" };
      }
      modelSection.params_sha256 = paramsDigest(model);
      let data = dreq.data!, section = dreq.section;
      if (dreq.file) {
        // Tokenized for this model's vocabulary and context; the manifest keeps the tokens, so it verifies with no tokenizer at hand.
        data = buildTextTask(dreq.file.spec, tokenizer?.tokenizer ?? null, model.cfg).data;
        checkDataLimits(data, limits);
        section = { ...section, task_sha256: sha256Hex(canonicalJson(dreq.file.json)), tokenizer: tokenizer?.ref ?? null, tokens: data };
      }
      // The clean and ablated passes: bad tokens or positions are refused here, before the stream.
      const prepared = new PreparedRun(model, modelSection.name, data, spec, dreq.task);
      const dataSection: DataSection = { ...section, sha256: dataDigest(data) };
      const eng = engine;
      engine = undefined; // the stream owns it now
      return new Response(searchStream(prepared, eng, modelSection, dataSection), { status: 200, headers: NDJSON });
    } catch (e) {
      engine?.dispose();
      if (e instanceof Refusal) return refuse(e.status, e.message);
      if (e instanceof AcdcError) return refuse(e.name === "MemoryLimitError" ? 413 : 400, e.message);
      return refuse(500, `internal error: ${(e as Error)?.message ?? e}`);
    }
  }

  /** The tokenizer a request's task file names (null: token ids), through the host's loader; files by URL within the model limit. */
  async function taskTokenizer(spec: TaskSpec): Promise<{ tokenizer: Tokenizer; ref: TokenizerRef } | null> {
    const name = spec.tokenizer;
    if (name === undefined) return null;
    if (!o.loadTokenizer) throw new Refusal(400, `${WHERE} names the tokenizer ${JSON.stringify(name)}, but this handler has none: give the prompts as token ids, or serve it with createHandler({ loadTokenizer }) from acdc-wasm/tokenizers (acdc serve does)`);
    let main: Bytes | undefined;
    const readFile: ReadFile = async (url) => {
      let res: Response;
      try { res = await fetchImpl(url); } catch (e) { throw new Refusal(400, `${WHERE}.tokenizer: cannot fetch ${url}: ${(e as Error)?.message ?? e}`); }
      if (res.status === 404) { await res.body?.cancel().catch(() => {}); return null; }
      if (!res.ok) { await res.body?.cancel().catch(() => {}); throw new Refusal(400, `${WHERE}.tokenizer: ${url} answered HTTP ${res.status}`); }
      const bytes = await readLimited(res.body, limits.maxModelBytes, `${WHERE}.tokenizer (${url})`);
      main ??= { bytes, url }; // the tokenizer file is read first, a tokenizer_config.json beside it after
      return bytes;
    };
    let tokenizer: Tokenizer;
    try {
      tokenizer = await o.loadTokenizer(name, readFile);
    } catch (e) {
      if (e instanceof AcdcError && !(e instanceof Refusal)) throw new Refusal(400, `${WHERE}: ${e.message}`);
      throw e;
    }
    return { tokenizer, ref: main ? { spec: name, url: main.url, bytes: main.bytes.byteLength, sha256: sha256Hex(main.bytes) } : { spec: name } };
  }

  function searchStream(prepared: PreparedRun, engine: Engine, model: ModelSection, data: DataSection): ReadableStream<Uint8Array> {
    const enc = new TextEncoder();
    return new ReadableStream<Uint8Array>({
      async start(controller) {
        const send = (o: unknown) => controller.enqueue(enc.encode(line(o)));
        try {
          const g = prepared.graph;
          send({ type: "progress", phase: "ready", model: model.name, edges: g.counts.addition + g.counts.direct, prompts: prepared.patcher.B, positions: prepared.patcher.T, wasm_bytes: engine.memory.buffer.byteLength });
          // Let the headers and first line leave before the synchronous search.
          await new Promise((r) => setTimeout(r, 0));
          const t0 = performance.now(), maxMs = limits.maxSeconds * 1000;
          let nextAt = 0;
          const onProgress = (p: Progress) => {
            if (performance.now() - t0 > maxMs) throw new Refusal(408, `time limit of ${limits.maxSeconds} s reached after ${p.done} of ${p.total} ${p.phase === "acdc" ? "edges" : "steps"}`);
            // At most about 50 lines a run.
            if (p.done >= nextAt || p.done === p.total) {
              send({ type: "progress", phase: p.phase, done: p.done, total: p.total, ...(p.tested !== undefined ? { tested: p.tested } : {}), ms: Math.round(p.ms) });
              nextAt = p.done + Math.max(1, Math.ceil(p.total / 50));
            }
          };
          const { circuit, json } = prepared.search(onProgress);
          const manifest = buildManifest({
            model, data, options: optionsSection(prepared.spec, engine.threads, engine.deterministic),
            kernels: { build: engine.build }, runtime: o.runtime,
          }, circuit, json);
          send({ type: "progress", phase: "done", wasm_bytes: engine.memory.buffer.byteLength, ms: Math.round(performance.now() - t0) });
          send({ type: "result", circuit: json, manifest });
        } catch (e) {
          const msg = e instanceof AcdcError ? e.message : `internal error: ${(e as Error)?.message ?? e}`;
          send({ type: "error", message: oneLine(msg) });
        } finally {
          engine.dispose();
          controller.close();
        }
      },
    });
  }

  return {
    async fetch(req: Request): Promise<Response> {
      const url = new URL(req.url);
      if (url.pathname === "/v1/run") {
        if (req.method !== "POST") return refuse(405, `${req.method} /v1/run: use POST with a JSON body`);
        return run(req);
      }
      if (url.pathname === "/" || url.pathname === "/v1") {
        if (req.method !== "GET" && req.method !== "HEAD") return refuse(405, `${req.method} ${url.pathname}: use GET`);
        return Response.json({ name: PACKAGE_NAME, version: PACKAGE_VERSION, runtime: o.runtime ?? runtimeInfo(), endpoints: ["POST /v1/run"], limits, tasks: BUILTIN_TASKS, text_task_files: Boolean(o.loadTokenizer) });
      }
      return refuse(404, `no route ${url.pathname} (POST /v1/run)`);
    },
  };
}
