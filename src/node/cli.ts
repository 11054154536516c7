// The `acdc` command line: dispatch to one module per command (commands/),
// and the exit code: 0 ok, 2 bad usage or input (any AcdcError: one line on
// stderr), 1 a bug (with its stack trace).
import { AcdcError } from "../errors.js";
import { UsageError } from "./files.js";
import { runCommand } from "./commands/run.js";
import { infoCommand } from "./commands/info.js";
import { demoCommand, sweepCommand } from "./commands/sweep.js";
import { replayCommand, verifyCommand } from "./commands/verify.js";
import { serveCommand } from "./commands/serve.js";
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
  acdc worker --queue redis://HOST:PORT                 run distributed sweeps' jobs (acdc sweep --queue)
  acdc COMMAND --help                                   the options of one command
  acdc --version
`;

/** A command resolves to its exit code (none: 0). */
export type Command = (args: string[]) => Promise<void | number>;
/** The commands, by name; each parses its own options and prints its own --help. */
const commands: Record<string, Command> = {
  run: runCommand, info: infoCommand, demo: demoCommand, sweep: sweepCommand, verify: verifyCommand, replay: replayCommand, serve: serveCommand,
  // BullMQ and the Redis client load only for the worker.
  worker: async (args) => (await import("./commands/worker.js")).workerCommand(args),
};

/** Run the CLI with argv (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") { process.stdout.write(HELP); return cmd ? 0 : 2; }
  if (cmd === "--version" || cmd === "-v") { process.stdout.write(`${VERSION}\n`); return 0; }
  const fn = commands[cmd];
  if (!fn) { process.stderr.write(`acdc: unknown command "${cmd}"\n\n${HELP}`); return 2; }
  try {
    return (await fn(rest)) ?? 0;
  } catch (e) {
    const err = e as Error;
    const usage = err instanceof AcdcError;
    process.stderr.write(`acdc ${cmd}: ${err?.message ?? String(e)}\n`);
    if (!usage) process.stderr.write(`${err?.stack ?? ""}\n`);
    return usage ? 2 : 1;
  }
}

export { UsageError };
