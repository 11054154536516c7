// Unit tier: scatterRows, the kernel that copies a weights file's values
// into a parameter's storage while loading (src/model/formats/plan.ts). The
// reference is independent of it: a scalar copy into a row-major storage
// matrix, then packB (the SGEMM's own packing) group by group, transposing
// first for a tied W_U stored through W_E. Plans cross every path of the
// kernel: rows along storage rows with the same or different starting
// columns, rows that wrap past a storage row, steps down a column, any
// other step, strided sources, groups narrower than a panel, chunks of
// rows as fillParams hands them.
import t from "tap";
import { createEngine } from "../../dist/index.js";
import { rng } from "../helpers/fixtures.mjs";
import { same } from "../helpers/bits.mjs";

const e = await createEngine();
function scoped(fn) { const m = e.mark(); try { return fn(); } finally { e.reset(m); } }

/** A plan box: dims, source strides and offset, storage strides and offset (fillParams' CopyPlan without names). */
function rowsOf(plan) {
  const n = plan.dims.length, rows = plan.dims.slice(0, n - 1).reduce((a, b) => a * b, 1), out = [];
  for (let r = 0; r < rows; r++) {
    let q = r, s = plan.srcOffset, d = plan.dstOffset;
    for (let k = n - 2; k >= 0; k--) { const i = q % plan.dims[k]; q = Math.floor(q / plan.dims[k]); s += i * plan.srcStrides[k]; d += i * plan.dstStrides[k]; }
    out.push([s, d]);
  }
  return out;
}

/** The kernel over a plan in chunks of `chunk` rows, each chunk's values copied from its first one on (as fillParams does); the least bad index over all chunks. */
function scatter(dst, vals, plan, pack, chunk) {
  const rows = rowsOf(plan), n = plan.dims.length, inner = plan.dims[n - 1], sIn = plan.srcStrides[n - 1], dIn = plan.dstStrides[n - 1];
  let bad = -1;
  for (let r0 = 0; r0 < rows.length; r0 += chunk) {
    const part = rows.slice(r0, r0 + chunk), first = Math.min(...part.map(([s]) => s));
    const last = Math.max(...part.map(([s]) => s + (inner - 1) * sIn)) + 1;
    const b = scoped(() => {
      const v = e.upload(vals.subarray(first, last)), at = e.alloc(part.length * 8), ix = e.i32(at, part.length * 2);
      part.forEach(([s, d], i) => { ix[2 * i] = s - first; ix[2 * i + 1] = d; });
      return e.k.scatterRows(dst, v, at, part.length, inner, sIn, dIn, pack ? pack.K : 0, pack ? pack.N : 0, pack ? pack.G : 0, pack?.transposed ? 1 : 0);
    });
    if (b >= 0 && (bad < 0 || b + first < bad)) bad = b + first;
  }
  return bad;
}

/** Reference: storage[d + i·dIn] = vals[s + i·sIn], row-major, in plain JavaScript (bits kept through a Uint32Array view). */
function plainCopy(size, vals, plan, init) {
  const out = new Uint32Array(size).fill(init), v = new Uint32Array(vals.buffer, vals.byteOffset, vals.length);
  const n = plan.dims.length, inner = plan.dims[n - 1];
  for (const [s0, d0] of rowsOf(plan)) for (let i = 0; i < inner; i++) out[d0 + i * plan.dstStrides[n - 1]] = v[s0 + i * plan.srcStrides[n - 1]];
  return new Float32Array(out.buffer);
}

/** Reference packed storage of a row-major storage matrix S: [K, N], or [N, K] when transposed; groups of G packed by packB. */
function packedRef(S, { K, N, G, transposed }) {
  const M = new Float32Array(K * N);
  for (let k = 0; k < K; k++) for (let c = 0; c < N; c++) M[k * N + c] = transposed ? S[c * K + k] : S[k * N + c];
  const panels = Math.ceil(G / 8), group = panels * 8 * K, out = new Float32Array((N / G) * group);
  scoped(() => {
    const pM = e.upload(M);
    for (let g = 0; g < N / G; g++) out.set(e.f32(e.packB(K, G, pM + g * G * 4, N), group), g * group);
  });
  return out;
}

const uniform = (r, n) => Float32Array.from({ length: n }, () => 2 * r() - 1 || 0.5);

// [name, K, N, G, transposed, plan of storage indices (box over a source laid out as given)].
function cases(K, N, G) {
  const H = N / G;
  return [
    ["rows along storage rows", false, { dims: [K, N], srcOffset: 0, srcStrides: [N, 1], dstOffset: 0, dstStrides: [N, 1] }],
    ["rows along storage rows, source transposed (strided)", false, { dims: [K, N], srcOffset: 0, srcStrides: [1, K], dstOffset: 0, dstStrides: [N, 1] }],
    ["heads: source [H, K, G] into storage [K, H·G]", false, { dims: [H, K, G], srcOffset: 0, srcStrides: [K * G, G, 1], dstOffset: 0, dstStrides: [G, N, 1] }],
    ["one row wrapping past every storage row", false, { dims: [K * N], srcOffset: 0, srcStrides: [1], dstOffset: 0, dstStrides: [1] }],
    ["down the columns", false, { dims: [N, K], srcOffset: 0, srcStrides: [K, 1], dstOffset: 0, dstStrides: [1, N] }],
    ["every other column (another step)", false, { dims: [K, N % 2 ? 1 : 2, N % 2 ? N : N / 2], srcOffset: 0, srcStrides: [N, N % 2 ? N : N / 2, 1], dstOffset: 0, dstStrides: [N, 1, N % 2 ? 1 : 2] }],
    ["transposed: rows of W_E [N, K]", true, { dims: [N, K], srcOffset: 0, srcStrides: [K, 1], dstOffset: 0, dstStrides: [K, 1] }],
    ["transposed: down W_E's columns", true, { dims: [K, N], srcOffset: 0, srcStrides: [1, K], dstOffset: 0, dstStrides: [1, K] }],
    ["transposed: one wrapping row, source offset 3", true, { dims: [K * N], srcOffset: 3, srcStrides: [1], dstOffset: 0, dstStrides: [1] }],
  ];
}

t.test("packed storage equals packB of the scalar copy, every plan path, in chunks", async (t) => {
  const r = rng(7);
  for (const [K, N, G] of [[5, 24, 24], [9, 20, 20], [17, 36, 12], [13, 30, 6], [33, 64, 64], [8, 21, 7]]) {
    for (const [name, transposed, plan] of cases(K, N, G)) {
      if (transposed && G !== N) continue; // a tied unembedding is one group
      const pack = { K, N, G, transposed }, n = plan.dims.length;
      const span = plan.srcOffset + plan.dims.reduce((a, d, i) => a + (d - 1) * plan.srcStrides[i], 0) + 1;
      const vals = uniform(r, span), want = packedRef(plainCopy(K * N, vals, plan, 0), pack);
      const rows = plan.dims.slice(0, n - 1).reduce((a, b) => a * b, 1);
      for (const chunk of new Set([1, 3, rows])) {
        const got = scoped(() => {
          const dst = e.allocF32(want.length);
          e.k.fill(dst, 0, want.length);
          t.equal(scatter(dst, vals, plan, pack, chunk), -1, `${name}: finite`);
          return e.f32(dst, want.length).slice();
        });
        same(t, got, want, `K=${K} N=${N} G=${G}: ${name}, chunks of ${chunk} rows`);
      }
    }
  }
});

t.test("row-major storage: the scalar copy's bits, untouched elements left as they were", async (t) => {
  const r = rng(8);
  const plans = [
    { dims: [7, 13], srcOffset: 0, srcStrides: [13, 1], dstOffset: 0, dstStrides: [13, 1] },
    { dims: [7, 13], srcOffset: 2, srcStrides: [1, 9], dstOffset: 5, dstStrides: [14, 1] },
    { dims: [4, 3, 5], srcOffset: 0, srcStrides: [15, 5, 1], dstOffset: 1, dstStrides: [5, 20, 1] },
    { dims: [6, 11], srcOffset: 0, srcStrides: [11, 1], dstOffset: 0, dstStrides: [1, 6] },
    { dims: [33], srcOffset: 1, srcStrides: [3], dstOffset: 4, dstStrides: [2] },
  ];
  for (const plan of plans) {
    const span = plan.srcOffset + plan.dims.reduce((a, d, i) => a + (d - 1) * plan.srcStrides[i], 0) + 1;
    const size = plan.dstOffset + plan.dims.reduce((a, d, i) => a + (d - 1) * plan.dstStrides[i], 0) + 8;
    const vals = uniform(r, span), want = plainCopy(size, vals, plan, 0x7fc00001);
    for (const chunk of [1, 2, 100]) {
      const got = scoped(() => {
        const dst = e.allocF32(size);
        new Uint32Array(e.k.memory.buffer, dst, size).fill(0x7fc00001);
        t.equal(scatter(dst, vals, plan, null, chunk), -1);
        return e.f32(dst, size).slice();
      });
      same(t, got, want, `dims [${plan.dims}] src strides [${plan.srcStrides}] dst strides [${plan.dstStrides}], chunks of ${chunk}`);
    }
  }
});

t.test("values that are not finite: the least index among those the plan reads; extreme finite values copied as they are", async (t) => {
  const r = rng(9), K = 11, N = 40, G = 40;
  const bits = (u) => new Float32Array(new Uint32Array([u]).buffer)[0];
  const finite = [bits(0x7f7fffff), bits(0xff7fffff), bits(0x00000001), bits(0x80000000), bits(0x007fffff), 0];
  const plans = [
    [null, { dims: [K, N], srcOffset: 0, srcStrides: [N, 1], dstOffset: 0, dstStrides: [N, 1] }],
    [{ K, N, G }, { dims: [K, N], srcOffset: 0, srcStrides: [N, 1], dstOffset: 0, dstStrides: [N, 1] }],
    [{ K, N, G: 8 }, { dims: [N / 8, K, 8], srcOffset: 0, srcStrides: [K * 8, 8, 1], dstOffset: 0, dstStrides: [8, N, 1] }],
    [{ K, N, G, transposed: true }, { dims: [N, K], srcOffset: 0, srcStrides: [K, 1], dstOffset: 0, dstStrides: [K, 1] }],
    [{ K, N, G }, { dims: [N, K], srcOffset: 0, srcStrides: [1, N], dstOffset: 0, dstStrides: [1, N] }],
  ];
  for (const [pack, plan] of plans) {
    const vals = uniform(r, K * N);
    finite.forEach((v, i) => { vals[37 * i + 5] = v; });
    const size = pack ? Math.ceil(pack.G / 8) * 8 * K * (N / pack.G) : K * N;
    const want = pack ? packedRef(plainCopy(K * N, vals, plan, 0), pack) : plainCopy(K * N, vals, plan, 0);
    const run = (v, chunk) => scoped(() => { const dst = e.allocF32(size); e.k.fill(dst, 0, size); return [scatter(dst, v, plan, pack, chunk), e.f32(dst, size).slice()]; });
    const [ok, got] = run(vals, 4);
    t.equal(ok, -1, `${pack ? `packed G=${pack.G}${pack.transposed ? " transposed" : ""}` : "plain"}: extreme finite values pass`);
    same(t, got, want, "and are copied bit for bit");
    for (const [where, bad] of [[[0], [NaN]], [[K * N - 1], [Infinity]], [[200, 57, 300], [-Infinity, bits(0x7fc00123), NaN]], [[123], [bits(0xff800000)]]]) {
      const v = vals.slice();
      where.forEach((w, i) => { v[w] = bad[i]; });
      for (const chunk of [1, 5, K * N]) t.equal(run(v, chunk)[0], Math.min(...where), `bad values at [${where}], chunks of ${chunk}: least index`);
    }
  }
  // A value the plan skips over (a strided source) is not read, so not refused.
  const plan = { dims: [4, 5], srcOffset: 0, srcStrides: [10, 2], dstOffset: 0, dstStrides: [5, 1] };
  const v = uniform(r, 40); v[3] = NaN; v[11] = Infinity;
  t.equal(scoped(() => scatter(e.allocF32(20), v, plan, null, 4)), -1, "values between a strided source's elements are not read");
  v[12] = NaN;
  t.equal(scoped(() => scatter(e.allocF32(20), v, plan, null, 4)), 12, "a read one is");
});

t.test("16-bit storage: scatterRows16 copies the bits as they are and refuses exponents of all ones", async (t) => {
  const r = rng(10);
  for (const [format, name, expMask] of [[1, "bf16", 0x7f80], [2, "f16", 0x7c00]]) {
    // Random bits with every exponent but all ones (those the kernel must pass: subnormals, ±0, the largest).
    const rand = (n) => Uint16Array.from({ length: n }, () => { const h = Math.floor(r() * 65536); return (h & expMask) === expMask ? h ^ (expMask & -expMask) : h; });
    const plans = [
      { dims: [9, 37], srcStrides: [37, 1], dstStrides: [37, 1], srcOffset: 0, dstOffset: 0 },
      { dims: [9, 37], srcStrides: [1, 9], dstStrides: [37, 1], srcOffset: 0, dstOffset: 3 },
      { dims: [5, 4, 6], srcStrides: [24, 6, 1], dstStrides: [6, 30, 1], srcOffset: 2, dstOffset: 0 },
      { dims: [333], srcStrides: [1], dstStrides: [1], srcOffset: 0, dstOffset: 1 },
    ];
    for (const plan of plans) {
      const span = plan.srcOffset + plan.dims.reduce((a, d, i) => a + (d - 1) * plan.srcStrides[i], 0) + 1;
      const size = plan.dstOffset + plan.dims.reduce((a, d, i) => a + (d - 1) * plan.dstStrides[i], 0) + 9;
      const vals = rand(span), want = new Uint16Array(size).fill(0xabcd), rows = rowsOf(plan), n = plan.dims.length, inner = plan.dims[n - 1];
      for (const [s0, d0] of rows) for (let i = 0; i < inner; i++) want[d0 + i * plan.dstStrides[n - 1]] = vals[s0 + i * plan.srcStrides[n - 1]];
      const run = (v) => scoped(() => {
        const dst = e.alloc(size * 2), pv = e.alloc(v.length * 2), at = e.alloc(rows.length * 8), ix = e.i32(at, 2 * rows.length);
        new Uint16Array(e.k.memory.buffer, dst, size).fill(0xabcd);
        new Uint16Array(e.k.memory.buffer, pv, v.length).set(v);
        rows.forEach(([s, d], i) => { ix[2 * i] = s; ix[2 * i + 1] = d; });
        const bad = e.k.scatterRows16(dst, pv, at, rows.length, inner, plan.srcStrides[n - 1], plan.dstStrides[n - 1], format);
        return [bad, new Uint16Array(e.k.memory.buffer, dst, size).slice()];
      });
      const [bad, got] = run(vals);
      t.equal(bad, -1, `${name} dims [${plan.dims}]: every finite bit pattern passes`);
      t.same([...got], [...want], `${name} dims [${plan.dims}]: the bits copied, the rest untouched`);
      const read = rows.flatMap(([s0]) => Array.from({ length: inner }, (_, i) => s0 + i * plan.srcStrides[n - 1]));
      for (const k of [1, 3]) {
        const where = Array.from({ length: k }, () => read[Math.floor(r() * read.length)]), v = vals.slice();
        where.forEach((w, i) => { v[w] = expMask | (i % 2 ? 0x8000 : 0) | (i === 1 ? 0 : 1); }); // NaN, -infinity, NaN
        t.equal(run(v)[0], Math.min(...where), `${name} dims [${plan.dims}]: ${k} bad value(s), the least index`);
      }
    }
  }
});
