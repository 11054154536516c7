// Knob values for sweeps, as the paper spaces its thresholds.
//
// JavaScript engines do not round `10 ** x` alike (V8 gives 10 ** -4 =
// 0.00009999999999999999, Deno's and numpy's pow give 0.0001), so a sweep's
// thresholds would differ by an ulp between runtimes. pow10 computes 10^x in
// integer arithmetic to 50 digits and lets the string parser (correctly
// rounded everywhere) make the double: the same bits on every runtime, and
// numpy's wherever its pow is correctly rounded.

const DIGITS = 50n;
const SCALE = 10n ** DIGITS;
// ln 10 to 69 digits, as a fixed-point integer ln 10·10^50.
const LN10 = BigInt("2302585092994045684017991454684364207601101488628772976033327900967573") / 10n ** 19n;

// f ≥ 0 (a double) as a fixed-point integer f·10^50, truncated.
function fixed(f: number): bigint {
  if (f === 0) return 0n;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, f);
  const hi = view.getUint32(0), lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased !== 0) mant |= 1n << 52n;
  const e = (biased === 0 ? 1 : biased) - 1075; // f = mant·2^e
  return e >= 0 ? (mant * SCALE) << BigInt(e) : (mant * SCALE) >> BigInt(-e);
}

/** 10^x, the same double on every runtime (correctly rounded but for ties closer than 1e-50). */
export function pow10(x: number): number {
  if (!Number.isFinite(x)) throw new RangeError(`pow10: ${x} is not finite`);
  const k = Math.floor(x);
  const t = (fixed(x - k) * LN10) / SCALE; // (x − k)·ln 10 ∈ [0, 2.31)
  let term = SCALE, sum = SCALE;
  for (let n = 1n; term !== 0n; n++) {
    term = (term * t) / (SCALE * n);
    sum += term;
  }
  return Number(`${sum}e${k - Number(DIGITS)}`);
}

/** `n` values 10^linspace(lo, hi, n), spaced as numpy does (lo + i·step, the last exactly hi): the paper's sweeps. */
export function logspace(lo: number, hi: number, n: number): number[] {
  const step = n > 1 ? (hi - lo) / (n - 1) : 0;
  return Array.from({ length: n }, (_, i) => pow10(n > 1 && i === n - 1 ? hi : i * step + lo));
}
