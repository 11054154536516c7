// Loading weights: values read from a file (a chunk copied into linear
// memory; f32, or 16-bit kept as it is) copied into a parameter's storage,
// row-major or packB's panels (matmul.ts), refusing any value that is not
// finite. Done here rather than in the host because a JavaScript
// element-by-element copy of GPT-2-small's 622 MiB took over a second and
// boxed values until it was optimized. Runs on the calling thread; writes
// only its own parameter.

import { BF16 } from "./half";

/** Exponent bits of an f32: all ones is an infinity or a NaN. */
const EXP: u32 = 0x7f800000;

// Finiteness is gathered as one flag per copy, bit 31 of Σ| ((v & EXP) +
// 2²³): only an exponent of all ones carries into it. A compare and a
// running least index per value made the copy several times slower; the
// index is found afterwards, on the failing path only.
const CARRY: u32 = 0x800000;

/** Rows copied together, run by run, into a packed matrix (see scatterRows). */
const ROW_BLOCK = 32;

/**
 * Panel slot of element (k, col) of a packed [K, N] matrix in column groups
 * of G (each group ⌈G/8⌉ panels of [K][8]; `group` floats per group).
 */
@inline function slotOf(k: i32, col: i32, K: i32, G: i32, group: i32): i32 {
  const g = col / G, j = col - g * G;
  return g * group + (j >> 3) * 8 * K + k * 8 + (j & 7);
}

/** dst[n] = src[n] (f32 bits, contiguous), returning the finiteness flag of the values. */
@inline function copyRun(dst: usize, src: usize, n: i32): u32 {
  const e = i32x4.splat(EXP), c = i32x4.splat(CARRY);
  let acc4 = i32x4.splat(0), acc: u32 = 0, i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2, v = v128.load(src + o);
    acc4 = v128.or(acc4, i32x4.add(v128.and(v, e), c));
    v128.store(dst + o, v);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2, v = load<u32>(src + o);
    acc |= (v & EXP) + CARRY;
    store<u32>(dst + o, v);
  }
  return acc | i32x4.extract_lane(acc4, 0) | i32x4.extract_lane(acc4, 1) | i32x4.extract_lane(acc4, 2) | i32x4.extract_lane(acc4, 3);
}

/**
 * Copy rows of values into a parameter's storage: for each row r < nRows
 * (rows: i32 [nRows][2], the index in vals of the row's first value and
 * the storage index it goes to), storage[rows[r][1] + i·dIn] =
 * vals[rows[r][0] + i·sIn] for i < n. dst: the parameter's f32 storage,
 * row-major when K = 0, else a packed [K, N] matrix in groups of G whose
 * storage index d names element (d / N, d % N), or with transposed ≠ 0 the
 * [N, K] transpose's element (d / K, d % K) (vals f32). Every value is
 * copied; returns the least index in vals of a value that is not finite,
 * or −1.
 */
export function scatterRows(dst: usize, vals: usize, rows: usize, nRows: i32, n: i32, sIn: i32, dIn: i32,
  K: i32, N: i32, G: i32, transposed: i32): i32 {
  let acc: u32 = 0;
  if (K == 0) {
    for (let r = 0; r < nRows; r++) {
      const rp = rows + (<usize>r << 3);
      let s = load<i32>(rp), d = load<i32>(rp, 4);
      if (sIn == 1 && dIn == 1) { acc |= copyRun(dst + (<usize>d << 2), vals + (<usize>s << 2), n); continue; }
      for (let i = 0; i < n; i++, s += sIn, d += dIn) {
        const v = load<u32>(vals + (<usize>s << 2));
        acc |= (v & EXP) + CARRY;
        store<u32>(dst + (<usize>d << 2), v);
      }
    }
    return acc >> 31 ? firstBad(vals, rows, nRows, n, sIn, EXP, false) : -1;
  }
  const group = ((G + 7) >> 3) * 8 * K, cols = transposed ? K : N;
  if (!transposed && dIn == 1) {
    // Along the storage rows of a matrix that is not transposed, in runs of
    // one panel's columns (contiguous in the panel). When every row starts
    // at the same column, blocks of ROW_BLOCK rows go run by run with the
    // rows inner: a block's runs land one after another in each panel, and
    // a block reads few enough rows at once for the prefetcher (all of a
    // chunk's rows inner, or one row at a time, were 2-3× slower).
    let c0 = nRows > 0 ? load<i32>(rows, 4) % N : 0;
    let same = c0 + n <= N;
    for (let r = 1; r < nRows && same; r++) same = load<i32>(rows + (<usize>r << 3), 4) % N == c0;
    const block = same ? ROW_BLOCK : 1;
    for (let r0 = 0; r0 < nRows; r0 += block) {
      const r1 = min(nRows, r0 + block);
      if (!same) c0 = load<i32>(rows + (<usize>r0 << 3), 4) % N;
      for (let i = 0; i < n;) {
        // Column c of storage row k (the row's start plus whole wraps past N).
        const c = (c0 + i) % N, g = c / G, j = c - g * G;
        const run = min(8 - (j & 7), min(G - j, n - i)); // G divides N: a run never passes a storage row's end
        const base = g * group + (j >> 3) * 8 * K + (j & 7);
        for (let q = r0; q < r1; q++) {
          const rp = rows + (<usize>q << 3);
          let s = load<i32>(rp) + i * sIn, at = base + ((load<i32>(rp, 4) + i) / N) * 8;
          if (sIn == 1) { acc |= copyRun(dst + (<usize>at << 2), vals + (<usize>s << 2), run); continue; }
          for (let t = 0; t < run; t++, s += sIn, at++) {
            const v = load<u32>(vals + (<usize>s << 2));
            acc |= (v & EXP) + CARRY;
            store<u32>(dst + (<usize>at << 2), v);
          }
        }
        i += run;
      }
    }
    return acc >> 31 ? firstBad(vals, rows, nRows, n, sIn, EXP, false) : -1;
  }
  // Row by row. (a, b) is the storage matrix's (row, column) of index d.
  // When a step moves only the packed matrix's k (along a row of the
  // transpose, as a tied W_E fills W_U; down a column otherwise), the slot
  // moves by 8 until the row wraps; any other step finds the slot anew.
  const kStep = transposed ? dIn == 1 : dIn == cols;
  for (let r = 0; r < nRows; r++) {
    const rp = rows + (<usize>r << 3);
    let s = load<i32>(rp), d = load<i32>(rp, 4);
    let a = d / cols, b = d - a * cols;
    if (kStep) {
      for (let i = 0; i < n;) {
        const seg = transposed ? min(n - i, cols - b) : n - i;
        let at = transposed ? slotOf(b, a, K, G, group) : slotOf(a, b, K, G, group);
        for (let t = 0; t < seg; t++, s += sIn, at += 8) {
          const v = load<u32>(vals + (<usize>s << 2));
          acc |= (v & EXP) + CARRY;
          store<u32>(dst + (<usize>at << 2), v);
        }
        i += seg; b = 0; a++;
      }
      continue;
    }
    for (let i = 0; i < n; i++, s += sIn, d += dIn) {
      a = d / cols; b = d - a * cols;
      const v = load<u32>(vals + (<usize>s << 2));
      acc |= (v & EXP) + CARRY;
      store<u32>(dst + (<usize>(transposed ? slotOf(b, a, K, G, group) : slotOf(a, b, K, G, group)) << 2), v);
    }
  }
  return acc >> 31 ? firstBad(vals, rows, nRows, n, sIn, EXP, false) : -1;
}

/**
 * The least index in vals, over scatterRows' rows, of a value whose exponent
 * (mask m) is all ones (−1: none); values of 4 bytes, or 2 when half ≠ 0.
 */
function firstBad(vals: usize, rows: usize, nRows: i32, n: i32, sIn: i32, m: u32, half: bool): i32 {
  let bad: i32 = -1;
  for (let r = 0; r < nRows; r++) {
    let s = load<i32>(rows + (<usize>r << 3));
    for (let i = 0; i < n; i++, s += sIn) {
      const v: u32 = half ? <u32>load<u16>(vals + (<usize>s << 1)) : load<u32>(vals + (<usize>s << 2));
      if ((v & m) == m && (bad < 0 || s < bad)) bad = s;
    }
  }
  return bad;
}

/**
 * scatterRows for a parameter stored in 16 bits (row-major; 16-bit weights
 * are never packed): storage[rows[r][1] + i·dIn] = vals[rows[r][0] + i·sIn]
 * (u16 bits of `format`, BF16 or F16, copied as they are). Returns the least
 * index in vals of a NaN or infinity (exponent all ones), or −1.
 */
export function scatterRows16(dst: usize, vals: usize, rows: usize, nRows: i32, n: i32, sIn: i32, dIn: i32, format: i32): i32 {
  // The exponent's lowest bit carries an all-ones exponent into bit 15.
  const m: u32 = format == BF16 ? 0x7f80 : 0x7c00, carry: u32 = m & ~(m << 1);
  let acc: u32 = 0;
  for (let r = 0; r < nRows; r++) {
    const rp = rows + (<usize>r << 3);
    let s = load<i32>(rp), d = load<i32>(rp, 4), i = 0;
    if (sIn == 1 && dIn == 1) {
      const mv = i16x8.splat(<i16>m), cv = i16x8.splat(<i16>carry);
      let acc8 = i16x8.splat(0);
      for (; i + 8 <= n; i += 8, s += 8, d += 8) {
        const v = v128.load(vals + (<usize>s << 1));
        acc8 = v128.or(acc8, i16x8.add(v128.and(v, mv), cv));
        v128.store(dst + (<usize>d << 1), v);
      }
      acc |= <u32>i16x8.bitmask(acc8) ? 0x8000 : 0;
    }
    for (; i < n; i++, s += sIn, d += dIn) {
      const v = <u32>load<u16>(vals + (<usize>s << 1));
      acc |= (v & m) + carry;
      store<u16>(dst + (<usize>d << 1), <u16>v);
    }
  }
  return acc & 0x8000 ? firstBad(vals, rows, nRows, n, sIn, m, true) : -1;
}
