// safetensors reader: 8-byte little-endian header length, a JSON header of
// {name: {dtype, shape, data_offsets}}, then raw little-endian tensor bytes.
// Float tensors (F32, F16, BF16, F64) come out as Float32Array. Every way a
// file can be malformed ends in a SafetensorsError naming the problem.

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(`safetensors: ${message}`);
    this.name = "SafetensorsError";
  }
}

export interface RawTensor {
  dtype: string;
  shape: number[];
  /** Values converted to f32. */
  data: Float32Array;
}

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
const KNOWN_NON_FLOAT = new Set(["I8", "U8", "I16", "U16", "I32", "U32", "I64", "U64", "BOOL", "F8_E4M3", "F8_E5M2"]);

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function convert(bytes: Uint8Array, dtype: string, n: number): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  switch (dtype) {
    case "F32":
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      break;
    case "F64":
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      break;
    case "F16":
      for (let i = 0; i < n; i++) out[i] = f16ToF32(dv.getUint16(i * 2, true));
      break;
    case "BF16": {
      // bf16 is the top half of an f32.
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = dv.getUint16(i * 2, true) << 16;
      break;
    }
  }
  return out;
}

/** Parse a whole safetensors file into f32 tensors by name. */
export function parseSafetensors(file: Uint8Array): Map<string, RawTensor> {
  if (file.byteLength < 8) throw new SafetensorsError(`truncated header: file has ${file.byteLength} bytes, the 8-byte header length is missing`);
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const hlen = Number(dv.getBigUint64(0, true));
  if (hlen > file.byteLength - 8) throw new SafetensorsError(`header length ${hlen} goes beyond the file (${file.byteLength - 8} bytes after the length field)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + hlen)));
  } catch (e) {
    throw new SafetensorsError(`header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) throw new SafetensorsError("header is not a JSON object");
  const data = file.subarray(8 + hlen);
  const spans: { name: string; begin: number; end: number }[] = [];
  const out = new Map<string, RawTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== "object" || e === null) throw new SafetensorsError(`tensor "${name}": entry is not an object`);
    const dtype = e.dtype;
    if (typeof dtype !== "string" || !(dtype in BYTES)) {
      const why = typeof dtype === "string" && KNOWN_NON_FLOAT.has(dtype) ? "not a float type this reader converts" : "unknown dtype";
      throw new SafetensorsError(`tensor "${name}": ${why} ${JSON.stringify(dtype)} (supported: F32, F16, BF16, F64)`);
    }
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new SafetensorsError(`tensor "${name}": shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isInteger(d) && d >= 0)) throw new SafetensorsError(`tensor "${name}": data_offsets ${JSON.stringify(offs)} is not [begin, end]`);
    const [begin, end] = offs as number[];
    if (begin > end) throw new SafetensorsError(`tensor "${name}": data_offsets [${begin}, ${end}] end before they begin`);
    if (end > data.byteLength) throw new SafetensorsError(`tensor "${name}": data_offsets [${begin}, ${end}] out of range (data section is ${data.byteLength} bytes; file truncated?)`);
    const n = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== n * BYTES[dtype]) throw new SafetensorsError(`tensor "${name}": ${end - begin} bytes for shape [${shape}] of ${dtype}, expected ${n * BYTES[dtype]}`);
    spans.push({ name, begin, end });
    out.set(name, { dtype, shape: shape as number[], data: convert(data.subarray(begin, end), dtype, n) });
  }
  // Compare each non-empty span with the furthest-reaching one before it, so
  // an empty tensor between two overlapping ones cannot hide the overlap.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let reach: { name: string; begin: number; end: number } | null = null;
  for (const b of spans) {
    if (b.end === b.begin) continue;
    if (reach && b.begin < reach.end) throw new SafetensorsError(`tensors "${reach.name}" [${reach.begin}, ${reach.end}) and "${b.name}" [${b.begin}, ${b.end}) overlap`);
    if (!reach || b.end > reach.end) reach = b;
  }
  return out;
}

/** Serialize f32 tensors to safetensors bytes (names in insertion order). */
export function writeSafetensors(tensors: Map<string, { shape: number[]; data: Float32Array }>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [off, off + t.data.length * 4] };
    off += t.data.length * 4;
  }
  // Pad by encoded bytes (not UTF-16 units) so the data starts 8-byte aligned.
  const raw = new TextEncoder().encode(JSON.stringify(header));
  const hbytes = new Uint8Array(raw.length + ((8 - ((8 + raw.length) % 8)) % 8)).fill(0x20);
  hbytes.set(raw);
  const out = new Uint8Array(8 + hbytes.length + off);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let p = 8 + hbytes.length;
  for (const t of tensors.values()) {
    for (let i = 0; i < t.data.length; i++) dv.setFloat32(p + i * 4, t.data[i], true);
    p += t.data.length * 4;
  }
  return out;
}
