// Reproductions of the random generators the paper's data depends on, so a
// task's prompts are the Python code's, token for token: MT19937 under
// CPython's `random`, NumPy's legacy RandomState and PyTorch's CPU generator.

/**
 * MT19937, the generator under Python's `random`, NumPy's legacy
 * RandomState and PyTorch's CPU generator (Matsumoto & Nishimura's mt19937ar.c).
 */
export class MT19937 {
  private readonly mt = new Uint32Array(624);
  private i = 624;

  /** init_genrand(seed): NumPy's np.random.seed(int) and torch.manual_seed. */
  static fromInt(seed: number): MT19937 {
    const g = new MT19937();
    g.initGenrand(seed);
    return g;
  }

  /** init_by_array(key): CPython's random.seed(int), key = the int's 32-bit words, least significant first. */
  static fromArray(key: number[]): MT19937 {
    const g = new MT19937(), mt = g.mt;
    g.initGenrand(19650218);
    let i = 1, j = 0;
    for (let k = Math.max(624, key.length); k > 0; k--) {
      const x = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(x, 1664525)) + key[j] + j) >>> 0;
      i++; j++;
      if (i >= 624) { mt[0] = mt[623]; i = 1; }
      if (j >= key.length) j = 0;
    }
    for (let k = 623; k > 0; k--) {
      const x = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(x, 1566083941)) - i) >>> 0;
      i++;
      if (i >= 624) { mt[0] = mt[623]; i = 1; }
    }
    mt[0] = 0x80000000;
    return g;
  }

  private initGenrand(seed: number): void {
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) mt[i] = (Math.imul(1812433253, mt[i - 1] ^ (mt[i - 1] >>> 30)) + i) >>> 0;
    this.i = 624;
  }

  /** The next tempered 32-bit output. */
  next(): number {
    const mt = this.mt;
    if (this.i >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.i = 0;
    }
    let y = mt[this.i++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

const bitLength = (n: number) => (n === 0 ? 0 : 32 - Math.clz32(n));

/** CPython's `random` after random.seed(seed) (integer seed below 2^32), the calls the paper's data uses. */
export class PythonRandom {
  private readonly g: MT19937;
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new RangeError(`PythonRandom: seed must be an integer in [0, 2^32), got ${seed}`);
    this.g = MT19937.fromArray([seed]);
  }
  getrandbits(k: number): number { return this.g.next() >>> (32 - k); }
  /** _randbelow_with_getrandbits: k = n.bit_length() bits, redrawn while ≥ n. */
  randbelow(n: number): number {
    const k = bitLength(n);
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }
  choice<T>(seq: readonly T[]): T { return seq[this.randbelow(seq.length)]; }
  /** random.sample (CPython 3.11): a pool for small populations, else redraws into a set. */
  sample<T>(population: readonly T[], k: number): T[] {
    const n = population.length;
    if (!(k >= 0 && k <= n)) throw new RangeError("sample larger than population");
    let setsize = 21;
    if (k > 5) setsize += 4 ** Math.ceil(Math.log(k * 3) / Math.log(4));
    const out: T[] = [];
    if (n <= setsize) {
      const pool = [...population];
      for (let i = 0; i < k; i++) {
        const j = this.randbelow(n - i);
        out.push(pool[j]);
        pool[j] = pool[n - i - 1];
      }
    } else {
      const selected = new Set<number>();
      for (let i = 0; i < k; i++) {
        let j = this.randbelow(n);
        while (selected.has(j)) j = this.randbelow(n);
        selected.add(j);
        out.push(population[j]);
      }
    }
    return out;
  }
}

/** NumPy's legacy global generator after np.random.seed(seed): randint(n) by masked rejection on 32-bit draws. */
export class NumpyRandomState {
  private readonly g: MT19937;
  constructor(seed: number) { this.g = MT19937.fromInt(seed); }
  randint(n: number): number {
    const rng = n - 1;
    if (rng === 0) return 0;
    let mask = rng;
    mask |= mask >>> 1; mask |= mask >>> 2; mask |= mask >>> 4; mask |= mask >>> 8; mask |= mask >>> 16;
    let v: number;
    while ((v = (this.g.next() & mask) >>> 0) > rng);
    return v;
  }
}

/** PyTorch's CPU generator after torch.manual_seed(seed), for ranges below 2^28 (32-bit draws). */
export class TorchGenerator {
  private readonly g: MT19937;
  constructor(seed: number) { this.g = MT19937.fromInt(seed); }
  /** torch.randint(low, high, (n,)): low + draw % (high − low), serially. */
  randint(low: number, high: number, n: number): number[] {
    const range = high - low;
    if (!(range > 0 && range < 2 ** 28)) throw new RangeError(`TorchGenerator.randint: range ${range} outside (0, 2^28)`);
    return Array.from({ length: n }, () => low + (this.g.next() % range));
  }
  /** torch.randperm(n) on the CPU: forward Fisher–Yates, swap i with i + draw % (n − i). */
  randperm(n: number): number[] {
    const r = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < n - 1; i++) {
      const z = this.g.next() % (n - i);
      [r[i], r[z + i]] = [r[z + i], r[i]];
    }
    return r;
  }
}
