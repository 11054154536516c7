// Writes test/fixtures/pth/: small PyTorch checkpoints laid out as torch.save
// lays them out, built in Node without Python or torch (CI has neither), each
// valid one with a JSON of its exact tensor values beside it, plus broken and
// malicious files for the reader's refusals. Run: node scripts/make-pth-fixtures.mjs
// The output is deterministic; the files are committed.
//
// The layout is taken from PyTorch's writer (read from its sources; no real
// torch.save output was available to compare against here):
// - torch/serialization.py `_save`: data.pkl is the object pickled with
//   protocol 2 (DEFAULT_PROTOCOL), whose persistent_id turns each storage into
//   ('storage', torch.<T>Storage, key, 'cpu', numel), keys "0", "1", … in
//   first-seen order; then .format_version "1", .storage_alignment "64",
//   byteorder "little", and data/<key> per storage in key order.
// - torch/_tensor.py: a tensor pickles as REDUCE of
//   torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
//   requires_grad, OrderedDict()); an nn.Parameter wraps that in
//   torch._utils._rebuild_parameter(tensor, requires_grad, OrderedDict()).
//   A module's state_dict() is an OrderedDict carrying a `_metadata`
//   attribute ({module path: {"version": n}}), pickled as its BUILD state.
// - caffe2/serialize/inline_container.cc (PyTorchStreamWriter): entries live
//   in a folder named after the file (basename without extension; "archive"
//   for a buffer); each local header has one extra field, "FB" + u16 n + n
//   bytes of 'Z', so every entry's data starts on a 64-byte boundary;
//   writeEndOfFile appends `version` ("3\n") and `.data/serialization_id`.
// - miniz, as torch builds it (MINIZ_NO_TIME, MZ_ZIP_FLAG_WRITE_ZIP64):
//   stored entries, flags 0x0808 (data descriptor, UTF-8 names), zero
//   time/date, local headers with zero CRC and sizes, a 16-byte data
//   descriptor after each entry's data, central headers with versions 0 and
//   no extra field, then a ZIP64 end record (made by 0x031E, needs 0x2D), a
//   ZIP64 locator and the classic end record, no comment.
// - Python's C pickler: GLOBAL (STACK_GLOBAL at protocol 4), BINUNICODE,
//   BININT1/BININT2/BININT/LONG1, EMPTY_TUPLE, TUPLE1-3 or MARK…TUPLE,
//   EMPTY_DICT, MARK…SETITEMS (SETITEM for a single item), BINPUT after each
//   memoized object and BINGET for a repeat: the OrderedDict class, the
//   rebuild function, each storage class, the 'storage' and 'cpu' strings,
//   the interned 'version' key and a shared storage's key string.
//
// Checked when written: each data.pkl here equals, byte for byte, what
// CPython 3.11's C pickler writes for the same objects through stand-in
// torch modules and _save's persistent_id (Python was at hand, torch was
// not), except the hand-made Popen payload noted below.
//
// How a real torch.save of the same state dict would compare: the zip
// structure, padding and pickle opcodes should be byte-identical, except
// (1) .data/serialization_id: torch hashes its record names with c10::hash
// over an unordered_set (an implementation detail); here the 40 digits come
// from FNV-1a and the record CRCs; no reader interprets them;
// (2) a real TransformerLens state dict's _metadata lists every submodule,
// each HookPoint included (a dozen per layer); here it lists the modules
// that hold tensors, which changes only the pickle's tail after the tensors;
// (3) values are seeded random numbers, not a trained model;
// (4) which records exist depends on the PyTorch version: recent 2.x writes
// .format_version and .storage_alignment, while 1.6-era PyTorch wrote
// `version` first, no byteorder and keys str(storage._cdata) sorted as
// strings (legacy-1.6-layout.pth has that layout).
import { mkdirSync, writeFileSync } from "node:fs";
import { deflateRawSync } from "node:zlib";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const OUT = join(dirname(fileURLToPath(import.meta.url)), "..", "test", "fixtures", "pth");

// ---- bytes ---------------------------------------------------------------------

const utf8 = (s) => new TextEncoder().encode(s);
const concat = (parts) => { const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0)); let o = 0; for (const p of parts) { out.set(p, o); o += p.length; } return out; };
const le = (n, bytes) => { const b = new Uint8Array(bytes); let v = BigInt(n); for (let i = 0; i < bytes; i++) { b[i] = Number(v & 0xffn); v >>= 8n; } return b; };

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
function crc32(b) { let c = 0xffffffff; for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; }

/** mulberry32, as src/random.ts, so fixture values are reproducible without a build. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}

// ---- dtypes: exact rounding of float32 values to each stored format -----------

const f32bits = (x) => new Uint32Array(new Float32Array([x]).buffer)[0];
const f32of = (u) => new Float32Array(new Uint32Array([u]).buffer)[0];
function roundHalfEven(x) { const f = Math.floor(x), d = x - f; return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f; }
function exponent(a) { let e = Math.floor(Math.log2(a)); while (2 ** e > a) e--; while (2 ** (e + 1) <= a) e++; return e; }
/** Nearest binary16 value (ties to even), as torch's .half() rounds; finite inputs well inside the range. */
function toF16(x) {
  if (!Number.isFinite(x) || x === 0) return x;
  const ulp = 2 ** Math.max(exponent(Math.abs(x)) - 10, -24);
  return roundHalfEven(x / ulp) * ulp;
}
function f16bits(v) {
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0, a = Math.abs(v);
  if (a === Infinity) return sign | 0x7c00;
  if (a === 0) return sign;
  const e = exponent(a);
  if (e < -14) return sign | (a / 2 ** -24);
  return sign | ((e + 15) << 10) | ((a / 2 ** e - 1) * 1024);
}
/** bfloat16 bits of a float32 value, rounding to nearest even as c10::BFloat16 does. */
function bf16bits(x) { const u = f32bits(x); return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff; }

const DTYPES = {
  F32: { storage: "FloatStorage", size: 4, round: (x) => Math.fround(x), put: (dv, o, v) => dv.setFloat32(o, v, true) },
  F16: { storage: "HalfStorage", size: 2, round: toF16, put: (dv, o, v) => dv.setUint16(o, f16bits(v), true) },
  BF16: { storage: "BFloat16Storage", size: 2, round: (x) => f32of(bf16bits(x) << 16), put: (dv, o, v) => dv.setUint16(o, bf16bits(v), true) },
  BOOL: { storage: "BoolStorage", size: 1, round: (x) => !!x, put: (dv, o, v) => dv.setUint8(o, v ? 1 : 0) },
  I64: { storage: "LongStorage", size: 8, round: (x) => x, put: (dv, o, v) => dv.setBigInt64(o, BigInt(v), true) },
};

// ---- a Python object model, enough for the pickler to reproduce memo identity --

class Str { constructor(s) { this.s = s; } } // a str object that may recur (memoized once, then BINGET)
class Tuple { constructor(items) { this.items = items; } }
class List { constructor(items) { this.items = items; } }
class Dict { constructor(entries) { this.entries = entries; } } // a plain dict
class Float { constructor(v) { this.v = v; } }
class Global { constructor(module, name) { this.module = module; this.name = name; } }
/** An object whose __reduce__ is (func, args, state, None, dictitems). */
class Reduce { constructor(func, args, dictitems, state) { Object.assign(this, { func, args, dictitems, state }); } }
/** A TypedStorage: pickled as a persistent id, never inline. */
class Storage {
  constructor(dtype, values, order = "little") {
    const d = DTYPES[dtype], bytes = new Uint8Array(values.length * d.size), dv = new DataView(bytes.buffer);
    values.forEach((v, i) => d.put(dv, i * d.size, v));
    if (order === "big") for (let i = 0; i < bytes.length; i += d.size) bytes.subarray(i, i + d.size).reverse();
    Object.assign(this, { dtype, numel: values.length, bytes });
  }
}

const MODULES = new Map();
const moduleStr = (m) => MODULES.get(m) ?? MODULES.set(m, new Str(m)).get(m); // a class's __module__ is one shared string
const globalOf = new Map();
const G = (module, name) => { const k = `${module} ${name}`; if (!globalOf.has(k)) globalOf.set(k, new Global(module, name)); return globalOf.get(k); };
const ORDERED_DICT = G("collections", "OrderedDict"), REBUILD = G("torch._utils", "_rebuild_tensor_v2"), REBUILD_PARAM = G("torch._utils", "_rebuild_parameter");
const STORAGE = new Str("storage"), CPU = new Str("cpu"), VERSION = new Str("version"), METADATA = new Str("_metadata");
const EMPTY = new Tuple([]);
const hooks = () => new Reduce(ORDERED_DICT, EMPTY); // backward_hooks: a fresh OrderedDict()

class Tensor {
  constructor(storage, offset, size, stride = contiguousStride(size)) { Object.assign(this, { storage, offset, size, stride }); }
  reduce() { return new Reduce(REBUILD, new Tuple([this.storage, this.offset, new Tuple(this.size), new Tuple(this.stride), false, hooks()])); }
}
class Parameter {
  constructor(data) { this.data = data; }
  // Parameter.__reduce_ex__: (self.data, self.requires_grad, OrderedDict()); .data is a new tensor on the same storage.
  reduce() { const d = this.data; return new Reduce(REBUILD_PARAM, new Tuple([new Tensor(d.storage, d.offset, d.size, d.stride), true, hooks()])); }
}
function contiguousStride(size) { const s = []; let n = 1; for (let d = size.length - 1; d >= 0; d--) { s[d] = n; n *= size[d]; } return s; }
/** A module's state_dict(): an OrderedDict whose _metadata attribute is its BUILD state. */
function stateDict(entries, metadata) {
  const meta = metadata && new Reduce(ORDERED_DICT, EMPTY, metadata.map(([path, v]) => [path, new Dict([[VERSION, v]])]));
  return new Reduce(ORDERED_DICT, EMPTY, entries, meta && new Dict([[METADATA, meta]]));
}

// ---- the pickler (Python's C pickler, protocols 2 and 4) ----------------------

function pickle(obj, proto = 2, persistentId = () => undefined) {
  const out = [], memo = new Map();
  const put = (...parts) => { for (const p of parts) if (typeof p === "number") out.push(p); else for (const x of p) out.push(x); };
  const memoize = (o) => { const i = memo.size; memo.set(o, i); if (proto >= 4) put(0x94); else if (i < 256) put(0x71, i); else put(0x72, le(i, 4)); };
  const str = (s, o) => { const u = utf8(s); if (proto >= 4 && u.length < 256) put(0x8c, u.length, u); else put(0x58, le(u.length, 4), u); memoize(o); };
  function int(v) {
    if (typeof v === "number" && !Number.isSafeInteger(v)) throw new Error(`${v} is not an int; wrap floats in Float`);
    const b = BigInt(v);
    if (b >= 0n && b <= 0xffn) put(0x4b, Number(b));
    else if (b >= 0n && b <= 0xffffn) put(0x4d, le(b, 2));
    else if (b >= -(1n << 31n) && b < 1n << 31n) put(0x4a, le(BigInt.asUintN(32, b), 4));
    else { // LONG1: the shortest little-endian two's complement
      let n = 1; while (b >= 1n << BigInt(8 * n - 1) || b < -(1n << BigInt(8 * n - 1))) n++;
      put(0x8a, n, le(BigInt.asUintN(8 * n, b), n));
    }
  }
  function setitems(entries) { // batches of 1000; a batch of one is a lone SETITEM
    for (let i = 0; i < entries.length; i += 1000) {
      const batch = entries.slice(i, i + 1000);
      if (batch.length === 1) { save(batch[0][0]); save(batch[0][1]); put(0x73); continue; }
      put(0x28); for (const [k, v] of batch) { save(k); save(v); } put(0x75);
    }
  }
  function save(o) {
    const pid = persistentId(o);
    if (pid) { save(pid); put(0x51); return; }
    if (o === null) return put(0x4e);
    if (typeof o === "boolean") return put(o ? 0x88 : 0x89);
    if (typeof o === "number" || typeof o === "bigint") return int(o);
    if (o instanceof Float) { const b = new Uint8Array(8); new DataView(b.buffer).setFloat64(0, o.v, false); return put(0x47, b); }
    if (typeof o === "string") return str(o, {}); // a fresh str object
    if (memo.has(o)) { const i = memo.get(o); return i < 256 ? put(0x68, i) : put(0x6a, le(i, 4)); }
    if (o instanceof Str) return str(o.s, o);
    if (o instanceof Tuple) {
      const n = o.items.length;
      if (n === 0) return put(0x29);
      if (n <= 3) { o.items.forEach(save); put(0x84 + n); return memoize(o); }
      put(0x28); o.items.forEach(save); put(0x74); return memoize(o);
    }
    if (o instanceof List) {
      put(0x5d); memoize(o);
      if (o.items.length === 1) { save(o.items[0]); put(0x61); } else if (o.items.length) { put(0x28); o.items.forEach(save); put(0x65); }
      return;
    }
    if (o instanceof Dict) { put(0x7d); memoize(o); return setitems(o.entries); }
    if (o instanceof Global) {
      if (proto >= 4) { save(moduleStr(o.module)); save(o.name); put(0x93); } else put(0x63, utf8(`${o.module}\n${o.name}\n`));
      return memoize(o);
    }
    const r = o instanceof Reduce ? o : o.reduce();
    save(r.func); save(r.args); put(0x52); memoize(o);
    if (r.dictitems) setitems(r.dictitems);
    if (r.state) { save(r.state); put(0x62); }
  }
  save(obj);
  put(0x2e);
  const body = Uint8Array.from(out);
  if (proto < 2) return body;
  if (proto < 4) return concat([Uint8Array.of(0x80, proto), body]);
  if (body.length >= 65536) throw new Error("multi-frame protocol 4 pickles are not emulated");
  return concat([Uint8Array.of(0x80, proto, 0x95), le(body.length, 8), body]); // one FRAME holds it all
}

// ---- the zip writer (PyTorchStreamWriter over miniz) ------------------------

/**
 * Zip `records` ([name, bytes]) under `folder`. zip64: write every entry as
 * miniz does past 4 GiB (ZIP64 extra fields, saturated 32-bit fields, 24-byte
 * descriptors). compress: deflate every record, as writeRecord(compress=true).
 */
function torchZip(folder, records, { zip64 = false, compress = false } = {}) {
  const parts = [], central = [];
  let pos = 0;
  const emit = (b) => { parts.push(b); pos += b.length; };
  for (const [name, data] of records) {
    const full = utf8(`${folder}/${name}`), offset = pos, crc = crc32(data);
    const stored = compress ? deflateRawSync(data, { level: 9 }) : data, method = compress ? 8 : 0;
    const z64local = zip64 ? concat([le(1, 2), le(16, 2), le(data.length, 8), le(0, 8)]) : new Uint8Array(0);
    // inline_container.cc getPadding: pad so the data begins on a 64-byte boundary
    const start = pos + 30 + full.length + z64local.length + 4, pad = (64 - (start % 64)) % 64;
    const extra = concat([z64local, utf8("FB"), le(pad, 2), new Uint8Array(pad).fill(0x5a)]);
    const flags = data.length ? 0x0808 : 0x0800;
    emit(concat([le(0x04034b50, 4), le(method ? 20 : 0, 2), le(flags, 2), le(method, 2), le(0, 4), le(0, 4), le(0, 4), le(0, 4), le(full.length, 2), le(extra.length, 2), full, extra]));
    emit(stored);
    if (data.length) emit(zip64 ? concat([le(0x08074b50, 4), le(crc, 4), le(stored.length, 8), le(data.length, 8)]) : concat([le(0x08074b50, 4), le(crc, 4), le(stored.length, 4), le(data.length, 4)]));
    const sat = (v) => (zip64 ? 0xffffffff : v);
    const cextra = zip64 ? concat([le(1, 2), le(24, 2), le(data.length, 8), le(stored.length, 8), le(offset, 8)]) : new Uint8Array(0);
    central.push(concat([le(0x02014b50, 4), le(0, 2), le(method ? 20 : 0, 2), le(flags, 2), le(method, 2), le(0, 4), le(crc, 4), le(sat(stored.length), 4), le(sat(data.length), 4),
      le(full.length, 2), le(cextra.length, 2), le(0, 2), le(0, 2), le(0, 2), le(0, 4), le(sat(offset), 4), full, cextra]));
  }
  const cdOff = pos, cd = concat(central), n = records.length;
  emit(cd);
  const z64 = pos;
  emit(concat([le(0x06064b50, 4), le(44, 8), le(0x031e, 2), le(0x2d, 2), le(0, 4), le(0, 4), le(n, 8), le(n, 8), le(cd.length, 8), le(cdOff, 8)]));
  emit(concat([le(0x07064b50, 4), le(0, 4), le(z64, 8), le(1, 4)]));
  const s16 = (v) => (zip64 ? 0xffff : v), s32 = (v) => (zip64 ? 0xffffffff : v);
  emit(concat([le(0x06054b50, 4), le(0, 2), le(0, 2), le(s16(n), 2), le(s16(n), 2), le(s32(cd.length), 4), le(s32(cdOff), 4), le(0, 2)]));
  return concat(parts);
}

/** A stand-in for torch's serialization_id: 20 digits of a name hash, 20 of combined record CRCs. */
function serializationId(records) {
  const M = (1n << 64n) - 1n;
  let h = 0xcbf29ce484222325n, c = 0n;
  for (const name of records.map(([n]) => n).sort()) for (const x of utf8(name)) h = ((h ^ BigInt(x)) * 0x100000001b3n) & M;
  for (const [, data] of records) c = (c ^ (BigInt(crc32(data)) + 0x9e3779b9n + (c << 6n) + (c >> 2n))) & M;
  return `${h}`.padStart(20, "0") + `${c}`.padStart(20, "0");
}

/**
 * torch.save(obj, "<folder>.pth"): pickle with storages as persistent ids,
 * then the records in the order the given PyTorch version writes them.
 */
function torchSave(folder, obj, { proto = 2, layout = "current", byteorder = "little", drop = [], zip = {}, patch = (p) => p } = {}) {
  const keys = new Map();
  let cdata = 94_420_021_365_216; // 1.6-era keys were str(storage._cdata), a pointer
  const pid = (o) => {
    if (!(o instanceof Storage)) return undefined;
    if (!keys.has(o)) keys.set(o, new Str(layout === "1.6" ? String((cdata += 45_520)) : String(keys.size)));
    return new Tuple([STORAGE, G("torch", DTYPES[o.dtype].storage), keys.get(o), CPU, o.numel]);
  };
  const pkl = patch(pickle(obj, proto, pid));
  const storages = [...keys].map(([s, k]) => [`data/${k.s}`, s.bytes]);
  let records;
  if (layout === "1.6") records = [["version", utf8("3\n")], ["data.pkl", pkl], ...storages.sort(([a], [b]) => (a < b ? -1 : 1))];
  else {
    records = [["data.pkl", pkl], [".format_version", utf8("1")], [".storage_alignment", utf8("64")], ["byteorder", utf8(byteorder)], ...storages, ["version", utf8("3\n")]];
    records.push([".data/serialization_id", utf8(serializationId(records))]);
  }
  return torchZip(folder, records.filter(([name]) => !drop.includes(name)), zip);
}

// ---- the fixtures ------------------------------------------------------------

const written = [];
function write(file, bytes, expected) {
  writeFileSync(join(OUT, file), bytes);
  written.push(`${file} (${bytes.length} bytes)`);
  if (!expected) return;
  // One tensor per line; non-finite values as strings (JSON has no Infinity).
  const value = (v) => (typeof v === "number" && !Number.isFinite(v) ? JSON.stringify(String(v)) : JSON.stringify(v));
  const lines = Object.entries(expected.tensors).map(([name, t]) =>
    `    ${JSON.stringify(name)}: {"dtype": "${t.dtype}", "shape": ${JSON.stringify(t.shape)}, "storage": "${t.storage}", "storage_offset": ${t.storage_offset}, "values": [${t.values.map(value).join(", ")}]}`);
  const head = Object.entries(expected).filter(([k]) => k !== "tensors").map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)},\n`).join("");
  writeFileSync(join(OUT, file.replace(/\.pth$/, ".json")), `{\n${head}  "tensors": {\n${lines.join(",\n")}\n  }\n}\n`);
}

/** Expected-values record of tensors whose storage keys are known ("0", "1", … in first-seen order). */
function expect(entries, keyOf) {
  const tensors = {};
  for (const [name, t0] of entries) {
    const t = t0 instanceof Parameter ? t0.data : t0;
    if (!(t instanceof Tensor)) continue;
    const numel = t.size.reduce((a, b) => a * b, 1);
    tensors[name] = { dtype: t.storage.dtype, shape: t.size, storage: keyOf(t.storage), storage_offset: t.offset, values: t.storage.values.slice(t.offset, t.offset + numel) };
  }
  return tensors;
}
/** A storage that remembers the exact values it stores. */
function storage(dtype, xs, order) { const values = xs.map(DTYPES[dtype].round); const s = new Storage(dtype, values, order); s.values = values; return s; }
function firstSeenKeys() { const m = new Map(); return (s) => (m.has(s) ? m.get(s) : m.set(s, String(m.size)).get(s)); }

// TransformerLens HookedTransformer, attn_only, LN, 2 layers, d_model 8, 2 heads of 4, vocab 10, context 6.
const CFG = { n_layers: 2, d_model: 8, n_heads: 2, d_head: 4, d_vocab: 10, n_ctx: 6, attn_only: true, normalization_type: "LN", positional_embedding_type: "standard" };
function tinyAttnOnly(dtype) {
  const rand = mulberry32(20240601), { n_layers: L, d_model: D, n_heads: H, d_head: Dh, d_vocab: V, n_ctx: T } = CFG;
  const normal = (n, scale, mean = 0) => Array.from({ length: n }, () => Math.fround(mean + scale * (rand() + rand() + rand() - 1.5) * 2));
  const param = (size, scale, mean) => new Tensor(storage(dtype, normal(size.reduce((a, b) => a * b, 1), scale, mean)), 0, size);
  const entries = [["embed.W_E", param([V, D], 0.5)], ["pos_embed.W_pos", param([T, D], 0.2)]];
  for (let l = 0; l < L; l++) {
    const p = `blocks.${l}`;
    entries.push([`${p}.ln1.w`, param([D], 0.1, 1)], [`${p}.ln1.b`, param([D], 0.05)]);
    for (const m of ["Q", "K", "V"]) entries.push([`${p}.attn.W_${m}`, param([H, D, Dh], 0.35)]);
    entries.push([`${p}.attn.W_O`, param([H, Dh, D], 0.35)]);
    for (const m of ["Q", "K", "V"]) entries.push([`${p}.attn.b_${m}`, param([H, Dh], 0.02)]);
    entries.push([`${p}.attn.b_O`, param([D], 0.02)]);
    const tril = Array.from({ length: T * T }, (_, i) => Math.floor(i / T) >= i % T);
    entries.push([`${p}.attn.mask`, new Tensor(storage("BOOL", tril), 0, [T, T])]); // stays bool under .half()
    entries.push([`${p}.attn.IGNORE`, new Tensor(storage(dtype, [-Infinity]), 0, [])]); // torch.tensor(-inf), converted with the model
  }
  entries.push(["ln_final.w", param([D], 0.1, 1)], ["ln_final.b", param([D], 0.05)], ["unembed.W_U", param([D, V], 0.5)], ["unembed.b_U", param([V], 0.02)]);
  const modules = ["", "embed", "pos_embed", "blocks", ...Array.from({ length: L }, (_, l) => [`blocks.${l}`, `blocks.${l}.ln1`, `blocks.${l}.attn`]).flat(), "ln_final", "unembed"];
  return { entries, sd: stateDict(entries, modules.map((m) => [m, 1])) };
}

function main() {
  mkdirSync(OUT, { recursive: true });
  const save = (file, obj, opts) => torchSave(file.replace(/\.pth$/, ""), obj, opts);

  for (const [dtype, how] of [["F32", ""], ["F16", ".half()"], ["BF16", ".to(torch.bfloat16)"]]) {
    const file = `tiny-attn-only.${dtype.toLowerCase()}.pth`, { entries, sd } = tinyAttnOnly(dtype);
    write(file, save(file, sd), { torch_save: `torch.save(model${how}.state_dict(), "${file}")`, model: "TransformerLens HookedTransformer", config: CFG, tensors: expect(entries, firstSeenKeys()) });
  }

  { // Tied weights: views at different offsets of one storage, one tensor object under two names, a size-1 dim with an odd stride.
    const base = storage("F32", Array.from({ length: 24 }, (_, i) => (i - 12) / 8)), other = storage("F32", [0.25, -0.75]);
    const a = new Tensor(base, 0, [3, 4]);
    const entries = [["tied.a", a], ["tied.b", new Tensor(base, 12, [3, 4])], ["tied.a_again", a], ["tied.row", new Tensor(base, 16, [1, 4], [1, 1])], ["tied.last", new Tensor(base, 23, [])], ["other", new Tensor(other, 0, [2])]];
    write("shared-storage.pth", save("shared-storage.pth", new Dict(entries)), { torch_save: 'base = torch.arange(-12., 12.) / 8; a = base[:12].view(3, 4); torch.save({"tied.a": a, "tied.b": base[12:].view(3, 4), "tied.a_again": a, "tied.row": base[16:20].view(4, 1).t(), "tied.last": base[23], "other": torch.tensor([0.25, -0.75])}, "shared-storage.pth")', tensors: expect(entries, firstSeenKeys()) });
  }

  { // A training checkpoint: the state dict (keep_vars=True, so Parameters) one level down, beside an int, a float and a string.
    const rand = mulberry32(7), w = storage("F32", Array.from({ length: 6 }, () => Math.fround(rand() - 0.5))), b = storage("F32", [0.125, -0.5]), scale = storage("F32", [3]);
    const entries = [["lin.weight", new Parameter(new Tensor(w, 0, [2, 3]))], ["lin.bias", new Parameter(new Tensor(b, 0, [2]))], ["lin.scale", new Tensor(scale, 0, [])]];
    const ckpt = new Dict([["epoch", 7], ["state_dict", stateDict(entries, [["", 1], ["lin", 1]])], ["lr", new Float(0.001)], ["note", "tiny"]]);
    write("wrapped.pth", save("wrapped.pth", ckpt), { torch_save: 'torch.save({"epoch": 7, "state_dict": model.state_dict(keep_vars=True), "lr": 0.001, "note": "tiny"}, "wrapped.pth")', tensors: expect(entries, firstSeenKeys()) });
  }

  { // Protocol 4 (FRAME, SHORT_BINUNICODE, STACK_GLOBAL, MEMOIZE); an int64 scalar buffer; int and str leaves to skip.
    const f = (xs) => storage("F32", xs);
    const entries = [["weight", new Tensor(f([1, 1.5, 0.5]), 0, [3])], ["bias", new Tensor(f([0, -0.25, 0.25]), 0, [3])], ["running_mean", new Tensor(f([0.1, 0.2, 0.3]), 0, [3])],
      ["running_var", new Tensor(f([1, 2, 4]), 0, [3])], ["num_batches_tracked", new Tensor(storage("I64", [5]), 0, [])], ["step", 100], ["tag", "bn"]];
    write("protocol4.pth", save("protocol4.pth", stateDict(entries, [["", 2]]), { proto: 4 }), { torch_save: 'sd = nn.BatchNorm1d(3).state_dict(); sd["step"] = 100; sd["tag"] = "bn"; torch.save(sd, "protocol4.pth", pickle_protocol=4)', tensors: expect(entries, firstSeenKeys()) });
  }

  { // PyTorch 1.6 to ~2.0: `version` first, no byteorder, pointer-valued keys sorted as strings, saved to a buffer ("archive").
    const w = storage("F32", [1, 2, 3, 4, 5, 6]), b = storage("F16", [0.5, -2]);
    const entries = [["w", new Tensor(w, 0, [2, 3])], ["b", new Tensor(b, 0, [2])]];
    const keys = new Map([[w, "94420021410736"], [b, "94420021456256"]]);
    write("legacy-1.6-layout.pth", torchSave("archive", new Dict(entries), { layout: "1.6" }), { torch_save: 'torch.save({"w": w, "b": b.half()}, buffer)  # PyTorch 1.6', tensors: expect(entries, (s) => keys.get(s)) });
  }

  { // Every 32-bit zip field saturated and carried in ZIP64 fields, as miniz writes entries past 4 GiB.
    const w = storage("F32", [-1, 0.5, 2, -0.125]), b = storage("F16", [1, -1]);
    const entries = [["w", new Tensor(w, 0, [2, 2])], ["b", new Tensor(b, 0, [2])]];
    write("zip64-fields.pth", save("zip64-fields.pth", new Dict(entries), { zip: { zip64: true } }), { torch_save: "a small state dict in the layout miniz uses for entries and offsets past 4 GiB", tensors: expect(entries, firstSeenKeys()) });
  }

  // ---- refused files --------------------------------------------------------
  const MARKER = "acdc-wasm-pth-marker.txt", CMD = `echo pwned > ${MARKER}`;
  const small = () => new Dict([["w", new Tensor(storage("F32", [1, 2]), 0, [2])]]);
  // The classic __reduce__ payload: {"x": os.system(CMD)}.
  write("malicious-os-system.pth", save("malicious-os-system.pth", new Dict([["x", new Reduce(G("os", "system"), new Tuple([CMD]))]])));
  // builtins.eval through STACK_GLOBAL (protocol 4).
  write("malicious-builtins-eval.pth", save("malicious-builtins-eval.pth", new Reduce(G("builtins", "eval"), new Tuple([`__import__('os').system('${CMD}')`])), { proto: 4 }));
  // Hand-made: CPython's own protocol-2 pickler would spell this global commands.Popen (fix_imports), as it spells os.system posix.system.
  write("malicious-subprocess-popen.pth", save("malicious-subprocess-popen.pth", new Dict([["x", new Reduce(G("subprocess", "Popen"), new Tuple([new List(["sh", "-c", CMD])]))]])));
  // How a numpy array pickles: not a tensor, and numpy's reconstructor is not on the list.
  write("unknown-global-numpy.pth", save("unknown-global-numpy.pth", new Dict([["w", new Reduce(G("numpy.core.multiarray", "_reconstruct"), new Tuple([G("numpy", "ndarray"), new Tuple([0]), "b"]))]])));
  // INST names and calls a class without GLOBAL: {"x": os.system(CMD)} again, through protocol 0's INST.
  const inst = concat([Uint8Array.of(0x80, 2, 0x7d, 0x71, 0), utf8("X"), le(1, 4), utf8("x"), Uint8Array.of(0x71, 1, 0x28), utf8("X"), le(CMD.length, 4), utf8(CMD), Uint8Array.of(0x71, 2), utf8("ios\nsystem\n"), Uint8Array.of(0x71, 3, 0x73, 0x2e)]);
  write("opcode-inst.pth", torchZip("opcode-inst", [["data.pkl", inst], ["byteorder", utf8("little")], ["version", utf8("3\n")]]));
  // A byte that is no pickle opcode, right after the top-level dict's EMPTY_DICT and BINPUT.
  write("opcode-unknown.pth", save("opcode-unknown.pth", small(), { patch: (p) => concat([p.subarray(0, 5), Uint8Array.of(0xff), p.subarray(5)]) }));
  { const w = new Tensor(storage("F32", Array.from({ length: 12 }, (_, i) => i)), 0, [3, 4]);
    write("non-contiguous.pth", save("non-contiguous.pth", new Dict([["w", w], ["w.T", new Tensor(w.storage, 0, [4, 3], [1, 4])]]))); }
  write("compressed.pth", save("compressed.pth", small(), { zip: { compress: true } }));
  { const whole = save("truncated.pth", tinyAttnOnly("F32").sd); write("truncated.pth", whole.subarray(0, Math.floor(whole.length * 0.6))); }
  write("missing-data-pkl.pth", save("missing-data-pkl.pth", small(), { drop: ["data.pkl"] }));
  write("big-endian.pth", torchSave("big-endian", new Dict([["w", new Tensor(storage("F32", [1, 2], "big"), 0, [2])]]), { byteorder: "big" }));
  // Before PyTorch 1.6 (_legacy_save): magic number, protocol version and sys_info pickled back to back, then
  // the object and the raw storages; no zip. Only the three header pickles are written: a reader stops at byte 0.
  const sysInfo = new Dict([["protocol_version", 1001], ["little_endian", true], ["type_sizes", new Dict([["short", 2], ["int", 4], ["long", 8]])]]);
  write("legacy-format.pth", concat([pickle(0x1950a86a20f9469cfc6cn), pickle(1001), pickle(sysInfo)]));

  console.log(`wrote ${written.length} files to ${OUT}:\n  ${written.join("\n  ")}`);
}

main();
