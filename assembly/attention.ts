// Multi-head attention for a range of heads, one (batch, head) at a time;
// causal (GPT-2) or bidirectional (tracr's compiled models), optionally
// with a sliding window (Mistral, Qwen2: each query sees only the latest
// `window` keys, itself included).
// Legend: B batch, T positions, H query heads, Hkv key/value heads (H for
// GPT-2; fewer for grouped-query models, head h reads kv head h/(H/Hkv)), Dh d_head.
// q: [B,T,H,Dh]; k, v: [B,T,Hkv,Dh]; pattern: [B,H,T,T]; z: [B,T,H,Dh].
// Each (b,h) is independent, so splitting heads across threads changes nothing.
import { dot } from "./simd";


/**
 * For heads [h0,h1): pattern = softmax(mask(q·kᵀ·scale)) (masked entries 0),
 * z = pattern·v; with causal = 0 nothing is masked. window > 0 (causal only)
 * also masks keys s ≤ t − window (Hugging Face masking_utils: kv_idx >
 * q_idx − sliding_window); 0 keeps every earlier key. Shapes in the file header.
 */
export function attention(z: usize, pattern: usize, q: usize, k: usize, v: usize,
  B: i32, T: i32, H: i32, Hkv: i32, Dh: i32, scale: f32, h0: i32, h1: i32, causal: i32, window: i32): void {
  const group = H / Hkv;
  const qs = H * Dh, ks = Hkv * Dh; // row strides of q/z and k/v
  for (let b = 0; b < B; b++) {
    for (let h = h0; h < h1; h++) {
      const kh = h / group;
      const qb = q + ((<usize>b * T * qs + h * Dh) << 2);
      const kb = k + ((<usize>b * T * ks + kh * Dh) << 2);
      const vb = v + ((<usize>b * T * ks + kh * Dh) << 2);
      const zb = z + ((<usize>b * T * qs + h * Dh) << 2);
      const pb = pattern + ((<usize>(b * H + h) * T * T) << 2);
      for (let t = 0; t < T; t++) {
        const last = causal ? t : T - 1; // last key position query t sees
        const first = window > 0 && t >= window ? t - window + 1 : 0; // and the first
        const prow = pb + (<usize>t * T << 2);
        const qt = qb + (<usize>t * qs << 2);
        let mx = -Infinity as f32;
        for (let s = first; s <= last; s++) {
          const sc = dot(qt, kb + (<usize>s * ks << 2), Dh) * scale;
          store<f32>(prow + (<usize>s << 2), sc);
          mx = max(mx, sc);
        }
        let sum: f32 = 0;
        for (let s = first; s <= last; s++) {
          const e = Mathf.exp(load<f32>(prow + (<usize>s << 2)) - mx);
          store<f32>(prow + (<usize>s << 2), e);
          sum += e;
        }
        const inv: f32 = 1 / sum;
        for (let s = first; s <= last; s++) store<f32>(prow + (<usize>s << 2), load<f32>(prow + (<usize>s << 2)) * inv);
        for (let s = 0; s < first; s++) store<f32>(prow + (<usize>s << 2), 0);
        for (let s = last + 1; s < T; s++) store<f32>(prow + (<usize>s << 2), 0);
        // z[t] = Σ_s p[t,s]·v[s], accumulated in s order.
        const zt = zb + (<usize>t * qs << 2);
        let d = 0;
        for (; d + 4 <= Dh; d += 4) {
          let acc = f32x4.splat(0);
          for (let s = first; s <= last; s++)
            acc = f32x4.add(acc, f32x4.mul(v128.load32_splat(prow + (<usize>s << 2)), v128.load(vb + ((<usize>s * ks + d) << 2))));
          v128.store(zt + (<usize>d << 2), acc);
        }
        for (; d < Dh; d++) {
          let acc: f32 = 0;
          for (let s = first; s <= last; s++) acc += load<f32>(prow + (<usize>s << 2)) * load<f32>(vb + ((<usize>s * ks + d) << 2));
          store<f32>(zt + (<usize>d << 2), acc);
        }
      }
    }
  }
}

/**
 * Rotary position embedding in place on heads [h0,h1) of x: [B,T,Hx,Dh],
 * rotating pairs (2i, 2i+1) by angle pos·theta^(−2i/Dh) (llama2.c convention).
 * cos, sin: [T, Dh/2] tables precomputed by the caller.
 */
export function rope(x: usize, cosT: usize, sinT: usize, B: i32, T: i32, Hx: i32, Dh: i32, h0: i32, h1: i32): void {
  const half = Dh >> 1;
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
    const row = x + (<usize>(b * T + t) * Hx * Dh << 2);
    const ct = cosT + (<usize>t * half << 2), st = sinT + (<usize>t * half << 2);
    for (let h = h0; h < h1; h++) {
      const hp = row + (<usize>h * Dh << 2);
      for (let i = 0; i < half; i++) {
        const c = load<f32>(ct + (<usize>i << 2)), s = load<f32>(st + (<usize>i << 2));
        const p = hp + (<usize>(2 * i) << 2);
        const a = load<f32>(p), bb = load<f32>(p, 4);
        store<f32>(p, a * c - bb * s);
        store<f32>(p, a * s + bb * c, 4);
      }
    }
  }
}
