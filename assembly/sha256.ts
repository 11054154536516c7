// SHA-256's compression function (FIPS 180-4) over whole 64-byte blocks of
// linear memory, so a model's parameters are hashed where they lie, about
// twice as fast as the same rounds in JavaScript. The host keeps the
// running length, the partial block and the padding (src/repro/sha256.ts);
// this does the rounds only, on a state of its own in static memory, so a
// hash of bytes already in memory needs no allocation (which could grow the
// memory under the caller's views). Runs on the calling thread.

const K = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** The running state: u32 [8] (h0 … h7). */
const STATE = memory.data(32);
/** The message schedule: u32 [64]. */
const W = memory.data(256);

/** Offset of the state sha256Blocks updates: u32 [8], set and read by the host. */
export function sha256State(): usize { return STATE; }

/** Update the state with n blocks of 64 bytes at data, each read as 16 big-endian words. */
export function sha256Blocks(data: usize, n: i32): void {
  const state = STATE, w = W;
  let h0 = load<u32>(state), h1 = load<u32>(state, 4), h2 = load<u32>(state, 8), h3 = load<u32>(state, 12);
  let h4 = load<u32>(state, 16), h5 = load<u32>(state, 20), h6 = load<u32>(state, 24), h7 = load<u32>(state, 28);
  for (let blk = 0; blk < n; blk++) {
    const p = data + (<usize>blk << 6);
    for (let t = 0; t < 16; t++) store<u32>(w + (<usize>t << 2), bswap<u32>(load<u32>(p + (<usize>t << 2))));
    for (let t = 16; t < 64; t++) {
      const o = w + (<usize>t << 2);
      const x = load<u32>(o - 60), y = load<u32>(o - 8);
      const s0 = rotr<u32>(x, 7) ^ rotr<u32>(x, 18) ^ (x >>> 3);
      const s1 = rotr<u32>(y, 17) ^ rotr<u32>(y, 19) ^ (y >>> 10);
      store<u32>(o, load<u32>(o - 64) + s0 + load<u32>(o - 28) + s1);
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let t = 0; t < 64; t++) {
      const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
      const t1 = h + S1 + ((e & f) ^ (~e & g)) + load<u32>(K + (<usize>t << 2)) + load<u32>(w + (<usize>t << 2));
      const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
      const t2 = S0 + ((a & b) ^ (a & c) ^ (b & c));
      h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h0 += a; h1 += b; h2 += c; h3 += d; h4 += e; h5 += f; h6 += g; h7 += h;
  }
  store<u32>(state, h0); store<u32>(state, h1, 4); store<u32>(state, h2, 8); store<u32>(state, h3, 12);
  store<u32>(state, h4, 16); store<u32>(state, h5, 20); store<u32>(state, h6, 24); store<u32>(state, h7, 28);
}
