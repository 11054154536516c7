// Progress lines for long runs on stderr. On a terminal one line redraws;
// in a log (not a TTY) a line every few seconds. ACDC progress counts
// tested and skipped edges apart: a skipped edge costs nothing, so the rate
// and the ETA are in tested edges (algorithms/rate.ts), and the ETA assumes
// the rest of the graph is skipped as often as the part done so far.
import type { Progress } from "../algorithms/registry.js";
import { rateMeter } from "../algorithms/rate.js";

export interface ProgressBar {
  update(p: Progress): void;
  finish(): void;
}

const fmtTime = (s: number) => (!Number.isFinite(s) ? "?" : s < 60 ? `${s.toFixed(0)}s` : s < 3600 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${(s / 3600).toFixed(1)}h`);

/** Seconds between lines in a log. */
const LOG_EVERY_S = 5;

/** A progress line writing to a stream (stderr) counting `unit`s; silent when `quiet`. */
export function progressBar(stream: NodeJS.WritableStream & { isTTY?: boolean }, label: string, quiet = false, unit = "edges",
  opts: { showPhase?: boolean } = {}): ProgressBar {
  let t0 = performance.now(), phase = "";
  const tty = Boolean(stream.isTTY);
  let lastDraw = -Infinity, last: Progress | null = null;
  let meter = rateMeter();
  const line = (p: Progress) => {
    // A new phase (the next method of a comparison) starts its own count and rate.
    if (opts.showPhase && p.phase !== phase) { phase = p.phase; t0 = performance.now(); meter = rateMeter(); }
    const el = (performance.now() - t0) / 1000;
    const frac = p.total ? p.done / p.total : 1;
    const width = 24, fill = Math.round(frac * width);
    let s = `${label}${opts.showPhase ? ` ${p.phase}` : ""} [${"#".repeat(fill)}${".".repeat(width - fill)}] ${p.done}/${p.total} ${unit} ${(100 * frac).toFixed(0)}%`;
    if (p.tested !== undefined) s += ` · tested ${p.tested}, skipped ${p.skipped ?? 0}`;
    const { rate, eta } = meter.update(p, el);
    s += ` · ${rate.toFixed(rate < 10 ? 1 : 0)} ${p.tested !== undefined ? "tested " : ""}${unit}/s · ETA ${p.done >= p.total ? "0s" : fmtTime(eta)}`;
    if (p.extra) for (const [k, v] of Object.entries(p.extra)) s += ` · ${k} ${Number.isInteger(v) ? v : v.toPrecision(4)}`;
    return s;
  };
  return {
    update(p) {
      last = p;
      if (quiet) return;
      const now = performance.now();
      if (tty) {
        if (now - lastDraw < 100 && p.done < p.total) return;
        lastDraw = now;
        stream.write(`\r${line(p)}\x1b[K`);
      } else {
        if (now - lastDraw < LOG_EVERY_S * 1000 && p.done < p.total) return;
        lastDraw = now;
        stream.write(`${line(p)}\n`);
      }
    },
    finish() {
      if (quiet || !last) return;
      if (tty) stream.write(`\r${line(last)}\x1b[K\n`);
      else if (last.done < last.total) stream.write(`${line(last)}\n`);
    },
  };
}

/** A progress line for bytes read (loading a model); silent for files under 50 MB, which load in a blink. */
export function bytesBar(stream: NodeJS.WritableStream & { isTTY?: boolean }, label: string, quiet = false): (done: number, total: number) => void {
  const bar = progressBar(stream, label, quiet, "MB");
  return (done, total) => {
    if (total < 50e6) return;
    bar.update({ phase: "load", done: Math.round(done / 1e6), total: Math.round(total / 1e6), ms: 0 });
    if (done >= total) bar.finish();
  };
}
