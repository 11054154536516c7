// What the three ways of running a sweep's jobs elsewhere share: the jobs,
// where results go (the first result of a job counts; any later one is
// ignored, so nothing is counted twice), where notes about faults go, and the
// rule for failures: a job gets two attempts, and one that fails both is
// reported with both errors. The local pool and the endpoints keep that rule
// here; the queue has BullMQ keep it (attempts: 2, one recovery from a stall).
import type { JobResult, SweepJob } from "../../eval/jobs.js";

export const ATTEMPTS = 2;

export interface Dispatch {
  jobs: SweepJob[];
  /** A job's result; called at most once per job. */
  onResult(index: number, r: JobResult): void;
  /** One line about a fault or a retry, for stderr. */
  note(line: string): void;
}

/** A job that failed every attempt, with each attempt's error. */
export interface Failure { index: number; errors: string[] }

/** Bookkeeping of attempts for dispatchers that retry themselves: which jobs wait, which are done, which failed for good. */
export class Attempts {
  /** Jobs waiting for a worker, retries first. */
  readonly pending: number[];
  readonly failures: Failure[] = [];
  private readonly errors: string[][];
  /** Who failed each job last, so a retry goes elsewhere when it can. */
  private readonly lastBy: (string | undefined)[];
  private readonly settled: boolean[];
  private left: number;

  constructor(private readonly d: Dispatch) {
    const n = d.jobs.length;
    this.pending = Array.from({ length: n }, (_, i) => i);
    this.errors = Array.from({ length: n }, () => []);
    this.lastBy = new Array(n);
    this.settled = new Array(n).fill(false);
    this.left = n;
  }

  get finished(): boolean { return this.left === 0; }

  /**
   * The next job for `by`: the first waiting one it has not failed; when
   * `alone` (no other worker could take it), else the first waiting one.
   * Undefined when none is left for it.
   */
  take(by: string, alone: boolean): number | undefined {
    let k = this.pending.findIndex((i) => this.lastBy[i] !== by);
    if (k < 0 && alone && this.pending.length) k = 0;
    return k < 0 ? undefined : this.pending.splice(k, 1)[0];
  }

  /** A result: counted once (a second result of the same job is dropped). */
  done(i: number, r: JobResult): void {
    if (this.settled[i]) return;
    this.settled[i] = true;
    this.left--;
    this.d.onResult(i, r);
  }

  /** Give up on a waiting job at once (nothing left to run it on). */
  abandon(i: number, error: string, describe: string): void {
    if (this.settled[i]) return;
    const k = this.pending.indexOf(i);
    if (k >= 0) this.pending.splice(k, 1);
    this.errors[i].push(error);
    this.settled[i] = true;
    this.left--;
    this.failures.push({ index: i, errors: this.errors[i] });
    this.d.note(`job ${i + 1} (${describe}): ${error}; it is reported`);
  }

  /** An attempt failed on `by`: retried (first in line) until ATTEMPTS have failed, then reported. */
  failed(i: number, by: string, error: string, describe: string): void {
    if (this.settled[i]) return;
    this.errors[i].push(error);
    this.lastBy[i] = by;
    if (this.errors[i].length >= ATTEMPTS) {
      this.settled[i] = true;
      this.left--;
      this.failures.push({ index: i, errors: this.errors[i] });
      this.d.note(`job ${i + 1} (${describe}) failed on ${by}: ${error}; that was attempt ${this.errors[i].length} of ${ATTEMPTS}, so it is reported`);
    } else {
      this.pending.unshift(i);
      this.d.note(`job ${i + 1} (${describe}) failed on ${by}: ${error}; retrying, on another worker if there is one (attempt ${this.errors[i].length + 1} of ${ATTEMPTS})`);
    }
  }
}
