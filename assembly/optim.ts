// Optimizer step kernels on flat f32 buffers (llm.c gpt2_update). Not here:
// learning-rate schedules, gradient clipping, parameter groups (the caller
// passes weightDecay = 0 for the tensors it does not decay).

/**
 * One AdamW step (Loshchilov & Hutter, decoupled weight decay; llm.c's form):
 *   m = β1·m + (1−β1)·g,  v = β2·v + (1−β2)·g²,
 *   param −= lr·( (m/(1−β1^step)) / (√(v/(1−β2^step)) + eps) + weightDecay·param ).
 * param, grad, m, v: [n] (m, v start at 0 and are updated in place); step ≥ 1.
 * Bias corrections use AssemblyScript's own Math.pow, so every runtime gets the same bits.
 */
export function adamw(param: usize, grad: usize, m: usize, v: usize, n: i32,
  lr: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32, step: i32): void {
  const bc1 = <f32>(1 - Math.pow(<f64>beta1, <f64>step));
  const bc2 = <f32>(1 - Math.pow(<f64>beta2, <f64>step));
  const b1 = f32x4.splat(beta1), c1 = f32x4.splat(1 - beta1);
  const b2 = f32x4.splat(beta2), c2 = f32x4.splat(1 - beta2);
  const bc1v = f32x4.splat(bc1), bc2v = f32x4.splat(bc2);
  const lrv = f32x4.splat(lr), epsv = f32x4.splat(eps), wdv = f32x4.splat(weightDecay);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(grad + o), p = v128.load(param + o);
    const mi = f32x4.add(f32x4.mul(b1, v128.load(m + o)), f32x4.mul(c1, g));
    const vi = f32x4.add(f32x4.mul(b2, v128.load(v + o)), f32x4.mul(c2, f32x4.mul(g, g)));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    const upd = f32x4.add(f32x4.div(f32x4.div(mi, bc1v), f32x4.add(f32x4.sqrt(f32x4.div(vi, bc2v)), epsv)), f32x4.mul(wdv, p));
    v128.store(param + o, f32x4.sub(p, f32x4.mul(lrv, upd)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(grad + o), p = load<f32>(param + o);
    const mi = beta1 * load<f32>(m + o) + (1 - beta1) * g;
    const vi = beta2 * load<f32>(v + o) + (1 - beta2) * (g * g);
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(param + o, p - lr * ((mi / bc1) / (Mathf.sqrt(vi / bc2) + eps) + weightDecay * p));
  }
}
