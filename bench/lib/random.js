// Seeded numbers for the bench's inputs and random weights, so every run
// (and every engine within a run) multiplies the same values.

/** LCG through Math.imul, uniform in [0, 1): cheap enough for 160 M weights. */
export function rng(seed) {
  let s = seed | 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) | 0; return (s >>> 8) / 16777216; };
}

/** n floats uniform in [−scale/2, scale/2). */
export function randomArray(n, scale, rnd) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rnd() - 0.5) * scale;
  return a;
}

/** B prompts of T token ids drawn uniformly from [0, V). */
export const randomTokens = (B, T, V, r) => Array.from({ length: B }, () => Array.from({ length: T }, () => Math.floor(r() * V)));
