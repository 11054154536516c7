// The `acdc` command line: dispatch to one module per command (commands/),
// and the exit code: 0 ok, 2 bad usage or input (any AcdcError: one line on
// stderr), 1 a bug (with its stack trace).
import { AcdcError } from "../errors.js";
import { UsageError } from "./files.js";

const VERSION = "0.1.0";

const HELP = `acdc — automated circuit discovery (ACDC) for transformer language models

Usage:
  acdc run --model M --data D --threshold T [options]   find a circuit
  acdc info --model M                                   a model's geometry and graph size
  acdc demo [--threshold T] [--out-dir DIR]             ACDC on tracr-reverse, offline
  acdc sweep --task T [options]                         ROC/AUC over a threshold sweep
  acdc COMMAND --help                                   the options of one command
  acdc --version
`;

export type Command = (args: string[]) => Promise<void>;
/** The commands, by name, loaded when used (a run never loads the tracr compiler); each parses its own options and prints its own --help. */
const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import("./commands/run.js")).runCommand,
  info: async () => (await import("./commands/info.js")).infoCommand,
  demo: async () => (await import("./commands/sweep.js")).demoCommand,
  sweep: async () => (await import("./commands/sweep.js")).sweepCommand,
};

/** Run the CLI with argv (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === "--help" || cmd === "-h" || cmd === "help") { process.stdout.write(HELP); return 0; }
  if (cmd === "--version" || cmd === "-v") { process.stdout.write(`${VERSION}\n`); return 0; }
  // Errors are one line on stderr, here as in every command.
  const names = Object.keys(commands).join(", ");
  if (!cmd) { process.stderr.write(`acdc: give a command: ${names} (acdc --help for usage)\n`); return 2; }
  const fn = commands[cmd];
  if (!fn) { process.stderr.write(`acdc: unknown command "${cmd}" (commands: ${names}; acdc --help for usage)\n`); return 2; }
  try {
    await (await fn())(rest);
    return 0;
  } catch (e) {
    const err = e as Error;
    const usage = err instanceof AcdcError;
    process.stderr.write(`acdc ${cmd}: ${err?.message ?? String(e)}\n`);
    if (!usage) process.stderr.write(`${err?.stack ?? ""}\n`);
    return usage ? 2 : 1;
  }
}

export { UsageError };
