// How a file's tensors become the model's parameters, as data: a copy plan
// says which box of a stored tensor fills which elements of a parameter's
// storage (identity, a transpose, a column slice, a head permutation, the
// tied embedding read twice). The executor reads each source once, in
// chunks, converts dtypes on the fly and writes straight into wasm memory,
// so no JavaScript copy of the weights is kept, and files larger than a
// JavaScript buffer load as well. Every value is checked to be finite.
import { WeightError } from "../../errors.js";
import type { Engine } from "../../wasm/engine.js";
import type { Params, ParamSpec } from "../params.js";
import { checkShape, scatterPacked, scatterPackedRows, storageFloats, storageStrides } from "../params.js";
import { DTYPE_BYTES, type ByteSource, type StoredTensor } from "./tensor.js";

/** Where a box of values comes from: a stored tensor's bytes in a file, or an array already in memory. */
export type PlanSource = { stored: StoredTensor; array?: undefined } | { array: Float32Array; stored?: undefined };

/**
 * Copy the box `dims` of a source into a parameter: box element (i0, i1, …)
 * is source element srcOffset + Σ i_k·srcStrides[k] and lands at storage
 * float dstOffset + Σ i_k·dstStrides[k]. Boxes are iterated row-major, so a
 * plan whose srcStrides decrease reads its source sequentially.
 */
export interface CopyPlan {
  param: string;
  /** Source tensor name, for messages. */
  from: string;
  src: PlanSource;
  dims: number[];
  srcOffset: number;
  srcStrides: number[];
  dstOffset: number;
  dstStrides: number[];
}

const rowMajor = (shape: number[]): number[] => {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { st[i] = acc; acc *= shape[i]; }
  return st;
};

/** A whole source tensor in canonical order into a parameter (any layout). */
export function wholePlan(spec: ParamSpec, from: string, src: PlanSource, shape: number[]): CopyPlan {
  checkShape(spec, shape, from);
  return { param: spec.name, from, src, dims: spec.shape.slice(), srcOffset: 0, srcStrides: rowMajor(spec.shape), dstOffset: 0, dstStrides: storageStrides(spec) };
}

/** Source [rows, cols] (row-major, at element offset `offset`) transposed into a plain [cols, rows] parameter. */
export function transposePlan(spec: ParamSpec, from: string, src: PlanSource, rows: number, cols: number, offset = 0): CopyPlan {
  return { param: spec.name, from, src, dims: [rows, cols], srcOffset: offset, srcStrides: [cols, 1], dstOffset: 0, dstStrides: [1, rows] };
}

const F16_TABLE = (() => {
  // Every f16 bit pattern's exact f32 value, once: conversion is a lookup.
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    t[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return t;
})();

/** Decode little-endian stored elements to f32 (bf16 is the top half of an f32; f16 by table). */
function decode(bytes: Uint8Array, dtype: string, n: number): Float32Array {
  const aligned = (bytes.byteOffset % 8 === 0) ? bytes : bytes.slice();
  switch (dtype) {
    case "F32": return new Float32Array(aligned.buffer, aligned.byteOffset, n);
    case "F64": return Float32Array.from(new Float64Array(aligned.buffer, aligned.byteOffset, n));
    case "BF16": {
      const u = new Uint16Array(aligned.buffer, aligned.byteOffset, n), out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = u[i] << 16;
      return new Float32Array(out.buffer);
    }
    case "F16": {
      const u = new Uint16Array(aligned.buffer, aligned.byteOffset, n), out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = F16_TABLE[u[i]];
      return out;
    }
    default: throw new WeightError(`dtype ${dtype} cannot be a weight`);
  }
}

/** n little-endian u16 (a 16-bit float's bits, kept as they are). */
function bits16(bytes: Uint8Array, n: number): Uint16Array {
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
  return new Uint16Array(aligned.buffer, aligned.byteOffset, n);
}

/** Rows [r0, r1) of a plan into a 16-bit parameter's storage, refusing NaN and infinity (exponent bits all ones: `expMask`). */
function copy16(engine: Engine, ptr: number, size: number, vals: Uint16Array, plan: CopyPlan, r0: number, r1: number, first: number,
  rowOffsets: (r: number) => [number, number], expMask: number): void {
  const n = plan.dims.length, inner = plan.dims[n - 1], sIn = plan.srcStrides[n - 1], dIn = plan.dstStrides[n - 1];
  const dst = new Uint16Array(engine.memory.buffer, ptr, size);
  for (let r = r0; r < r1; r++) {
    const [s0, d0] = rowOffsets(r);
    let s = s0 - first, d = d0;
    for (let i = 0; i < inner; i++, s += sIn, d += dIn) {
      const h = vals[s];
      if ((h & expMask) === expMask) throw new WeightError(`tensor "${plan.from}" holds ${h & (expMask === 0x7f80 ? 0x7f : 0x3ff) ? "a NaN" : "an infinity"} (not finite) at element ${s + first}; refusing weights that are NaN or infinite`);
      dst[d] = h;
    }
  }
}

/** Bytes read per chunk: big enough to stream, small enough to stay off the peak. */
const CHUNK_BYTES = 8 << 20;

export interface FillOptions {
  /** Called as bytes are read: (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Fill every parameter from its plans (optional ones without a plan become
 * zero) and refuse non-finite values, naming the tensor and element.
 */
export async function fillParams(engine: Engine, params: Params, plans: CopyPlan[], source: ByteSource | null, opts: FillOptions = {}): Promise<void> {
  const planned = new Set(plans.map((p) => p.param));
  for (const s of params.specs) {
    if (s.tiedTo && planned.has(s.name)) throw new WeightError(`${s.name} is tied to ${s.tiedTo}: it cannot be filled`);
    if (planned.has(s.name) || s.tiedTo) continue;
    if (!s.optional) throw new WeightError(`missing tensor "${s.name}" (shape [${s.shape}])`);
    engine.k.fill(params.ptr(s.name), 0, s.size);
  }
  // A packed matrix's panels are zero past its columns (arena memory may hold anything).
  for (const s of params.specs) if (s.pack && !s.tiedTo) engine.k.fill(params.ptr(s.name), 0, storageFloats(s));
  const total = plans.reduce((a, p) => a + (p.src.stored ? p.dims.reduce((x, y) => x * y, 1) * DTYPE_BYTES[p.src.stored.dtype] : 0), 0);
  let done = 0;
  let chunk = new Uint8Array(0);
  for (const plan of plans) {
    const spec = params.specs.find((s) => s.name === plan.param)!;
    const n = plan.dims.length, inner = plan.dims[n - 1], rows = plan.dims.slice(0, n - 1).reduce((a, b) => a * b, 1);
    const sIn = plan.srcStrides[n - 1], dIn = plan.dstStrides[n - 1];
    // Offsets of row r (all indices but the innermost) in source and destination.
    const rowOffsets = (r: number): [number, number] => {
      let s = plan.srcOffset, d = plan.dstOffset;
      for (let k = n - 2; k >= 0; k--) { const i = r % plan.dims[k]; r = Math.floor(r / plan.dims[k]); s += i * plan.srcStrides[k]; d += i * plan.dstStrides[k]; }
      return [s, d];
    };
    const eb = plan.src.stored ? DTYPE_BYTES[plan.src.stored.dtype] : 4;
    // A parameter kept 16-bit takes its source's bits as they are (the loader chose it only where every source has its dtype).
    const keep16 = spec.dtype === "bf16" || spec.dtype === "f16";
    if (keep16 && plan.src.stored?.dtype !== (spec.dtype === "bf16" ? "BF16" : "F16")) throw new WeightError(`${plan.param} is stored as ${spec.dtype} but "${plan.from}" is not`);
    const rowSpan = (inner - 1) * sIn + 1;
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / Math.max(1, (n > 1 ? plan.srcStrides[n - 2] : rowSpan) * eb)));
    for (let r0 = 0; r0 < rows; r0 += rowsPerChunk) {
      const r1 = Math.min(rows, r0 + rowsPerChunk);
      const first = rowOffsets(r0)[0], last = rowOffsets(r1 - 1)[0] + rowSpan;
      let vals: Float32Array | Uint16Array;
      if (plan.src.array) vals = plan.src.array.subarray(first, last);
      else {
        const st = plan.src.stored, from = st.source ?? source!, len = (last - first) * eb;
        let bytes: Uint8Array;
        if (from.readInto) {
          // One buffer for every chunk (grown when a row needs more), instead of a new one each read.
          if (chunk.length < len) chunk = new Uint8Array(Math.max(len, CHUNK_BYTES));
          bytes = chunk.subarray(0, len);
          await from.readInto(st.offset + first * eb, bytes);
        } else bytes = await from.read(st.offset + first * eb, len);
        vals = keep16 ? bits16(bytes, last - first) : decode(bytes, st.dtype, last - first);
        done += (r1 - r0) * inner * eb;
      }
      if (keep16) {
        copy16(engine, params.ptr(plan.param), spec.size, vals as Uint16Array, plan, r0, r1, first, rowOffsets, spec.dtype === "bf16" ? 0x7f80 : 0x7c00);
        if (plan.src.stored) opts.onProgress?.(done, total);
        continue;
      }
      // Views die when memory grows (an await may let other code allocate): take one per chunk.
      const dst = engine.f32(params.ptr(plan.param), storageFloats(spec));
      if (spec.pack) {
        // Straight into the packed panels: storage index d → its panel slot (whole chunks panel by panel when rows run along storage rows).
        let bad = -1;
        if (dIn === 1 && !spec.pack.transposed && inner <= spec.pack.N) {
          const rowsAt: [number, number][] = [];
          for (let r = r0; r < r1; r++) { const [s0, d0] = rowOffsets(r); rowsAt.push([s0 - first, d0]); }
          bad = scatterPackedRows(spec.pack, dst, vals, rowsAt, sIn, inner);
        } else {
          for (let r = r0; r < r1 && bad < 0; r++) {
            const [s0, d0] = rowOffsets(r);
            bad = scatterPacked(spec.pack, dst, vals, s0 - first, sIn, d0, dIn, inner);
          }
        }
        if (bad >= 0) throw new WeightError(`tensor "${plan.from}" holds ${vals[bad]} (not finite) at element ${bad + first}; refusing weights that are NaN or infinite`);
        if (plan.src.stored) opts.onProgress?.(done, total);
        continue;
      }
      for (let r = r0; r < r1; r++) {
        const [s0, d0] = rowOffsets(r);
        let s = s0 - first, d = d0;
        for (let i = 0; i < inner; i++, s += sIn, d += dIn) {
          const v = vals[s];
          if (v - v !== 0) throw new WeightError(`tensor "${plan.from}" holds ${v} (not finite) at element ${s + first}; refusing weights that are NaN or infinite`);
          dst[d] = v;
        }
      }
      if (plan.src.stored) opts.onProgress?.(done, total);
    }
  }
}
