// Rates and time left of a running algorithm, from its Progress events: the
// CLI's progress line and the explorer both print these. A skipped edge
// costs nothing, so the rate counts tested edges only (every unit for
// methods that do not skip), over a sliding window so it follows the current
// pace. Two estimates of the time left, both from the recent test rate: the
// expected one assumes the rest of the graph is skipped as often as the part
// done so far; the bound assumes nothing more is skipped.
import type { Progress } from "./progress.js";

export interface RateEstimate {
  /** Tested edges (or units) per second, recently. */
  rate: number;
  /** Seconds left if the rest is skipped as often as so far (Infinity before any rate is known). */
  eta: number;
  /** Seconds left at most: every remaining edge tested. */
  etaMax: number;
}

/** A meter fed Progress events and the seconds since the run started; `windowS` is how far back the rate looks. */
export function rateMeter(windowS = 30): { update(p: Progress, seconds: number): RateEstimate } {
  const window: [number, number, number][] = [];
  return {
    update(p, el) {
      const tested = p.tested ?? p.done;
      window.push([el, p.done, tested]);
      while (window.length > 2 && el - window[0][0] > windowS) window.shift();
      const [t1, d1, x1] = window[0];
      const dt = el - t1, dtested = tested - x1, ddone = p.done - d1;
      const rate = dt > 0.5 ? dtested / dt : el > 0 ? tested / el : 0;
      const testedPerDone = ddone > 0 ? dtested / ddone : p.done ? tested / p.done : 1;
      const left = Math.max(0, p.total - p.done);
      if (left === 0) return { rate, eta: 0, etaMax: 0 };
      return { rate, eta: rate > 0 ? (left * testedPerDone) / rate : Infinity, etaMax: rate > 0 ? left / rate : Infinity };
    },
  };
}
