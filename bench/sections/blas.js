// Section 3: the native limit, OpenBLAS cblas_sgemm at 1 thread, timed inside
// bench/native/sgemm.c (compiled now with gcc -O2 -lopenblas into a temp
// dir). Skips with the apt-get line when the header, library or gcc is missing.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { line, section, f, table, peerSection } from "../lib/report.js";
import { SHAPES, shapeName, gflop } from "../lib/gemm.js";

const SOURCE = fileURLToPath(new URL("../native/sgemm.c", import.meta.url));

export const run = peerSection("openblas", "OpenBLAS", benchOpenBLAS);

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

function benchOpenBLAS({ P, report }) {
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
    const inc = header.startsWith("/usr/include/openblas") ? ["-I/usr/include/openblas"] : [];
    const cc = spawnSync("gcc", ["-O2", ...inc, "-o", join(dir, "sgemm"), SOURCE, "-lopenblas", "-lm"], { encoding: "utf8" });
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
    const oursBy = new Map((report.sgemm ?? []).map((o) => [shapeName(o.shape), o]));
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
