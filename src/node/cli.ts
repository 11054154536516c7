// The `acdc` command line: dispatch to one module per command (commands/),
// and the exit code: 0 ok, 2 bad usage or input (any AcdcError: one line on
// stderr), 1 a bug (with its stack trace).
import { AcdcError } from "../errors.js";
import { UsageError } from "./files.js";
import { PACKAGE_VERSION as VERSION } from "../version.js";

const HELP = `acdc — automated circuit discovery (ACDC) for transformer language models

Usage:
  acdc run --model M --data D --threshold T [options]   find a circuit
  acdc info --model M                                   a model's geometry and graph size
  acdc demo [--threshold T] [--out-dir DIR]             ACDC on tracr-reverse, offline
  acdc sweep --task T [options]                         ROC/AUC over a threshold sweep
  acdc verify MANIFEST [options]                        re-run a run manifest, check every digest
  acdc replay MANIFEST                                  print a manifest's decisions
  acdc serve [--port P]                                 the fetch handler (POST /v1/run) over HTTP
  acdc explore [--port P]                               the circuit explorer in a browser tab
  acdc worker --queue redis://HOST:PORT                 run distributed sweeps' jobs (acdc sweep --queue)
  acdc COMMAND --help                                   the options of one command
  acdc --version
`;

/** A command resolves to its exit code (none: 0). */
export type Command = (args: string[]) => Promise<void | number>;
/** The commands, by name, loaded when used (a run never loads the tracr compiler); each parses its own options and prints its own --help. */
const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import("./commands/run.js")).runCommand,
  info: async () => (await import("./commands/info.js")).infoCommand,
  demo: async () => (await import("./commands/sweep.js")).demoCommand,
  sweep: async () => (await import("./commands/sweep.js")).sweepCommand,
  verify: async () => (await import("./commands/verify.js")).verifyCommand,
  replay: async () => (await import("./commands/verify.js")).replayCommand,
  serve: async () => (await import("./commands/serve.js")).serveCommand,
  explore: async () => (await import("./commands/explore.js")).exploreCommand,
  // BullMQ and the Redis client load only for the worker.
  worker: async () => (await import("./commands/worker.js")).workerCommand,
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
    return (await (await fn())(rest)) ?? 0;
  } catch (e) {
    const err = e as Error;
    const usage = err instanceof AcdcError;
    process.stderr.write(`acdc ${cmd}: ${err?.message ?? String(e)}\n`);
    if (!usage) process.stderr.write(`${err?.stack ?? ""}\n`);
    return usage ? 2 : 1;
  }
}

export { UsageError };
