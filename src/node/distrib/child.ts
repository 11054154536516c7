// One local worker process of `acdc sweep --workers N` (forked by pool.ts):
// receives jobs over the IPC channel one at a time, runs each (runner.ts) and
// sends back its result or its error. Exits when told to, or when the
// coordinator is gone (the channel closes).
import { hostname } from "node:os";
import { AcdcError } from "../../errors.js";
import { JobRunner } from "./runner.js";

/** Messages from the coordinator, and the answers. */
export type ToChild = { type: "job"; index: number; job: unknown } | { type: "stop" };
export type FromChild = { type: "result"; index: number; result: unknown } | { type: "error"; index: number; message: string };

const threadsArg = process.argv[2];
const runner = new JobRunner({ threads: threadsArg === "auto" ? "auto" : Number(threadsArg ?? 1), dirs: [], by: `${hostname()}:${process.pid}` });
const send = (m: FromChild) => process.send?.(m);

process.on("message", async (m: ToChild) => {
  if (m.type === "stop") {
    runner.close();
    process.disconnect();
    return;
  }
  try {
    send({ type: "result", index: m.index, result: await runner.run(m.job) });
  } catch (e) {
    const err = e as Error;
    send({ type: "error", index: m.index, message: err instanceof AcdcError ? err.message : `internal error: ${err?.stack ?? err}` });
  }
});
process.on("disconnect", () => {
  runner.close();
  process.exit(0);
});
