// The shape of the AssemblyScript module's exports (assembly/index.ts): byte
// offsets and integers in, nothing out. Kept by hand beside the kernels.
export interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  sgemmWorkspaceBytes(): number;
  /** bFormat: B's elements, 0 f32 (the default), 1 bf16, 2 f16 (ldb counts elements); 3 a matrix packed by packB read transposed (transB 1, ldb its rows). */
  sgemm(transA: number, transB: number, M: number, N: number, K: number,
    A: number, lda: number, B: number, ldb: number, C: number, ldc: number,
    bias: number, accumulate: number, work: number, bFormat?: number): void;
  /** Bp[⌈N/8⌉][K][8] (f32) = op(B)[K,N] packed once for sgemmPacked. */
  packB(Bp: number, B: number, ldb: number, transB: number, K: number, N: number, bFormat: number): void;
  packedBFloats(K: number, N: number): number;
  /** Float offset of column j0 (a multiple of 8) in a packed B of K rows. */
  packedBOffset(j0: number, K: number): number;
  /** ldp: the packed matrix's rows when the call reads K of them from Bp (moved 8 floats a row); 0 or omitted: K. */
  sgemmPacked(transA: number, M: number, N: number, K: number, A: number, lda: number, Bp: number,
    C: number, ldc: number, bias: number, accumulate: number, ldp?: number): void;
  /** out[n] (f32) = src[n] (u16) widened; format 1 bf16, 2 f16. */
  widen16(out: number, src: number, n: number, format: number): void;
  layernorm(out: number, mean: number, rstd: number, x: number, w: number, b: number, N: number, D: number, eps: number): void;
  rmsnorm(out: number, rstd: number, x: number, w: number, N: number, D: number, eps: number): void;
  gelu(out: number, x: number, n: number): void;
  tanh(out: number, x: number, n: number): void;
  exp(out: number, x: number, n: number): void;
  relu(out: number, x: number, n: number): void;
  swiglu(out: number, g: number, u: number, n: number): void;
  softmax(out: number, x: number, N: number, C: number): void;
  logSoftmax(out: number, x: number, N: number, C: number): void;
  klRows(out: number, lp: number, lq: number, N: number, C: number): void;
  /** window: keys each query sees, itself included (sliding-window attention); 0 or omitted: all earlier keys. */
  attention(z: number, pattern: number, q: number, k: number, v: number,
    B: number, T: number, H: number, Hkv: number, Dh: number, scale: number, h0: number, h1: number, causal: number, window?: number): void;
  rope(x: number, cos: number, sin: number, B: number, T: number, Hx: number, Dh: number, h0: number, h1: number): void;
  ropeHalf(x: number, cos: number, sin: number, B: number, T: number, Hx: number, Dh: number, nRot: number, h0: number, h1: number): void;
  geluErf(out: number, x: number, n: number): void;
  geluErfBackward(dx: number, x: number, dout: number, n: number): void;
  add(out: number, a: number, b: number, n: number): void;
  sub(out: number, a: number, b: number, n: number): void;
  axpy(y: number, alpha: number, x: number, n: number): void;
  lerp(out: number, a: number, b: number, alpha: number, n: number): void;
  fill(out: number, value: number, n: number): void;
  addBias(out: number, bias: number, N: number, D: number): void;
  /** Rows [r0, r1) of out[N,D] = (0 + bias) + x_0 + … + x_{k−1} in order (ptrs: i32 [k] offsets; bias [D] or 0). */
  sumInputs(out: number, bias: number, ptrs: number, k: number, D: number, r0: number, r1: number): void;
  sumSlices(out: number, src: number, N: number, S: number, D: number, accumulate: number): void;
  /** weFormat: WE's elements, 0 f32 (the default), 1 bf16, 2 f16; 3 the tied W_U [D,V] packed by packB. */
  embed(out: number, tokens: number, WE: number, posW: number, B: number, T: number, D: number, weFormat?: number): void;
  addDiff(out: number, base: number, a: number, b: number, n: number): void;
  gatherRows(out: number, x: number, rows: number, R: number, D: number): void;
  batchMean(out: number, x: number, B: number, T: number, D: number): void;
  biasGrad(dBias: number, dC: number, N: number, D: number): void;
  layernormBackward(dx: number, dw: number, db: number, dout: number, x: number, mean: number, rstd: number, w: number, N: number, D: number): void;
  rmsnormBackward(dx: number, dw: number, dout: number, x: number, rstd: number, w: number, N: number, D: number): void;
  geluBackward(dx: number, x: number, dout: number, n: number): void;
  reluBackward(dx: number, x: number, dout: number, n: number): void;
  swigluBackward(dg: number, du: number, g: number, u: number, dout: number, n: number): void;
  softmaxBackward(dx: number, y: number, dy: number, N: number, C: number): void;
  logSoftmaxBackward(dx: number, y: number, dy: number, N: number, C: number): void;
  attentionBackward(dq: number, dk: number, dv: number, dpattern: number, dz: number, q: number, k: number, v: number, pattern: number,
    B: number, T: number, H: number, Hkv: number, Dh: number, scale: number, h0: number, h1: number, causal: number): void;
  embedBackward(dWE: number, dWpos: number, dout: number, tokens: number, B: number, T: number, D: number): void;
  klBackward(dlq: number, lp: number, N: number, C: number, scale: number): void;
  klLogitsBackward(dlogits: number, lp: number, lq: number, N: number, C: number, scale: number): void;
  crossEntropy(out: number, logits: number, targets: number, N: number, V: number): void;
  crossEntropyBackward(dlogits: number, logits: number, targets: number, N: number, V: number, scale: number): void;
  adamw(param: number, grad: number, m: number, v: number, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void;
}
