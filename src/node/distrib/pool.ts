// `acdc sweep --workers N`: the sweep's jobs on N local worker processes
// (child.ts), each given one job at a time over its IPC channel. A worker
// that exits during a job (killed, out of memory) is replaced, and its job
// goes first in line for another worker; a job whose attempt throws is
// retried likewise; two failed attempts and it is reported (dispatch.ts).
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describeJob, type JobResult } from "../../eval/jobs.js";
import { Attempts, type Dispatch, type Failure } from "./dispatch.js";
import type { FromChild, ToChild } from "./child.js";

const CHILD = fileURLToPath(new URL("./child.js", import.meta.url));

interface Slot { proc: ChildProcess; by: string; job?: number }

/** Run every job on `n` local processes; resolves to the jobs that failed twice. `onStart` hears each process's pid. */
export async function runOnPool(d: Dispatch, n: number, o: { threads: number | "auto"; onStart?: (pids: number[]) => void }): Promise<Failure[]> {
  const a = new Attempts(d);
  const slots = new Set<Slot>();
  // A process that cannot even start must not be replaced forever.
  let spawnsLeft = n + 2 * d.jobs.length;
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => { resolveAll = r; });

  const feed = (s: Slot) => {
    if (a.finished) { resolveAll(); return; }
    const i = a.take(s.by, ![...slots].some((t) => t !== s && t.proc.connected));
    if (i === undefined) return;
    s.job = i;
    s.proc.send({ type: "job", index: i, job: d.jobs[i] } satisfies ToChild);
  };
  const spawn = (): Slot | null => {
    if (spawnsLeft-- <= 0) return null;
    const proc = fork(CHILD, [String(o.threads)], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
    const s: Slot = { proc, by: `local worker pid ${proc.pid}` };
    slots.add(s);
    proc.on("message", (m: FromChild) => {
      if (m.index !== s.job) return;
      s.job = undefined;
      if (m.type === "result") a.done(m.index, m.result as JobResult);
      else a.failed(m.index, s.by, m.message, describeJob(d.jobs[m.index]));
      feed(s);
      // A retry may wait for an idle worker other than this one.
      for (const t of slots) if (t !== s && t.job === undefined && t.proc.connected) feed(t);
    });
    proc.on("exit", (code, signal) => {
      slots.delete(s);
      if (s.job !== undefined) {
        const i = s.job;
        s.job = undefined;
        a.failed(i, s.by, `the process exited (${signal ?? `code ${code}`}) during the job`, describeJob(d.jobs[i]));
      }
      if (a.finished) { resolveAll(); return; }
      // Keep n processes while work is left; hand the job to an idle one meanwhile.
      for (const t of slots) if (t.job === undefined) feed(t);
      if (a.pending.length) {
        const r = spawn();
        if (r) { d.note(`started local worker pid ${r.proc.pid} in place of pid ${proc.pid}`); feed(r); }
      }
      if (slots.size === 0 && !a.finished) {
        // Nothing left to run on: what is still waiting fails.
        for (const i of [...a.pending]) a.abandon(i, "no worker process could be started", describeJob(d.jobs[i]));
        resolveAll();
      }
    });
    return s;
  };

  const started = Array.from({ length: Math.min(n, d.jobs.length) }, spawn).filter((s): s is Slot => s !== null);
  o.onStart?.(started.map((s) => s.proc.pid!));
  for (const s of started) feed(s);
  if (a.finished) resolveAll();
  await all;
  // Idle processes stop; wait for each to exit.
  await Promise.all([...slots].map((s) => new Promise<void>((r) => {
    if (s.proc.exitCode !== null || s.proc.signalCode !== null) return r();
    s.proc.once("exit", () => r());
    if (s.proc.connected) s.proc.send({ type: "stop" } satisfies ToChild);
    else s.proc.kill();
  })));
  return a.failures;
}
