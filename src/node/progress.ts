// A progress line for long searches: edges done / total, rate and ETA. On a
// terminal it redraws one line; in logs it prints a line every 10%.
export interface ProgressBar {
  update(done: number, total: number): void;
  finish(): void;
}

const fmtTime = (s: number) => (!Number.isFinite(s) ? "?" : s < 60 ? `${s.toFixed(0)}s` : s < 3600 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${(s / 3600).toFixed(1)}h`);

/** A progress bar writing to a stream (stderr) counting `unit`s; silent when `quiet`. */
export function progressBar(stream: NodeJS.WriteStream, label: string, quiet = false, unit = "edges"): ProgressBar {
  const t0 = performance.now();
  const tty = Boolean(stream.isTTY);
  let lastDraw = 0, lastDecile = -1, lastDone = 0, lastTotal = 0;
  const line = (done: number, total: number) => {
    const el = (performance.now() - t0) / 1000;
    const frac = total ? done / total : 1;
    const rate = el > 0 ? done / el : 0;
    const eta = rate > 0 ? (total - done) / rate : Infinity;
    const width = 24, fill = Math.round(frac * width);
    return `${label} [${"#".repeat(fill)}${".".repeat(width - fill)}] ${done}/${total} ${unit} ${(100 * frac).toFixed(0)}% · ${rate.toFixed(rate < 10 ? 1 : 0)} ${unit}/s · ETA ${fmtTime(eta)}`;
  };
  return {
    update(done, total) {
      lastDone = done; lastTotal = total;
      if (quiet) return;
      const now = performance.now();
      if (tty) {
        if (now - lastDraw < 100 && done < total) return;
        lastDraw = now;
        stream.write(`\r${line(done, total)}\x1b[K`);
      } else {
        const decile = Math.floor((10 * done) / Math.max(1, total));
        if (decile === lastDecile) return;
        lastDecile = decile;
        stream.write(`${line(done, total)}\n`);
      }
    },
    finish() {
      if (quiet) return;
      if (tty) stream.write(`\r${line(lastTotal, lastTotal)}\x1b[K\n`);
      else if (lastDecile < 10) stream.write(`${line(lastDone, lastTotal)}\n`);
    },
  };
}
