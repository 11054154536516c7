// Printing for the bench report: section headers, aligned tables, number
// formatting and the load average. Output only; nothing here times or computes.
import os from "node:os";

export const line = (s = "") => console.log(s);

/** A section header: "== title ====…" padded to 78 columns. */
export function section(title) {
  line();
  line(`== ${title} ${"=".repeat(Math.max(0, 74 - title.length))}`);
}

/** x with d decimals, or "-" when missing or not finite. */
export const f = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(d));

/** Print rows under a header, first column left-aligned, the rest right-aligned. */
export function table(head, rows) {
  const cells = [head, ...rows].map((r) => r.map(String));
  const w = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const fmt = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ");
  line("  " + fmt(cells[0]));
  line("  " + w.map((n) => "-".repeat(n)).join("  "));
  for (const r of cells.slice(1)) line("  " + fmt(r));
}

/** The first line of an error's message. */
export const errMsg = (e) => (e && e.message ? e.message.split("\n")[0] : String(e));

/** A peer section's run(ctx): { [key]: what bench(ctx) measured }, or one "`name` FAILED" line and { [key]: { skipped } } when it throws. */
export function peerSection(key, name, bench) {
  return async (ctx) => {
    try {
      return { [key]: await bench(ctx) };
    } catch (e) {
      line(`  ${name} FAILED: ${errMsg(e)}`);
      return { [key]: { skipped: errMsg(e) } };
    }
  };
}

/** The 1, 5 and 15 minute load averages as "a b c". */
export const loadavgText = () => os.loadavg().map((x) => x.toFixed(2)).join(" ");
