// The .pth reader (src/model/formats/pth.ts) on the fixtures that
// scripts/make-pth-fixtures.mjs writes: where each tensor lies, checked by
// decoding the file's own bytes here (binary16 and bfloat16 decoded
// independently of the generator) against the JSON beside each file; every
// malicious or broken file refused with its one-line message; proof that a
// payload never runs; and seeded mutation fuzzing.
import t from "tap";
import { readFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { join, dirname } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { readPth } from "../../../dist/model/formats/pth.js";
import { bytesSource } from "../../../dist/model/formats/tensor.js";
import { FormatError } from "../../../dist/errors.js";
import { mulberry32 } from "../../../dist/random.js";

const here = dirname(fileURLToPath(import.meta.url));
const DIR = join(here, "..", "..", "fixtures", "pth");
const file = (name) => new Uint8Array(readFileSync(join(DIR, name)));
const expected = (name) => JSON.parse(readFileSync(join(DIR, name), "utf8"));
const read = (bytes, name = "fixture") => readPth(bytesSource(bytes, name));

// ---- independent decoders ----------------------------------------------------

const SIZE = { F32: 4, F16: 2, BF16: 2, F64: 8, BOOL: 1, I64: 8 };
/** IEEE binary16 from its definition: sign, 5-bit exponent (bias 15), 10-bit fraction. */
function f16(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
/** bfloat16 is the top half of a float32. */
const bf16 = (h) => new Float32Array(new Uint32Array([h << 16]).buffer)[0];
function decode(bytes, dtype) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), out = [];
  for (let o = 0; o < bytes.length; o += SIZE[dtype]) {
    if (dtype === "F32") out.push(dv.getFloat32(o, true));
    else if (dtype === "F16") out.push(f16(dv.getUint16(o, true)));
    else if (dtype === "BF16") out.push(bf16(dv.getUint16(o, true)));
    else if (dtype === "F64") out.push(dv.getFloat64(o, true));
    else if (dtype === "I64") out.push(Number(dv.getBigInt64(o, true)));
    else { const b = dv.getUint8(o); if (b > 1) throw new Error(`bool byte ${b}`); out.push(b === 1); }
  }
  return out;
}
const jsonValue = (v) => (typeof v === "string" ? Number(v) : v); // "-Infinity": JSON has no infinities

/** Read NAME.pth and compare names (in order), dtypes, shapes and decoded values with NAME.json. */
async function matchesJson(t, name) {
  const bytes = file(`${name}.pth`), exp = expected(`${name}.json`), got = await read(bytes, name);
  t.strictSame([...got.keys()], Object.keys(exp.tensors), `${name}: tensor names in file order`);
  for (const [key, e] of Object.entries(exp.tensors)) {
    const g = got.get(key);
    t.strictSame({ name: g.name, dtype: g.dtype, shape: g.shape, byteLength: g.byteLength }, { name: key, dtype: e.dtype, shape: e.shape, byteLength: e.values.length * SIZE[e.dtype] }, `${name}: ${key}`);
    t.strictSame(decode(bytes.subarray(g.offset, g.offset + g.byteLength), g.dtype), e.values.map(jsonValue), `${name}: ${key} values`);
  }
  return { bytes, got, exp };
}

// ---- valid files -------------------------------------------------------------

t.test("TransformerLens attention-only state dict in f32, f16 and bf16", async (t) => {
  const f32 = expected("tiny-attn-only.f32.json");
  for (const [dtype, rel] of [["f32", 0], ["f16", 2 ** -11], ["bf16", 2 ** -8]]) {
    const { got, exp } = await matchesJson(t, `tiny-attn-only.${dtype}`);
    t.equal(got.size, 30, `${dtype}: 2 embeddings, 12 tensors per layer, 4 final`);
    t.strictSame(got.get("blocks.0.attn.W_Q").shape, [2, 8, 4], "W_Q is [n_heads, d_model, d_head]");
    t.strictSame(got.get("blocks.1.attn.W_O").shape, [2, 4, 8], "W_O is [n_heads, d_head, d_model]");
    t.equal(got.get("blocks.0.attn.mask").dtype, "BOOL", "the causal mask stays bool");
    t.strictSame(exp.tensors["blocks.1.attn.IGNORE"].values.map(jsonValue), [-Infinity], "IGNORE is a -inf scalar");
    // torch pads every entry's data to a 64-byte boundary; each tensor here starts its own storage
    t.ok([...got.values()].every((g) => g.offset % 64 === 0), `${dtype}: every tensor starts on a 64-byte boundary`);
    // the 16-bit files hold the f32 file's values, rounded to nearest (half an ulp: 2^-11 for f16, 2^-8 for bf16)
    let worst = 0;
    for (const [key, e] of Object.entries(exp.tensors)) {
      if (e.dtype === "BOOL") continue;
      f32.tensors[key].values.map(jsonValue).forEach((x, i) => { const v = jsonValue(e.values[i]); if (Number.isFinite(x)) worst = Math.max(worst, Math.abs(v - x) / Math.abs(x)); else t.equal(v, x); });
    }
    t.ok(worst <= rel, `${dtype}: largest relative rounding ${worst} within ${rel}`);
    if (dtype !== "f32") t.ok(worst > 0, `${dtype}: values really were rounded`);
  }
});

t.test("tied weights: several names and offsets into one storage", async (t) => {
  const { got, exp } = await matchesJson(t, "shared-storage");
  const at = (k) => got.get(k).offset;
  t.equal(at("tied.b") - at("tied.a"), 12 * 4, "tied.b starts 12 floats into the storage");
  t.equal(at("tied.a_again"), at("tied.a"), "the same tensor under two names");
  t.equal(at("tied.row") - at("tied.a"), 16 * 4, "a size-1 dim with an odd stride still counts as contiguous");
  t.equal(at("tied.last") - at("tied.a"), 23 * 4, "a scalar view of the last element");
  t.equal(at("tied.a") % 64, 0, "the shared storage starts aligned");
  t.not(at("other"), at("tied.a"), "a second storage elsewhere");
  t.equal(exp.tensors["tied.b"].storage, exp.tensors["tied.a"].storage);
});

t.test("wrapped checkpoint, Parameters and non-tensor leaves", async (t) => {
  const { got } = await matchesJson(t, "wrapped");
  t.strictSame([...got.keys()], ["lin.weight", "lin.bias", "lin.scale"], "the state dict one level down; epoch, lr and note are not tensors");
});

t.test("protocol 4 pickle with an int64 buffer", async (t) => {
  const { got } = await matchesJson(t, "protocol4");
  t.equal(got.get("num_batches_tracked").dtype, "I64");
  t.notOk(got.has("step") || got.has("tag"), "int and str leaves are skipped");
});

t.test("PyTorch 1.6 layout and ZIP64 fields", async (t) => {
  const { got } = await matchesJson(t, "legacy-1.6-layout");
  t.equal(got.get("b").dtype, "F16");
  await matchesJson(t, "zip64-fields");
});

t.test("reads only the directory, headers and pickle, never tensor data", async (t) => {
  const bytes = file("tiny-attn-only.f32.pth"), src = bytesSource(bytes), reads = [];
  const got = await readPth({ byteLength: src.byteLength, name: src.name, read: (o, n) => { reads.push([o, n]); return src.read(o, n); } });
  const tensors = [...got.values()];
  const overlaps = reads.filter(([o, n]) => tensors.some((g) => o < g.offset + g.byteLength && g.offset < o + n));
  t.strictSame(overlaps, [], "no read touches a tensor's bytes");
  t.ok(reads.every(([, n]) => n < bytes.length), "no read of the whole file");
});

// ---- refused files -----------------------------------------------------------

const REFUSING = (name) => `pth: refusing global ${name} in data.pkl (only tensor state dicts are read)`;
const REFUSED = {
  "malicious-os-system.pth": REFUSING("os.system"),
  "malicious-builtins-eval.pth": REFUSING("builtins.eval"),
  "malicious-subprocess-popen.pth": REFUSING("subprocess.Popen"),
  "unknown-global-numpy.pth": REFUSING("numpy.core.multiarray._reconstruct"),
  "opcode-inst.pth": "pth: data.pkl byte 58: unsupported pickle opcode INST (0x69)",
  "opcode-unknown.pth": "pth: data.pkl byte 5: unknown pickle opcode 0xff",
  "non-contiguous.pth": 'pth: tensor "w.T" is not contiguous (size [4, 3], stride [1, 4]); only row-major contiguous tensors are read',
  "compressed.pth": 'pth: archive entry "compressed/data.pkl" is compressed (method 8, deflate); only stored entries are read, as torch.save writes them',
  "truncated.pth": "pth: no zip end-of-central-directory record (truncated or not a zip file)",
  "missing-data-pkl.pth": "pth: the archive has no missing-data-pkl/data.pkl",
  "big-endian.pth": 'pth: byteorder is "big"; only little-endian checkpoints are read',
  "legacy-format.pth": "pth: not a zip archive; this looks like the legacy (pre-1.6) torch.save format, which is not read (re-save it with a current PyTorch)",
};

/** The error readPth rejects with (fails the test if it resolves). */
async function refusal(t, bytes, what) {
  try { await read(bytes, what); } catch (e) { return e; }
  t.fail(`${what} was accepted`);
  return new Error("accepted");
}

t.test("malicious and broken files are refused with one clear line", async (t) => {
  for (const [name, message] of Object.entries(REFUSED)) {
    const e = await refusal(t, file(name), name);
    t.ok(e instanceof FormatError, `${name}: a FormatError`);
    t.equal(e.format, "pth");
    t.equal(e.message, message, name);
  }
  const made = { "an empty file": new Uint8Array(0), "three bytes": Uint8Array.of(0x50, 0x4b, 3), "a text file": new TextEncoder().encode("hello, not a checkpoint\n") };
  for (const [what, bytes] of Object.entries(made)) t.equal((await refusal(t, bytes, what)).message, "pth: not a zip archive (torch.save has written zip archives since PyTorch 1.6)", what);
});

t.test("a refused payload never runs", async (t) => {
  const marker = "acdc-wasm-pth-marker.txt", before = process.cwd(), dir = mkdtempSync(join(tmpdir(), "pth-"));
  t.teardown(() => { process.chdir(before); rmSync(dir, { recursive: true, force: true }); });
  process.chdir(dir); // every payload writes the marker into the working directory
  const text = (name) => new TextDecoder("latin1").decode(file(name));
  t.match(text("malicious-os-system.pth"), "cos\nsystem\n", "os.system is named by a GLOBAL opcode");
  for (const name of ["malicious-os-system.pth", "malicious-builtins-eval.pth", "malicious-subprocess-popen.pth", "opcode-inst.pth"]) {
    t.match(text(name), `echo pwned > ${marker}`, `${name} carries the shell command`);
    t.ok((await refusal(t, file(name), name)) instanceof FormatError, `${name} refused`);
  }
  t.notOk(existsSync(join(dir, marker)), "the marker file was never created");
  t.notOk(existsSync(join(before, marker)), "nor in the original working directory");
  // The reader cannot run anything: it imports only the error class and the tensor types, and never evaluates code.
  const js = readFileSync(join(here, "..", "..", "..", "dist", "model", "formats", "pth.js"), "utf8");
  t.strictSame([...js.matchAll(/^import .* from "(.*)";$/gm)].map((m) => m[1]), ["../../errors.js", "./tensor.js"], "imports");
  t.notMatch(js, /\beval\s*\(|\bFunction\s*\(|\bimport\s*\(|\brequire\s*\(/, "no eval, Function, dynamic import or require");
});

// ---- fuzz --------------------------------------------------------------------

/** The central-directory record of the entry whose name ends with SUFFIX: {cd, crcAt, start, size}. */
function centralEntry(bytes, suffix) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.length - 22, count = dv.getUint16(end + 10, true);
  for (let i = 0, p = dv.getUint32(end + 16, true); i < count; i++) {
    const n = dv.getUint16(p + 28, true), name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + n)), local = dv.getUint32(p + 42, true);
    if (name.endsWith(suffix)) return { crcAt: p + 16, size: dv.getUint32(p + 24, true), start: local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true) };
    p += 46 + n + dv.getUint16(p + 30, true) + dv.getUint16(p + 32, true);
  }
  throw new Error(`no ${suffix}`);
}

/** Apply one seeded mutation inside [lo, hi) of a copy of BYTES. */
function mutate(bytes, rand, lo, hi) {
  const m = bytes.slice(), at = () => lo + Math.floor(rand() * (hi - lo)), kind = Math.floor(rand() * 4);
  if (kind === 0) for (let k = 1 + Math.floor(rand() * 4); k > 0; k--) m[at()] ^= 1 + Math.floor(rand() * 255); // flip bits
  else if (kind === 1) m.fill(rand() < 0.5 ? 0 : 0xff, at(), at() + 1 + Math.floor(rand() * 8)); // a run of 00 or ff
  else if (kind === 2) { const p = at(); new DataView(m.buffer).setUint32(Math.min(p, m.length - 4), Math.floor(rand() * 2 ** 32), true); } // a random u32 (a length, an offset)
  else return m.subarray(0, at()); // truncation
  return m;
}

async function fuzz(t, what, base, lo, hi, seed) {
  const rand = mulberry32(seed), outcomes = { parsed: 0, refused: 0 };
  let slowest = 0;
  for (let i = 0; i < 300; i++) {
    const m = mutate(base, rand, lo, hi), t0 = performance.now();
    try { await read(m, `mutation ${i}`); outcomes.parsed++; } catch (e) {
      if (!(e instanceof FormatError) || e.message.includes("\n")) { t.fail(`${what} mutation ${i} (seed ${seed}): ${e?.stack ?? e}`); continue; }
      outcomes.refused++;
    }
    slowest = Math.max(slowest, performance.now() - t0);
  }
  t.ok(slowest < 1000, `${what}: slowest case ${slowest.toFixed(1)} ms`);
  t.ok(outcomes.parsed > 0 && outcomes.refused > 0, `${what}: ${outcomes.parsed} parsed, ${outcomes.refused} refused, nothing else`);
}

t.test("mutated files parse or throw FormatError, quickly", async (t) => {
  const base = file("tiny-attn-only.f32.pth");
  await fuzz(t, "whole file", base, 0, base.length, 0x5eed);
  // With data.pkl's CRC zeroed (torch's compute_crc32=False) mutations reach the unpickler instead of the CRC check.
  const pkl = centralEntry(base, "/data.pkl"), open = base.slice();
  open.fill(0, pkl.crcAt, pkl.crcAt + 4);
  t.ok(await read(open), "a zero CRC is accepted unchecked");
  await fuzz(t, "data.pkl", open, pkl.start, pkl.start + pkl.size, 0xfeed);
  await fuzz(t, "zip structures", base, centralEntry(base, "/.data/serialization_id").start, base.length, 0xbead);
});
