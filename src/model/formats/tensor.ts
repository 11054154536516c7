// What a weights-file reader hands the loader: where each tensor's bytes are,
// never the values. The loader converts each tensor once, straight into its
// place in wasm memory, so a file is read without a JavaScript-heap copy of
// its weights. Legend: dtype as safetensors spells it.

/** Float dtypes the loader converts. */
export type DType = "F32" | "F16" | "BF16" | "F64";
/** Every dtype a reader may report; the non-float ones (masks, counters) are only ever skipped or refused by name. */
export type AnyDType = DType | "BOOL" | "U8" | "I8" | "I16" | "U16" | "I32" | "U32" | "I64" | "U64";

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Record<AnyDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, BOOL: 1, U8: 1, I8: 1, I16: 2, U16: 2, I32: 4, U32: 4, I64: 8, U64: 8 };

/** One stored tensor: its dtype, shape and the byte range of its (contiguous, little-endian, row-major) data in the file. */
export interface StoredTensor {
  name: string;
  dtype: AnyDType;
  shape: number[];
  /** Absolute byte offset of the first element in the source. */
  offset: number;
  byteLength: number;
  /** The file the bytes are in, when a checkpoint spans several (shards); absent: the one being read. */
  source?: ByteSource;
}

/**
 * Random access to a file's bytes: a whole file in memory (bytesSource), a
 * Node file handle read in chunks (src/node/), or a browser File. `read`
 * returns exactly `length` bytes starting at `offset`.
 */
export interface ByteSource {
  readonly byteLength: number;
  /** A name for error messages (a path, a URL, a file name). */
  readonly name: string;
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Fill `dst` with the bytes from `offset` (optional): lets a reader of many
   * chunks reuse one buffer, so a file's weights pass through a few MiB of
   * JavaScript memory rather than a new buffer per chunk left to the GC.
   */
  readInto?(offset: number, dst: Uint8Array): Promise<void>;
}

/** A ByteSource over bytes already in memory (no copy: reads are subarrays). */
export function bytesSource(bytes: Uint8Array, name = "bytes"): ByteSource {
  return {
    byteLength: bytes.byteLength,
    name,
    async read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > bytes.byteLength) throw new RangeError(`${name}: read [${offset}, ${offset + length}) beyond ${bytes.byteLength} bytes`);
      return bytes.subarray(offset, offset + length);
    },
  };
}
