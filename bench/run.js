// Benchmarks for acdc-wasm: SGEMM throughput against a WebAssembly peer
// (onnxruntime-web) and the native limit (OpenBLAS), the machine's f32x4
// mul+add peak, full forward passes of a GPT-2-small-shaped random model, and
// ACDC edge trials against a full forward. Not a test: nothing here asserts;
// it prints a report (and --json writes every number).
//
//   npm run bench                 full run (a few minutes on 2 cores)
//   node bench/run.js --quick     smoke run (fewer reps, smaller shapes)
//   node bench/run.js --json out.json [--only sgemm,ort,blas,peak,forward,edges,acdc] [--edges N]
//   node bench/run.js --threads N [--only threads]   also 1 vs N threads (section 9)
//
// Timed loops use benchmark.js (deferred mode, so async ORT runs and
// multi-second forward passes are timed the same way) except two: OpenBLAS
// is timed inside its own C program, and edge trials are timed one by one
// because each edge costs something different.
import Benchmark from "benchmark";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import {
  createEngine, makeConfig, expectedWeights, checkWeights, Transformer,
  buildGraph, Patcher, klMetric, acdc, eap, eapScores, pruneToOutput, confusion, rocAuc, edgeKey, sweep, logspace,
  tracrTask, createTracrModel,
} from "../dist/index.js";

// ---- options -------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name) => { const i = argv.indexOf(name); return i >= 0 && i + 1 < argv.length ? argv[i + 1] : null; };
const QUICK = flag("--quick");
const JSON_OUT = option("--json");
const SECTIONS = ["sgemm", "ort", "blas", "peak", "forward", "edges", "acdc", "eap", "threads"];
const THREADS = option("--threads") === "auto" ? os.availableParallelism() : option("--threads") ? parseInt(option("--threads"), 10) : null;
if (THREADS !== null && !(THREADS >= 2)) { console.error(`--threads: a thread count of 2 or more (or "auto"), got ${option("--threads")}`); process.exit(2); }
if (option("--only")?.split(",").includes("threads") && THREADS === null) { console.error("--only threads needs --threads N"); process.exit(2); }
const ONLY = option("--only") ? option("--only").split(",") : SECTIONS.filter((x) => x !== "threads" || THREADS !== null);
for (const s of ONLY) if (!SECTIONS.includes(s)) { console.error(`--only: unknown section "${s}" (one of ${SECTIONS.join(", ")})`); process.exit(2); }
const want = (s) => ONLY.includes(s);

const P = QUICK
  ? { gemm: { minSamples: 2, maxTime: 0.3 }, blasReps: 3, peak: { minSamples: 2, maxTime: 0.2 }, peakCallSec: 0.05,
    forwardShapes: [[1, 32], [2, 64]], forwardBench: [{ minSamples: 2, maxTime: 0.5 }, { minSamples: 2, maxTime: 0.5 }],
    edgeSample: 12, edgeMinPerLayer: 0, edgeForward: { minSamples: 2, maxTime: 0.5 } }
  : { gemm: { minSamples: 6, maxTime: 2 }, blasReps: 7, peak: { minSamples: 5, maxTime: 0.6 }, peakCallSec: 0.1,
    forwardShapes: [[1, 128], [4, 256]], forwardBench: [{ minSamples: 4, maxTime: 4 }, { minSamples: 2, maxTime: 1 }],
    edgeSample: 72, edgeMinPerLayer: 2, edgeForward: { minSamples: 3, maxTime: 3 } };
if (option("--edges")) P.edgeSample = Math.max(1, parseInt(option("--edges"), 10));

const SHAPES = [[1024, 768, 768], [1024, 768, 3072], [1024, 3072, 768]]; // M, N, K
const GPT2 = { nLayers: 12, dModel: 768, nHeads: 12, dHead: 64, dMlp: 3072, dVocab: 50257, nCtx: 1024 };

// ---- report helpers --------------------------------------------------------------

const t0 = performance.now();
const report = { mode: QUICK ? "quick" : "full", sections: ONLY };
const line = (s = "") => console.log(s);
const section = (title) => { line(); line(`== ${title} ${"=".repeat(Math.max(0, 74 - title.length))}`); };
const f = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(d));
function table(head, rows) {
  const cells = [head, ...rows].map((r) => r.map(String));
  const w = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const fmt = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ");
  line("  " + fmt(cells[0]));
  line("  " + w.map((n) => "-".repeat(n)).join("  "));
  for (const r of cells.slice(1)) line("  " + fmt(r));
}
const shapeName = ([M, N, K]) => `${M}x${N}x${K}`;
const gflop = ([M, N, K]) => (2 * M * N * K) / 1e9;
const errMsg = (e) => (e && e.message ? e.message.split("\n")[0] : String(e));

// Seeded generator (LCG through Math.imul): cheap enough for 160 M weights.
function rng(seed) {
  let s = seed | 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) | 0; return (s >>> 8) / 16777216; };
}
function randomArray(n, scale, rnd) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rnd() - 0.5) * scale;
  return a;
}

/**
 * Time `fn` with benchmark.js (deferred, so sync and async bodies time alike).
 * Returns mean/best/rme in ms over benchmark.js's samples (each sample is one
 * cycle's time per call).
 */
function bench(name, fn, { minSamples, maxTime }) {
  return new Promise((resolve, reject) => {
    let failure = null;
    const b = new Benchmark(name, {
      defer: true, minSamples, maxTime, initCount: 1,
      fn(deferred) {
        // Resolve on a microtask so fast bodies do not recurse through benchmark.js.
        Promise.resolve().then(fn).then(() => deferred.resolve(), (e) => { failure = e; deferred.benchmark.abort(); deferred.resolve(); });
      },
    });
    b.on("complete", () => {
      if (failure) return reject(failure);
      if (b.error) return reject(b.error);
      const s = b.stats.sample.map((x) => x * 1e3);
      resolve({ meanMs: b.stats.mean * 1e3, bestMs: Math.min(...s), rmePct: b.stats.rme, samples: s.length, cycles: b.cycles });
    });
    b.on("abort", () => reject(failure ?? new Error(`${name}: aborted`)));
    b.run({ async: true });
  });
}

/** Run fn until both `calls` calls and `ms` milliseconds have passed (wasm tier-up, memory growth). */
async function warmup(fn, calls = 3, ms = 300) {
  const t = performance.now();
  for (let i = 0; i < calls || performance.now() - t < ms; i++) await fn();
}

/** Max |C_ij − Σ_k A_ik B_kj| / Σ_k |A_ik B_kj| over 16 sampled entries (float64 reference). */
function checkGemm(A, B, C, [M, N, K], ldc = N) {
  const r = rng(7);
  let worst = 0;
  for (let s = 0; s < 16; s++) {
    const i = Math.floor(r() * M), j = Math.floor(r() * N);
    let ref = 0, mag = 0;
    for (let k = 0; k < K; k++) { const p = A[i * K + k] * B[k * N + j]; ref += p; mag += Math.abs(p); }
    worst = Math.max(worst, Math.abs(C[i * ldc + j] - ref) / (mag || 1));
  }
  return worst;
}

// ---- machine -----------------------------------------------------------------------

function machine() {
  const m = { node: process.version, v8: process.versions.v8, platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: os.availableParallelism ? os.availableParallelism() : os.cpus().length, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1) };
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    const get = (k) => (info.match(new RegExp(`^${k}\\s*:\\s*(.*)$`, "m")) || [])[1];
    m.cpuModel = get("model name");
    m.cpuFamily = get("cpu family"); m.cpuModelNo = get("model"); m.mhz = get("cpu MHz");
    const flags = (get("flags") || "").split(/\s+/);
    m.simd = ["sse4_2", "avx", "avx2", "fma", "avx512f"].filter((x) => flags.includes(x)).join(" ");
  } catch { m.cpuModel = os.cpus()[0]?.model ?? "unknown"; }
  return m;
}

// ---- 1. our SGEMM ---------------------------------------------------------------------

// One engine and one set of A, B (largest shapes) shared by every GEMM section,
// so all engines multiply the same numbers.
const gemmData = (() => {
  const maxA = Math.max(...SHAPES.map(([M, , K]) => M * K));
  const maxB = Math.max(...SHAPES.map(([, N, K]) => K * N));
  const r = rng(1);
  return { A: randomArray(maxA, 2, r), B: randomArray(maxB, 2, r) };
})();

async function benchSgemm() {
  section("1. SGEMM, ours (AssemblyScript f32x4, packed 4x8 micro-kernel), 1 thread");
  line("  C[M,N] = A[M,K]·B[K,N], row-major, no transposes, flops = 2MNK, workspace = engine.gemmWork");
  const e = await createEngine();
  const maxC = Math.max(...SHAPES.map(([M, N]) => M * N));
  const A = e.upload(gemmData.A), B = e.upload(gemmData.B), C = e.allocF32(maxC);
  const out = [];
  for (const sh of SHAPES) {
    const [M, N, K] = sh;
    const run = () => e.k.sgemm(0, 0, M, N, K, A, K, B, N, C, N, 0, 0, e.gemmWork);
    await warmup(run, 3, 300);
    const r = await bench(`sgemm ${shapeName(sh)}`, run, P.gemm);
    const err = checkGemm(gemmData.A, gemmData.B, e.f32(C, M * N), sh);
    out.push({ shape: sh, ...r, gflops: gflop(sh) / (r.meanMs / 1e3), gflopsBest: gflop(sh) / (r.bestMs / 1e3), relErr: err });
  }
  table(["M x N x K", "mean ms", "±rme%", "best ms", "GFLOP/s mean", "GFLOP/s best", "samples", "check"],
    out.map((o) => [shapeName(o.shape), f(o.meanMs, 2), f(o.rmePct, 1), f(o.bestMs, 2), f(o.gflops, 2), f(o.gflopsBest, 2), o.samples, o.relErr.toExponential(1)]));
  line("  check = max relative error of 16 sampled entries vs a float64 dot product");
  return out;
}

// ---- 2. onnxruntime-web --------------------------------------------------------------

// A minimal protobuf writer, enough for an ONNX ModelProto with one MatMul
// (field numbers from onnx/onnx.proto3).
const pb = {
  varint(n) { const o = []; let v = BigInt(n); while (v >= 0x80n) { o.push(Number(v & 0x7fn) | 0x80); v >>= 7n; } o.push(Number(v)); return Uint8Array.from(o); },
  cat(...parts) { const o = new Uint8Array(parts.reduce((a, p) => a + p.length, 0)); let i = 0; for (const p of parts) { o.set(p, i); i += p.length; } return o; },
  int(field, v) { return pb.cat(pb.varint((field << 3) | 0), pb.varint(v)); },
  bytes(field, b) { return pb.cat(pb.varint((field << 3) | 2), pb.varint(b.length), b); },
  str(field, s) { return pb.bytes(field, new TextEncoder().encode(s)); },
};
const FLOAT = 1; // TensorProto.DataType.FLOAT
function onnxValueInfo(name, dims) {
  // ValueInfoProto{name=1, type=2: TypeProto{tensor_type=1: {elem_type=1, shape=2: {dim=1: {dim_value=1}}}}}
  const shape = pb.cat(...dims.map((d) => pb.bytes(1, pb.int(1, d))));
  return pb.cat(pb.str(1, name), pb.bytes(2, pb.bytes(1, pb.cat(pb.int(1, FLOAT), pb.bytes(2, shape)))));
}
function onnxTensor(name, dims, data) {
  // TensorProto{dims=1, data_type=2, name=8, raw_data=9 (little-endian)}
  return pb.cat(...dims.map((d) => pb.int(1, d)), pb.int(2, FLOAT), pb.str(8, name),
    pb.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
}
/** ModelProto bytes for C = MatMul(A, B); B is a graph input, or a constant initializer when `constB` is given. */
function onnxMatMul([M, N, K], constB = null) {
  const node = pb.cat(pb.str(1, "A"), pb.str(1, "B"), pb.str(2, "C"), pb.str(3, "matmul"), pb.str(4, "MatMul"));
  const graph = pb.cat(
    pb.bytes(1, node), pb.str(2, "bench"),
    constB ? pb.bytes(5, onnxTensor("B", [K, N], constB)) : new Uint8Array(0),
    pb.bytes(11, onnxValueInfo("A", [M, K])),
    constB ? new Uint8Array(0) : pb.bytes(11, onnxValueInfo("B", [K, N])),
    pb.bytes(12, onnxValueInfo("C", [M, N])));
  // ir_version=1 (8), opset_import=8 {domain "", version 13}, graph=7, producer_name=2
  return pb.cat(pb.int(1, 8), pb.str(2, "acdc-wasm bench"), pb.bytes(7, graph), pb.bytes(8, pb.cat(pb.str(1, ""), pb.int(2, 13))));
}

async function benchOrt(ours) {
  section("2. Peer: onnxruntime-web WebAssembly SIMD backend (MLAS), 1 thread, MatMul");
  let ort;
  try {
    ort = await import("onnxruntime-web");
  } catch (e) {
    line(`  SKIPPED: cannot import onnxruntime-web (${errMsg(e)}); run npm install`);
    return { skipped: `import failed: ${errMsg(e)}` };
  }
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = "error";
  const version = ort.env.versions?.web ?? "?";
  line(`  onnxruntime-web ${version}, numThreads=1, proxy=false; model = one MatMul node written as ONNX protobuf in memory`);
  line("  'inputs': A and B fed each run (same work as ours: both operands packed per call, plus ORT copying them into its heap)");
  line("  'const B': B is an initializer, so ORT pre-packs it once at session creation (how a model's weights run)");
  const res = [];
  for (const sh of SHAPES) {
    const [M, N, K] = sh;
    const Ah = gemmData.A.subarray(0, M * K), Bh = gemmData.B.subarray(0, K * N);
    const A = new ort.Tensor("float32", Ah, [M, K]), B = new ort.Tensor("float32", Bh, [K, N]);
    for (const variant of ["inputs", "const B"]) {
      const row = { shape: sh, variant };
      try {
        const session = await ort.InferenceSession.create(onnxMatMul(sh, variant === "const B" ? Bh : null),
          { executionProviders: ["wasm"], graphOptimizationLevel: "all", intraOpNumThreads: 1, interOpNumThreads: 1 });
        const feeds = variant === "const B" ? { A } : { A, B };
        let out = null;
        const run = async () => { out = await session.run(feeds); };
        await warmup(run, 3, 300);
        const r = await bench(`ort ${variant} ${shapeName(sh)}`, run, P.gemm);
        Object.assign(row, r, { gflops: gflop(sh) / (r.meanMs / 1e3), gflopsBest: gflop(sh) / (r.bestMs / 1e3), relErr: checkGemm(Ah, Bh, out.C.data, sh) });
        await session.release();
      } catch (e) {
        row.error = errMsg(e);
      }
      res.push(row);
    }
  }
  const oursBy = new Map((ours ?? []).map((o) => [shapeName(o.shape), o]));
  table(["M x N x K", "variant", "mean ms", "±rme%", "GFLOP/s mean", "GFLOP/s best", "check", "ours/ORT (best)"],
    res.map((o) => {
      if (o.error) return [shapeName(o.shape), o.variant, "FAILED", "", "", "", "", o.error];
      const us = oursBy.get(shapeName(o.shape));
      o.ratioOursOverPeer = us ? us.gflopsBest / o.gflopsBest : null;
      return [shapeName(o.shape), o.variant, f(o.meanMs, 2), f(o.rmePct, 1), f(o.gflops, 2), f(o.gflopsBest, 2), o.relErr.toExponential(1), us ? f(o.ratioOursOverPeer, 2) + "x" : "-"];
    }));
  if (res.every((o) => o.error)) line(`  onnxruntime-web could not run: ${res[0].error}`);
  return { version, results: res };
}

// ---- 3. OpenBLAS (native limit) ---------------------------------------------------------

const BLAS_C = String.raw`
/* Written and compiled by bench/run.js. Times cblas_sgemm (row-major, no
   transposes) at each M N K given: 2 warm-up calls, then the best and mean of
   reps calls; checks 16 sampled entries against a double-precision dot product. */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <time.h>
#include <cblas.h>
char *openblas_get_corename(void);
char *openblas_get_config(void);
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
  int reps = atoi(argv[1]);
  printf("core %s\nconfig %s\n", openblas_get_corename(), openblas_get_config());
  for (int a = 2; a + 2 < argc; a += 3) {
    int M = atoi(argv[a]), N = atoi(argv[a + 1]), K = atoi(argv[a + 2]);
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N), *C = malloc(sizeof(float) * M * N);
    unsigned s = 1;
    for (long i = 0; i < (long)M * K; i++) { s = s * 1664525u + 1013904223u; A[i] = (float)((s >> 8) / 16777216.0 - 0.5); }
    for (long i = 0; i < (long)K * N; i++) { s = s * 1664525u + 1013904223u; B[i] = (float)((s >> 8) / 16777216.0 - 0.5); }
    for (int w = 0; w < 2; w++) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
    double best = 1e30, sum = 0;
    for (int r = 0; r < reps; r++) {
      double t = now();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
      t = now() - t; sum += t; if (t < best) best = t;
    }
    double worst = 0;
    for (int q = 0; q < 16; q++) {
      int i = (q * 7919) % M, j = (q * 104729) % N;
      double ref = 0, mag = 0;
      for (int k = 0; k < K; k++) { double p = (double)A[(long)i * K + k] * B[(long)k * N + j]; ref += p; mag += fabs(p); }
      double e = fabs(C[(long)i * N + j] - ref) / (mag > 0 ? mag : 1);
      if (e > worst) worst = e;
    }
    printf("gemm %d %d %d %.9f %.9f %.3e\n", M, N, K, best, sum / reps, worst);
    free(A); free(B); free(C);
  }
  return 0;
}
`;

function findOpenBLAS() {
  const incDirs = ["/usr/include", "/usr/include/openblas", "/usr/local/include", "/usr/include/x86_64-linux-gnu", "/usr/include/aarch64-linux-gnu",
    ...(() => { try { return readdirSync("/usr/include").filter((d) => d.endsWith("-linux-gnu")).map((d) => `/usr/include/${d}`); } catch { return []; } })()];
  const header = incDirs.map((d) => join(d, "cblas.h")).find(existsSync) ?? null;
  let lib = null;
  try {
    const ld = execFileSync("ldconfig", ["-p"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    lib = (ld.match(/libopenblas\.so[^\n]*=>\s*(\S+)/) || [])[1] ?? null;
  } catch { /* no ldconfig: fall through to the usual paths */ }
  if (!lib) lib = ["/usr/lib/x86_64-linux-gnu/libopenblas.so", "/usr/lib/aarch64-linux-gnu/libopenblas.so", "/usr/lib/libopenblas.so", "/usr/local/lib/libopenblas.so"].find(existsSync) ?? null;
  return { header, lib };
}

function benchOpenBLAS(ours) {
  section("3. Native limit: OpenBLAS cblas_sgemm, 1 thread (C, gcc -O2, compiled now)");
  const { header, lib } = findOpenBLAS();
  const gcc = spawnSync("gcc", ["--version"], { encoding: "utf8" });
  const missing = [];
  if (!header) missing.push("cblas.h");
  if (!lib) missing.push("libopenblas.so");
  if (gcc.status !== 0) missing.push("gcc");
  if (missing.length) {
    line(`  SKIPPED: ${missing.join(", ")} not found. On Debian/Ubuntu: apt-get install -y libopenblas-dev${missing.includes("gcc") ? " gcc" : ""}`);
    return { skipped: `missing ${missing.join(", ")}` };
  }
  const dir = mkdtempSync(join(os.tmpdir(), "acdc-bench-blas-"));
  try {
    writeFileSync(join(dir, "sgemm.c"), BLAS_C);
    const inc = header.startsWith("/usr/include/openblas") ? ["-I/usr/include/openblas"] : [];
    const cc = spawnSync("gcc", ["-O2", ...inc, "-o", join(dir, "sgemm"), join(dir, "sgemm.c"), "-lopenblas", "-lm"], { encoding: "utf8" });
    if (cc.status !== 0) {
      line(`  SKIPPED: compiling against OpenBLAS failed:\n${cc.stderr.trim().split("\n").slice(0, 6).map((l) => "    " + l).join("\n")}`);
      return { skipped: "compile failed", stderr: cc.stderr };
    }
    // The machine presets OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which pick a
    // slower kernel; the child runs with them removed and one thread.
    const env = { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1", GOTO_NUM_THREADS: "1" };
    const removed = [];
    for (const k of ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]) if (k in env) { removed.push(`${k}=${env[k]}`); delete env[k]; }
    const args = [String(P.blasReps), ...SHAPES.flatMap((s) => s.map(String))];
    const run = spawnSync(join(dir, "sgemm"), args, { env, encoding: "utf8", timeout: 120000 });
    if (run.status !== 0) {
      line(`  SKIPPED: the OpenBLAS program failed (status ${run.status}${run.signal ? `, ${run.signal}` : ""}): ${(run.stderr || run.error?.message || "").trim()}`);
      return { skipped: "run failed", stderr: run.stderr };
    }
    const core = (run.stdout.match(/^core (.*)$/m) || [])[1];
    const config = (run.stdout.match(/^config (.*)$/m) || [])[1];
    const rows = [...run.stdout.matchAll(/^gemm (\d+) (\d+) (\d+) (\S+) (\S+) (\S+)$/gm)].map((m) => {
      const sh = [+m[1], +m[2], +m[3]];
      return { shape: sh, bestMs: +m[4] * 1e3, meanMs: +m[5] * 1e3, relErr: +m[6], gflopsBest: gflop(sh) / +m[4], gflops: gflop(sh) / +m[5] };
    });
    line(`  ${config}; kernel core: ${core}; header ${header}; lib ${lib}`);
    line(`  child env: OPENBLAS_NUM_THREADS=1; removed: ${removed.length ? removed.join(", ") : "(neither OPENBLAS_CORETYPE nor OPENBLAS_L2_SIZE was set here)"}`);
    line(`  ${P.blasReps} timed calls per shape after 2 warm-up calls`);
    const oursBy = new Map((ours ?? []).map((o) => [shapeName(o.shape), o]));
    table(["M x N x K", "best ms", "mean ms", "GFLOP/s best", "GFLOP/s mean", "check", "ours/OpenBLAS (best)"],
      rows.map((o) => {
        const us = oursBy.get(shapeName(o.shape));
        o.ratioOursOverNative = us ? us.gflopsBest / o.gflopsBest : null;
        return [shapeName(o.shape), f(o.bestMs, 2), f(o.meanMs, 2), f(o.gflopsBest, 2), f(o.gflops, 2), o.relErr.toExponential(1), us ? f(o.ratioOursOverNative, 2) + "x" : "-"];
      }));
    return { core, config, removedEnv: removed, results: rows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- 4. f32x4 mul+add peak -----------------------------------------------------------------

// c independent chains a_i = a_i·y + z (f32x4 mul then add; WebAssembly SIMD
// has no fused multiply-add outside relaxed-simd). Each chain is one mul and
// one add per iteration, so c chains hide the mul→add latency; too many spill
// x64's 16 xmm registers. 8 flops per chain per iteration.
function peakSource(chains) {
  const ids = Array.from({ length: chains }, (_, i) => i);
  return `export function peak${chains}(n: i32, s: f32): f32 {
  const y = f32x4.splat(s);
  const z = f32x4.splat(0.25);
  ${ids.map((i) => `let a${i} = f32x4.splat(${(1 + i / 100).toFixed(2)});`).join(" ")}
  for (let i = 0; i < n; i++) {
    ${ids.map((i) => `a${i} = f32x4.add(f32x4.mul(a${i}, y), z);`).join("\n    ")}
  }
  const t = ${ids.map((i) => `a${i}`).reduce((acc, x) => `f32x4.add(${acc}, ${x})`)};
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 3);
}
`;
}

async function benchPeak() {
  section("4. Machine limit: f32x4 mul+add throughput microkernel (WebAssembly SIMD, 1 thread)");
  const CHAINS = [8, 10, 12, 14];
  let instance;
  try {
    const asc = (await import("assemblyscript/asc")).default;
    const r = await asc.compileString(CHAINS.map(peakSource).join("\n"), { optimizeLevel: 3, runtime: "stub", enable: ["simd"], noAssert: true });
    if (r.error) throw new Error(r.stderr.toString());
    instance = (await WebAssembly.instantiate(r.binary, { env: { abort() {} } })).instance;
  } catch (e) {
    line(`  SKIPPED: could not compile the microkernel with AssemblyScript: ${errMsg(e)}`);
    return { skipped: errMsg(e) };
  }
  const rows = [];
  for (const c of CHAINS) {
    const fn = instance.exports[`peak${c}`];
    await warmup(() => fn(100000, 0.5), 3, 100);
    const t = performance.now(); fn(1e6, 0.5);
    const n = Math.max(1e5, Math.round((1e6 * P.peakCallSec * 1e3) / Math.max(0.01, performance.now() - t)));
    const r = await bench(`peak ${c}`, () => fn(n, 0.5), P.peak);
    const flops = n * c * 8;
    rows.push({ chains: c, iterations: n, ...r, gflops: flops / (r.meanMs * 1e6), gflopsBest: flops / (r.bestMs * 1e6) });
  }
  table(["chains", "iterations/call", "mean ms", "GFLOP/s mean", "GFLOP/s best"],
    rows.map((o) => [o.chains, o.iterations, f(o.meanMs, 1), f(o.gflops, 2), f(o.gflopsBest, 2)]));
  const best = rows.reduce((a, b) => (b.gflopsBest > a.gflopsBest ? b : a));
  line(`  wasm f32x4 peak (best): ${f(best.gflopsBest, 2)} GFLOP/s with ${best.chains} chains`);
  return { results: rows, peakGflops: best.gflopsBest, chains: best.chains };
}

// ---- GPT-2-small-shaped random model -----------------------------------------------------

/** Random canonical weights for cfg (GPT-2-like scale: uniform with std 0.02, LN weight 1, biases 0). */
function randomWeights(cfg, seed) {
  const r = rng(seed);
  const w = new Map();
  const scale = 0.02 * Math.sqrt(12);
  for (const { name, shape } of expectedWeights(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const last = name.split(".").pop();
    let data;
    if (last === "w") data = new Float32Array(n).fill(1); // layer norm scale
    else if (last === "b" || last.startsWith("b_")) data = new Float32Array(n); // biases
    else data = randomArray(n, scale, r);
    w.set(name, { shape, data });
  }
  return checkWeights(w, cfg);
}

async function buildModel(c, seed = 3, engine = undefined) {
  const cfg = makeConfig(c);
  const t = performance.now();
  let w = randomWeights(cfg, seed);
  const tw = performance.now() - t;
  const model = await Transformer.create(cfg, w, engine);
  w = null;
  return { model, cfg, weightsMs: tw, createMs: performance.now() - t - tw };
}

/** Matmul flops of one forward over B×T tokens: linear layers + unembed, and causal attention (QKᵀ, PV). */
function forwardFlops(cfg, B, T) {
  const { nLayers: L, dModel: D, nHeads: H, dHead: Dh, dMlp: M, dVocab: V } = cfg;
  const N = B * T;
  const linear = 2 * N * (L * (3 * D * H * Dh + H * Dh * D + 2 * D * M) + D * V);
  const unembed = 2 * N * D * V;
  const attention = L * B * H * 2 * (2 * Dh * (T * (T + 1)) / 2);
  return { total: linear + attention, linear, unembed, attention };
}

const randomTokens = (B, T, V, r) => Array.from({ length: B }, () => Array.from({ length: T }, () => Math.floor(r() * V)));

// ---- 5. forward pass ---------------------------------------------------------------------------

async function benchForward(gpt) {
  section("5. Full forward pass, GPT-2-small-shaped random model, 1 thread");
  const { model, cfg } = gpt;
  line(`  L=${cfg.nLayers} D=${cfg.dModel} H=${cfg.nHeads} Dh=${cfg.dHead} M=${cfg.dMlp} V=${cfg.dVocab} n_ctx=${cfg.nCtx}, LayerNorm, gelu_new`);
  line("  model.forward(tokens) with no hooks: embed → 12 blocks → unembed at every position → logits [B,T,V] copied out");
  const r = rng(11);
  const rows = [];
  for (let i = 0; i < P.forwardShapes.length; i++) {
    const [B, T] = P.forwardShapes[i];
    const tokens = randomTokens(B, T, cfg.dVocab, r);
    const run = () => { model.forward(tokens); };
    await warmup(run, i === 0 ? 2 : 1, 0); // wasm tier-up, then memory growth for the larger shape
    const res = await bench(`forward ${B}x${T}`, run, P.forwardBench[i]);
    const fl = forwardFlops(cfg, B, T);
    rows.push({ B, T, ...res, tokensPerSec: (B * T) / (res.meanMs / 1e3), gflops: fl.total / (res.meanMs * 1e6), flops: fl });
  }
  table(["batch x tokens", "mean ms", "±rme%", "best ms", "tokens/s", "GFLOP (matmul)", "of which unembed", "GFLOP/s", "samples"],
    rows.map((o) => [`${o.B} x ${o.T}`, f(o.meanMs, 0), f(o.rmePct, 1), f(o.bestMs, 0), f(o.tokensPerSec, 1), f(o.flops.total / 1e9, 1),
      f((100 * o.flops.unembed) / o.flops.total, 0) + "%", f(o.gflops, 2), o.samples]));
  line("  GFLOP counts 2·(in·out) per token for Q,K,V,O, MLP in/out and the unembedding, plus causal QKᵀ and pattern·V");
  return rows;
}

// One layer's components at the largest forward shape, each timed on its own
// (public Transformer methods on engine offsets), to show where a forward goes.
async function forwardBreakdown(gpt) {
  const { model, cfg } = gpt;
  const [B, T] = P.forwardShapes[P.forwardShapes.length - 1];
  const e = model.engine;
  const { dModel: D, nHeads: H, dHead: Dh, dMlp: M, dVocab: V, nLayers: L } = cfg;
  const N = B * T;
  const mark = e.mark();
  try {
    const r = rng(5);
    const x = e.upload(randomArray(N * D, 2, r));
    const ln = e.allocF32(N * D), q = e.allocF32(N * D), k = e.allocF32(N * D), v = e.allocF32(N * D), z = e.allocF32(N * D);
    const pattern = e.allocF32(B * H * T * T), out = e.allocF32(N * D), mlpS = e.allocF32(model.mlpScratchFloats(N)), logits = e.allocF32(N * V);
    const time = (fn) => { fn(); const t = performance.now(); fn(); return performance.now() - t; };
    const lw = model.layers[0];
    const parts = [
      ["layer norm (ln1)", L, () => model.normalize(ln, x, N, lw.ln1w, lw.ln1b)],
      ["Q,K,V projections", L, () => { model.project(0, "q", ln, N, q, 0, H); model.project(0, "k", ln, N, k, 0, H); model.project(0, "v", ln, N, v, 0, H); }],
      ["attention (scores, softmax, ·V)", L, () => model.attend(z, pattern, q, k, v, B, T, 0, H)],
      ["W_O projection", L, () => e.gemm(N, D, H * Dh, z, H * Dh, lw.WO, D, out, D, { bias: lw.bO })],
      ["MLP (ln2, W_in, gelu, W_out)", L, () => model.mlp(0, x, N, out, mlpS)],
      ["unembed (ln_final, W_U)", 1, () => model.unembed(x, N, logits, ln)],
    ];
    const rows = parts.map(([name, times, fn]) => ({ name, times, ms: time(fn) * times }));
    return { B, T, rows, sumMs: rows.reduce((a, o) => a + o.ms, 0) };
  } finally {
    e.reset(mark);
  }
}

// ---- 6. ACDC edge trials ----------------------------------------------------------------------

// Stratified sample by receiver layer (output counts as layer L): each layer
// gets its share of P.edgeSample (at least edgeMinPerLayer), and the overall
// mean weights each layer by its share of all testable edges, so the
// estimate is that of a uniform sample with early (costly) layers covered.
function edgeSample(g, r) {
  const testable = g.edges.filter((ed) => ed.type !== "placeholder");
  const layerOf = (ed) => g.nodes[ed.child].layer;
  const strata = new Map();
  for (const ed of testable) { const l = layerOf(ed); if (!strata.has(l)) strata.set(l, []); strata.get(l).push(ed); }
  const sample = [];
  for (const [, eds] of [...strata].sort((a, b) => a[0] - b[0])) {
    const n = Math.min(eds.length, Math.max(P.edgeMinPerLayer, Math.round((P.edgeSample * eds.length) / testable.length)));
    const pool = eds.slice();
    for (let i = 0; i < n; i++) { const j = i + Math.floor(r() * (pool.length - i)); [pool[i], pool[j]] = [pool[j], pool[i]]; sample.push(pool[i]); }
  }
  for (let i = sample.length - 1; i > 0; i--) { const j = Math.floor(r() * (i + 1)); [sample[i], sample[j]] = [sample[j], sample[i]]; }
  return { testable, layerOf, strata, sample };
}

/** Layer-weighted mean ms per edge (an estimate over all testable edges) from timed trials {layer, ms}. */
function weightedEdgeMs(times, strata) {
  let sum = 0, weight = 0;
  for (const [l, eds] of strata) {
    const ts = times.filter((o) => o.layer === l).map((o) => o.ms);
    if (!ts.length) continue;
    sum += (ts.reduce((a, b) => a + b, 0) / ts.length) * eds.length;
    weight += eds.length;
  }
  return sum / weight;
}

async function benchEdges(gpt) {
  section("6. ACDC edge trials vs a full forward, GPT-2-small-shaped random model");
  const { model, cfg } = gpt;
  const r = rng(21);
  const B = 10, T = 16;
  const clean = randomTokens(B, T, cfg.dVocab, r), corrupted = randomTokens(B, T, cfg.dVocab, r);
  const g = buildGraph(cfg);
  let t = performance.now();
  const p = new Patcher(model, g, { clean, corrupted, positions: clean.map(() => T - 1) }, { ablation: "corrupted", metric: klMetric() });
  const patcherMs = performance.now() - t;
  line(`  ${B} prompts x ${T} random tokens, corrupted = other random tokens, KL(clean||patched) at the last position`);
  line(`  graph: ${g.nodes.length} nodes, ${g.counts.addition} addition + ${g.counts.direct} direct edges (testable), ${g.counts.placeholder} placeholder`);
  line(`  Patcher set-up (clean + corrupted runs caching every node): ${f(patcherMs, 0)} ms; wasm memory now ${f(model.engine.memory.buffer.byteLength / 2 ** 20, 0)} MiB`);

  const run = () => { model.forward(clean); };
  await warmup(run, 1, 0);
  const fwd = await bench("forward 10x16", run, P.edgeForward);

  const { testable, layerOf, strata, sample } = edgeSample(g, r);
  // Warm the trial path (memory is already grown) on one late edge, not counted.
  p.trial(strata.get(cfg.nLayers)[0].id); p.reject();
  const times = [];
  t = performance.now();
  for (const ed of sample) {
    const s = performance.now();
    p.trial(ed.id);
    p.reject();
    times.push({ edge: ed.id, layer: layerOf(ed), kind: receiverKind(g, ed), ms: performance.now() - s });
  }
  const loopMs = performance.now() - t;

  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const byLayer = [...strata.keys()].sort((a, b) => a - b).map((l) => {
    const ts = times.filter((o) => o.layer === l).map((o) => o.ms);
    return { layer: l, edges: strata.get(l).length, sampled: ts.length, meanMs: ts.length ? mean(ts) : null, minMs: ts.length ? Math.min(...ts) : null, maxMs: ts.length ? Math.max(...ts) : null };
  });
  const covered = byLayer.filter((o) => o.sampled);
  const wSum = covered.reduce((a, o) => a + o.edges, 0);
  const weightedMs = covered.reduce((a, o) => a + o.meanMs * o.edges, 0) / wSum;
  const kinds = ["output", "mlp_in", "q_input", "k_input", "v_input", "q/k/v (direct)"];
  const byKind = kinds.map((k) => {
    const ts = times.filter((o) => o.kind === k).map((o) => o.ms);
    return { kind: k, sampled: ts.length, meanMs: ts.length ? mean(ts) : null };
  }).filter((o) => o.sampled);
  const sorted = times.map((o) => o.ms).sort((a, b) => a - b);
  const res = {
    prompts: B, tokens: T, nodes: g.nodes.length, testableEdges: testable.length, patcherMs,
    forward: fwd, sampled: times.length, loopMs, sampleMeanMs: mean(sorted), medianMs: sorted[sorted.length >> 1],
    minMs: sorted[0], maxMs: sorted[sorted.length - 1], weightedMeanMs: weightedMs, edgesPerSec: 1e3 / weightedMs,
    savingFactor: fwd.meanMs / weightedMs, byLayer, byKind, trials: times,
  };

  line();
  line(`  full forward over the same 10x16 batch: ${f(fwd.meanMs, 1)} ms (±${f(fwd.rmePct, 1)}%, ${fwd.samples} samples; includes logits at all 160 positions)`);
  line(`  edges timed: ${times.length} (trial + reject each, stratified by receiver layer), ${f(loopMs / 1e3, 1)} s in all`);
  line(`  per edge: mean ${f(res.weightedMeanMs, 1)} ms (layer-weighted = estimate over all ${testable.length} edges; raw sample mean ${f(res.sampleMeanMs, 1)}),`);
  line(`            median ${f(res.medianMs, 1)}, min ${f(res.minMs, 1)}, max ${f(res.maxMs, 1)} ms`);
  line(`  edges/s: ${f(res.edgesPerSec, 2)}   saving factor (full forward / mean edge): ${f(res.savingFactor, 2)}x`);
  line(`  all ${testable.length} edges with every edge present: ~${f((testable.length * weightedMs) / 6e4, 0)} min by trials vs ~${f((testable.length * fwd.meanMs) / 6e4, 0)} min by full forwards`);
  line();
  line("  by receiver layer (a trial recomputes the receiver and everything downstream of it):");
  table(["receiver layer", "edges in graph", "sampled", "mean ms", "min ms", "max ms", "edges/s", "saving"],
    byLayer.map((o) => [o.layer === cfg.nLayers ? `output (${o.layer})` : String(o.layer), o.edges, o.sampled, f(o.meanMs, 1), f(o.minMs, 1), f(o.maxMs, 1),
      o.meanMs ? f(1e3 / o.meanMs, 2) : "-", o.meanMs ? f(fwd.meanMs / o.meanMs, 2) + "x" : "-"]));
  line();
  line("  by receiver type (raw sample means; types sit in different layers, so compare within a layer above):");
  table(["receiver", "sampled", "mean ms", "edges/s"], byKind.map((o) => [o.kind, o.sampled, f(o.meanMs, 1), f(1e3 / o.meanMs, 2)]));
  return res;
}

function receiverKind(g, ed) {
  const n = g.nodes[ed.child];
  if (ed.type === "direct") return "q/k/v (direct)";
  if (n.kind === "qkv_input") return `${n.letter}_input`;
  return n.kind;
}

// ---- 7. a real ACDC run on a small model ----------------------------------------------------------

/** The small random model of sections 7 and 8, with 10 prompts of 16 random tokens. */
async function smallTask(engine = undefined) {
  const small = QUICK
    ? { nLayers: 2, dModel: 128, nHeads: 4, dHead: 32, dMlp: 512, dVocab: 1024, nCtx: 64 }
    : { nLayers: 4, dModel: 256, nHeads: 8, dHead: 32, dMlp: 1024, dVocab: 4096, nCtx: 64 };
  const { model, cfg } = await buildModel(small, 9, engine);
  const r = rng(31);
  const B = 10, T = 16;
  const clean = randomTokens(B, T, cfg.dVocab, r), corrupted = randomTokens(B, T, cfg.dVocab, r);
  return { small, model, cfg, B, T, clean, corrupted, g: buildGraph(cfg) };
}

async function benchAcdc() {
  section("7. A real ACDC search (acdc()) on a small random model");
  const { small, model, B, T, clean, corrupted, g } = await smallTask();
  const threshold = 1e-4;
  let t = performance.now();
  const p = new Patcher(model, g, { clean, corrupted, positions: clean.map(() => T - 1) }, { ablation: "corrupted", metric: klMetric() });
  const patcherMs = performance.now() - t;
  const run = () => { model.forward(clean); };
  await warmup(run, 3, 100);
  const fwd = await bench("small forward", run, QUICK ? { minSamples: 3, maxTime: 0.3 } : { minSamples: 5, maxTime: 1 });
  const res = acdc(p, { threshold });
  const out = {
    config: small, prompts: B, tokens: T, threshold, testableEdges: g.counts.addition + g.counts.direct, patcherMs,
    tested: res.tested, kept: res.edges.length, searchMs: res.searchMs, baseline: res.baseline, metric: res.metric,
    edgesPerSec: res.tested / (res.searchMs / 1e3), msPerEdge: res.searchMs / res.tested, forwardMs: fwd.meanMs,
  };
  out.savingFactor = out.forwardMs / out.msPerEdge;
  line(`  L=${small.nLayers} D=${small.dModel} H=${small.nHeads} Dh=${small.dHead} M=${small.dMlp} V=${small.dVocab}; ${B} prompts x ${T} random tokens; KL at the last position; threshold ${threshold}`);
  line(`  ${out.testableEdges} testable edges; ACDC tested ${out.tested} (the rest were skipped as disconnected) and kept ${out.kept}; KL ${out.baseline.toExponential(2)} → ${out.metric.toExponential(2)}`);
  line(`  search ${f(out.searchMs, 0)} ms (+ ${f(patcherMs, 0)} ms Patcher set-up): ${f(out.edgesPerSec, 1)} edges/s, ${f(out.msPerEdge, 2)} ms/edge`);
  line(`  full forward over the same batch: ${f(out.forwardMs, 2)} ms → saving factor ${f(out.savingFactor, 2)}x`);
  return out;
}

async function benchEap(gpt, edgesReport) {
  section("8. EAP and EAP-IG vs ACDC: time and agreement");
  const out = {};
  // (a) tracr-reverse, where the ground truth is known: ACDC's and EAP-IG's edge AUC.
  const task = tracrTask("tracr-reverse");
  const tm = await createTracrModel(task);
  const tg = buildGraph(task.cfg, task.graphOptions);
  const truthPairs = task.groundTruth.map(([a, b]) => [a, b]);
  let t = performance.now();
  const sw = sweep({ model: tm, graph: tg, data: task.data, metric: () => task.metric, ablation: "zero", thresholds: logspace(-5, -1, 21), groundTruth: truthPairs });
  const acdcSweepMs = performance.now() - t;
  const counted = tg.edges.filter((e) => e.type !== "placeholder").map((e) => e.id);
  const truth = new Set(truthPairs.map(([a, b]) => edgeKey(a, b)));
  const aucOf = (scores) => {
    const order = [...counted].sort((a, b) => Math.abs(scores[b]) - Math.abs(scores[a]) || a - b);
    const pts = [];
    for (let k = 0; k <= order.length; k++) {
      const chosen = new Uint8Array(tg.edges.length);
      for (const id of order.slice(0, k)) chosen[id] = 1;
      const present = pruneToOutput(tg, chosen);
      const kept = new Set(tg.edges.filter((e) => e.type !== "placeholder" && present[e.id]).map((e) => edgeKey(tg.nodes[e.parent].label, tg.nodes[e.child].label)));
      const c = confusion(kept, truth, counted.length);
      pts.push({ fpr: c.fpr, tpr: c.tpr });
    }
    return rocAuc(pts);
  };
  const tracrRows = [["ACDC (21 thresholds)", f(acdcSweepMs, 1), f(sw.edgeAuc, 3)]];
  for (const steps of [0, 5]) {
    const p = new Patcher(tm, tg, task.data, { ablation: "zero", metric: task.metric });
    t = performance.now();
    const { scores } = eapScores(p, { steps });
    tracrRows.push([steps ? `EAP-IG (m=${steps})` : "EAP", f(performance.now() - t, 1), f(aucOf(scores), 3)]);
  }
  line("  tracr-reverse (106 edges, zero ablation, task metric): edge-level ROC AUC against the ground truth");
  line("  (EAP curves sweep k over the top-k edges by |score|, pruned to the output)");
  table(["method", "ms", "AUC"], tracrRows);
  out.tracr = tracrRows;

  // (b) a small random model: agreement of EAP-IG's top-k with ACDC's circuit.
  const { small, model, B, T, clean, corrupted, g } = await smallTask();
  const data = { clean, corrupted, positions: clean.map(() => T - 1) };
  const pa = new Patcher(model, g, data, { ablation: "corrupted", metric: klMetric() });
  const res = acdc(pa, { threshold: 1e-4 });
  const k = res.edges.length;
  const rows = [["ACDC τ=1e-4", f(res.searchMs, 0), String(k), "-", res.metric.toExponential(2)]];
  const acdcSet = new Set(res.edges.map((e) => e.id));
  for (const steps of [0, 5]) {
    const p = new Patcher(model, g, data, { ablation: "corrupted", metric: klMetric() });
    const x = eap(p, { topK: k, steps });
    const overlap = x.edges.filter((e) => acdcSet.has(e.id)).length;
    rows.push([steps ? `EAP-IG m=${steps}, top ${k}` : `EAP, top ${k}`, f(x.scoreMs, 0), String(x.edges.length), `${overlap} (${f((100 * overlap) / k, 0)}%)`, x.metric.toExponential(2)]);
  }
  line();
  line(`  random L=${small.nLayers} D=${small.dModel} H=${small.nHeads} model, ${B}x${T} tokens, KL at the last position, corrupted ablation`);
  line("  (plain EAP with KL scores ~0 everywhere: the clean run is KL's minimum, so its ranking rests on rounding-level gradients)");
  table(["method", "ms", "edges kept", "overlap with ACDC", "circuit KL"], rows);
  out.small = rows;

  // (c) GPT-2-small shape: all 32,923 edges scored at once vs the ACDC estimate.
  if (gpt) {
    const rg = rng(7);
    const cl = randomTokens(10, 16, GPT2.dVocab, rg), co = randomTokens(10, 16, GPT2.dVocab, rg);
    const gg = buildGraph(gpt.cfg);
    const p = new Patcher(gpt.model, gg, { clean: cl, corrupted: co, positions: cl.map(() => 15) }, { ablation: "corrupted", metric: klMetric() });
    const times = [];
    for (const steps of QUICK ? [5] : [0, 5]) {
      t = performance.now();
      eapScores(p, { steps });
      times.push([steps ? `EAP-IG (m=${steps})` : "EAP", performance.now() - t]);
    }
    const perEdge = edgesReport?.weightedMeanMs;
    const total = gg.counts.addition + gg.counts.direct;
    line();
    line(`  GPT-2-small shape, 10x16 tokens: every one of ${total} edges scored`);
    table(["method", "s", "vs ACDC (every edge tried once)"], times.map(([name, ms]) => [name, f(ms / 1e3, 2), perEdge ? `${f((perEdge * total) / ms, 0)}x faster` : "-"]));
    if (perEdge) line(`  ACDC estimate: ${f(perEdge, 0)} ms per edge (section 6) x ${total} = ${f((perEdge * total) / 6e4, 0)} min`);
    out.gpt2 = times;
  }
  return out;
}

// ---- 9. threads: 1 vs N --------------------------------------------------------------------------

/** Whether two arrays hold the same numbers bit for bit (same length, Object.is per element). */
function compareBits(a, b) {
  let same = a.length === b.length;
  for (let i = 0; same && i < a.length; i++) same = Object.is(a[i], b[i]);
  return { same };
}

async function benchThreads(n) {
  section(`9. Threads: 1 vs ${n} (createEngine({ threads: ${n} }), shared memory + worker pool)`);
  line(`  load average now: ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}; ${report.machine.cpus} logical CPUs (other processes take cores from the pool)`);
  line("  1- and N-thread runs alternate (A B A B ...) so both see the same machine; ratios use the best samples");
  let t = performance.now();
  const one = await createEngine();
  const oneMs = performance.now() - t;
  t = performance.now();
  const many = await createEngine({ threads: n });
  const manyMs = performance.now() - t;
  line(`  createEngine(): 1 thread ${f(oneMs, 0)} ms; ${n} threads ${f(manyMs, 0)} ms (start ${n - 1} workers, instantiate, warm-up), build ${many.build}, threads ${many.threads}`);
  const out = { threads: n, engineThreads: many.threads, createMs: { one: oneMs, many: manyMs }, loadavgStart: os.loadavg() };
  if (many.threads !== n) line(`  WARNING: got ${many.threads} threads (fell back)`);

  // (a) SGEMM at the GPT-2 shapes.
  const engines = [one, many];
  const mem = engines.map((e) => ({ A: e.upload(gemmData.A), B: e.upload(gemmData.B), C: e.allocF32(Math.max(...SHAPES.map(([M, N]) => M * N))) }));
  const gemmRows = [];
  for (const sh of SHAPES) {
    const [M, N, K] = sh;
    const runs = engines.map((e, i) => () => e.k.sgemm(0, 0, M, N, K, mem[i].A, K, mem[i].B, N, mem[i].C, N, 0, 0, e.gemmWork));
    for (const r of runs) await warmup(r, 3, 200);
    const res = [[], []];
    for (let rep = 0; rep < 2; rep++) for (let i = 0; i < 2; i++) res[i].push(await bench(`sgemm ${shapeName(sh)} x${i ? n : 1}`, runs[i], P.gemm));
    const best = res.map((rs) => Math.min(...rs.map((x) => x.bestMs)));
    const meanMs = res.map((rs) => Math.min(...rs.map((x) => x.meanMs)));
    const bits = compareBits(one.f32(mem[0].C, M * N), many.f32(mem[1].C, M * N));
    gemmRows.push({ shape: sh, bestMs: best, meanMs, gflopsBest: best.map((b) => gflop(sh) / (b / 1e3)), gflopsMean: meanMs.map((b) => gflop(sh) / (b / 1e3)), speedup: best[0] / best[1], sameBits: bits.same });
  }
  const s1 = new Map((report.sgemm ?? []).map((o) => [shapeName(o.shape), o.gflopsBest]));
  line();
  line("  (a) SGEMM, C[M,N] = A[M,K]·B[K,N] (section 1's shapes and data)");
  table(["M x N x K", "1t GFLOP/s best", `${n}t GFLOP/s best`, "speedup", "1t mean", `${n}t mean`, "section 1 (1t)", "bits"],
    gemmRows.map((o) => [shapeName(o.shape), f(o.gflopsBest[0], 2), f(o.gflopsBest[1], 2), f(o.speedup, 2) + "x", f(o.gflopsMean[0], 2), f(o.gflopsMean[1], 2),
      f(s1.get(shapeName(o.shape)), 2), o.sameBits ? "identical" : "DIFFER"]));
  out.sgemm = gemmRows;

  // (b) + (c): the GPT-2-small-shaped model on each engine (same weights).
  {
    line();
    line("  building the GPT-2-small-shaped random model on both engines ...");
    const models = [];
    for (const e of engines) models.push((await buildModel(GPT2, 3, e)).model);
    const cfg = models[0].cfg;
    const r = rng(11);
    const fwdRows = [];
    for (let si = 0; si < P.forwardShapes.length; si++) {
      const [B, T] = P.forwardShapes[si];
      const tokens = randomTokens(B, T, cfg.dVocab, r);
      const runs = models.map((m) => () => { m.forward(tokens); });
      for (const run of runs) await warmup(run, si === 0 ? 2 : 1, 0);
      const res = [[], []];
      for (let rep = 0; rep < 2; rep++) for (let i = 0; i < 2; i++) res[i].push(await bench(`forward ${B}x${T} x${i ? n : 1}`, runs[i], P.forwardBench[si]));
      const best = res.map((rs) => Math.min(...rs.map((x) => x.bestMs)));
      const bits = compareBits(models[0].forward(tokens).logits, models[1].forward(tokens).logits);
      fwdRows.push({ B, T, bestMs: best, tokensPerSec: best.map((b) => (B * T) / (b / 1e3)), speedup: best[0] / best[1], sameBits: bits.same });
    }
    const s5 = new Map((report.forward ?? []).map((o) => [`${o.B}x${o.T}`, o.tokensPerSec]));
    line();
    line("  (b) forward pass, GPT-2-small shape (section 5's), tokens/s from the best sample");
    table(["batch x tokens", "1t ms", `${n}t ms`, "1t tokens/s", `${n}t tokens/s`, "speedup", "section 5 (1t, mean)", "logits"],
      fwdRows.map((o) => [`${o.B} x ${o.T}`, f(o.bestMs[0], 0), f(o.bestMs[1], 0), f(o.tokensPerSec[0], 1), f(o.tokensPerSec[1], 1), f(o.speedup, 2) + "x",
        f(s5.get(`${o.B}x${o.T}`), 1), o.sameBits ? "identical" : "DIFFER"]));
    out.forward = fwdRows;

    // (c) ACDC edge trials on GPT-2 small (section 6's set-up), each edge on both engines in turn.
    const re = rng(21);
    const B = 10, T = 16;
    const clean = randomTokens(B, T, cfg.dVocab, re), corrupted = randomTokens(B, T, cfg.dVocab, re);
    const g = buildGraph(cfg);
    const ps = models.map((m) => new Patcher(m, g, { clean, corrupted, positions: clean.map(() => T - 1) }, { ablation: "corrupted", metric: klMetric() }));
    const { strata, sample, layerOf } = edgeSample(g, re);
    for (const p of ps) { p.trial(strata.get(cfg.nLayers)[0].id); p.reject(); }
    const times = [[], []];
    let sameMetric = true;
    for (const ed of sample) {
      const m = [0, 0];
      for (let i = 0; i < 2; i++) {
        const s0 = performance.now();
        m[i] = ps[i].trial(ed.id);
        ps[i].reject();
        times[i].push({ layer: layerOf(ed), ms: performance.now() - s0 });
      }
      if (!Object.is(m[0], m[1])) sameMetric = false;
    }
    const perEdge = times.map((ts) => weightedEdgeMs(ts, strata));
    const edgeRow = { sampled: sample.length, msPerEdge: perEdge, edgesPerSec: perEdge.map((x) => 1e3 / x), speedup: perEdge[0] / perEdge[1], sameMetrics: sameMetric };
    line();
    line(`  (c) ACDC edge trials, GPT-2 small, 10x16 tokens (section 6's set-up): ${sample.length} sampled edges, each tried on both engines in turn`);
    table(["", "1 thread", `${n} threads`, "speedup", "section 6 (1t)", "metrics"],
      [["ms per edge (layer-weighted)", f(perEdge[0], 1), f(perEdge[1], 1), "", f(report.edges?.weightedMeanMs, 1), ""],
        ["edges/s", f(edgeRow.edgesPerSec[0], 2), f(edgeRow.edgesPerSec[1], 2), f(edgeRow.speedup, 2) + "x", f(report.edges?.edgesPerSec, 2), sameMetric ? "identical" : "DIFFER"]]);
    out.edges = edgeRow;
    models.length = 0;
  }

  // (d) a whole acdc() search on section 7's small model, on each engine twice, alternating.
  {
    const tasks = [];
    for (const e of engines) tasks.push(await smallTask(e));
    const { small, B, T, clean, corrupted, g } = tasks[0];
    const models = tasks.map((x) => x.model);
    const runs = [[], []];
    for (let rep = 0; rep < 2; rep++) for (let i = 0; i < 2; i++) {
      const e = engines[i], mark = e.mark();
      const p = new Patcher(models[i], g, { clean, corrupted, positions: clean.map(() => T - 1) }, { ablation: "corrupted", metric: klMetric() });
      const res = acdc(p, { threshold: 1e-4 });
      runs[i].push({ searchMs: res.searchMs, tested: res.tested, kept: res.edges.length, trace: Float64Array.from(res.trace.map((d) => d.metric)) });
      e.reset(mark);
    }
    const best = runs.map((rs) => rs.reduce((a, b) => (b.searchMs < a.searchMs ? b : a)));
    const bits = compareBits(best[0].trace, best[1].trace);
    const acdcRow = { tested: best[0].tested, kept: best.map((b) => b.kept), searchMs: best.map((b) => b.searchMs), edgesPerSec: best.map((b) => b.tested / (b.searchMs / 1e3)), sameTrace: bits.same && best[0].kept === best[1].kept };
    acdcRow.speedup = acdcRow.edgesPerSec[1] / acdcRow.edgesPerSec[0];
    line();
    line(`  (d) a whole acdc() search, section 7's small model (L=${small.nLayers} D=${small.dModel}), ${acdcRow.tested} edges tested, best of 2 runs each`);
    table(["", "1 thread", `${n} threads`, "speedup", "section 7 (1t)", "trace"],
      [["search ms", f(acdcRow.searchMs[0], 0), f(acdcRow.searchMs[1], 0), "", f(report.acdc?.searchMs, 0), ""],
        ["edges/s", f(acdcRow.edgesPerSec[0], 1), f(acdcRow.edgesPerSec[1], 1), f(acdcRow.speedup, 2) + "x", f(report.acdc?.edgesPerSec, 1), acdcRow.sameTrace ? "identical" : "DIFFER"]]);
    out.acdc = acdcRow;
  }
  many.dispose();
  out.loadavgEnd = os.loadavg();
  line();
  line(`  load average at the end of this section: ${out.loadavgEnd.map((x) => x.toFixed(2)).join(" ")}`);
  return out;
}

// ---- main -------------------------------------------------------------------------------------

async function main() {
  const m = (report.machine = machine());
  line(`acdc-wasm benchmarks (${report.mode} run${ONLY.length < SECTIONS.length ? `, sections: ${ONLY.join(",")}` : ""})`);
  line(`  CPU:  ${m.cpuModel}${m.cpuFamily ? ` (family ${m.cpuFamily} model ${m.cpuModelNo}, ${m.mhz} MHz)` : ""}; ${m.cpus} logical CPUs; host SIMD: ${m.simd ?? "?"}`);
  line(`  Node: ${m.node} (V8 ${m.v8}); ${m.platform}; ${m.memGiB} GiB RAM`);
  line(`  load average at start: ${os.loadavg().map((x) => x.toFixed(2)).join(" ")} (other processes on this machine skew timings)`);
  line(`  Everything runs on one thread${THREADS ? ` except section 9 (${THREADS} threads)` : ""}; ratios use each engine's best (fastest) sample.`);
  report.loadavgStart = os.loadavg();

  if (want("sgemm")) report.sgemm = await benchSgemm();
  if (want("ort")) {
    try { report.ort = await benchOrt(report.sgemm); } catch (e) { line(`  onnxruntime-web FAILED: ${errMsg(e)}`); report.ort = { skipped: errMsg(e) }; }
  }
  if (want("blas")) {
    try { report.openblas = benchOpenBLAS(report.sgemm); } catch (e) { line(`  OpenBLAS FAILED: ${errMsg(e)}`); report.openblas = { skipped: errMsg(e) }; }
  }
  if (want("peak")) report.peak = await benchPeak();

  if (report.sgemm) {
    section("Summary: SGEMM, ours vs peer and limits (best samples, GFLOP/s)");
    const get = (rows, sh, pred = () => true) => rows?.find?.((o) => shapeName(o.shape) === shapeName(sh) && pred(o) && !o.error)?.gflopsBest ?? null;
    const peak = report.peak?.peakGflops ?? null;
    table(["M x N x K", "ours", "ORT inputs", "ORT const B", "OpenBLAS", "wasm peak", "ours/ORT", "ours/OpenBLAS", "ours/peak"],
      SHAPES.map((sh) => {
        const us = get(report.sgemm, sh), oi = get(report.ort?.results, sh, (o) => o.variant === "inputs"),
          oc = get(report.ort?.results, sh, (o) => o.variant === "const B"), nb = get(report.openblas?.results, sh);
        const ratio = (a, b) => (a && b ? f(a / b, 2) + "x" : "-");
        return [shapeName(sh), f(us, 2), f(oi, 2), f(oc, 2), f(nb, 2), f(peak, 2), ratio(us, oi), ratio(us, nb), ratio(us, peak)];
      }));
    line("  ours/ORT is against the 'inputs' variant (same work per call). OpenBLAS uses AVX2 FMA (8 lanes, fused);");
    line("  WebAssembly SIMD has 4 lanes and no FMA, so 'wasm peak' is the ceiling for any wasm kernel here.");
  }

  let gpt = null;
  if (want("forward") || want("edges") || want("eap")) {
    line();
    line("Building the GPT-2-small-shaped random model ...");
    gpt = await buildModel(GPT2);
    line(`  random weights ${f(gpt.weightsMs, 0)} ms, upload into wasm ${f(gpt.createMs, 0)} ms, wasm memory ${f(gpt.model.engine.memory.buffer.byteLength / 2 ** 20, 0)} MiB`);
    report.gpt2 = { config: GPT2, weightsMs: gpt.weightsMs, createMs: gpt.createMs };
  }
  if (want("forward")) {
    report.forward = await benchForward(gpt);
    const bd = (report.forwardBreakdown = await forwardBreakdown(gpt));
    line();
    line(`  where a ${bd.B}x${bd.T} forward goes (each component timed once on its own, x layers):`);
    table(["component", "ms", "share"], [...bd.rows.map((o) => [o.name + (o.times > 1 ? ` x${o.times}` : ""), f(o.ms, 0), f((100 * o.ms) / bd.sumMs, 0) + "%"]), ["sum", f(bd.sumMs, 0), "100%"]]);
  }
  if (want("edges")) report.edges = await benchEdges(gpt);
  if (want("acdc")) report.acdc = await benchAcdc();
  if (want("eap")) report.eap = await benchEap(gpt, report.edges);
  gpt = null;
  if (want("threads")) report.threads = await benchThreads(THREADS);

  report.totalSec = (performance.now() - t0) / 1e3;
  report.loadavgEnd = os.loadavg();
  line();
  line(`done in ${f(report.totalSec, 0)} s; load average at end: ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  if (JSON_OUT) {
    writeFileSync(JSON_OUT, JSON.stringify(report, null, 2) + "\n");
    line(`wrote ${JSON_OUT}`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
