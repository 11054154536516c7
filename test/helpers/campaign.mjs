// The bad-input campaign's machinery (test/node/campaign.test.mjs): run a
// case through the real CLI in its own folder with a timeout, classify how
// it ended, and build or take apart safetensors files byte by byte (written
// here, not with the package's writer, so a writer bug cannot hide a reader
// bug). A case ends well when it exits 2 with exactly one line on stderr and
// no stack trace, or exits 0 and its own check proves the result right.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { root } from "./fixtures.mjs";

export const bin = join(root, "bin", "acdc.js");

/**
 * The environment a user's shell would give: without tap's NODE_OPTIONS
 * (its process-info hook doubles each CLI start and installs signal
 * handlers that would hide how Ctrl-C really behaves) or TAP_* variables.
 * tap puts NODE_OPTIONS back into every spawn's environment, so the CLI is
 * started through `env -u NODE_OPTIONS` (exec: same pid, signals reach node).
 */
const userEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "NODE_OPTIONS" && !/^(TAP|_TAPJS)/.test(k)));
const envBin = existsSync("/usr/bin/env") ? "/usr/bin/env" : null;

/**
 * Run `node bin/acdc.js ...args` in `cwd`; resolves to {code, signal, stdout,
 * stderr, ms, hung}. `onSpawn(child)` may kill it (interruption cases).
 */
export function runCli(args, { cwd, env = {}, timeoutMs = 20_000, onSpawn } = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const [cmd, pre] = envBin ? [envBin, ["-u", "NODE_OPTIONS", process.execPath]] : [process.execPath, []];
    const child = spawn(cmd, [...pre, bin, ...args], { cwd, env: { ...userEnv, HF_TOKEN: "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "", hung = false;
    child.stdout.on("data", (d) => { stdout += d; });
    child.stderr.on("data", (d) => { stderr += d; });
    const timer = setTimeout(() => { hung = true; child.kill("SIGKILL"); }, timeoutMs);
    onSpawn?.(child);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0, hung });
    });
  });
}

/** Why an exit-2 result is not a clean one-line error, or null when it is. */
export function oneLineError(r) {
  if (r.code !== 2) return `exit ${r.code}${r.signal ? ` (${r.signal})` : ""}`;
  if (/\n\s+at /.test(r.stderr)) return "stack trace on stderr";
  const lines = r.stderr.split("\n").filter((l) => l.length);
  if (lines.length !== 1) return `${lines.length} lines on stderr`;
  if (!/^acdc( \w+)?: \S/.test(lines[0])) return `stderr is not an "acdc CMD: message" line`;
  return null;
}

/**
 * Run cases in parallel (at most `jobs` at a time), each in dir/<index>.
 * A case: {name, args | (dir) => args, setup?(dir), env?, timeoutMs?,
 * expect: "error" | "ok" | "either", match?: RegExp (the error line),
 * check?(r, dir) → failure reason or null (required for "ok"/"either"),
 * onSpawn?(child)}. Resolves to one outcome per case:
 * {c, r, kind: "error" | "ok" | "fail", why}.
 */
export async function runCases(cases, dir, jobs) {
  const out = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      const c = cases[i];
      const cwd = join(dir, String(i));
      mkdirSync(cwd, { recursive: true });
      let r, kind, why = null;
      try {
        await c.setup?.(cwd);
        const args = typeof c.args === "function" ? c.args(cwd) : c.args;
        r = await runCli(args, { cwd, env: typeof c.env === "function" ? c.env(cwd) : c.env, timeoutMs: c.timeoutMs, onSpawn: c.onSpawn });
        if (r.hung) { kind = "fail"; why = `hung (killed after ${(c.timeoutMs ?? 20_000) / 1000} s)`; }
        else if (r.code === 0 && c.expect !== "error") {
          why = await c.check(r, cwd);
          kind = why ? "fail" : "ok";
        } else if (r.code === 2 && c.expect !== "ok") {
          why = oneLineError(r);
          if (!why && c.match && !c.match.test(r.stderr)) why = `message does not match ${c.match}`;
          if (!why && c.afterError) why = await c.afterError(r, cwd);
          kind = why ? "fail" : "error";
        } else {
          kind = "fail";
          why = `expected ${c.expect}, got exit ${r.code}${r.signal ? ` (${r.signal})` : ""}`;
        }
      } catch (e) {
        kind = "fail";
        why = `harness: ${e.stack ?? e}`;
      }
      out[i] = { c, r, kind, why };
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  return out;
}

// --- safetensors, by hand ---------------------------------------------------

/** Split a safetensors file into its header object (key order kept) and each tensor's raw bytes. */
export function splitSafetensors(bytes) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const start = 8 + n;
  const tensors = [];
  for (const [name, e] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    tensors.push({ name, dtype: e.dtype, shape: e.shape, bytes: bytes.slice(start + e.data_offsets[0], start + e.data_offsets[1]) });
  }
  return { header, tensors, metadata: header.__metadata__ };
}

/**
 * A safetensors file from tensors [{name, dtype, shape, bytes}] in order,
 * packed back to back. `edit(header)` may change the header object before
 * it is written; `headerText(text)` the JSON text itself.
 */
export function joinSafetensors(tensors, { metadata, edit, headerText, pad = true } = {}) {
  let header = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.bytes.length] };
    off += t.bytes.length;
  }
  if (edit) header = edit(header) ?? header;
  let text = JSON.stringify(header);
  if (headerText) text = headerText(text);
  let hb = new TextEncoder().encode(text);
  if (pad) { const p = new Uint8Array(hb.length + ((8 - (hb.length % 8)) % 8)).fill(0x20); p.set(hb); hb = p; }
  const out = new Uint8Array(8 + hb.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const t of tensors) { out.set(t.bytes, p); p += t.bytes.length; }
  return out;
}

/** f32 values of raw little-endian F32 bytes (a copy). */
export const f32 = (bytes) => new Float32Array(bytes.slice().buffer);
/** Raw bytes of f32 values. */
export const f32Bytes = (vals) => new Uint8Array(Float32Array.from(vals).buffer);

/** Round f32 to the nearest f16 and return its bits (ties to even; no overflow in the fixtures' range). */
export function toF16Bits(x) {
  const f = new Float32Array([x]), u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000, e = ((u >>> 23) & 0xff) - 127 + 15, m = u & 0x7fffff;
  if (e <= 0) {
    // Subnormal half: value = m' · 2^-24.
    const v = Math.abs(x) / 2 ** -24, r = Math.round(v), rr = v - Math.floor(v) === 0.5 ? (Math.floor(v) % 2 ? Math.ceil(v) : Math.floor(v)) : r;
    return sign | rr;
  }
  let half = (e << 10) | (m >>> 13);
  const rest = m & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half++;
  return sign | half;
}

/** The f32 value of f16 bits (exact). */
export function fromF16Bits(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  return e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
}
