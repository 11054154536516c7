// What the report says about the machine: Node/V8, OS, CPU model and SIMD flags, RAM.
import { readFileSync } from "node:fs";
import os from "node:os";

export function machine() {
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
