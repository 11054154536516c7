// Threaded engines (createEngine({threads})): every pooled kernel, a fixture
// forward pass, an ACDC run and EAP scores give the same bits as the default
// single-thread engine for 1, 2, 3 and 4 threads (engines that split every
// call however small, so the split paths run even on tiny shapes; and the
// real size cutoffs on large shapes); the fallbacks (no SharedArrayBuffer,
// no workers, no relaxed SIMD) warn once and run on one thread; relaxed SIMD
// where the runtime has it; a script ends without dispose().
import t from "tap";
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { acdc, buildGraph, createEngine, eapScores, klMetric, loadModel, Patcher } from "../../dist/index.js";
import { createTestEngine } from "../../dist/wasm/engine.js";
import { fixtures, readJson, rng } from "../helpers/fixtures.mjs";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const distIndex = fileURLToPath(new URL("../../dist/index.js", import.meta.url));
const distEngine = fileURLToPath(new URL("../../dist/wasm/engine.js", import.meta.url));

/** Bitwise equality of two typed arrays' bytes, naming the first difference. */
function sameBits(t, a, b, msg) {
  const ua = new Uint8Array(a.buffer, a.byteOffset, a.byteLength), ub = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  let i = 0;
  while (i < ua.length && ua[i] === ub[i]) i++;
  return t.ok(ua.length === ub.length && i === ua.length, i < ua.length || ua.length !== ub.length ? `${msg}: bytes differ at ${i} of ${ua.length}` : msg);
}

// ---- kernel cases: buffers (random floats, ints or zeros) laid out in one
// region, one call, and the whole region compared afterwards (so a stray
// write anywhere in it shows up as well as a wrong output).

/** [name, buffers {name: [floats, kind]}, call(k, ptr, eng)] where kind is "f" (uniform ±1), "p" (positive), "z" (zeros) or ["i", lo, hi]. */
function kernelCases(big) {
  const s = big ? 37 : 1; // big: shapes above the real cutoffs
  const cases = [];
  // SGEMM: odd shapes, every transpose, bias, accumulate, padded strides;
  // few-row shapes (split by columns) and many-row ones (by rows); K = 0.
  const shapes = big
    ? [[1024, 768, 96], [10, 5003, 77], [333, 129, 257], [6, 2000, 300]]
    : [[37, 101, 53], [130, 17, 300], [13, 1031, 263], [5, 3, 1], [10, 300, 40], [67, 131, 259], [1, 64, 9], [9, 40, 0]];
  for (const [M, N, K] of shapes) {
    for (const [tA, tB, bias, acc, pad] of [[0, 0, 0, 0, 0], [1, 0, 1, 0, 3], [0, 1, 0, 1, 5], [1, 1, 1, 1, 1]]) {
      const lda = (tA ? M : K) + pad, ldb = (tB ? K : N) + pad, ldc = N + pad;
      cases.push([`sgemm ${M}x${N}x${K} tA=${tA} tB=${tB} bias=${bias} acc=${acc} pad=${pad}`,
        { A: [(tA ? K : M) * lda + 1, "f"], B: [(tB ? N : K) * ldb + 1, "f"], C: [M * ldc, "f"], bias: [N, "f"] },
        (k, p, e) => k.sgemm(tA, tB, M, N, K, p.A, lda, p.B, ldb, p.C, ldc, bias ? p.bias : 0, acc, e.gemmWork)]);
    }
  }
  // Attention: causal and not, a head range, grouped-query (H = 6, Hkv = 2).
  for (const [B, T, H, Hkv, Dh, h0, h1, causal] of big
    ? [[4, 64, 12, 12, 64, 0, 12, 1], [10, 48, 1, 1, 64, 0, 1, 1], [2, 96, 8, 2, 32, 1, 7, 0]]
    : [[3, 7, 5, 5, 6, 0, 5, 1], [3, 7, 5, 5, 6, 1, 4, 0], [2, 5, 6, 2, 8, 0, 6, 1], [4, 9, 1, 1, 5, 0, 1, 1], [1, 6, 4, 4, 4, 0, 4, 1]]) {
    const qn = B * T * H * Dh, kn = B * T * Hkv * Dh, pn = B * H * T * T;
    cases.push([`attention B=${B} T=${T} H=${H} Hkv=${Hkv} Dh=${Dh} heads [${h0},${h1}) causal=${causal}`,
      { z: [qn, "z"], pat: [pn, "z"], q: [qn, "f"], k: [kn, "f"], v: [kn, "f"] },
      (k, p) => k.attention(p.z, p.pat, p.q, p.k, p.v, B, T, H, Hkv, Dh, 1 / Math.sqrt(Dh), h0, h1, causal)]);
    cases.push([`attentionBackward B=${B} T=${T} H=${H} Hkv=${Hkv} Dh=${Dh} heads [${h0},${h1}) causal=${causal}`,
      { dq: [qn, "z"], dk: [kn, "f"], dv: [kn, "f"], dpat: [pn, "z"], dz: [qn, "f"], q: [qn, "f"], k: [kn, "f"], v: [kn, "f"], pat: [pn, "p"] },
      (k, p) => k.attentionBackward(p.dq, p.dk, p.dv, p.dpat, p.dz, p.q, p.k, p.v, p.pat, B, T, H, Hkv, Dh, 0.3, h0, h1, causal)]);
  }
  {
    const [B, T, Hx, Dh] = big ? [8, 64, 12, 64] : [3, 6, 4, 8];
    cases.push([`rope B=${B}`, { x: [B * T * Hx * Dh, "f"], cos: [T * Dh / 2, "f"], sin: [T * Dh / 2, "f"] },
      (k, p) => k.rope(p.x, p.cos, p.sin, B, T, Hx, Dh, 1, Hx - 1)]);
    const D = big ? 768 : 7, V = 11;
    cases.push([`embed B=${B} with positions`, { out: [B * T * D, "z"], tok: [B * T, ["i", 0, V]], WE: [V * D, "f"], pos: [T * D, "f"] },
      (k, p) => k.embed(p.out, p.tok, p.WE, p.pos, B, T, D)]);
    cases.push([`embed B=${B} without positions`, { out: [B * T * D, "z"], tok: [B * T, ["i", 0, V]], WE: [V * D, "f"] },
      (k, p) => k.embed(p.out, p.tok, p.WE, 0, B, T, D)]);
  }
  // Row-wise kernels: N rows of width D (C for the softmax family).
  {
    const N = 13 * s, D = big ? 1000 : 37;
    const nd = N * D;
    cases.push(["layernorm (mean, rstd kept)", { out: [nd, "z"], mean: [N, "z"], rstd: [N, "z"], x: [nd, "f"], w: [D, "f"], b: [D, "f"] },
      (k, p) => k.layernorm(p.out, p.mean, p.rstd, p.x, p.w, p.b, N, D, 1e-5)]);
    cases.push(["layernorm in place, no mean/rstd", { x: [nd, "f"], w: [D, "f"], b: [D, "f"] },
      (k, p) => k.layernorm(p.x, 0, 0, p.x, p.w, p.b, N, D, 1e-5)]);
    cases.push(["rmsnorm", { out: [nd, "z"], rstd: [N, "z"], x: [nd, "f"], w: [D, "f"] }, (k, p) => k.rmsnorm(p.out, p.rstd, p.x, p.w, N, D, 1e-6)]);
    cases.push(["layernormDx", { dx: [nd, "z"], dout: [nd, "f"], x: [nd, "f"], mean: [N, "f"], rstd: [N, "p"], w: [D, "f"] },
      (k, p) => k.layernormDx(p.dx, p.dout, p.x, p.mean, p.rstd, p.w, N, D)]);
    cases.push(["layernormDx over dout", { dout: [nd, "f"], x: [nd, "f"], mean: [N, "f"], rstd: [N, "p"], w: [D, "f"] },
      (k, p) => k.layernormDx(p.dout, p.dout, p.x, p.mean, p.rstd, p.w, N, D)]);
    cases.push(["rmsnormDx", { dx: [nd, "z"], dout: [nd, "f"], x: [nd, "f"], rstd: [N, "p"], w: [D, "f"] },
      (k, p) => k.rmsnormDx(p.dx, p.dout, p.x, p.rstd, p.w, N, D)]);
    cases.push(["addBias", { x: [nd, "f"], b: [D, "f"] }, (k, p) => k.addBias(p.x, p.b, N, D)]);
    cases.push(["softmax", { out: [nd, "z"], x: [nd, "f"] }, (k, p) => k.softmax(p.out, p.x, N, D)]);
    cases.push(["logSoftmax", { out: [nd, "z"], x: [nd, "f"] }, (k, p) => k.logSoftmax(p.out, p.x, N, D)]);
    cases.push(["klRows", { out: [2 * N, "z"], lp: [nd, "f"], lq: [nd, "f"] }, (k, p) => k.klRows(p.out, p.lp, p.lq, N, D)]);
    cases.push(["klLogits", { out: [2 * N, "z"], lp: [nd, "f"], x: [nd, "f"] }, (k, p) => k.klLogits(p.out, p.lp, 0, p.x, N, D)]);
    cases.push(["klLogits shifted", { out: [2 * N, "z"], p: [nd, "f"], sh: [N, "f"], x: [nd, "f"] }, (k, p) => k.klLogits(p.out, p.p, p.sh, p.x, N, D)]);
    cases.push(["logSumExp", { out: [N, "z"], x: [nd, "f"] }, (k, p) => k.logSumExp(p.out, p.x, N, D)]);
    cases.push(["softmaxBackward", { dx: [nd, "z"], y: [nd, "p"], dy: [nd, "f"] }, (k, p) => k.softmaxBackward(p.dx, p.y, p.dy, N, D)]);
    cases.push(["logSoftmaxBackward", { dx: [nd, "z"], y: [nd, "f"], dy: [nd, "f"] }, (k, p) => k.logSoftmaxBackward(p.dx, p.y, p.dy, N, D)]);
    cases.push(["klBackward", { d: [nd, "z"], lp: [nd, "f"] }, (k, p) => k.klBackward(p.d, p.lp, N, D, 0.25)]);
    cases.push(["klLogitsBackward", { d: [nd, "z"], lp: [nd, "f"], lq: [nd, "f"] }, (k, p) => k.klLogitsBackward(p.d, p.lp, 0, p.lq, N, D, 0.25)]);
    cases.push(["klLogitsBackward shifted", { d: [nd, "z"], p: [nd, "f"], sh: [N, "f"], lq: [nd, "f"] }, (k, p) => k.klLogitsBackward(p.d, p.p, p.sh, p.lq, N, D, 0.25)]);
    cases.push(["crossEntropy", { out: [2 * N, "z"], x: [nd, "f"], tg: [N, ["i", -1, D]] }, (k, p) => k.crossEntropy(p.out, p.x, p.tg, N, D)]);
    cases.push(["crossEntropyBackward", { d: [nd, "z"], x: [nd, "f"], tg: [N, ["i", -1, D]] }, (k, p) => k.crossEntropyBackward(p.d, p.x, p.tg, N, D, 0.5)]);
    cases.push(["gatherRows", { out: [nd, "z"], x: [nd, "f"], rows: [N, ["i", 0, N]] }, (k, p) => k.gatherRows(p.out, p.x, p.rows, N, D)]);
    for (const acc of [0, 1]) {
      cases.push([`sumSlices accumulate=${acc}`, { out: [nd, "f"], src: [3 * nd, "f"] }, (k, p) => k.sumSlices(p.out, p.src, N, 3, D, acc)]);
    }
  }
  // Elementwise kernels over n floats, n not a multiple of 4 or 64.
  {
    const n = big ? 300007 : 1001;
    const f = (name, bufs, call) => cases.push([`${name} n=${n}`, bufs, call]);
    f("add", { o: [n, "z"], a: [n, "f"], b: [n, "f"] }, (k, p) => k.add(p.o, p.a, p.b, n));
    f("add in place", { a: [n, "f"], b: [n, "f"] }, (k, p) => k.add(p.a, p.a, p.b, n));
    f("sub", { o: [n, "z"], a: [n, "f"], b: [n, "f"] }, (k, p) => k.sub(p.o, p.a, p.b, n));
    f("axpy", { y: [n, "f"], x: [n, "f"] }, (k, p) => k.axpy(p.y, 0.3, p.x, n));
    f("lerp", { o: [n, "z"], a: [n, "f"], b: [n, "f"] }, (k, p) => k.lerp(p.o, p.a, p.b, 0.7, n));
    f("fill", { o: [n, "f"] }, (k, p) => k.fill(p.o, 1.5, n));
    f("addDiff", { o: [n, "z"], base: [n, "f"], a: [n, "f"], b: [n, "f"] }, (k, p) => k.addDiff(p.o, p.base, p.a, p.b, n));
    f("relu", { o: [n, "z"], x: [n, "f"] }, (k, p) => k.relu(p.o, p.x, n));
    f("gelu", { o: [n, "z"], x: [n, "f"] }, (k, p) => k.gelu(p.o, p.x, n));
    f("swiglu", { o: [n, "z"], g: [n, "f"], u: [n, "f"] }, (k, p) => k.swiglu(p.o, p.g, p.u, n));
    f("reluBackward", { d: [n, "z"], x: [n, "f"], g: [n, "f"] }, (k, p) => k.reluBackward(p.d, p.x, p.g, n));
    f("geluBackward", { d: [n, "z"], x: [n, "f"], g: [n, "f"] }, (k, p) => k.geluBackward(p.d, p.x, p.g, n));
    f("swigluBackward", { dg: [n, "z"], du: [n, "z"], g: [n, "f"], u: [n, "f"], d: [n, "f"] }, (k, p) => k.swigluBackward(p.dg, p.du, p.g, p.u, p.d, n));
    f("adamw", { w: [n, "f"], g: [n, "f"], m: [n, "f"], v: [n, "p"] }, (k, p) => k.adamw(p.w, p.g, p.m, p.v, n, 1e-3, 0.9, 0.999, 1e-8, 0.01, 3));
  }
  return cases;
}

/** Run one case on an engine: lay out its buffers, fill them from a fixed seed, call, return the region's bytes. */
function runCase(e, [, bufs, call], seed) {
  const mark = e.mark();
  try {
    const names = Object.keys(bufs);
    const r = rng(seed);
    let total = 0;
    const off = {};
    for (const n of names) { off[n] = total; total += Math.ceil(bufs[n][0] / 16) * 16; }
    const base = e.allocF32(total);
    const f = e.f32(base, total).fill(0), i32 = e.i32(base, total);
    const p = {};
    for (const n of names) {
      const [len, kind] = bufs[n];
      p[n] = base + off[n] * 4;
      for (let i = 0; i < len; i++) {
        const j = off[n] + i;
        if (kind === "f") f[j] = 2 * r() - 1;
        else if (kind === "p") f[j] = r();
        else if (kind === "z") f[j] = 0;
        else i32[j] = kind[1] + Math.floor(r() * (kind[2] - kind[1]));
      }
    }
    call(e.k, p, e);
    return e.f32(base, total).slice();
  } finally {
    e.reset(mark);
  }
}

const one = await createEngine();
const pooled = [];
for (const threads of [2, 3, 4]) pooled.push(await createTestEngine({ threads }, { splitSmallCalls: true }));
const real = await createEngine({ threads: 2 }); // the real cutoffs
t.teardown(() => { for (const e of [...pooled, real]) e.dispose(); });

t.test("engines", async (t) => {
  t.equal(one.threads, 1, "default engine: 1 thread");
  t.equal(one.build, "simd", "default engine: the deterministic SIMD build");
  t.equal(typeof one.k.sgemm, "function");
  t.ok(one.k.memory.buffer instanceof ArrayBuffer, "default engine: an ordinary (unshared) memory");
  for (const e of [...pooled, real]) {
    t.equal(e.build, "simd-threads", `threads ${e.threads}: the shared-memory build`);
    t.ok(e.deterministic);
    t.ok(e.memory.buffer instanceof SharedArrayBuffer, `threads ${e.threads}: shared memory`);
  }
  t.same(pooled.map((e) => e.threads), [2, 3, 4]);
  const auto = await createEngine({ threads: "auto" });
  t.equal(auto.threads, Math.max(1, availableParallelism()), `"auto" is every logical core (${availableParallelism()})`);
  auto.dispose();
  await t.rejects(createEngine({ threads: 0 }), RangeError, "threads: 0 is refused");
  await t.rejects(createEngine({ threads: "many" }), RangeError);
});

t.test("every pooled kernel: same bits for 1, 2, 3, 4 threads (every call split)", async (t) => {
  let seed = 100;
  for (const c of kernelCases(false)) {
    seed++;
    const want = runCase(one, c, seed);
    for (const e of pooled) sameBits(t, runCase(e, c, seed), want, `${c[0]}: ${e.threads} threads`);
  }
});

t.test("large calls under the real size cutoffs: same bits with 2 threads", async (t) => {
  let seed = 500;
  for (const c of kernelCases(true)) {
    seed++;
    sameBits(t, runCase(real, c, seed), runCase(one, c, seed), c[0]);
  }
});

const fixture = (name) => ({
  bytes: new Uint8Array(readFileSync(join(fixtures, `${name}.safetensors`))),
  config: readJson(join(fixtures, `${name}.config.json`)),
  logits: readJson(join(fixtures, `${name}.logits.json`)),
  data: (() => { try { return readJson(join(fixtures, `${name}.data.json`)); } catch { return null; } })(),
});

t.test("fixture forward passes: same logits and activations for 1, 2, 3, 4 threads", async (t) => {
  for (const name of ["tiny-ln-mlp", "tiny-attn-only"]) {
    const fx = fixture(name);
    const ref = (await loadModel(fx.bytes, fx.config, one)).forward(fx.logits.tokens, { hooks: "all" });
    for (const e of pooled) {
      const mark = e.mark();
      const out = (await loadModel(fx.bytes, fx.config, e)).forward(fx.logits.tokens, { hooks: "all" });
      sameBits(t, out.logits, ref.logits, `${name}: logits, ${e.threads} threads`);
      let bad = [];
      for (const [hook, v] of ref.cache) {
        const got = out.cache.get(hook).data;
        if (Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.byteLength), Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength)) !== 0) bad.push(hook);
      }
      t.same(bad, [], `${name}: all ${ref.cache.size} hooks bit-identical, ${e.threads} threads`);
      e.reset(mark);
    }
  }
});

t.test("ACDC on tiny-ln-mlp: the same circuit and trace metrics (bits) for 1, 2, 3, 4 threads", async (t) => {
  const fx = fixture("tiny-ln-mlp");
  const run = async (e) => {
    const mark = e.mark();
    const model = await loadModel(fx.bytes, fx.config, e);
    const g = buildGraph(model.cfg);
    const p = new Patcher(model, g, fx.data, { ablation: "corrupted", metric: klMetric() });
    const r = acdc(p, { threshold: 0.02 });
    const trace = Float64Array.from(r.trace.map((d) => d.metric));
    const scores = eapScores(new Patcher(model, g, fx.data, { ablation: "corrupted", metric: klMetric() }), { steps: 3 }).scores;
    e.reset(mark);
    return { edges: r.edges.map((x) => x.id).sort((a, b) => a - b), trace, tested: r.stats.tested, scores: Float64Array.from(scores) };
  };
  const want = await run(one);
  t.ok(want.tested > 0, `${want.tested} edges tested, ${want.edges.length} kept`);
  for (const e of pooled) {
    const got = await run(e);
    t.same(got.edges, want.edges, `${e.threads} threads: same kept edges`);
    sameBits(t, got.trace, want.trace, `${e.threads} threads: all ${want.tested} tested metrics bit-identical`);
    sameBits(t, got.scores, want.scores, `${e.threads} threads: EAP-IG scores bit-identical`);
  }
});

t.test("fallbacks warn once and run on one thread", async (t) => {
  const warnings = [];
  const warn = console.warn;
  console.warn = (...a) => warnings.push(a.join(" "));
  try {
    const a = await createTestEngine({ threads: 2 }, { unavailable: { sharedMemory: true } });
    const b = await createTestEngine({ threads: 3 }, { unavailable: { sharedMemory: true } });
    t.equal(a.threads, 1, "no SharedArrayBuffer: 1 thread");
    t.equal(a.build, "simd", "no SharedArrayBuffer: the default build");
    t.equal(b.threads, 1);
    t.equal(warnings.length, 1, "one warning for two engines");
    t.match(warnings[0], /threads unavailable.*SharedArrayBuffer/, warnings[0]);
    const c = await createTestEngine({ threads: 2 }, { unavailable: { workers: true } });
    t.equal(c.threads, 1, "no workers: 1 thread");
    t.equal(warnings.length, 2);
    const d = await createTestEngine({ deterministic: false }, { unavailable: { relaxedSimd: true } });
    t.equal(d.build, "simd", "no relaxed SIMD: the deterministic build");
    t.ok(d.deterministic);
    t.match(warnings[2], /relaxed SIMD/);
    // The fallback engine computes what the default one does.
    const c0 = kernelCases(false)[0];
    sameBits(t, runCase(a, c0, 7), runCase(one, c0, 7), "fallback engine: same bits");
  } finally {
    console.warn = warn;
  }
});

t.test("a worker's failure is an error on the calling thread, and the engine carries on", async (t) => {
  const e = pooled[0]; // 2 threads, 2 chunks: rows 0–31 and 32–63, each taken by whichever thread comes first
  const A = e.allocF32(64 * 64), B = e.allocF32(64 * 64);
  // C's rows from 40 on lie outside memory: the second chunk traps, on a worker or here.
  const C = e.memory.buffer.byteLength - 40 * 64 * 4;
  let failures = 0, onWorker = 0;
  for (let i = 0; i < 20; i++) {
    try { e.k.sgemm(0, 0, 64, 64, 64, A, 64, B, 64, C, 64, 0, 0, e.gemmWork); } catch (err) {
      failures++;
      if (/failed on worker 1/.test(err.message)) onWorker++;
      else if (!/out of bounds/.test(err.message)) t.fail(`unexpected error: ${err.message}`);
    }
  }
  t.equal(failures, 20, "every call throws");
  t.comment(`${onWorker} of 20 traps were on the worker (reported by the caller)`);
  const c0 = kernelCases(false)[0];
  sameBits(t, runCase(e, c0, 9), runCase(one, c0, 9), "next call: same bits as before");
});

t.test("dispose() ends the workers; later split calls throw", async (t) => {
  const e = await createTestEngine({ threads: 2 }, { splitSmallCalls: true });
  e.dispose();
  e.dispose(); // twice is fine
  const c0 = kernelCases(false)[0];
  t.throws(() => runCase(e, c0, 1), /disposed/);
});

// Child processes: a script ends without dispose(); relaxed SIMD where V8 has it.
const node = (args, code) => spawnSync(process.execPath, [...args, "--input-type=module", "-e", code], { encoding: "utf8", timeout: 60_000 });

t.test("a script with a threaded engine ends without dispose()", async (t) => {
  const r = node([], `import { createEngine } from ${JSON.stringify(distIndex)};
const e = await createEngine({ threads: 2 });
const A = e.allocF32(256 * 256); e.k.fill(A, 1, 256 * 256);
const C = e.allocF32(256 * 256); e.gemm(256, 256, 256, A, 256, A, 256, C, 256);
console.log(e.threads, e.f32(C, 1)[0]);`);
  t.equal(r.status, 0, `exit status 0${r.stderr ? `: ${r.stderr}` : ""}`);
  t.equal(r.stdout.trim(), "2 256");
});

t.test("relaxed SIMD: opt-in, bit-identical across thread counts on one machine", async (t) => {
  const probe = `import { createTestEngine } from ${JSON.stringify(distEngine)};
const out = {};
for (const [key, opts] of [["det", {}], ["r1", { deterministic: false }], ["r2", { deterministic: false, threads: 2 }], ["r3", { deterministic: false, threads: 3 }]]) {
  const e = await createTestEngine(opts, { splitSmallCalls: true });
  const M = 67, N = 131, K = 259;
  const A = e.allocF32(M * K), B = e.allocF32(K * N), C = e.allocF32(M * N);
  const a = e.f32(A, M * K), b = e.f32(B, K * N);
  for (let i = 0; i < a.length; i++) a[i] = Math.sin(i * 0.37);
  for (let i = 0; i < b.length; i++) b[i] = Math.cos(i * 0.11);
  e.gemm(M, N, K, A, K, B, N, C, N);
  out[key] = { build: e.build, threads: e.threads, deterministic: e.deterministic, c: Array.from(e.f32(C, M * N)) };
  e.dispose();
}
console.log(JSON.stringify(out));`;
  const plain = node([], probe);
  const flagged = node(["--experimental-wasm-relaxed-simd"], probe);
  for (const [what, r] of [["no flag", plain], ["--experimental-wasm-relaxed-simd", flagged]]) {
    if (r.status !== 0 && /bad option|not allowed/i.test(r.stderr)) { t.comment(`${what}: this node rejects the flag`); continue; }
    t.equal(r.status, 0, `${what}: ran${r.stderr ? ` (stderr: ${r.stderr.trim().split("\n")[0]})` : ""}`);
    const o = JSON.parse(r.stdout.trim().split("\n").pop());
    t.equal(o.det.build, "simd", `${what}: the default stays deterministic`);
    const relaxedHere = o.r1.build === "relaxed-simd";
    t.comment(`${what}: deterministic: false → ${o.r1.build}, ${o.r2.build} (${o.r2.threads} threads)`);
    if (!relaxedHere) {
      t.match(r.stderr, /relaxed SIMD/, `${what}: fell back with a warning`);
      t.same(o.r1.c, o.det.c, `${what}: fallback gives the deterministic bits`);
      continue;
    }
    t.equal(o.r2.build, "relaxed-simd-threads");
    t.notOk(o.r1.deterministic);
    t.same(o.r2.c, o.r1.c, `${what}: relaxed, 2 threads = 1 thread (bits)`);
    t.same(o.r3.c, o.r1.c, `${what}: relaxed, 3 threads = 1 thread (bits)`);
    let worst = 0;
    for (let i = 0; i < o.det.c.length; i++) worst = Math.max(worst, Math.abs(o.r1.c[i] - o.det.c[i]) / Math.max(1, Math.abs(o.det.c[i])));
    t.ok(worst < 1e-4, `${what}: relaxed within rounding of deterministic (max rel diff ${worst.toExponential(1)}, ${o.r1.c.some((x, i) => x !== o.det.c[i]) ? "bits differ: fused" : "bits equal: not fused"})`);
  }
  if (process.versions.node.split(".")[0] === "20") t.equal(JSON.parse(plain.stdout.trim().split("\n").pop()).r1.build, "simd", "Node 20 without the flag: no relaxed SIMD");
});
