// The BullMQ sandboxed processor of `acdc worker`: BullMQ loads this file in
// a worker thread and calls the default export per job, so the search runs
// off the thread that renews the job's lock (a search blocks its thread for
// minutes; a lock renewed from that thread would lapse and the job would be
// taken as stalled). Settings come in workerData from worker.ts.
import { hostname } from "node:os";
import { workerData } from "node:worker_threads";
import type { JobResult } from "../../eval/jobs.js";
import { JobRunner } from "./runner.js";

export interface ProcessorSettings { threads: number | "auto"; dirs: string[]; by: string }

const s = (workerData ?? {}) as Partial<ProcessorSettings>;
const runner = new JobRunner({ threads: s.threads ?? 1, dirs: s.dirs ?? [], by: s.by ?? `${hostname()}:${process.pid}` });

/** Run one queued job (its data is the SweepJob); the result is stored as the job's return value. */
export default async function processJob(job: { data: unknown }): Promise<JobResult> {
  return runner.run(job.data);
}
