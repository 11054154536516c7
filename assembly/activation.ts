// Pointwise activations and row-wise softmax family over row-major buffers.
// Mathf.exp/tanh are AssemblyScript's own software routines, so results do not
// depend on the host's libm: the same bits in every runtime.

const GELU_C: f32 = 0.7978845608028654; // sqrt(2/pi)

/** gelu_new (GPT-2's tanh GELU): out[n] = 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))); may alias. */
export function gelu(out: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    store<f32>(out + (<usize>i << 2), 0.5 * v * (1 + Mathf.tanh(GELU_C * (v + 0.044715 * v * v * v))));
  }
}

/** ReLU (tracr's MLPs): out[n] = max(x, 0); may alias. */
export function relu(out: usize, x: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) { const o = <usize>i << 2; v128.store(out + o, f32x4.max(v128.load(x + o), zero)); }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(out + o, max(load<f32>(x + o), <f32>0)); }
}

/** SwiGLU gate (llama MLP): out[n] = silu(g)·u, silu(g) = g/(1+e^-g); may alias g. */
export function swiglu(out: usize, g: usize, u: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(g + o);
    store<f32>(out + o, v / (1 + Mathf.exp(-v)) * load<f32>(u + o));
  }
}

/** Row softmax: out[N,C] = softmax(x[N,C]) along C; may alias. */
export function softmax(out: usize, x: usize, N: i32, C: i32): void {
  for (let n = 0; n < N; n++) {
    const xr = x + (<usize>n * C << 2), or = out + (<usize>n * C << 2);
    let mx = -Infinity as f32;
    for (let c = 0; c < C; c++) mx = max(mx, load<f32>(xr + (<usize>c << 2)));
    let s: f32 = 0;
    for (let c = 0; c < C; c++) {
      const e = Mathf.exp(load<f32>(xr + (<usize>c << 2)) - mx);
      store<f32>(or + (<usize>c << 2), e);
      s += e;
    }
    const inv: f32 = 1 / s;
    for (let c = 0; c < C; c++) store<f32>(or + (<usize>c << 2), load<f32>(or + (<usize>c << 2)) * inv);
  }
}

/** Row log-softmax: out[N,C] = x - logsumexp(x) along C; may alias. */
export function logSoftmax(out: usize, x: usize, N: i32, C: i32): void {
  for (let n = 0; n < N; n++) {
    const xr = x + (<usize>n * C << 2), or = out + (<usize>n * C << 2);
    let mx = -Infinity as f32;
    for (let c = 0; c < C; c++) mx = max(mx, load<f32>(xr + (<usize>c << 2)));
    let s: f64 = 0;
    for (let c = 0; c < C; c++) s += <f64>Mathf.exp(load<f32>(xr + (<usize>c << 2)) - mx);
    const lse = mx + <f32>Math.log(s);
    for (let c = 0; c < C; c++) store<f32>(or + (<usize>c << 2), load<f32>(xr + (<usize>c << 2)) - lse);
  }
}

/**
 * KL(p ‖ q) per row from log-probabilities, natural log, summed in f64:
 * out[N] (f64) = Σ_c exp(lp[n,c])·(lp[n,c] − lq[n,c]). lp, lq: [N,C] f32.
 */
export function klRows(out: usize, lp: usize, lq: usize, N: i32, C: i32): void {
  for (let n = 0; n < N; n++) {
    const pr = lp + (<usize>n * C << 2), qr = lq + (<usize>n * C << 2);
    let s: f64 = 0;
    for (let c = 0; c < C; c++) {
      const a = <f64>load<f32>(pr + (<usize>c << 2));
      s += Math.exp(a) * (a - <f64>load<f32>(qr + (<usize>c << 2)));
    }
    store<f64>(out + (<usize>n << 3), s);
  }
}
