// The arena past 2 GiB: offsets and sizes stay exact up to the 4 GiB limit
// (JavaScript's 32-bit bitwise operators once wrapped them negative), and
// allocations past the limit are refused with the numbers.
import t from "tap";
import { createEngine, AcdcError } from "../../dist/index.js";

t.test("a 3 GB allocation lands where it says and is writable at its end", async (t) => {
  const e = await createEngine();
  const p = e.alloc(3e9);
  t.equal(e.top, p + Math.ceil(3e9 / 64) * 64, "top moved by the aligned size");
  t.ok(e.memory.buffer.byteLength >= e.top, "memory grew to cover it");
  e.k.fill(p + 3e9 - 64, 7, 16);
  t.equal(e.f32(p + 3e9 - 64, 16)[15], 7, "the last floats are reachable from wasm");
  let err = null;
  try { e.alloc(2e9); } catch (x) { err = x; }
  t.ok(err instanceof AcdcError && /past the 4096 MiB limit/.test(err.message), `past 4 GiB: refused, not wrapped (${err?.message})`);
  t.throws(() => e.ensure(2e9, "test buffers"), /test buffers needs 1\.86 GiB of WebAssembly memory but only 1\.20 GiB of the 4 GiB limit/, "ensure names the numbers");
});
