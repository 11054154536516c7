// Option values checked once for every command, with the same messages.
import { UsageError } from "./files.js";

/** --threshold as a non-negative finite number; `dflt` when absent (required when no default). */
export function parseThreshold(s: string | undefined, dflt?: number): number {
  if (s === undefined) {
    if (dflt === undefined) throw new UsageError("--threshold is required (e.g. --threshold 0.01)");
    return dflt;
  }
  const v = Number(s);
  if (s.trim() === "" || !Number.isFinite(v) || v < 0) throw new UsageError(`--threshold must be a non-negative number, got "${s}"`);
  return v;
}

/** --name as one of `allowed`, `dflt` when absent. */
export function oneOf<T extends string>(name: string, s: string | undefined, allowed: readonly T[], dflt: T): T {
  if (s === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(s)) throw new UsageError(`--${name} must be one of ${allowed.join(", ")}; got "${s}"`);
  return s as T;
}
