// `acdc sweep --queue redis://…`: the sweep's jobs on a BullMQ queue in Redis,
// run by `acdc worker --queue redis://…` on any number of machines. BullMQ
// does the scheduling and the fault handling: each job has two attempts; a
// worker holds a lock on its job and renews it from a thread the search does
// not block, so a worker that dies (killed, machine gone) stops renewing and
// its job is moved back to the queue by another worker's stall check, for
// another worker (once; a second stall fails it). This side adds the jobs
// under ids derived from the sweep (the same sweep queued again is the same
// jobs: finished results are reused, and a result is taken once per id),
// listens for results, reports stalls, retries and failures, and removes the
// sweep's jobs once every result is in.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Queue, QueueEvents } from "bullmq";
import IORedis from "ioredis";
import { describeJob, sweepKey, type JobResult } from "../../eval/jobs.js";
import { checkRedis, QUEUE_NAME, shownUrl } from "./redis.js";
import { ATTEMPTS, type Dispatch, type Failure } from "./dispatch.js";

/** A connection as BullMQ wants it (commands wait through reconnects instead of failing). */
export function redisConnection(url: string): IORedis {
  return new IORedis(url, { maxRetriesPerRequest: null });
}

const BIN = fileURLToPath(new URL("../../../bin/acdc.js", import.meta.url));

export interface QueueRunOptions {
  /** Also start this many `acdc worker` processes here, stopped at the end. */
  localWorkers?: number;
  threads: number | "auto";
  /** Header line: how many jobs were added or reused, and how many workers are connected. */
  onStart?: (info: { added: number; reused: number; waiting: number; workers: number; pids: number[] }) => void;
  /** Seconds between checks of the jobs' states (besides the events). */
  pollSeconds?: number;
}

/** Put the jobs on the queue and collect their results; resolves to the jobs that failed for good. */
export async function runOnQueue(d: Dispatch, url: string, o: QueueRunOptions): Promise<Failure[]> {
  await checkRedis(url);
  const key = sweepKey(d.jobs);
  const ids = d.jobs.map((_, i) => `${key}-${i}`);
  const indexOf = new Map(ids.map((id, i) => [id, i]));
  const conns = [redisConnection(url), redisConnection(url)];
  const queue = new Queue(QUEUE_NAME, { connection: conns[0] });
  const events = new QueueEvents(QUEUE_NAME, { connection: conns[1] });
  queue.on("error", (e) => d.note(`queue: ${e.message}`));
  events.on("error", (e) => d.note(`queue events: ${e.message}`));
  const local: ChildProcess[] = [];
  const failures: Failure[] = [];
  const settled = new Set<number>();
  const noted = new Set<string>();
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => { resolveAll = r; });
  const check = () => { if (settled.size === ids.length) resolveAll(); };
  const complete = (i: number, r: JobResult) => {
    if (settled.has(i)) return;
    settled.add(i);
    d.onResult(i, r);
    check();
  };
  const fail = (i: number, reason: string, attempts: number, by: string | undefined) => {
    if (settled.has(i)) return;
    settled.add(i);
    failures.push({ index: i, errors: [reason] });
    d.note(`job ${i + 1} (${describeJob(d.jobs[i])}) failed${by ? ` on ${by}` : ""}: ${reason}; that was attempt ${attempts} of ${ATTEMPTS}, so it is reported`);
    check();
  };
  const ours = (id: string | undefined) => (id === undefined ? undefined : indexOf.get(id));
  // Which worker took each job last, read when it became active: by the time a stall or failure is heard of, another worker may hold it.
  const holder = new Map<number, string>();
  let poll: ReturnType<typeof setInterval> | undefined;
  // Stopped by the user: this sweep's jobs no worker has started leave the queue (finished results stay, for a re-run to take).
  const interrupt = async () => {
    d.note("stopping: taking this sweep's waiting jobs off the queue (finished results stay for a re-run of the same sweep)");
    for (const [i, id] of ids.entries()) {
      if (settled.has(i)) continue;
      const job = await queue.getJob(id).catch(() => undefined);
      const state = job ? await job.getState().catch(() => "unknown") : "unknown";
      if (state === "waiting" || state === "delayed" || state === "prioritized") await job!.remove().catch(() => {});
    }
    for (const p of local) p.kill("SIGTERM");
    process.exit(130);
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  try {
    await events.waitUntilReady();
    events.on("completed", ({ jobId, returnvalue }) => {
      const i = ours(jobId);
      if (i !== undefined) complete(i, returnvalue as unknown as JobResult);
    });
    events.on("active", async ({ jobId }) => {
      const i = ours(jobId);
      if (i === undefined) return;
      const by = (await queue.getJob(jobId).catch(() => undefined))?.processedBy;
      if (by) holder.set(i, by);
    });
    events.on("failed", async ({ jobId, failedReason }) => {
      const i = ours(jobId);
      if (i === undefined) return;
      const by = holder.get(i);
      const job = await queue.getJob(jobId).catch(() => undefined);
      fail(i, failedReason, job?.attemptsMade ?? ATTEMPTS, by ?? job?.processedBy);
    });
    events.on("stalled", async ({ jobId }) => {
      const i = ours(jobId);
      if (i === undefined) return;
      const by = holder.get(i);
      const job = await queue.getJob(jobId).catch(() => undefined);
      d.note(`job ${i + 1} (${describeJob(d.jobs[i])}) stalled${by ? ` on ${by}` : ""}: its worker stopped renewing the lock (killed, or its machine gone); ` +
        (job && job.stalledCounter > 1 ? "it stalled before, so it fails" : "back on the queue for another worker"));
    });
    // A failed attempt with one left: the job goes back to waiting, its error on it.
    events.on("waiting", async ({ jobId, prev }) => {
      const i = ours(jobId);
      if (i === undefined || prev !== "active") return;
      const by = holder.get(i);
      const job = await queue.getJob(jobId).catch(() => undefined);
      if (!job?.failedReason || noted.has(`${jobId}/${job.attemptsMade}`)) return;
      noted.add(`${jobId}/${job.attemptsMade}`);
      d.note(`job ${i + 1} (${describeJob(d.jobs[i])}) failed${by ? ` on ${by}` : ""}: ${job.failedReason}; retrying (attempt ${job.attemptsMade + 1} of ${ATTEMPTS})`);
    });

    // The same sweep queued before: finished results count, failed jobs start over, queued ones are waited for.
    const add: number[] = [];
    let reused = 0, waiting = 0;
    for (const [i, id] of ids.entries()) {
      const job = await queue.getJob(id);
      if (!job) { add.push(i); continue; }
      const state = await job.getState();
      if (state === "completed") { reused++; complete(i, job.returnvalue as JobResult); }
      else if (state === "failed" || state === "unknown") { await job.remove(); add.push(i); }
      else waiting++;
    }
    await queue.addBulk(add.map((i) => ({
      name: describeJob(d.jobs[i]), data: d.jobs[i],
      opts: { jobId: ids[i], attempts: ATTEMPTS, removeOnComplete: false, removeOnFail: false },
    })));
    for (let k = 0; k < (o.localWorkers ?? 0); k++) {
      local.push(spawn(process.execPath, [BIN, "worker", "--queue", url, "--threads", String(o.threads), "--quiet"], { stdio: ["ignore", "ignore", "inherit"] }));
    }
    const workers = await queue.getWorkersCount().catch(() => -1);
    o.onStart?.({ added: add.length, reused, waiting, workers, pids: local.map((p) => p.pid!) });
    if (workers === 0 && local.length === 0) d.note(`no worker is connected to ${shownUrl(url)} yet: start \`npx acdc worker --queue ${shownUrl(url)}\` on any machine`);

    // Events can be missed across a reconnect: look at the unsettled jobs now and then.
    poll = setInterval(async () => {
      for (const [i, id] of ids.entries()) {
        if (settled.has(i)) continue;
        const job = await queue.getJob(id).catch(() => undefined);
        if (!job) continue;
        const state = await job.getState().catch(() => "unknown");
        if (state === "completed") complete(i, job.returnvalue as JobResult);
        else if (state === "failed") fail(i, job.failedReason, job.attemptsMade, job.processedBy);
      }
    }, (o.pollSeconds ?? 10) * 1000);
    check();
    await all;
    // Every result is in: the sweep's jobs leave the queue (failed ones stay, for a look with any BullMQ tool, until the sweep is run again).
    if (failures.length === 0) for (const id of ids) await queue.remove(id).catch(() => 0);
    return failures;
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
    if (poll) clearInterval(poll);
    await Promise.all(local.map((p) => new Promise<void>((r) => {
      if (p.exitCode !== null || p.signalCode !== null) return r();
      p.once("exit", () => r());
      p.kill("SIGTERM");
    })));
    await events.close().catch(() => {});
    await queue.close().catch(() => {});
    for (const c of conns) c.disconnect();
  }
}
