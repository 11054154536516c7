// Test-side safetensors reading and writing, and Hugging Face model folders
// (config.json + model.safetensors, or shards + model.safetensors.index.json).
//
// This is support code for the reference oracles and the tiny-model
// generator, written from the safetensors format description (8-byte
// little-endian header length N, N bytes of JSON naming each tensor's dtype,
// shape and [begin, end) byte range relative to the end of the header, then
// the raw little-endian data). It is NOT the package's loader and shares no
// code with src/: a loader bug must not be able to hide behind the oracle.
//
// Float tensors are returned widened: F32 as a Float32Array view or copy,
// F64, F16 and BF16 as Float64Array (every 16-bit value is exact in float64).
// Other dtypes (BOOL, U8, I32, I64...) come back as their raw bytes, since the
// forward passes never read them (they are buffers such as causal masks).
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { join } from "node:path";

/** Bytes per element of each safetensors dtype. */
export const DTYPE_BYTES = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** torch_dtype strings in config.json for the float dtypes a checkpoint is stored in. */
export const TORCH_DTYPE = { F32: "float32", F16: "float16", BF16: "bfloat16", F64: "float64" };

// ---- 16-bit floats ------------------------------------------------------------

const f32buf = new DataView(new ArrayBuffer(4));

/** IEEE half bits -> number (exact). */
export function f16ToNumber(h) {
  const sign = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24; // zero and subnormals
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** bfloat16 bits -> number (exact): the upper half of a float32. */
export function bf16ToNumber(b) {
  f32buf.setUint32(0, (b & 0xffff) << 16, true);
  return f32buf.getFloat32(0, true);
}

// Round a non-negative exactly-representable value to an integer, ties to even.
function roundHalfEven(v) {
  const f = Math.floor(v), d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** number -> IEEE half bits, round to nearest even (what torch's .half() does for float32 input). */
export function numberToF16(x) {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | roundHalfEven(a * 2 ** 24); // subnormal; 1024 lands on the smallest normal, correctly
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--; // log2 may be off by one near powers of two
  if (2 ** (e + 1) <= a) e++;
  let m = roundHalfEven((a / 2 ** e - 1) * 1024); // exact: scaling by a power of two
  if (m === 1024) { m = 0; e++; }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | m;
}

/** number -> bfloat16 bits: to float32 first (as a float32 tensor would be), then round to nearest even on bit 16. */
export function numberToBf16(x) {
  f32buf.setFloat32(0, x, true);
  const u = f32buf.getUint32(0, true);
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x7fffff)) return 0x7fc0; // NaN stays a quiet NaN
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The value a number becomes once stored as `dtype` and read back. */
export function quantize(x, dtype) {
  switch (dtype) {
    case "F64": return x;
    case "F32": return Math.fround(x);
    case "F16": return f16ToNumber(numberToF16(x));
    case "BF16": return bf16ToNumber(numberToBf16(x));
    default: throw new Error(`quantize: not a float dtype: ${dtype}`);
  }
}

// ---- one file --------------------------------------------------------------------

const numel = (shape) => shape.reduce((a, b) => a * b, 1);

/**
 * Encode tensors as one safetensors file.
 * entries: [{ name, dtype, shape, values }] where values is an array-like of
 * numbers for float dtypes, or a Uint8Array of raw little-endian bytes for any dtype.
 * Tensors are laid out in name order; the header is padded with spaces so the
 * data starts on an 8-byte boundary, as the reference implementation does.
 */
export function encodeSafetensors(entries, metadata = { format: "pt" }) {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  const blobs = [];
  for (const { name, dtype, shape, values } of sorted) {
    const size = DTYPE_BYTES[dtype];
    if (!size) throw new Error(`${name}: unknown dtype ${dtype}`);
    const n = numel(shape), bytes = new Uint8Array(n * size), dv = new DataView(bytes.buffer);
    if (values instanceof Uint8Array) {
      if (values.length !== bytes.length) throw new Error(`${name}: ${values.length} raw bytes for ${bytes.length}`);
      bytes.set(values);
    } else {
      if (values.length !== n) throw new Error(`${name}: ${values.length} values for shape [${shape}]`);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        switch (dtype) {
          case "F64": dv.setFloat64(8 * i, v, true); break;
          case "F32": dv.setFloat32(4 * i, v, true); break;
          case "F16": dv.setUint16(2 * i, numberToF16(v), true); break;
          case "BF16": dv.setUint16(2 * i, numberToBf16(v), true); break;
          case "BOOL": case "U8": dv.setUint8(i, v ? (dtype === "BOOL" ? 1 : v) : 0); break;
          default: throw new Error(`${name}: give raw bytes for dtype ${dtype}`);
        }
      }
    }
    header[name] = { dtype, shape, data_offsets: [off, off + bytes.length] };
    blobs.push(bytes);
    off += bytes.length;
  }
  let json = JSON.stringify(header);
  const enc = new TextEncoder();
  while ((8 + enc.encode(json).length) % 8 !== 0) json += " ";
  const hb = enc.encode(json);
  const out = new Uint8Array(8 + hb.length + off), dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const b of blobs) { out.set(b, p); p += b.length; }
  return out;
}

/**
 * Decode one safetensors file into Map name -> { dtype, shape, data }.
 * Checks what a careless writer gets wrong: header bounds, byte counts that
 * match dtype x shape, and data ranges that tile the buffer without gaps or overlap.
 */
export function decodeSafetensors(bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (u8.length < 8) throw new Error("safetensors: shorter than the 8-byte header length");
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (8 + n > u8.length) throw new Error(`safetensors: header length ${n} runs past the file (${u8.length} bytes)`);
  const header = JSON.parse(new TextDecoder().decode(u8.subarray(8, 8 + n)));
  const base = 8 + n, dataLen = u8.length - base;
  const out = new Map(), ranges = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets: [b, e] } = info;
    const size = DTYPE_BYTES[dtype];
    if (!size) throw new Error(`safetensors: ${name} has unknown dtype ${dtype}`);
    if (e - b !== numel(shape) * size) throw new Error(`safetensors: ${name} holds ${e - b} bytes, [${shape}] ${dtype} needs ${numel(shape) * size}`);
    if (b < 0 || e > dataLen) throw new Error(`safetensors: ${name} range [${b}, ${e}) outside the ${dataLen} data bytes`);
    ranges.push([b, e, name]);
    const raw = u8.subarray(base + b, base + e), rdv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const count = numel(shape);
    let data;
    if (dtype === "F32") {
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = rdv.getFloat32(4 * i, true);
    } else if (dtype === "F64") {
      data = new Float64Array(count);
      for (let i = 0; i < count; i++) data[i] = rdv.getFloat64(8 * i, true);
    } else if (dtype === "F16" || dtype === "BF16") {
      data = new Float64Array(count);
      const conv = dtype === "F16" ? f16ToNumber : bf16ToNumber;
      for (let i = 0; i < count; i++) data[i] = conv(rdv.getUint16(2 * i, true));
    } else data = raw.slice();
    out.set(name, { dtype, shape, data });
  }
  ranges.sort((x, y) => x[0] - y[0]);
  let at = 0;
  for (const [b, e, name] of ranges) {
    if (b !== at) throw new Error(`safetensors: ${name} starts at ${b}, expected ${at} (gap or overlap)`);
    at = e;
  }
  if (at !== dataLen) throw new Error(`safetensors: ${dataLen - at} trailing bytes after the last tensor`);
  return out;
}

// ---- Hugging Face folders ---------------------------------------------------------

/**
 * Read a Hugging Face model folder: config.json plus either model.safetensors or
 * model.safetensors.index.json and the shards it names.
 * Returns { config, tensors: Map, files: [names of the weight files read] }.
 */
export function readHfFolder(dir) {
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  const single = join(dir, "model.safetensors"), index = join(dir, "model.safetensors.index.json");
  const tensors = new Map();
  if (existsSync(index)) {
    const { weight_map: wm } = JSON.parse(readFileSync(index, "utf8"));
    const files = [...new Set(Object.values(wm))].sort();
    for (const f of files) {
      for (const [name, t] of decodeSafetensors(readFileSync(join(dir, f)))) {
        if (wm[name] !== f) throw new Error(`${f} holds ${name}, which the index puts in ${wm[name]}`);
        tensors.set(name, t);
      }
    }
    for (const name of Object.keys(wm)) if (!tensors.has(name)) throw new Error(`index names ${name}, no shard holds it`);
    return { config, tensors, files };
  }
  return { config, tensors: decodeSafetensors(readFileSync(single)), files: ["model.safetensors"] };
}

/**
 * Write config.json and the weights. entries as for encodeSafetensors.
 * shards: omit for one model.safetensors, or an array of arrays of tensor names
 * for model-0000i-of-0000n.safetensors files plus the index, as save_pretrained
 * names them. Returns the names of the files written.
 */
export function writeHfFolder(dir, config, entries, { shards } = {}) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2) + "\n");
  if (!shards) {
    writeFileSync(join(dir, "model.safetensors"), encodeSafetensors(entries));
    return ["config.json", "model.safetensors"];
  }
  const byName = new Map(entries.map((e) => [e.name, e]));
  const pad = (i) => String(i).padStart(5, "0");
  const weightMap = {}, written = ["config.json"];
  let total = 0;
  shards.forEach((names, i) => {
    const file = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
    const part = names.map((n) => { const e = byName.get(n); if (!e) throw new Error(`shard names unknown tensor ${n}`); byName.delete(n); return e; });
    for (const e of part) { weightMap[e.name] = file; total += numel(e.shape) * DTYPE_BYTES[e.dtype]; }
    writeFileSync(join(dir, file), encodeSafetensors(part));
    written.push(file);
  });
  if (byName.size) throw new Error(`tensors in no shard: ${[...byName.keys()].join(", ")}`);
  const sortedMap = Object.fromEntries(Object.keys(weightMap).sort().map((k) => [k, weightMap[k]]));
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: total }, weight_map: sortedMap }, null, 2) + "\n");
  written.push("model.safetensors.index.json");
  return written;
}
