// Rotary position embedding in Hugging Face's rotate-half convention, with
// partial rotary (GPT-NeoX rotates only the first nRot dims of each head).
// The interleaved convention (llama2.c) is `rope` in attention.ts.
// Legend: B batch, T positions, Hx heads of x, Dh d_head, nRot rotated dims
// (even, ≤ Dh), half = nRot/2.
// The backward of a rotation is the rotation by minus the angle: the same
// kernel with a negated sin table (Transformer.attendBackward does that), so
// no separate backward kernel exists.

/**
 * In place on heads [h0,h1) of x: [B,T,Hx,Dh]: for j < half, dims j and
 * j + half of each head turn by the angle of (position t, frequency j):
 *   x'[j] = x[j]·cos − x[j+half]·sin,  x'[j+half] = x[j+half]·cos + x[j]·sin
 * (HF: q·cos + rotate_half(q)·sin). Dims nRot..Dh are left as they are.
 * cos, sin: [T, half] tables precomputed by the caller (row t is position t).
 */
export function ropeHalf(x: usize, cosT: usize, sinT: usize, B: i32, T: i32, Hx: i32, Dh: i32, nRot: i32, h0: i32, h1: i32): void {
  const half = nRot >> 1;
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
    const row = x + (<usize>(b * T + t) * Hx * Dh << 2);
    const ct = cosT + (<usize>t * half << 2), st = sinT + (<usize>t * half << 2);
    for (let h = h0; h < h1; h++) {
      const lo = row + (<usize>h * Dh << 2), hi = lo + (<usize>half << 2);
      let j = 0;
      for (; j + 4 <= half; j += 4) {
        const o = <usize>j << 2;
        const c = v128.load(ct + o), s = v128.load(st + o), a = v128.load(lo + o), bb = v128.load(hi + o);
        v128.store(lo + o, f32x4.sub(f32x4.mul(a, c), f32x4.mul(bb, s)));
        v128.store(hi + o, f32x4.add(f32x4.mul(bb, c), f32x4.mul(a, s)));
      }
      for (; j < half; j++) {
        const o = <usize>j << 2;
        const c = load<f32>(ct + o), s = load<f32>(st + o), a = load<f32>(lo + o), bb = load<f32>(hi + o);
        store<f32>(lo + o, a * c - bb * s);
        store<f32>(hi + o, bb * c + a * s);
      }
    }
  }
}
