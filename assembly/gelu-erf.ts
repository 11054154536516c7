// The exact GELU, x·Φ(x) with Φ the standard normal CDF (PyTorch's
// F.gelu default, Hugging Face's "gelu", Pythia's activation), and its
// backward. Not GPT-2's tanh approximation (gelu/geluBackward in
// activation.ts and backward.ts), which differs from it by up to 5e-4.
// Φ(x) = erfc(−x/√2)/2, with erfc from the Chebyshev fit of Numerical
// Recipes (Press et al., 3rd ed. §6.2, "erfcc"): for z ≥ 0,
//   erfc(z) ≈ t·exp(−z² − 1.26551223 + t(1.00002368 + t(0.37409196 + …)))
//   with t = 1/(1 + z/2), relative error below 1.2e-7 for every z,
// and erfc(−z) = 2 − erfc(z). Evaluated in f64 with AssemblyScript's own
// software exp (the same bits in every runtime), rounded once to f32.

const INV_SQRT2: f64 = 0.7071067811865476;
const INV_SQRT_2PI: f64 = 0.3989422804014327;

/** erfc(z) for z ≥ 0 (relative error < 1.2e-7). */
@inline function erfcPos(z: f64): f64 {
  const t = 1 / (1 + 0.5 * z);
  const p = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 +
    t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * Math.exp(p);
}

/** Φ(x), the standard normal CDF. */
@inline function phi(x: f64): f64 {
  const e = 0.5 * erfcPos(Math.abs(x) * INV_SQRT2);
  return x >= 0 ? 1 - e : e;
}

/** out[n] = x·Φ(x) (exact-erf GELU); may alias. */
export function geluErf(out: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const v = <f64>load<f32>(x + o);
    store<f32>(out + o, <f32>(v * phi(v)));
  }
}

/** dx[n] = dout·(Φ(x) + x·φ(x)), φ the normal density, the derivative of x·Φ(x); may alias dout or x. */
export function geluErfBackward(dx: usize, x: usize, dout: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const v = <f64>load<f32>(x + o);
    const d = phi(v) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v);
    store<f32>(dx + o, <f32>(<f64>load<f32>(dout + o) * d));
  }
}
