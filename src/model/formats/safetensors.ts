// safetensors: an 8-byte little-endian header length, a JSON header of
// {name: {dtype, shape, data_offsets}} (offsets relative to the data section
// after the header), then raw little-endian tensor bytes. The reader parses
// the header only and returns where each tensor is; every way a header can
// be malformed is a FormatError naming the problem.
import { FormatError } from "../../errors.js";
import { DTYPE_BYTES, bytesSource, type AnyDType, type ByteSource, type StoredTensor } from "./tensor.js";

const fail = (msg: string) => new FormatError("safetensors", msg);
const FLOAT = new Set(["F32", "F16", "BF16", "F64"]);
const KNOWN_OTHER = new Set(["I8", "U8", "I16", "U16", "I32", "U32", "I64", "U64", "BOOL", "F8_E4M3", "F8_E5M2"]);
/** Headers above this are not weights files (the format's own limit is 100 MB). */
const MAX_HEADER = 100_000_000;

/** The tensors of a safetensors file (header only; the data stays in the source). */
export async function readSafetensors(src: ByteSource): Promise<Map<string, StoredTensor>> {
  const size = src.byteLength;
  if (size < 8) throw fail(`truncated header: ${src.name} has ${size} bytes, the 8-byte header length is missing`);
  const lenBytes = await src.read(0, 8);
  const hlen = Number(new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true));
  if (hlen > size - 8) throw fail(`header length ${hlen} goes beyond the file (${size - 8} bytes after the length field)`);
  if (hlen > MAX_HEADER) throw fail(`header length ${hlen} is larger than any weights file's header (${MAX_HEADER} bytes)`);
  let header: unknown, text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(await src.read(8, hlen));
    header = JSON.parse(text);
  } catch (e) {
    throw fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) throw fail("header is not a JSON object");
  const keys = topLevelKeys(text);
  if (keys.length !== Object.keys(header).length) {
    const seen = new Set<string>();
    const twice = keys.find((k) => (seen.has(k) ? true : (seen.add(k), false)));
    throw fail(`tensor "${twice}" appears twice in the header (only one of them could be read)`);
  }
  const dataStart = 8 + hlen, dataBytes = size - dataStart;
  const spans: { name: string; begin: number; end: number }[] = [];
  const out = new Map<string, StoredTensor>();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== "object" || e === null) throw fail(`tensor "${name}": entry is not an object`);
    const dtype = e.dtype;
    if (typeof dtype !== "string" || !(FLOAT.has(dtype) || KNOWN_OTHER.has(dtype))) {
      throw fail(`tensor "${name}": unknown dtype ${JSON.stringify(dtype)} (weights may be F32, F16, BF16 or F64)`);
    }
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw fail(`tensor "${name}": shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isSafeInteger(d) && d >= 0)) throw fail(`tensor "${name}": data_offsets ${JSON.stringify(offs)} is not [begin, end]`);
    const [begin, end] = offs as number[];
    if (begin > end) throw fail(`tensor "${name}": data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataBytes) throw fail(`tensor "${name}": data_offsets [${begin}, ${end}] out of range (data section is ${dataBytes} bytes; file truncated?)`);
    if (dtype.startsWith("F8")) throw fail(`tensor "${name}": dtype ${dtype} (8-bit floats) is not supported (weights may be F32, F16, BF16 or F64)`);
    const eb = DTYPE_BYTES[dtype as AnyDType];
    const n = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== n * eb) throw fail(`tensor "${name}": ${end - begin} bytes for shape [${shape}] of ${dtype}, expected ${n * eb}`);
    spans.push({ name, begin, end });
    out.set(name, { name, dtype: dtype as AnyDType, shape: shape as number[], offset: dataStart + begin, byteLength: end - begin });
  }
  // Compare each non-empty span with the furthest-reaching one before it, so
  // an empty tensor between two overlapping ones cannot hide the overlap.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let reach: { name: string; begin: number; end: number } | null = null;
  for (const b of spans) {
    if (b.end === b.begin) continue;
    if (reach && b.begin < reach.end) throw fail(`tensors "${reach.name}" [${reach.begin}, ${reach.end}) and "${b.name}" [${b.begin}, ${b.end}) overlap`);
    if (!reach || b.end > reach.end) reach = b;
  }
  return out;
}

/**
 * The top-level keys of a valid JSON object's text, in order and with
 * duplicates (JSON.parse silently keeps the last of a repeated key).
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (depth === 1) {
        let k = j + 1;
        while (text[k] === " " || text[k] === "\t" || text[k] === "\n" || text[k] === "\r") k++;
        if (text[k] === ":") keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      }
      i = j;
    } else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
  }
  return keys;
}

/** Whether bytes start like a safetensors file (a plausible header length followed by "{"). */
export function looksLikeSafetensors(head: Uint8Array): boolean {
  if (head.byteLength < 9) return false;
  const n = Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true));
  return n > 1 && n <= MAX_HEADER && head[8] === 0x7b;
}

/** Every float tensor of a safetensors file as f32 values by name (tests, tools; the loader never does this). */
export async function parseSafetensors(file: Uint8Array): Promise<Map<string, { dtype: string; shape: number[]; data: Float32Array }>> {
  const src = bytesSource(file);
  const out = new Map<string, { dtype: string; shape: number[]; data: Float32Array }>();
  for (const [name, t] of await readSafetensors(src)) {
    if (!FLOAT.has(t.dtype)) continue;
    const n = t.shape.reduce((a, b) => a * b, 1);
    const dv = new DataView(file.buffer, file.byteOffset + t.offset, t.byteLength);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      data[i] = t.dtype === "F32" ? dv.getFloat32(4 * i, true) : t.dtype === "F64" ? dv.getFloat64(8 * i, true)
        : t.dtype === "BF16" ? new Float32Array(Uint32Array.of(dv.getUint16(2 * i, true) << 16).buffer)[0] : f16(dv.getUint16(2 * i, true));
    }
    out.set(name, { dtype: t.dtype, shape: t.shape, data });
  }
  return out;
}

function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  return e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
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
