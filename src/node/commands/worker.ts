// `acdc worker --queue redis://…`: run the jobs of distributed sweeps
// (`acdc sweep --queue`) from the BullMQ queue, on this machine, until
// stopped. Each job runs in a worker thread (distrib/processor.ts) so this
// thread stays free to renew the job's lock; the lock's length and the stall
// check's interval are the options a fault-tolerant setup tunes. One line
// per job on stderr: started, done, or failed with its error.
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "bullmq";
import type { JobResult } from "../../eval/jobs.js";
import { ATTEMPTS } from "../distrib/dispatch.js";
import { redisConnection } from "../distrib/queue.js";
import { checkRedis, parseRedisUrl, QUEUE_NAME, shownUrl } from "../distrib/redis.js";
import type { ProcessorSettings } from "../distrib/processor.js";
import { parseInteger, parseNumber, parseOptions, parseThreads } from "../args.js";
import { UsageError } from "../files.js";

const PROCESSOR = fileURLToPath(new URL("../distrib/processor.js", import.meta.url));

export const WORKER_HELP = `acdc worker --queue redis://HOST:PORT [options]

Run the jobs of distributed sweeps (acdc sweep --queue URL) from the BullMQ
queue "${QUEUE_NAME}" on that Redis, until stopped (Ctrl-C: finish the jobs in
hand, then stop; twice: stop now, and the jobs go to other workers). Start it
on as many machines as you like; each job names its model by path and sha256
(found here by path, else by digest) and carries its data or task key.
  --queue URL        redis://[USER:PASSWORD@]HOST:PORT[/DB], or rediss:// for TLS
  --concurrency N    jobs at once, each on its own worker thread (default 1)
  --threads N|auto   kernel threads per job (default 1; results do not depend on it)
  --models DIR[,DIR] folders to search for model files by sha256, besides the
                     working directory and the package's models/
  --lock-seconds S   a job's lock lasts S seconds and is renewed every S/2 (default 30);
                     a worker that dies mid-job has its job retried elsewhere
                     after at most S plus two stall checks
  --stall-seconds S  seconds between this worker's checks for stalled jobs (default 30)
  --quiet            only failures, no line per job
`;

export async function workerCommand(args: string[]): Promise<void> {
  const values = parseOptions(args, {
    queue: { type: "string" }, concurrency: { type: "string" }, threads: { type: "string" }, models: { type: "string" },
    "lock-seconds": { type: "string" }, "stall-seconds": { type: "string" }, quiet: { type: "boolean" },
  });
  if (values.help) { process.stdout.write(WORKER_HELP); return; }
  const str = (k: string) => values[k] as string | undefined;
  const url = parseRedisUrl(str("queue"));
  const concurrency = str("concurrency") === undefined ? 1 : parseInteger("concurrency", str("concurrency")!, 1, 256);
  const threads = parseThreads(str("threads"));
  const seconds = (k: string, dflt: number) => {
    if (str(k) === undefined) return dflt;
    const v = parseNumber(k, str(k)!);
    if (!(v >= 0.5 && v <= 86400)) throw new UsageError(`--${k} must be from 0.5 to 86400, got ${str(k)}`);
    return v;
  };
  const lockSeconds = seconds("lock-seconds", 30), stallSeconds = seconds("stall-seconds", 30);
  const dirs = str("models") === undefined ? [] : str("models")!.split(",").filter(Boolean);
  const quiet = Boolean(values.quiet);
  await checkRedis(url);
  const by = `${hostname()}:${process.pid}`;
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const settings: ProcessorSettings = { threads, dirs, by };
  const connection = redisConnection(url);
  const worker = new Worker(QUEUE_NAME, PROCESSOR, {
    connection, name: by, concurrency, useWorkerThreads: true, workerThreadsOptions: { workerData: settings },
    lockDuration: lockSeconds * 1000, stalledInterval: stallSeconds * 1000, maxStalledCount: 1,
  });
  const t0 = new Map<string, number>();
  worker.on("active", (job) => {
    t0.set(job.id!, performance.now());
    if (!quiet) log(`job ${job.id} started: ${job.name}${job.attemptsStarted > 1 ? ` (attempt ${job.attemptsStarted})` : ""}`);
  });
  worker.on("completed", (job, r: JobResult) => {
    if (!quiet) log(`job ${job.id} done in ${((performance.now() - (t0.get(job.id!) ?? 0)) / 1000).toFixed(2)} s: ${r.circuit.num_kept} of ${r.circuit.total_edges} edges kept`);
    t0.delete(job.id!);
  });
  worker.on("failed", (job, err) => {
    log(`job ${job?.id ?? "?"} failed (attempt ${job?.attemptsMade ?? "?"} of ${job?.opts.attempts ?? ATTEMPTS}): ${err.message}`);
    if (job?.id) t0.delete(job.id);
  });
  const lostLocks = new Set<string>();
  worker.on("error", (e) => {
    // A job whose lock lapsed here (this process was stopped or starved) went to another worker; BullMQ refuses this one's outcome.
    const m = e.message.match(/^(could not renew lock|Missing lock|Missing key) for job (\S+?)\.?( moveToFinished| retryJob)?$/);
    if (!m) return log(`worker error: ${e.message}`);
    const [, what, id, step] = m;
    if (step === " moveToFinished") log(`job ${id} finished here, but ${what === "Missing key" ? "its sweep already has all its results" : "another worker took it over when its lock lapsed"}: this result is dropped`);
    else if (!step && !lostLocks.has(id)) { lostLocks.add(id); log(`job ${id}: this worker lost its lock (it was stopped or starved); another worker will take the job`); }
  });
  process.stdout.write(`acdc worker ${by}: jobs from ${shownUrl(url)} (queue ${QUEUE_NAME}), ${concurrency} at a time, ${threads} kernel thread${threads === 1 ? "" : "s"} each; lock ${lockSeconds} s, stall check every ${stallSeconds} s\n`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) process.exit(130);
      stopping = true;
      if (!quiet) log("finishing the jobs in hand, then stopping (again to stop now)");
      worker.close().then(resolve, resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  connection.disconnect();
}
