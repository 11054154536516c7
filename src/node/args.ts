// Command-line options, parsed strictly and the same way for every command:
// an unknown or repeated option, a value that is not plainly a number, or a
// value outside its set is a UsageError naming the option.
import { parseArgs } from "node:util";
import { UsageError } from "./files.js";

export type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string }>;

/** A value that starts with a dash but is a number or a LO:HI:N range (-1, -.5, -5:-1:21), never an option. */
const DASH_VALUE = /^-\.?\d/;

/** Parse `args` against `spec` (plus --help); refuses positionals and repeated options, in one line. */
export function parseOptions(args: string[], spec: OptionSpec): Record<string, string | boolean | undefined> {
  // util.parseArgs calls "--threshold -1" ambiguous; a negative number after a string option is its value.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith("--") && !args[i].includes("=") ? args[i].slice(2) : null;
    if (name && spec[name]?.type === "string" && i + 1 < args.length && DASH_VALUE.test(args[i + 1])) joined.push(`${args[i]}=${args[++i]}`);
    else joined.push(args[i]);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: joined, options: { ...spec, help: { type: "boolean", short: "h" } }, strict: true, allowPositionals: false, tokens: true });
  } catch (e) {
    const msg = (e as Error).message;
    const ambiguous = /^Option '(--[\w-]+)' argument is ambiguous/.exec(msg);
    if (ambiguous) throw new UsageError(`${ambiguous[1]} needs a value (write ${ambiguous[1]}=VALUE for a value that starts with a dash)`);
    throw new UsageError(msg.split("\n")[0].replace(/\. To specify a positional argument.*$/s, ""));
  }
  const seen = new Set<string>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== "option") continue;
    if (seen.has(t.name)) throw new UsageError(`--${t.name} is given more than once`);
    seen.add(t.name);
  }
  return parsed.values as Record<string, string | boolean | undefined>;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A plain decimal number (no hex, no "Infinity", no empty string). */
export function parseNumber(name: string, s: string): number {
  const v = Number(s);
  if (!DECIMAL.test(s.trim()) || !Number.isFinite(v)) throw new UsageError(`--${name} must be a decimal number, got "${s}"`);
  return v;
}

/** --threshold as a non-negative finite number; `dflt` when absent (required when no default). */
export function parseThreshold(s: string | undefined, dflt?: number): number {
  if (s === undefined) {
    if (dflt === undefined) throw new UsageError("--threshold is required (e.g. --threshold 0.01)");
    return dflt;
  }
  const v = parseNumber("threshold", s);
  if (v < 0) throw new UsageError(`--threshold must be a non-negative number, got "${s}"`);
  return v;
}

/** A decimal integer in [lo, hi]. */
export function parseInteger(name: string, s: string, lo: number, hi: number): number {
  if (!/^[+-]?\d+$/.test(s.trim())) throw new UsageError(`--${name} must be an integer, got "${s}"`);
  const v = Number(s);
  if (v < lo || v > hi) throw new UsageError(`--${name} must be from ${lo} to ${hi}, got ${s}`);
  return v;
}

/** --threads N|auto. */
export function parseThreads(s: string | undefined): number | "auto" {
  if (s === undefined) return 1;
  if (s === "auto") return "auto";
  return parseInteger("threads", s, 1, 64);
}

/** --name as one of `allowed`, `dflt` when absent. */
export function oneOf<T extends string>(name: string, s: string | undefined, allowed: readonly T[], dflt: T): T {
  if (s === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(s)) throw new UsageError(`--${name} must be one of ${allowed.join(", ")}; got "${s}"`);
  return s as T;
}
