// Float64 reference forward pass for llama2.c checkpoints in the legacy
// (version 0) format, in llama2.c's own conventions: weights read at run.c's
// offsets, [out, in] matmuls, and rotary embedding on INTERLEAVED pairs
// (2i, 2i+1) of each head, as run.c's forward() computes it.
//
// What it is: the second, independent side of the stories260K check — the
// HF-layout conversion (scripts/llama2c-to-hf.mjs) run through hf-forward.mjs
// must give these logits. It shares no code with either of them (its own
// file parsing too), nor with src/ or test/llama2c.test.mjs (same idea as that
// test's run.c port, written anew for whole sequences instead of a KV cache).
// What it is not: a tokenizer, a sampler, or a reader of versioned exports.
//
// Legacy file: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
// vocab_size — negative when a separate classifier follows —, seq_len), then
// float32 token_embedding [V,D], rms_att [L,D], wq [L,D,D], wk [L,Hk*Dh,D],
// wv [L,Hk*Dh,D], wo [L,D,D], rms_ffn [L,D], w1 [L,M,D], w2 [L,D,M],
// w3 [L,M,D], rms_final [D], freq_cis_real [S,Dh/2], freq_cis_imag [S,Dh/2],
// and wcls [V,D] only when vocab_size < 0.

/** Parse a legacy llama2.c checkpoint into float32 views (copied, so alignment never matters). */
export function readLlama2c(bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  if (u8.length < 28) throw new Error("llama2.c file shorter than its 28-byte header");
  const hdr = Array.from({ length: 7 }, (_, i) => dv.getInt32(4 * i, true));
  const [dim, hidden, nLayers, nHeads, nKvHeads, vocabRaw, seqLen] = hdr;
  const V = Math.abs(vocabRaw), Dh = dim / nHeads, kvDim = nKvHeads * Dh;
  let at = 28;
  const take = (n, what) => {
    if (at + 4 * n > u8.length) throw new Error(`llama2.c file truncated in ${what}`);
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = dv.getFloat32(at + 4 * i, true);
    at += 4 * n;
    return a;
  };
  const L = nLayers, D = dim, M = hidden;
  const m = {
    dim: D, hidden: M, nLayers: L, nHeads, nKvHeads, vocab: V, seqLen, headDim: Dh, sharedClassifier: vocabRaw > 0,
    tokenEmbedding: take(V * D, "token_embedding"), rmsAtt: take(L * D, "rms_att"),
    wq: take(L * D * D, "wq"), wk: take(L * kvDim * D, "wk"), wv: take(L * kvDim * D, "wv"), wo: take(L * D * D, "wo"),
    rmsFfn: take(L * D, "rms_ffn"), w1: take(L * M * D, "w1"), w2: take(L * D * M, "w2"), w3: take(L * M * D, "w3"),
    rmsFinal: take(D, "rms_final"),
    freqCisReal: take((seqLen * Dh) / 2, "freq_cis_real"), freqCisImag: take((seqLen * Dh) / 2, "freq_cis_imag"),
  };
  m.wcls = m.sharedClassifier ? m.tokenEmbedding : take(V * D, "wcls");
  if (at !== u8.length) throw new Error(`llama2.c file has ${u8.length - at} bytes after the weights`);
  return m;
}

// W [rows, n] stored row-major from element `off`: y = W x.
function matvec(W, off, x, rows, n) {
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < n; c++) s += W[off + r * n + c] * x[c];
    y[r] = s;
  }
  return y;
}

// run.c rmsnorm: weight * x / sqrt(mean(x^2) + 1e-5).
function rmsnorm(x, w, off) {
  let ss = 0;
  for (const v of x) ss += v * v;
  const s = 1 / Math.sqrt(ss / x.length + 1e-5);
  return x.map((v, i) => w[off + i] * s * v);
}

// run.c RoPE: for each even i, the pair (v[i], v[i+1]) turns by pos * 10000^-(i mod Dh)/Dh,
// i.e. frequency index i/2 within the head, on neighbouring elements.
function ropeInterleaved(vec, pos, Dh) {
  for (let i = 0; i < vec.length; i += 2) {
    const theta = pos * Math.pow(10000, -((i % Dh) / Dh)), c = Math.cos(theta), s = Math.sin(theta);
    const x0 = vec[i], x1 = vec[i + 1];
    vec[i] = x0 * c - x1 * s;
    vec[i + 1] = x0 * s + x1 * c;
  }
}

/**
 * Logits for token ids [B][T] (positions 0..T-1), as one row-major Float64Array [B*T*V].
 * Per layer: RMSNorm, q/k/v, interleaved RoPE on q and k, causal softmax attention
 * with query head h reading kv head floor(h / (H/Hk)) (run.c's h / kv_mul),
 * output projection, residual; RMSNorm, SwiGLU w2(silu(w1 x) * w3 x), residual.
 * Then RMSNorm and the classifier (the token embedding when shared).
 */
export function llama2cForward(m, ids) {
  const { dim: D, hidden: M, nLayers: L, nHeads: H, nKvHeads: Hk, vocab: V, headDim: Dh } = m;
  const kvDim = Hk * Dh, T = ids[0].length, out = new Float64Array(ids.length * T * V);
  ids.forEach((row, b) => {
    const x = row.map((tok) => Float64Array.from(m.tokenEmbedding.subarray(tok * D, (tok + 1) * D)));
    for (let l = 0; l < L; l++) {
      const xn = x.map((xt) => rmsnorm(xt, m.rmsAtt, l * D));
      const q = xn.map((a, t) => { const v = matvec(m.wq, l * D * D, a, D, D); ropeInterleaved(v, t, Dh); return v; });
      const k = xn.map((a, t) => { const v = matvec(m.wk, l * kvDim * D, a, kvDim, D); ropeInterleaved(v, t, Dh); return v; });
      const v = xn.map((a) => matvec(m.wv, l * kvDim * D, a, kvDim, D));
      for (let t = 0; t < T; t++) {
        const att = new Float64Array(D);
        for (let h = 0; h < H; h++) {
          const kvh = Math.floor(h / (H / Hk));
          const sc = new Float64Array(t + 1);
          for (let s = 0; s <= t; s++) {
            let d = 0;
            for (let i = 0; i < Dh; i++) d += q[t][h * Dh + i] * k[s][kvh * Dh + i];
            sc[s] = d / Math.sqrt(Dh);
          }
          const mx = Math.max(...sc);
          let z = 0;
          for (let s = 0; s <= t; s++) { sc[s] = Math.exp(sc[s] - mx); z += sc[s]; }
          for (let s = 0; s <= t; s++) for (let i = 0; i < Dh; i++) att[h * Dh + i] += (sc[s] / z) * v[s][kvh * Dh + i];
        }
        const o = matvec(m.wo, l * D * D, att, D, D);
        for (let i = 0; i < D; i++) x[t][i] += o[i];
      }
      for (let t = 0; t < T; t++) {
        const xf = rmsnorm(x[t], m.rmsFfn, l * D);
        const h1 = matvec(m.w1, l * M * D, xf, M, D), h3 = matvec(m.w3, l * M * D, xf, M, D);
        for (let i = 0; i < M; i++) h1[i] = (h1[i] / (1 + Math.exp(-h1[i]))) * h3[i];
        const f = matvec(m.w2, l * D * M, h1, D, M);
        for (let i = 0; i < D; i++) x[t][i] += f[i];
      }
    }
    x.forEach((xt, t) => out.set(matvec(m.wcls, 0, rmsnorm(xt, m.rmsFinal, 0), V, D), (b * T + t) * V));
  });
  return out;
}
