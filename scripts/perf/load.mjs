// Time to load GPT-2-small-geometry weights from a file (engine made → model
// loaded), f32 and the same values stored as BF16 and F16 (16-bit copies of
// the perf file, written once beside it; a 16-bit matrix is kept 16-bit, as
// loadModel does by default). With $A, that build and this checkout's
// alternate in one process. Wall ms of each load, --reps of them.
//   node scripts/perf/load.mjs [--threads 1] [--reps 4]   (A=/tmp/base/dist to compare)
import { closeSync, existsSync, openSync, readSync, renameSync, writeSync } from "node:fs";
import { DIST, GPT2, openBuild, weightsFile } from "./common.mjs";

const opt = (n, d) => { const i = process.argv.indexOf(n); return i > 0 ? Number(process.argv[i + 1]) : d; };
const threads = opt("--threads", 1), reps = opt("--reps", 4);

/** f32 bits → bf16 (the top half) or f16 (round toward zero; the perf weights are far from f16's limits). */
const toBf16 = (u) => u >>> 16;
function toF16(u) {
  const s = (u >>> 16) & 0x8000, e = ((u >>> 23) & 0xff) - 112, m = u & 0x7fffff;
  return e <= 0 ? s : e >= 31 ? s | 0x7bff : s | (e << 10) | (m >>> 13);
}

/** A 16-bit copy of the f32 safetensors file at `src`, written once. */
function sixteenBitCopy(src, dtype) {
  const path = src.replace(/\.safetensors$/, `-${dtype.toLowerCase()}.safetensors`);
  if (existsSync(path)) return path;
  const fd = openSync(src, "r"), len = Buffer.alloc(8);
  readSync(fd, len, 0, 8, 0);
  const hl = Number(len.readBigUInt64LE(0)), hb = Buffer.alloc(hl);
  readSync(fd, hb, 0, hl, 8);
  const header = JSON.parse(hb.toString()), names = Object.keys(header).sort((a, b) => header[a].data_offsets[0] - header[b].data_offsets[0]);
  const out = {};
  let off = 0;
  for (const n of names) { const [a, b] = header[n].data_offsets; out[n] = { dtype, shape: header[n].shape, data_offsets: [off, off + (b - a) / 2] }; off += (b - a) / 2; }
  const raw = Buffer.from(JSON.stringify(out)), hdr = Buffer.concat([raw, Buffer.alloc((8 - ((8 + raw.length) % 8)) % 8, 0x20)]);
  const tmp = path + ".part", o = openSync(tmp, "w"), l = Buffer.alloc(8);
  l.writeBigUInt64LE(BigInt(hdr.length));
  writeSync(o, l); writeSync(o, hdr);
  const conv = dtype === "BF16" ? toBf16 : toF16;
  for (const n of names) {
    const [a, b] = header[n].data_offsets, buf = Buffer.alloc(b - a);
    readSync(fd, buf, 0, b - a, 8 + hl + a);
    const u = new Uint32Array(buf.buffer, buf.byteOffset, (b - a) / 4), h = new Uint16Array(u.length);
    for (let i = 0; i < u.length; i++) h[i] = conv(u[i]);
    writeSync(o, new Uint8Array(h.buffer));
  }
  closeSync(o); closeSync(fd);
  renameSync(tmp, path);
  return path;
}

const f32 = weightsFile(), files = [["F32", f32], ["BF16", sixteenBitCopy(f32, "BF16")], ["F16", sixteenBitCopy(f32, "F16")]];
const builds = [...(process.env.A ? [["A", await openBuild(process.env.A)]] : []), ["B", await openBuild(DIST)]];
for (const [dtype, file] of files) {
  const ms = new Map(builds.map(([n]) => [n, []]));
  for (let i = 0; i < reps; i++) for (const [name, b] of builds) {
    const engine = await b.api.createEngine({ threads }), src = b.fileSource(file), t = performance.now();
    await b.api.loadModel(src, GPT2, { engine });
    ms.get(name).push(Math.round(performance.now() - t));
    src.close(); engine.dispose();
  }
  console.log(`${dtype.padEnd(4)} ${threads} thread(s): ` + builds.map(([n, b]) => `${n} (${b.dist}) ${ms.get(n).join(" ")} ms`).join("; "));
}
