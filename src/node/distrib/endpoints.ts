// `acdc sweep --endpoints URL,URL`: the sweep's jobs sent to serverless
// handlers (acdc-wasm/serve: POST /v1/run) instead of worker processes, one
// job at a time per endpoint. A job becomes a request body — the tracr model
// by name, a model file as base64 (the handler's model limit applies), the
// task's key or the tokens, the options — and the answer's result line is its
// result (the circuit and the handler's run manifest). An attempt fails on an
// HTTP refusal, an error line or a dropped connection; a failed job is
// retried on another endpoint, and an endpoint that cannot be reached (or
// drops a connection) gets no more jobs. The handler runs acdc, eap, eap-ig
// and hybrid with kl, logit-diff or a built-in task's metric; other sweeps
// are refused before anything is sent.
import { readFileSync } from "node:fs";
import { describeJob, type SweepJob } from "../../eval/jobs.js";
import { checkRunManifest, type RunManifest } from "../../repro/manifest.js";
import type { CircuitJson } from "../../io/circuit.js";
import { UsageError } from "../files.js";
import { Attempts, type Dispatch, type Failure } from "./dispatch.js";

/** The methods the fetch handler runs. */
const HANDLER_ALGORITHMS = ["acdc", "eap", "eap-ig", "hybrid"];
const OPTION_NAMES: Record<string, string> = { threshold: "threshold", topK: "top_k", igSteps: "ig_steps" };

/** Check --endpoints: a comma-separated list of http(s) URLs (the handler's origin, or its /v1/run). */
export function parseEndpoints(s: string): string[] {
  const list = s.split(",").map((x) => x.trim()).filter(Boolean);
  if (list.length === 0) throw new UsageError("--endpoints needs at least one URL");
  return list.map((x) => {
    let u: URL;
    try { u = new URL(x); } catch { throw new UsageError(`--endpoints: "${x}" is not a URL`); }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new UsageError(`--endpoints: ${x} must be an http:// or https:// URL`);
    if (!u.pathname.endsWith("/v1/run")) u.pathname = `${u.pathname.replace(/\/$/, "")}/v1/run`;
    return u.toString();
  });
}

/** Refuse jobs the handler cannot run, before anything is sent. */
export function checkEndpointJobs(jobs: SweepJob[]): void {
  for (const j of jobs) {
    if (!HANDLER_ALGORITHMS.includes(j.algorithm)) throw new UsageError(`--endpoints: the fetch handler runs ${HANDLER_ALGORITHMS.join(", ")}; ${j.algorithm} runs on --workers or --queue`);
    const extra = Object.keys({ ...j.options, [j.knob]: j.value }).filter((k) => !(k in OPTION_NAMES));
    if (extra.length) throw new UsageError(`--endpoints: the fetch handler takes no option ${extra.join(", ")}`);
    if ("tokens" in j.data && !["kl", "logit-diff"].includes(j.metric)) throw new UsageError(`--endpoints: the fetch handler measures kl or logit-diff on token data, not ${j.metric}`);
  }
}

/** The request body of a job (model files read and base64-encoded once per path). */
function requestBody(j: SweepJob, files: Map<string, string>): string {
  const b64 = (path: string) => {
    let s = files.get(path);
    if (s === undefined) files.set(path, (s = Buffer.from(readFileSync(path)).toString("base64")));
    return s;
  };
  const m = j.model;
  const model = m.source === "builtin" ? { builtin: m.builtin }
    : m.format === "llama2c" ? { llama2c: b64(m.weights!.path!), name: m.name }
    : { safetensors: b64(m.weights!.path!), config: b64(m.config!.path!), name: m.name };
  const data = "task" in j.data ? { task: j.data.task } : (({ labels: _l, ...tokens }) => tokens)(j.data.tokens);
  const options: Record<string, unknown> = { algorithm: j.algorithm, metric: j.metric, ablation: j.ablation };
  for (const [k, v] of Object.entries({ ...j.options, [j.knob]: j.value })) if (v !== undefined) options[OPTION_NAMES[k]] = v;
  return JSON.stringify({ model, data, options });
}

/** Why an attempt failed, and whether the endpoint itself is gone. */
class AttemptError extends Error {
  constructor(message: string, readonly endpointDown: boolean) { super(message); }
}

/** POST one job and read the NDJSON answer to its result line. */
async function post(url: string, body: string): Promise<{ circuit: CircuitJson; manifest: RunManifest }> {
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  } catch (e) {
    throw new AttemptError(`cannot reach ${url}: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}`, true);
  }
  let text: string;
  try { text = await res.text(); } catch (e) { throw new AttemptError(`${url} dropped the connection: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}`, true); }
  const lines = text.split("\n").filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return null; } });
  const last = lines[lines.length - 1];
  if (res.status !== 200) throw new AttemptError(`HTTP ${res.status}: ${last?.type === "error" ? last.message : text.slice(0, 200)}`, false);
  if (last?.type === "error") throw new AttemptError(last.message, false);
  if (last?.type !== "result") throw new AttemptError(`${url} ended its answer without a result line (the connection dropped, or the handler stopped)`, true);
  try {
    return { circuit: last.circuit, manifest: checkRunManifest(last.manifest, "the answer's manifest") };
  } catch (e) {
    throw new AttemptError((e as Error).message, false);
  }
}

/** Send every job to the endpoints (one at a time each); resolves to the jobs that failed twice. */
export async function runOnEndpoints(d: Dispatch, endpoints: string[]): Promise<Failure[]> {
  checkEndpointJobs(d.jobs);
  const a = new Attempts(d);
  const files = new Map<string, string>();
  const live = new Set(endpoints);
  const loop = async (url: string): Promise<void> => {
    while (live.has(url) && !a.finished) {
      // A retry goes to another endpoint while there is another one.
      const i = a.take(url, [...live].every((u) => u === url));
      if (i === undefined) {
        // Nothing for this endpoint now; jobs in flight elsewhere may still come back to be retried.
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      try {
        const r = await post(url, requestBody(d.jobs[i], files));
        a.done(i, { circuit: r.circuit, manifest: r.manifest, metric: r.manifest.results.metric, searchMs: r.circuit.search_ms, by: url });
      } catch (e) {
        if (e instanceof AttemptError && e.endpointDown) {
          live.delete(url);
          d.note(`endpoint ${url} is down; sending it no more jobs`);
        }
        a.failed(i, url, (e as Error).message, describeJob(d.jobs[i]));
        if (live.size === 0) for (const k of [...a.pending]) a.abandon(k, "no endpoint is left to send it to", describeJob(d.jobs[k]));
      }
    }
  };
  await Promise.all(endpoints.map(loop));
  return a.failures;
}
