// The `acdc` command as a child process whose output a test can wait on
// line by line (to act in the middle of a run: kill a worker during a job),
// and comparisons of a sweep's files with a reference run's.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "./fixtures.mjs";

const bin = join(root, "bin", "acdc.js");

/**
 * Start `acdc ARGS`. Returns the process, its output so far (out, err), a
 * promise of its end ({code, signal, stdout, stderr}) and waitFor(re, stream)
 * resolving to the first match in that stream's output.
 */
export function startAcdc(args, opts = {}) {
  const proc = spawn(process.execPath, [bin, ...args], { cwd: opts.cwd ?? root, stdio: ["ignore", "pipe", "pipe"] });
  const p = { proc, pid: proc.pid, out: "", err: "" };
  const waiters = [];
  const check = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i], m = p[w.stream].match(w.re);
      if (m) { waiters.splice(i, 1); clearTimeout(w.timer); w.resolve(m); }
    }
  };
  proc.stdout.on("data", (d) => { p.out += d; check(); });
  proc.stderr.on("data", (d) => { p.err += d; check(); });
  p.done = new Promise((resolve) => proc.on("close", (code, signal) => {
    for (const w of waiters.splice(0)) { clearTimeout(w.timer); w.reject(new Error(`acdc ${args[0]} ended (${code ?? signal}) before ${w.re} in its ${w.stream === "out" ? "stdout" : "stderr"}:\n${p.out}\n${p.err}`)); }
    resolve({ code, signal, stdout: p.out, stderr: p.err });
  }));
  p.waitFor = (re, stream = "err", ms = 120_000) => new Promise((resolve, reject) => {
    const w = { re, stream, resolve, reject, timer: setTimeout(() => reject(new Error(`no ${re} within ${ms} ms in:\n${p[stream]}`)), ms) };
    waiters.push(w);
    check();
  });
  p.stop = (signal = "SIGTERM") => { if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, signal); return p.done; };
  return p;
}

/** Run `acdc ARGS` to its end. */
export const runAcdc = (args, opts) => startAcdc(args, opts).done;

/** A JSON file with its timing fields (searchMs, ms, search_ms) left out. */
export function withoutTimings(path) {
  return JSON.stringify(JSON.parse(readFileSync(path, "utf8")), (k, v) => (k === "searchMs" || k === "ms" || k === "search_ms" ? undefined : v));
}
