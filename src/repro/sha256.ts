// SHA-256 (FIPS 180-4) in plain TypeScript, incremental and synchronous, so
// every runtime (Node, Deno, browsers, workerd, edge isolates) hashes model
// files in chunks, wasm memory and trace text the same way without
// crypto.subtle (asynchronous, whole-buffer only, and refusing shared
// memory); and memorySha256, the same digest of a stretch of wasm memory
// with the rounds in the kernels (the parameters, hashed where they lie).
// Not a general crypto library: no HMAC, no other digests.
import type { Engine } from "../wasm/engine.js";

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

const encoder = new TextEncoder();

/** The bytes that end a message of `length` bytes: 0x80, zeros, the length in bits (big-endian 64-bit), to a whole block. */
function padding(length: number): Uint8Array {
  const fill = length % 64;
  const pad = new Uint8Array(((fill < 56 ? 56 : 120) - fill) + 8);
  pad[0] = 0x80;
  // Hi word from the float: lengths pass 2^32 bits at 512 MiB.
  const bits = length * 8, hi = Math.floor(bits / 2 ** 32), lo = bits >>> 0, e = pad.length;
  pad[e - 8] = hi >>> 24; pad[e - 7] = hi >>> 16; pad[e - 6] = hi >>> 8; pad[e - 5] = hi;
  pad[e - 4] = lo >>> 24; pad[e - 3] = lo >>> 16; pad[e - 2] = lo >>> 8; pad[e - 1] = lo;
  return pad;
}

const hexOf = (h: ArrayLike<number>): string => Array.from(h, (x) => (x >>> 0).toString(16).padStart(8, "0")).join("");

/** What both hashers share: the running length, the partial block carried between updates, the padding. */
abstract class BlockHash {
  protected readonly h = new Int32Array(IV);
  private readonly tail = new Uint8Array(64);
  private fill = 0;
  private length = 0;
  private done = false;

  /** Hash whole blocks into h (bytes.length a multiple of 64). */
  protected abstract blocks(bytes: Uint8Array): void;

  /** Add bytes (any view, shared memory included) or a string (as UTF-8). */
  update(data: Uint8Array | string): this {
    if (this.done) throw new Error("sha256: update after digest");
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let i = 0;
    const n = bytes.length;
    this.length += n;
    if (this.fill > 0) {
      i = Math.min(n, 64 - this.fill);
      this.tail.set(bytes.subarray(0, i), this.fill);
      this.fill += i;
      if (this.fill < 64) return this;
      this.blocks(this.tail);
      this.fill = 0;
    }
    const whole = (n - i) & ~63;
    if (whole > 0) this.blocks(bytes.subarray(i, i + whole));
    this.tail.set(bytes.subarray(i + whole), 0);
    this.fill = n - i - whole;
    return this;
  }

  /** The digest as 64 lowercase hex digits; the hash cannot be updated afterwards. */
  hex(): string {
    if (this.done) throw new Error("sha256: digest taken twice");
    const length = this.length;
    this.update(padding(length));
    this.length = length;
    this.done = true;
    return hexOf(this.h);
  }
}

/** An incremental SHA-256 in TypeScript: update(bytes or text)…, then hex() once. */
export class Sha256 extends BlockHash {
  private readonly w = new Int32Array(64);

  protected blocks(b: Uint8Array): void {
    const w = this.w, h = this.h;
    let h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4], h5 = h[5], h6 = h[6], h7 = h[7];
    for (let o = 0; o + 64 <= b.length; o += 64) {
      for (let t = 0, p = o; t < 16; t++, p += 4) w[t] = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
      for (let t = 16; t < 64; t++) {
        const x = w[t - 15], y = w[t - 2];
        const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
      }
      let a = h0, bb = h1, c = h2, d = h3, e = h4, f = h5, g = h6, hh = h7;
      for (let t = 0; t < 64; t++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[t] + w[t]) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const t2 = (S0 + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
        hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = bb; bb = a; a = (t1 + t2) | 0;
      }
      h0 = (h0 + a) | 0; h1 = (h1 + bb) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
      h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + hh) | 0;
    }
    h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3; h[4] = h4; h[5] = h5; h[6] = h6; h[7] = h7;
  }
}

/** SHA-256 of bytes or a string (UTF-8), as 64 hex digits. */
export function sha256Hex(data: Uint8Array | string): string {
  return new Sha256().update(data).hex();
}

/**
 * An incremental SHA-256 whose rounds run in engine e's sha256Blocks kernel
 * (update…, then hex once; the digest of Sha256, about twice as fast): bytes
 * that lie in e's memory are hashed where they are, allocating nothing;
 * others through a copy of at most 1 MiB at a time, taken from e's arena and
 * given back within the update, so updates may be awaited between.
 */
export class MemorySha256 extends BlockHash {
  constructor(private readonly e: Engine) { super(); }

  protected blocks(bytes: Uint8Array): void {
    const e = this.e, CHUNK = 1 << 20, state = e.k.sha256State();
    e.i32(state, 8).set(this.h);
    if (bytes.buffer === e.memory.buffer) {
      // In place: nothing is allocated, so no view on memory is detached. A few MiB a call, so a 600 MB block
      // is not one uninterruptible 2-second call into wasm either.
      for (let o = 0; o < bytes.length; o += CHUNK) e.k.sha256Blocks(bytes.byteOffset + o, Math.min(CHUNK, bytes.length - o) / 64);
    } else {
      const mark = e.mark();
      try {
        const copy = e.alloc(Math.min(bytes.length, CHUNK));
        for (let o = 0; o < bytes.length; o += CHUNK) {
          const len = Math.min(CHUNK, bytes.length - o);
          new Uint8Array(e.memory.buffer, copy, len).set(bytes.subarray(o, o + len));
          e.k.sha256Blocks(copy, len / 64);
        }
      } finally {
        e.reset(mark);
      }
    }
    this.h.set(e.i32(state, 8));
  }
}

/** SHA-256 of `bytes` bytes of engine e's memory from byte `offset` (any alignment), hashed where they lie: the digest of sha256Hex on those bytes. */
export function memorySha256(e: Engine, offset: number, bytes: number): string {
  return new MemorySha256(e).update(new Uint8Array(e.memory.buffer, offset, bytes)).hex();
}
