// How a file's tensors become the model's parameters, as data: a copy plan
// says which box of a stored tensor fills which elements of a parameter's
// storage (identity, a transpose, a column slice, a head permutation, the
// tied embedding read twice). The executor reads each source once, in
// chunks, converts dtypes on the fly and writes straight into wasm memory,
// so no JavaScript copy of the weights is kept, and files larger than a
// JavaScript buffer load as well. Every value is checked to be finite.
import { WeightError } from "../../errors.js";
import { FORMAT_CODE, type Engine } from "../../wasm/engine.js";
import type { Packing, Params, ParamSpec } from "../params.js";
import { checkShape, storageFloats, storageStrides } from "../params.js";
import { DTYPE_BYTES, type AnyDType, type ByteSource, type StoredTensor } from "./tensor.js";

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

/** Zero a parameter's storage (a 16-bit one is half as many bytes as its floats). */
function zeroParam(engine: Engine, params: Params, s: ParamSpec): void {
  engine.k.fill(params.ptr(s.name), 0, s.dtype && s.dtype !== "f32" ? Math.ceil(s.size / 2) : storageFloats(s));
}

/** Zero the columns past G in the last panel of each of a packed matrix's groups (G not a multiple of 8). */
function zeroPadding(engine: Engine, ptr: number, p: Packing): void {
  const panels = Math.ceil(p.G / 8), group = panels * 8 * p.K, real = p.G % 8;
  for (let g = 0; g < p.N / p.G; g++) {
    const last = ptr + (g * group + (panels - 1) * 8 * p.K) * 4;
    for (let k = 0; k < p.K; k++) engine.k.fill(last + (k * 8 + real) * 4, 0, 8 - real);
  }
}

/** A chunk of a plan's source as read: stored bytes of a dtype, or f32 values already in memory. */
type ChunkValues = { bytes: Uint8Array; dtype: AnyDType } | { f32: Float32Array };

/** A 16-bit stored dtype's format code for the kernels. */
const HALF: Partial<Record<AnyDType, number>> = { BF16: FORMAT_CODE.bf16, F16: FORMAT_CODE.f16 };

/**
 * Rows of a plan (starts: each row's [index in the values, storage index]),
 * their values from source element `first` on, into a parameter's storage
 * at ptr by the scatterRows kernels. The values (16-bit ones widened by
 * widen16 unless the parameter keeps 16 bits) and the row starts go into
 * arena memory given back before returning (no await in between, so no
 * other allocation can come in between). Throws on a value that is not
 * finite, naming its element.
 */
function scatterChunk(engine: Engine, ptr: number, spec: ParamSpec, plan: CopyPlan, vals: ChunkValues, starts: Int32Array, first: number): void {
  const n = plan.dims.length, rows = starts.length / 2, mark = engine.mark();
  const refuse = (bad: number, what: string) => new WeightError(`tensor "${plan.from}" holds ${what} (not finite) at element ${bad + first}; refusing weights that are NaN or infinite`);
  try {
    const at = engine.alloc(rows * 8);
    engine.i32(at, 2 * rows).set(starts);
    const inner = plan.dims[n - 1], sIn = plan.srcStrides[n - 1], dIn = plan.dstStrides[n - 1];
    let v: number, count: number;
    if ("f32" in vals) {
      count = vals.f32.length;
      v = engine.upload(vals.f32);
    } else if (vals.dtype === "F64") {
      const b = vals.bytes, aligned = b.byteOffset % 8 === 0 ? b : b.slice();
      count = b.length / 8;
      v = engine.upload(Float32Array.from(new Float64Array(aligned.buffer, aligned.byteOffset, count)));
    } else {
      if (vals.dtype !== "F32" && !HALF[vals.dtype]) throw new WeightError(`dtype ${vals.dtype} cannot be a weight`);
      count = vals.bytes.length / DTYPE_BYTES[vals.dtype];
      const raw = engine.alloc(vals.bytes.length);
      new Uint8Array(engine.memory.buffer, raw, vals.bytes.length).set(vals.bytes);
      if (vals.dtype === "F32") v = raw;
      else if (spec.dtype === "bf16" || spec.dtype === "f16") {
        const bad = engine.k.scatterRows16(ptr, raw, at, rows, inner, sIn, dIn, HALF[vals.dtype]!);
        if (bad >= 0) {
          const h = new Uint16Array(engine.memory.buffer, raw, count)[bad];
          throw refuse(bad, h & (vals.dtype === "BF16" ? 0x7f : 0x3ff) ? "a NaN" : "an infinity");
        }
        return;
      } else {
        v = engine.allocF32(count);
        engine.k.widen16(v, raw, count, HALF[vals.dtype]!);
      }
    }
    const pk = spec.pack;
    const bad = engine.k.scatterRows(ptr, v, at, rows, inner, sIn, dIn, pk ? pk.K : 0, pk ? pk.N : 0, pk ? pk.G : 0, pk?.transposed ? 1 : 0);
    if (bad >= 0) throw refuse(bad, String(engine.f32(v, count)[bad]));
  } finally { engine.reset(mark); }
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
    zeroParam(engine, params, s);
  }
  // Arena memory may hold anything: zero a packed matrix's panels past its
  // columns, and the whole of a planned parameter its plans do not cover.
  const covered = new Map<string, number>();
  for (const p of plans) covered.set(p.param, (covered.get(p.param) ?? 0) + p.dims.reduce((a, b) => a * b, 1));
  for (const s of params.specs) {
    if (s.tiedTo || !planned.has(s.name)) continue;
    if (covered.get(s.name)! < s.size) zeroParam(engine, params, s);
    else if (s.pack && s.pack.G % 8) zeroPadding(engine, params.ptr(s.name), s.pack);
  }
  const total = plans.reduce((a, p) => a + (p.src.stored ? p.dims.reduce((x, y) => x * y, 1) * DTYPE_BYTES[p.src.stored.dtype] : 0), 0);
  let done = 0;
  let chunk = new Uint8Array(0);
  for (const plan of plans) {
    const spec = params.specs.find((s) => s.name === plan.param)!;
    const n = plan.dims.length, inner = plan.dims[n - 1], rows = plan.dims.slice(0, n - 1).reduce((a, b) => a * b, 1);
    const sIn = plan.srcStrides[n - 1];
    const eb = plan.src.stored ? DTYPE_BYTES[plan.src.stored.dtype] : 4;
    // A parameter kept 16-bit takes its source's bits as they are (the loader chose it only where every source has its dtype).
    const keep16 = spec.dtype === "bf16" || spec.dtype === "f16";
    if (keep16 && plan.src.stored?.dtype !== (spec.dtype === "bf16" ? "BF16" : "F16")) throw new WeightError(`${plan.param} is stored as ${spec.dtype} but "${plan.from}" is not`);
    const rowSpan = (inner - 1) * sIn + 1;
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / Math.max(1, (n > 1 ? plan.srcStrides[n - 2] : rowSpan) * eb)));
    for (let r0 = 0; r0 < rows; r0 += rowsPerChunk) {
      const r1 = Math.min(rows, r0 + rowsPerChunk);
      // Each row's offsets (all indices but the innermost) in source and storage; the chunk reads the source from the least to past the greatest row.
      const starts = new Int32Array(2 * (r1 - r0));
      let first = Infinity, last = 0;
      for (let r = r0, o = 0; r < r1; r++, o += 2) {
        let q = r, s = plan.srcOffset, d = plan.dstOffset;
        for (let k = n - 2; k >= 0; k--) { const i = q % plan.dims[k]; q = Math.floor(q / plan.dims[k]); s += i * plan.srcStrides[k]; d += i * plan.dstStrides[k]; }
        starts[o] = s; starts[o + 1] = d;
        first = Math.min(first, s); last = Math.max(last, s + rowSpan);
      }
      for (let o = 0; o < starts.length; o += 2) starts[o] -= first;
      let vals: ChunkValues;
      if (plan.src.array) vals = { f32: plan.src.array.subarray(first, last) };
      else {
        const st = plan.src.stored, from = st.source ?? source!, len = (last - first) * eb;
        let bytes: Uint8Array;
        if (from.readInto) {
          // One buffer for every chunk (grown when a row needs more), instead of a new one each read.
          if (chunk.length < len) chunk = new Uint8Array(Math.max(len, CHUNK_BYTES));
          bytes = chunk.subarray(0, len);
          await from.readInto(st.offset + first * eb, bytes);
        } else bytes = await from.read(st.offset + first * eb, len);
        vals = { bytes, dtype: st.dtype };
        done += (r1 - r0) * inner * eb;
      }
      scatterChunk(engine, params.ptr(plan.param), spec, plan, vals, starts, first);
      if (plan.src.stored) opts.onProgress?.(done, total);
    }
  }
}
