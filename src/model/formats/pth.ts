// PyTorch checkpoint reader (.pth / .pt / .bin written by torch.save since
// PyTorch 1.6): a zip archive of stored entries under one folder, holding
// `<folder>/data.pkl` (the pickled object), `<folder>/byteorder` and one
// `<folder>/data/<key>` entry per tensor storage. It reports where each
// tensor's bytes lie in the file; it never copies values.
//
// It is not an unpickler. data.pkl is interpreted by a small stack machine
// that knows the opcodes torch.save emits and resolves only the globals a
// tensor state dict needs, each as a pure data constructor. Any other global
// (os.system, builtins.eval, numpy, a model class) is refused at its GLOBAL
// opcode, so nothing a file names is ever looked up or run. Not read: the
// legacy pre-1.6 format, compressed entries, big-endian files, TorchScript
// archives, tensor subclasses, _rebuild_tensor_v3 dtypes (uint16/32/64, fp8).

import { FormatError } from "../../errors.js";
import { DTYPE_BYTES, type AnyDType, type ByteSource, type StoredTensor } from "./tensor.js";

const fail = (message: string): never => { throw new FormatError("pth", message); };

/** File-derived text made safe for a one-line message: control characters escaped, long text cut. */
function show(s: string): string {
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return t.length > 80 ? `${t.slice(0, 80)}…` : t;
}

// A state dict never needs more; the caps keep a corrupt length from asking the source for gigabytes.
const MAX_DIRECTORY = 256 * 2 ** 20, MAX_PICKLE = 256 * 2 ** 20;

// ---- zip ---------------------------------------------------------------------

const SIG_LOCAL = 0x04034b50, SIG_CENTRAL = 0x02014b50, SIG_END = 0x06054b50, SIG_Z64_LOCATOR = 0x07064b50, SIG_Z64_END = 0x06064b50;

const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
/** Little-endian u64 as a number; Infinity past 2^53, so every bounds check it meets fails. */
const u64 = (b: Uint8Array, o: number) => { const hi = u32(b, o + 4); return hi >= 0x200000 ? Infinity : hi * 0x100000000 + u32(b, o); };

interface Entry { name: string; raw: Uint8Array; flags: number; method: number; crc: number; compSize: number; size: number; local: number }

/** The central directory: entries by full name, the folder torch.save put them in, and where entry data must end. */
async function readDirectory(src: ByteSource): Promise<{ entries: Map<string, Entry>; folder: string; dataEnd: number }> {
  const size = src.byteLength;
  const magic = await src.read(0, Math.min(4, size));
  if (magic.length < 4 || u32(magic, 0) !== SIG_LOCAL) {
    fail(magic[0] === 0x80 ? "not a zip archive; this looks like the legacy (pre-1.6) torch.save format, which is not read (re-save it with a current PyTorch)"
      : "not a zip archive (torch.save has written zip archives since PyTorch 1.6)");
  }
  // The end record is the last 22 bytes, followed by a comment of up to 64 KiB that torch never writes.
  const isEnd = (b: Uint8Array, i: number) => u32(b, i) === SIG_END && i + 22 + u16(b, i + 20) === b.length;
  let tail = await src.read(size - Math.min(size, 22), Math.min(size, 22)), at = tail.length === 22 && isEnd(tail, 0) ? 0 : -1;
  if (at < 0) {
    tail = await src.read(size - Math.min(size, 22 + 0xffff), Math.min(size, 22 + 0xffff));
    for (let i = tail.length - 22; i >= 0 && at < 0; i--) if (isEnd(tail, i)) at = i;
  }
  if (at < 0) fail("no zip end-of-central-directory record (truncated or not a zip file)");
  const end = size - tail.length + at;
  let count = u16(tail, at + 10), cdSize = u32(tail, at + 12), cdOff = u32(tail, at + 16), dataEnd = end;
  // torch.save always writes a ZIP64 end record and locator; past 4 GiB only they hold the true values.
  const locator = end >= 20 ? await src.read(end - 20, 20) : undefined;
  if (locator && u32(locator, 0) === SIG_Z64_LOCATOR) {
    const rec = u64(locator, 8);
    if (!(rec + 56 <= end - 20)) fail("the ZIP64 end record lies outside the file");
    const z = await src.read(rec, 56);
    if (u32(z, 0) !== SIG_Z64_END) fail("the ZIP64 locator does not point at a ZIP64 end record");
    [count, cdSize, cdOff, dataEnd] = [u64(z, 32), u64(z, 40), u64(z, 48), rec];
  } else if (count === 0xffff || cdSize === 0xffffffff || cdOff === 0xffffffff) {
    fail("the end record needs ZIP64 values, but there is no ZIP64 locator");
  }
  if (!(cdOff + cdSize <= dataEnd)) fail(`the central directory (${cdSize} bytes at ${cdOff}) runs past the end records (truncated or corrupt file)`);
  if (cdSize > MAX_DIRECTORY) fail(`the central directory is implausibly large (${cdSize} bytes)`);
  if (count === 0) fail("the archive is empty");
  if (count * 46 > cdSize) fail(`the central directory (${cdSize} bytes) cannot hold the ${count} entries it claims`);
  const cd = await src.read(cdOff, cdSize), entries = new Map<string, Entry>(), utf8 = new TextDecoder();
  for (let i = 0, p = 0; i < count; i++) {
    if (p + 46 > cd.length || u32(cd, p) !== SIG_CENTRAL) fail(`central directory entry ${i} is malformed`);
    const nameLen = u16(cd, p + 28), extraLen = u16(cd, p + 30), next = p + 46 + nameLen + extraLen + u16(cd, p + 32);
    if (next > cd.length) fail(`central directory entry ${i} runs past the directory`);
    const raw = cd.slice(p + 46, p + 46 + nameLen);
    const e: Entry = { name: utf8.decode(raw), raw, flags: u16(cd, p + 8), method: u16(cd, p + 10), crc: u32(cd, p + 16), compSize: u32(cd, p + 20), size: u32(cd, p + 24), local: u32(cd, p + 42) };
    if (e.size === 0xffffffff || e.compSize === 0xffffffff || e.local === 0xffffffff) zip64Fields(cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen), e);
    if (entries.has(e.name)) fail(`the archive lists "${show(e.name)}" twice`);
    entries.set(e.name, e);
    p = next;
  }
  // Like torch's own reader: the first entry's folder is the archive's folder.
  const first = entries.keys().next().value as string, slash = first.indexOf("/");
  if (slash <= 0) fail(`archive entry "${show(first)}" is not inside a folder, as torch.save's entries are`);
  return { entries, folder: first.slice(0, slash), dataEnd: cdOff };
}

/** Replace an entry's saturated 32-bit fields with those of its ZIP64 extra field (id 1), in the order the zip spec lists them. */
function zip64Fields(extra: Uint8Array, e: Entry): void {
  for (let p = 0; p + 4 <= extra.length; p += 4 + u16(extra, p + 2)) {
    if (u16(extra, p) !== 1) continue;
    let q = p + 4;
    const end = Math.min(extra.length, q + u16(extra, p + 2));
    const next = (): number => { if (q + 8 > end) fail(`the ZIP64 field of "${show(e.name)}" is too short`); q += 8; return u64(extra, q - 8); };
    if (e.size === 0xffffffff) e.size = next();
    if (e.compSize === 0xffffffff) e.compSize = next();
    if (e.local === 0xffffffff) e.local = next();
    return;
  }
  fail(`entry "${show(e.name)}" needs a ZIP64 field and has none`);
}

/** Absolute offset of an entry's data, after checking it is stored, in bounds and named alike in both headers. */
async function dataStart(src: ByteSource, e: Entry, dataEnd: number): Promise<number> {
  if (e.flags & 1) fail(`archive entry "${show(e.name)}" is encrypted`);
  if (e.method !== 0) fail(`archive entry "${show(e.name)}" is compressed (method ${e.method}${e.method === 8 ? ", deflate" : ""}); only stored entries are read, as torch.save writes them`);
  if (e.compSize !== e.size) fail(`archive entry "${show(e.name)}" is stored but its two sizes differ`);
  if (!(e.local + 30 + e.raw.length <= dataEnd)) fail(`the local header of "${show(e.name)}" lies outside the file`);
  const h = await src.read(e.local, 30 + e.raw.length);
  if (u32(h, 0) !== SIG_LOCAL || u16(h, 26) !== e.raw.length || h.subarray(30).some((c, i) => c !== e.raw[i])) fail(`the local header of "${show(e.name)}" does not match the central directory`);
  const start = e.local + 30 + e.raw.length + u16(h, 28);
  if (!(start + e.size <= dataEnd)) fail(`archive entry "${show(e.name)}" (${e.size} bytes) runs past the end of the data (truncated or corrupt file)`);
  return start;
}

let crcTable: Uint32Array | undefined;
function crc32(b: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; crcTable[n] = c; }
  }
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = crcTable[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A small entry's bytes, CRC-checked unless the writer left the CRC 0 (torch's compute_crc32=False). */
async function contents(src: ByteSource, e: Entry, limit: number, dataEnd: number): Promise<Uint8Array> {
  if (e.size > limit) fail(`archive entry "${show(e.name)}" is implausibly large (${e.size} bytes)`);
  const bytes = await src.read(await dataStart(src, e, dataEnd), e.size);
  if (e.crc !== 0 && crc32(bytes) !== e.crc) fail(`archive entry "${show(e.name)}" fails its CRC-32 check (corrupt file)`);
  return bytes;
}

// ---- restricted unpickler ------------------------------------------------------

class PyFloat { constructor(readonly value: number) {} }
class PyList { constructor(readonly items: Value[]) {} }
class PyTuple { constructor(readonly items: Value[]) {} }
class PyDict { readonly map = new Map<Key, Value>(); }
/** An allow-listed global: what REDUCE may build from it; a storage class carries its element type instead. */
class PyGlobal { constructor(readonly label: string, readonly kind: "dict" | "tensor" | "param" | "storage", readonly dtype: AnyDType | null = null) {} }
class PyStorage { constructor(readonly key: string, readonly dtype: AnyDType, readonly numel: number) {} }
class PyTensor { constructor(readonly storage: PyStorage, readonly offset: number, readonly shape: number[], readonly stride: number[]) {} }
type Key = string | number | bigint | boolean | null;
type Value = Key | PyFloat | PyList | PyTuple | PyDict | PyGlobal | PyStorage | PyTensor;

// Everything a state dict's pickle refers to by name. The storage class is the tensor's dtype.
const STORAGES: [string, AnyDType][] = [["Float", "F32"], ["Half", "F16"], ["BFloat16", "BF16"], ["Double", "F64"], ["Bool", "BOOL"],
  ["Byte", "U8"], ["Char", "I8"], ["Short", "I16"], ["Int", "I32"], ["Long", "I64"]];
const GLOBALS = new Map<string, PyGlobal>([
  ["collections OrderedDict", new PyGlobal("collections.OrderedDict", "dict")],
  ["torch._utils _rebuild_tensor_v2", new PyGlobal("torch._utils._rebuild_tensor_v2", "tensor")],
  ["torch._utils _rebuild_parameter", new PyGlobal("torch._utils._rebuild_parameter", "param")],
  ["torch._utils _rebuild_parameter_with_state", new PyGlobal("torch._utils._rebuild_parameter_with_state", "param")],
  ...STORAGES.map(([s, dtype]): [string, PyGlobal] => [`torch ${s}Storage`, new PyGlobal(`torch.${s}Storage`, "storage", dtype)]),
]);

// Opcode names for refusals: single-character opcodes, then 0x80.. in order.
const OPS = new Map<number, string>([
  ..."(MARK .STOP 0POP 1POP_MARK 2DUP FFLOAT IINT JBININT KBININT1 LLONG MBININT2 NNONE PPERSID QBINPERSID RREDUCE SSTRING TBINSTRING USHORT_BINSTRING VUNICODE XBINUNICODE aAPPEND bBUILD cGLOBAL dDICT }EMPTY_DICT eAPPENDS gGET hBINGET iINST jLONG_BINGET lLIST ]EMPTY_LIST oOBJ pPUT qBINPUT rLONG_BINPUT sSETITEM tTUPLE )EMPTY_TUPLE uSETITEMS GBINFLOAT BBINBYTES CSHORT_BINBYTES"
    .split(" ").map((s): [number, string] => [s.charCodeAt(0), s.slice(1)]),
  ..."PROTO NEWOBJ EXT1 EXT2 EXT4 TUPLE1 TUPLE2 TUPLE3 NEWTRUE NEWFALSE LONG1 LONG4 SHORT_BINUNICODE BINUNICODE8 BINBYTES8 EMPTY_SET ADDITEMS FROZENSET NEWOBJ_EX STACK_GLOBAL MEMOIZE FRAME BYTEARRAY8 NEXT_BUFFER READONLY_BUFFER"
    .split(" ").map((s, i): [number, string] => [0x80 + i, s]),
]);

function describe(v: Value): string {
  if (v === null) return "None";
  if (typeof v === "boolean") return "a bool";
  if (typeof v === "number" || typeof v === "bigint") return "an int";
  if (typeof v === "string") return "a str";
  if (v instanceof PyGlobal) return v.label;
  return v instanceof PyFloat ? "a float" : v instanceof PyList ? "a list" : v instanceof PyTuple ? "a tuple" : v instanceof PyDict ? "a dict" : v instanceof PyStorage ? "a storage" : "a tensor";
}

const isIndex = (v: Value): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** Run data.pkl on the restricted machine and return the object it builds. */
function unpickle(b: Uint8Array): Value {
  let stack: Value[] = [], at = 0, pos = 0, op = 0;
  const marks: Value[][] = [], memo = new Map<number, Value>(), storages = new Map<string, PyStorage>();
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const name = () => OPS.get(op) ?? `0x${op.toString(16).padStart(2, "0")}`;
  const bad = (what: string): never => fail(`data.pkl byte ${at}: ${what}`);
  const take = (n: number): Uint8Array => { if (!(n <= b.length - pos)) bad(`${name()} runs past the end of data.pkl (truncated)`); pos += n; return b.subarray(pos - n, pos); };
  const pop = (): Value => (stack.length ? stack.pop() as Value : bad(`${name()} on an empty stack`));
  const peek = (): Value => (stack.length ? stack[stack.length - 1] : bad(`${name()} on an empty stack`));
  const popMark = (): Value[] => { const items = stack, below = marks.pop(); if (!below) bad(`${name()} without a MARK`); stack = below as Value[]; return items; };
  const text = (s: Uint8Array): string => { try { return utf8.decode(s); } catch { return bad("string is not valid UTF-8"); } };
  const get = (i: number): Value => (memo.has(i) ? memo.get(i) as Value : bad(`memo slot ${i} was never stored`));
  const line = (): string => { const nl = b.indexOf(0x0a, pos); if (nl < 0) bad("GLOBAL line runs past the end of data.pkl"); return text(take(nl - pos + 1).subarray(0, -1)); };
  const i32 = (s: Uint8Array) => u32(s, 0) | 0;
  const holder = <T>(kind: new (...a: never[]) => T, what: string): T => {
    const v = peek();
    return v instanceof kind ? v : bad(`${name()} needs ${what} below its items, found ${describe(v)}`);
  };
  const setItem = (d: PyDict, k: Value, v: Value) => {
    if (k !== null && typeof k === "object") bad(`dict key is ${describe(k)}`);
    d.map.set(k as Key, v);
  };
  const resolve = (module: string, field: string): PyGlobal =>
    GLOBALS.get(`${module} ${field}`) ?? fail(`refusing global ${show(module)}.${show(field)} in data.pkl (only tensor state dicts are read)`);

  for (;;) {
    at = pos;
    if (pos >= b.length) fail("data.pkl ends without STOP (truncated)");
    op = b[pos++];
    switch (op) {
      case 0x80: { const v = take(1)[0]; if (v > 5) bad(`pickle protocol ${v} is newer than 5`); break; } // PROTO
      case 0x95: { const n = u64(take(8), 0); if (!(n <= b.length - pos)) bad("FRAME runs past the end of data.pkl (truncated)"); break; } // FRAME only groups opcodes
      case 0x2e: return pop(); // STOP
      case 0x28: marks.push(stack); stack = []; break; // MARK
      case 0x7d: stack.push(new PyDict()); break; // EMPTY_DICT
      case 0x5d: stack.push(new PyList([])); break; // EMPTY_LIST
      case 0x29: stack.push(new PyTuple([])); break; // EMPTY_TUPLE
      case 0x74: { const items = popMark(); stack.push(new PyTuple(items)); break; } // TUPLE (popMark swaps `stack`: read it after)
      case 0x85: case 0x86: case 0x87: { // TUPLE1..3
        const n = op - 0x84;
        if (stack.length < n) bad(`${name()} needs ${n} items on the stack`);
        stack.push(new PyTuple(stack.splice(stack.length - n, n)));
        break;
      }
      case 0x73: { const v = pop(), k = pop(); setItem(holder(PyDict, "a dict"), k, v); break; } // SETITEM
      case 0x75: { // SETITEMS
        const items = popMark(), d = holder(PyDict, "a dict");
        if (items.length % 2) bad("SETITEMS with an odd number of items");
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case 0x61: { const v = pop(); holder(PyList, "a list").items.push(v); break; } // APPEND
      case 0x65: { const items = popMark(), l = holder(PyList, "a list"); for (const v of items) l.items.push(v); break; } // APPENDS
      case 0x58: stack.push(text(take(u32(take(4), 0)))); break; // BINUNICODE
      case 0x8c: case 0x55: stack.push(text(take(take(1)[0]))); break; // SHORT_BINUNICODE, SHORT_BINSTRING
      case 0x8d: stack.push(text(take(u64(take(8), 0)))); break; // BINUNICODE8
      case 0x54: { const n = i32(take(4)); stack.push(text(take(n < 0 ? Infinity : n))); break; } // BINSTRING (torch.load decodes it as UTF-8)
      case 0x4a: stack.push(i32(take(4))); break; // BININT
      case 0x4b: stack.push(take(1)[0]); break; // BININT1
      case 0x4d: stack.push(u16(take(2), 0)); break; // BININT2
      case 0x8a: stack.push(long1(take(take(1)[0]))); break; // LONG1
      case 0x47: { const s = take(8); stack.push(new PyFloat(new DataView(s.buffer, s.byteOffset, 8).getFloat64(0, false))); break; } // BINFLOAT, big-endian
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x71: memo.set(take(1)[0], peek()); break; // BINPUT
      case 0x72: memo.set(u32(take(4), 0), peek()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, peek()); break; // MEMOIZE
      case 0x68: stack.push(get(take(1)[0])); break; // BINGET
      case 0x6a: stack.push(get(u32(take(4), 0))); break; // LONG_BINGET
      case 0x63: { const module = line(); stack.push(resolve(module, line())); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const field = pop(), module = pop();
        if (typeof module !== "string" || typeof field !== "string") bad("STACK_GLOBAL needs two strings");
        stack.push(resolve(module as string, field as string));
        break;
      }
      case 0x52: { const args = pop(); stack.push(call(pop(), args)); break; } // REDUCE
      case 0x62: { // BUILD: attribute state; only a state dict's own (its _metadata) is accepted, and ignored
        const state = pop(), target = peek();
        if (!(target instanceof PyDict)) bad(`BUILD on ${describe(target)} is not supported`);
        if (!(state === null || state instanceof PyDict || state instanceof PyTuple)) bad(`BUILD with ${describe(state)} as state`);
        break;
      }
      case 0x51: stack.push(persistent(pop())); break; // BINPERSID
      default: bad(OPS.has(op) ? `unsupported pickle opcode ${name()} (0x${op.toString(16)})` : `unknown pickle opcode ${name()}`);
    }
  }

  /** REDUCE: apply an allow-listed global, each one a pure data constructor. */
  function call(f: Value, args: Value): Value {
    if (!(f instanceof PyGlobal)) return bad(`REDUCE on ${describe(f)}, which is not callable`);
    if (!(args instanceof PyTuple)) return bad(`REDUCE arguments are ${describe(args)}, not a tuple`);
    const a = args.items;
    if (f.kind === "dict") return a.length ? bad("collections.OrderedDict called with arguments") : new PyDict();
    if (f.kind === "param") { // _rebuild_parameter(data, requires_grad, hooks[, state]): the tensor itself
      return a.length >= 3 && a.length <= 4 && a[0] instanceof PyTensor ? a[0] : bad(`${f.label} needs a tensor and 2 or 3 more arguments`);
    }
    if (f.kind === "storage") return bad(`${f.label} may only name a storage's type`);
    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    if (a.length < 6 || a.length > 7) return bad(`${f.label} takes 6 or 7 arguments, got ${a.length}`);
    const [storage, offset, size, stride] = a;
    if (!(storage instanceof PyStorage)) return bad(`${f.label}: the first argument is ${describe(storage)}, not a storage`);
    const ints = (v: Value, what: string): number[] =>
      v instanceof PyTuple && v.items.every(isIndex) ? v.items as number[] : bad(`${f.label}: ${what} is not a tuple of non-negative ints`);
    const shape = ints(size, "size"), strides = ints(stride, "stride");
    if (strides.length !== shape.length) bad(`${f.label}: size has ${shape.length} dims but stride has ${strides.length}`);
    if (!isIndex(offset)) bad(`${f.label}: storage offset is not a non-negative int`);
    return new PyTensor(storage, offset as number, shape, strides);
  }

  /** BINPERSID: torch.save's ('storage', storage_type, key, location, numel) reference to data/<key>. */
  function persistent(pid: Value): PyStorage {
    if (!(pid instanceof PyTuple) || pid.items.length !== 5 || pid.items[0] !== "storage") return bad("persistent id is not a ('storage', type, key, location, numel) tuple");
    const [, type, key, location, numel] = pid.items;
    if (!(type instanceof PyGlobal) || !type.dtype) return bad(`storage type is ${describe(type)}, not a torch storage class`);
    if (typeof key !== "string" || typeof location !== "string" || !isIndex(numel)) return bad("malformed storage reference");
    const seen = storages.get(key);
    if (seen && (seen.dtype !== type.dtype || seen.numel !== numel)) bad(`storage ${show(key)} is declared twice, differently`);
    const s = seen ?? new PyStorage(key, type.dtype, numel);
    storages.set(key, s);
    return s;
  }
}

/** LONG1's little-endian two's-complement bytes, as a number when exact. */
function long1(s: Uint8Array): number | bigint {
  let v = 0n;
  for (let i = s.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(s[i]);
  if (s.length && s[s.length - 1] & 0x80) v -= 1n << BigInt(8 * s.length);
  return Number.isSafeInteger(Number(v)) ? Number(v) : v;
}

// ---- the state dict --------------------------------------------------------------

/** The (name, tensor) pairs of the pickled state dict, unwrapping {"state_dict": …} or {"model": …} when the top level has no tensors. */
function namedTensors(root: Value): [string, PyTensor][] {
  if (!(root instanceof PyDict)) return fail(`data.pkl holds ${describe(root)}, not a dict of tensors`);
  const hasTensor = (d: PyDict) => [...d.map.values()].some((v) => v instanceof PyTensor);
  let sd = root;
  if (!hasTensor(root)) {
    const inner = ["state_dict", "model"].map((k) => root.map.get(k)).find((v): v is PyDict => v instanceof PyDict && hasTensor(v));
    const keys = [...root.map.keys()].slice(0, 8).map((k) => show(String(k))).join(", ");
    sd = inner ?? fail(`data.pkl holds a dict without tensors (keys: ${keys || "none"})`);
  }
  const out: [string, PyTensor][] = [];
  for (const [k, v] of sd.map) {
    if (v instanceof PyTensor) out.push(typeof k === "string" ? [k, v] : fail(`a tensor is stored under ${describe(k)} key, not a name`));
    else if (v !== null && typeof v === "object" && !(v instanceof PyFloat)) fail(`state dict entry "${show(String(k))}" holds ${describe(v)}, not a tensor`);
    // ints, floats, strings, bools and None are bookkeeping (a step count, a version): skipped
  }
  return out;
}

/** Row-major contiguous, where a dimension of size 1 may carry any stride (torch does not normalise them). */
function contiguous(shape: number[], stride: number[]): boolean {
  if (shape.includes(0)) return true;
  for (let d = shape.length - 1, want = 1; d >= 0; want *= shape[d--]) if (shape[d] !== 1 && stride[d] !== want) return false;
  return true;
}

/** Locate every tensor of a torch.save'd state dict: name → {dtype, shape [dims], offset, byteLength} in file order. */
export async function readPth(src: ByteSource): Promise<Map<string, StoredTensor>> {
  const { entries, folder, dataEnd } = await readDirectory(src);
  const entry = (rel: string) => entries.get(`${folder}/${rel}`);
  const pkl = await contents(src, entry("data.pkl") ?? fail(`the archive has no ${show(folder)}/data.pkl`), MAX_PICKLE, dataEnd);
  const order = entry("byteorder"); // absent before PyTorch 2.x; torch then assumes little-endian too
  if (order) {
    const text = new TextDecoder().decode(await contents(src, order, 16, dataEnd));
    if (text !== "little") fail(`byteorder is "${show(text)}"; only little-endian checkpoints are read`);
  }
  const tensors = namedTensors(unpickle(pkl));
  const placed = new Map<string, number>(), out = new Map<string, StoredTensor>();
  for (const [name, t] of tensors) {
    const s = t.storage, bytes = DTYPE_BYTES[s.dtype];
    if (!contiguous(t.shape, t.stride)) fail(`tensor "${show(name)}" is not contiguous (size [${t.shape.join(", ")}], stride [${t.stride.join(", ")}]); only row-major contiguous tensors are read`);
    let start = placed.get(s.key);
    if (start === undefined) {
      const e = entry(`data/${s.key}`) ?? fail(`tensor "${show(name)}" needs storage data/${show(s.key)}, which the archive lacks`);
      if (e.size !== s.numel * bytes) fail(`storage data/${show(s.key)} holds ${e.size} bytes, but data.pkl declares ${s.numel} ${s.dtype} elements`);
      start = await dataStart(src, e, dataEnd);
      placed.set(s.key, start);
    }
    const numel = t.shape.reduce((a, n) => a * n, 1);
    if (!(t.offset + numel <= s.numel)) fail(`tensor "${show(name)}" (${numel} elements from element ${t.offset}) runs past its storage data/${show(s.key)} (${s.numel} elements)`);
    out.set(name, { name, dtype: s.dtype, shape: t.shape, offset: start + t.offset * bytes, byteLength: numel * bytes });
  }
  return out;
}
