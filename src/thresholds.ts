// Knob values for sweeps, as the paper spaces its thresholds.

/** `n` values 10^linspace(lo, hi, n): the paper's threshold sweeps (e.g. logspace(−5, −1, 21) for tracr). */
export function logspace(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => 10 ** (n === 1 ? lo : lo + ((hi - lo) * i) / (n - 1)));
}
