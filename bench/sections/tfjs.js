// Section 2b: the second WebAssembly peer, TensorFlow.js's wasm backend
// (XNNPACK, 1 thread), running tf.matMul at section 1's shapes and data.
// Skips with a reason when TensorFlow.js cannot load or run.
import { createRequire } from "node:module";
import path from "node:path";
import { line, section, f, table, errMsg, peerSection } from "../lib/report.js";
import { bench, warmup } from "../lib/timing.js";
import { SHAPES, shapeName, gflop, gemmData, checkGemm } from "../lib/gemm.js";

export const run = peerSection("tfjs", "TensorFlow.js wasm", benchTfjs);

async function benchTfjs({ P, report }) {
  section("2b. Peer: TensorFlow.js WebAssembly backend (XNNPACK), 1 thread, tf.matMul");
  let tf, wasm;
  try {
    tf = await import("@tensorflow/tfjs-core");
    wasm = await import("@tensorflow/tfjs-backend-wasm");
  } catch (e) {
    line(`  SKIPPED: cannot import @tensorflow/tfjs-core / tfjs-backend-wasm (${errMsg(e)}); run npm install`);
    return { skipped: `import failed: ${errMsg(e)}` };
  }
  // The backend's default locateFile assumes a bundler or a web server; the
  // .wasm binaries ship in the package's dist/, so read them from there.
  const require = createRequire(import.meta.url);
  wasm.setWasmPaths(path.join(path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist") + path.sep);
  wasm.setThreadsCount(1); // must precede setBackend: the count is fixed when the module initialises
  // setBackend reports a failed init by resolving false after several console
  // lines of its own (Emscripten's abort, a bundler hint); hold them back so a
  // failure stays one line, with the first of them as the reason.
  const said = [], { warn, error } = console;
  console.warn = console.error = (...a) => said.push(a.map(String).join(" "));
  let ok;
  try { ok = await tf.setBackend("wasm"); } finally { Object.assign(console, { warn, error }); }
  if (!ok) throw new Error(`tf.setBackend('wasm') failed: ${said[0] ?? "no reason given"}`);
  for (const s of said) line(`  (TensorFlow.js: ${s.split("\n")[0]})`);
  await tf.ready();
  const simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT");
  const threaded = tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT");
  // The backend picks its binary from these two flags alone (init() in backend_wasm.js).
  const wasmFile = simd && threaded ? "tfjs-backend-wasm-threaded-simd.wasm" : simd ? "tfjs-backend-wasm-simd.wasm" : "tfjs-backend-wasm.wasm";
  const threads = wasm.getThreadsCount();
  const version = tf.version_core;
  line(`  @tensorflow/tfjs-core ${version}, tfjs-backend-wasm ${wasm.version_wasm}; binary ${wasmFile} (WASM_HAS_SIMD_SUPPORT=${simd}, WASM_HAS_MULTITHREAD_SUPPORT=${threaded}), threads=${threads}`);
  if (!simd) line("  NOTE: no SIMD build in use: these numbers are the scalar fallback, not the SIMD peer");
  line("  A is one tensor made once; each call runs tf.matMul, then dataSync() copies C out of the wasm heap and dispose() frees it");
  line("  'new B': a fresh B tensor each call (copied into the heap, packed by XNNPACK per call: the same work per call as ours)");
  line("  'const B': one B tensor made once; XNNPACK packs it at the first call and caches the packed operator on that tensor");
  const data = gemmData();
  const res = [];
  for (const sh of SHAPES) {
    const [M, N, K] = sh;
    const Ah = data.A.subarray(0, M * K), Bh = data.B.subarray(0, K * N);
    const A = tf.tensor2d(Ah, [M, K]);
    for (const variant of ["new B", "const B"]) {
      const row = { shape: sh, variant };
      const constB = variant === "const B" ? tf.tensor2d(Bh, [K, N]) : null;
      try {
        let out = null;
        const run = () => {
          const B = constB ?? tf.tensor2d(Bh, [K, N]);
          const C = tf.matMul(A, B);
          out = C.dataSync();
          C.dispose();
          if (!constB) B.dispose();
        };
        await warmup(run, 3, 300);
        const r = await bench(`tfjs ${variant} ${shapeName(sh)}`, run, P.gemm);
        Object.assign(row, r, { gflops: gflop(sh) / (r.meanMs / 1e3), gflopsBest: gflop(sh) / (r.bestMs / 1e3), relErr: checkGemm(Ah, Bh, out, sh) });
      } catch (e) {
        row.error = errMsg(e);
      } finally {
        constB?.dispose();
      }
      res.push(row);
    }
    A.dispose();
  }
  const oursBy = new Map((report.sgemm ?? []).map((o) => [shapeName(o.shape), o]));
  table(["M x N x K", "variant", "mean ms", "±rme%", "GFLOP/s mean", "GFLOP/s best", "check", "ours/TF.js (best)"],
    res.map((o) => {
      if (o.error) return [shapeName(o.shape), o.variant, "FAILED", "", "", "", "", o.error];
      const us = oursBy.get(shapeName(o.shape));
      o.ratioOursOverPeer = us ? us.gflopsBest / o.gflopsBest : null;
      return [shapeName(o.shape), o.variant, f(o.meanMs, 2), f(o.rmePct, 1), f(o.gflops, 2), f(o.gflopsBest, 2), o.relErr.toExponential(1), us ? f(o.ratioOursOverPeer, 2) + "x" : "-"];
    }));
  if (res.every((o) => o.error)) line(`  TensorFlow.js could not run: ${res[0].error}`);
  line("  check = max relative error of 16 sampled entries vs a float64 dot product; ours/TF.js needs section 1 in the same run");
  return { version, wasmVersion: wasm.version_wasm, wasmFile, simd, threaded, threads, results: res };
}
