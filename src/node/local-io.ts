// Local files at the edge of the CLI: a ByteSource over a file (positional
// reads), output paths checked before any work, files written whole or not
// at all, temp files removed when the process is interrupted, and the error
// the CLI prints as one line. Below files.ts and hub-cache.ts, which both use it.
import { closeSync, existsSync, fstatSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync, accessSync, constants } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { ByteSource } from "../model/formats/tensor.js";
import { AcdcError } from "../errors.js";

export class UsageError extends AcdcError {
  constructor(message: string) { super(message, "UsageError"); }
}

/** A file read on demand through one handle (positional reads; never the whole file at once). */
export function fileSource(path: string): ByteSource & { close(): void } {
  let fd: number;
  try { fd = openSync(path, "r"); } catch (e) { throw new UsageError(`cannot open ${path}: ${(e as Error).message}`); }
  const size = fstatSync(fd).size;
  return {
    byteLength: size,
    name: path,
    async read(offset, length) {
      const buf = new Uint8Array(length);
      await this.readInto!(offset, buf);
      return buf;
    },
    async readInto(offset, buf) {
      const length = buf.length;
      if (offset < 0 || offset + length > size) throw new RangeError(`${path}: read [${offset}, ${offset + length}) beyond ${size} bytes`);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, buf, got, length - got, offset + got);
        if (n === 0) throw new UsageError(`${path} ended after ${offset + got} bytes (it was ${size} when opened; was it changed while loading?)`);
        got += n;
      }
    },
    close() { closeSync(fd); },
  };
}

/** Refuse an output path that cannot be written, before any work: a folder, a missing or read-only folder. */
export function checkOutputPath(path: string, option: string): void {
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`${option} ${path} is a folder, not a file`);
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) throw new UsageError(`${option} ${path}: folder ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`${option} ${path}: ${dir} is not a folder`);
  try { accessSync(dir, constants.W_OK); } catch { throw new UsageError(`${option} ${path}: folder ${dir} is not writable`); }
  if (existsSync(path)) {
    try { accessSync(path, constants.W_OK); } catch { throw new UsageError(`${option} ${path} exists and is not writable`); }
  }
}

/** Temp files being written now (a download streaming to disk, an output before its rename). */
const tempFiles = new Set<string>();

/**
 * On SIGINT/SIGTERM while temp files exist: remove them, then die of the
 * same signal. Installed only while there are any, so a long synchronous
 * search keeps the default Ctrl-C (a JavaScript handler would wait for it
 * to finish); SIGKILL leaves at most a hidden .part file beside the output.
 */
function onSignal(sig: NodeJS.Signals): void {
  for (const p of tempFiles) rmSync(p, { force: true });
  tempFiles.clear();
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  process.kill(process.pid, sig);
}

/** Note a temp file to remove if the process is interrupted; returns the function that forgets it. */
export function removeOnExit(path: string): () => void {
  if (!tempFiles.size) { process.on("SIGINT", onSignal); process.on("SIGTERM", onSignal); }
  tempFiles.add(path);
  return () => {
    tempFiles.delete(path);
    if (!tempFiles.size) { process.off("SIGINT", onSignal); process.off("SIGTERM", onSignal); }
  };
}

/** Write a file whole or not at all: a temp file beside it, then a rename. */
export function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = join(dirname(resolve(path)), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.part`);
  const forget = removeOnExit(tmp);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
    forget();
  }
}
