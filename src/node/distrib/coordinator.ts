// How `acdc sweep` runs its jobs elsewhere: the --workers/--queue/--endpoints
// options, the part every job shares (built from what the sweep loaded: the
// model as a file reference or a built-in name, with the digest of its
// parameters, and the data as a task key or tokens), and one call that runs
// the jobs on the chosen backend with a progress line and a note per fault,
// and refuses to go on when a job failed twice. Nothing connects anywhere
// unless --queue or --endpoints is given.
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { describeJob, type JobBase, type JobResult, type JobTokens, type SweepJob } from "../../eval/jobs.js";
import { dataDigest, type FileRef, type ModelSection } from "../../repro/manifest.js";
import type { Transformer } from "../../model/transformer.js";
import type { Ablation } from "../../patch/patcher.js";
import { AcdcError } from "../../errors.js";
import { parseInteger, type OptionSpec } from "../args.js";
import { UsageError, type ModelFiles } from "../files.js";
import { fileDigest, nodeParamsDigest } from "../manifest-files.js";
import { progressBar } from "../progress.js";
import type { Dispatch, Failure } from "./dispatch.js";
import { runOnPool } from "./pool.js";
import { checkRedis, parseRedisUrl, shownUrl } from "./redis.js";
import { parseEndpoints, runOnEndpoints } from "./endpoints.js";

export const DISTRIB_OPTIONS: OptionSpec = { workers: { type: "string" }, queue: { type: "string" }, endpoints: { type: "string" } };

export const DISTRIB_HELP = `  --workers N      run the runs as jobs on N local worker processes (with --queue:
                   also start N queue workers here for the sweep's duration)
  --queue URL      put the jobs on a BullMQ queue on Redis (redis://HOST:PORT) for
                   \`acdc worker --queue URL\` on any number of machines
  --endpoints U,U  send the jobs to fetch handlers (acdc serve, a Cloudflare or Vercel
                   deployment of acdc-wasm/serve: POST /v1/run), one job at a time each
                   (acdc, eap, eap-ig, hybrid). Distributed or not, the outputs are the
                   same bit for bit (timings aside); a job that fails twice is reported
                   and nothing is written
`;

/** Where a distributed sweep's jobs run. */
export interface Distrib {
  workers?: number;
  queue?: string;
  endpoints?: string[];
  /** Kernel threads of local workers. */
  threads: number | "auto";
}

/** The distribution options given (a queue's Redis reached once, before any work), or null for a sweep on this process alone. */
export async function distribOptions(values: Record<string, string | boolean | undefined>, threads: number | "auto"): Promise<Distrib | null> {
  const str = (k: string) => values[k] as string | undefined;
  if (str("workers") === undefined && str("queue") === undefined && str("endpoints") === undefined) return null;
  if (str("endpoints") !== undefined && (str("queue") !== undefined || str("workers") !== undefined)) {
    throw new UsageError("--endpoints sends the jobs to fetch handlers; it does not combine with --queue or --workers");
  }
  const d: Distrib = {
    workers: str("workers") === undefined ? undefined : parseInteger("workers", str("workers")!, 1, 256),
    queue: str("queue") === undefined ? undefined : parseRedisUrl(str("queue")),
    endpoints: str("endpoints") === undefined ? undefined : parseEndpoints(str("endpoints")!),
    threads,
  };
  if (d.queue) await checkRedis(d.queue);
  return d;
}

/** A file as a job names it: absolute path (a hint for workers on this machine or a shared disk), size, sha256. */
function absRef(path: string): FileRef {
  return { path: resolve(path), bytes: statSync(path).size, sha256: fileDigest(path) };
}

/** What every job of a sweep shares, from the model and data the sweep loaded. */
export function jobBase(o: {
  sweep: string; model: Transformer; modelName: string;
  /** The model's files, or null for a built-in (tracr) model named by `task`. */
  files: ModelFiles | null;
  /** A built-in task's key (its data is rebuilt from it), or null to send `tokens`. */
  task: string | null; tokens: JobTokens;
  splitInput: boolean; metric: string; ablation: Ablation; manifest: boolean;
}): JobBase {
  const params = nodeParamsDigest(o.model);
  const model: ModelSection = o.files
    ? { source: "file", format: o.files.config ? "safetensors" : "llama2c", name: o.modelName, weights: absRef(o.files.weights), config: o.files.config ? absRef(o.files.config) : null, params_sha256: params }
    : { source: "builtin", format: "tracr", name: o.modelName, builtin: o.task ?? undefined, params_sha256: params };
  if (!o.files && !o.task) throw new Error("jobBase: a model without files must be a built-in task's");
  return {
    sweep: o.sweep, model, data: o.task ? { task: o.task } : { tokens: JSON.parse(JSON.stringify(o.tokens)) as JobTokens },
    dataSha256: dataDigest(o.tokens), splitInput: o.splitInput, metric: o.metric, ablation: o.ablation, manifest: o.manifest,
  };
}

/** Jobs that failed twice: the sweep cannot be merged. */
export class JobsFailedError extends AcdcError {
  constructor(message: string) { super(message, "JobsFailedError"); }
}

/** Run the jobs where `d` says; resolves to their results in job order, or throws when any job failed twice (each reported on stderr). */
export async function runDistributed(jobs: SweepJob[], d: Distrib, o: { label: string; quiet: boolean }): Promise<JobResult[]> {
  const err = process.stderr;
  const bar = progressBar(err, o.label, o.quiet, "runs");
  const results: (JobResult | undefined)[] = new Array(jobs.length);
  let done = 0;
  const t0 = performance.now();
  const line = (s: string) => err.write(`${err.isTTY ? "\r\x1b[K" : ""}${s}\n`);
  const dispatch: Dispatch = {
    jobs,
    onResult(i, r) {
      if (results[i]) return;
      results[i] = r;
      bar.update({ phase: "jobs", done: ++done, total: jobs.length, ms: performance.now() - t0 });
    },
    note: line,
  };
  let failures: Failure[];
  if (d.endpoints) {
    line(`${jobs.length} jobs to ${d.endpoints.length} endpoint${d.endpoints.length > 1 ? "s" : ""}: ${d.endpoints.join(", ")}`);
    failures = await runOnEndpoints(dispatch, d.endpoints);
  } else if (d.queue) {
    // BullMQ and the Redis client load only when a queue is used.
    const { runOnQueue } = await import("./queue.js");
    failures = await runOnQueue(dispatch, d.queue, {
      localWorkers: d.workers, threads: d.threads,
      onStart: (s) => line(`queue ${shownUrl(d.queue!)}: ${s.added} of ${jobs.length} jobs added` +
        (s.reused ? `, ${s.reused} results taken from an earlier run of this sweep` : "") + (s.waiting ? `, ${s.waiting} already queued` : "") +
        `; ${s.workers < 0 ? "? workers" : s.workers === 1 ? "1 worker" : `${s.workers} workers`} connected` + (s.pids.length ? ` (${s.pids.length} started here: pids ${s.pids.join(", ")})` : "")),
    });
  } else {
    failures = await runOnPool(dispatch, d.workers!, {
      threads: d.threads,
      onStart: (pids) => line(`${jobs.length} jobs on ${pids.length} local worker process${pids.length > 1 ? "es" : ""} (pids ${pids.join(", ")})`),
    });
  }
  bar.finish();
  if (failures.length) {
    for (const f of failures.sort((a, b) => a.index - b.index)) line(`failed: job ${f.index + 1} (${describeJob(jobs[f.index])}): ${f.errors.join(" | ")}`);
    throw new JobsFailedError(`${failures.length} of ${jobs.length} jobs failed twice (listed above); the sweep is incomplete, so nothing was written`);
  }
  return results as JobResult[];
}
