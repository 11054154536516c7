// `acdc verify` and `acdc replay`: re-run a manifest's search and check every
// digest (exit 0 only when all match, 1 when something differs, 2 for a bad
// manifest or a missing input), or print its recorded decisions without
// computing. The comparison itself is core (src/repro/verify.ts), the same
// code a browser or a worker runs; this file finds files and prints.
import { readFileSync, existsSync } from "node:fs";
import { checkRunManifest, parseManifest, runLabel, type CompareManifest, type RunManifest, type SweepManifest } from "../../repro/manifest.js";
import { checkCircuitFile, replayText, verifyRun, type VerifyReport } from "../../repro/verify.js";
import type { CircuitJson } from "../../io/circuit.js";
import { dirname, join, resolve } from "node:path";
import { findInputs, findTaskInputs, nodeSha256 } from "../manifest-files.js";
import { fileSource, shardedWeights, UsageError } from "../files.js";
import { parseInteger, parseOptions, parseThreads } from "../args.js";
import { progressBar } from "../progress.js";

export const VERIFY_HELP = `acdc verify MANIFEST [--model M] [--config C] [--data D] [--task F] [--tokenizer T]
                   [--threads N|auto] [--run I] [--quiet]

Re-run the search a run manifest describes (written by acdc run beside its
circuit, by acdc sweep for each run, or by the fetch handler) and compare every digest:
the kernel build, the model's files and loaded parameters, the data, the
options, each decision (edge, metric bits, kept or removed, in order) and the
circuit. Exit 0 when everything matches; 1 when something differs (each
difference named: an input, or the first differing decision with both metric
values); 2 for a manifest that cannot be read or an input that cannot be found.
  --model M        the weights (or a model folder) instead of the recorded path;
                   without it the recorded path, then a file of the recorded
                   size and sha256 in the manifest's folder, the working directory
                   or the package's models/
  --config C       the model's config.json, likewise
  --data D         the data JSON, likewise (required for data that came inline)
  --task F         a task file run: the task file, likewise; it is tokenized again and
                   its tokens compared with the run's. Without it (or without the
                   tokenizer it names) the run re-runs from the tokens the manifest records
  --tokenizer T    the tokenizer the task file names, instead of where it names it
  --threads N|auto threads for the re-run (default the manifest's; results must not change)
  --run I          a sweep or comparison manifest's run I (1-based; default every run)
  --quiet          no progress line
`;

export const REPLAY_HELP = `acdc replay MANIFEST [--run I]

Print the decisions a run manifest recorded, in order (edge, kept or removed,
the metric with the edge removed — or, for eap and eap-ig, each edge's score;
for sp and edge-pruning each masked edge's learned logit; for hisp each
component's importance), without loading the model or computing anything.
  --run I          a sweep or comparison manifest's run I (1-based; default every run)
`;

/** The manifest path (the first argument) and the options after it. */
function splitManifestArg(args: string[]): [string | undefined, string[]] {
  if (args[0] === undefined || args[0].startsWith("-")) return [undefined, args];
  return [args[0], args.slice(1)];
}

function readManifest(path: string): RunManifest | SweepManifest | CompareManifest {
  if (!existsSync(path)) throw new UsageError(`manifest not found: ${path}`);
  return parseManifest(readFileSync(path, "utf8"));
}

/** The run manifests to work on: the one, or a sweep's or comparison's (all, or --run I). */
function runsOf(m: RunManifest | SweepManifest | CompareManifest, run: string | undefined): { label: string; manifest: RunManifest; circuit?: CircuitJson }[] {
  if (m.kind === "acdc-run-manifest") {
    if (run !== undefined) throw new UsageError("--run applies to sweep manifests only (those of acdc sweep, one method or several)");
    return [{ label: "", manifest: m }];
  }
  const all = m.runs.map((r, i) => ({ label: `${runLabel(m, i)}: `, manifest: checkRunManifest(r.manifest), circuit: r.circuit }));
  if (run === undefined) return all;
  const i = parseInteger("run", run, 1, m.runs.length);
  return [all[i - 1]];
}

const describe = (r: VerifyReport) => `${r.runtime.name} ${r.runtime.version}`.trimEnd() + `, ${r.threads} thread${r.threads > 1 ? "s" : ""}, ${r.build} kernels`;

export async function verifyCommand(args: string[]): Promise<number> {
  const [path, rest] = splitManifestArg(args);
  const values = parseOptions(rest, {
    model: { type: "string" }, config: { type: "string" }, data: { type: "string" }, threads: { type: "string" },
    run: { type: "string" }, quiet: { type: "boolean" }, task: { type: "string" }, tokenizer: { type: "string" },
  });
  if (values.help) { process.stdout.write(VERIFY_HELP); return 0; }
  if (!path) throw new UsageError("give the manifest to verify: acdc verify c.manifest.json (see acdc verify --help)");
  const str = (k: string) => values[k] as string | undefined;
  const threads = str("threads") === undefined ? undefined : parseThreads(str("threads"));
  const quiet = Boolean(values.quiet);
  const runs = runsOf(readManifest(path), str("run"));
  const out = process.stdout;
  let failed = 0;
  const taskCache = new Map<string, Awaited<ReturnType<typeof findTaskInputs>>>();
  for (const { label, manifest: m, circuit } of runs) {
    const found = findInputs(m, path, { model: str("model"), config: str("config"), data: str("data") });
    if ((str("task") !== undefined || str("tokenizer") !== undefined) && m.data.source !== "task-file") throw new UsageError(`--task and --tokenizer apply to runs on a task file; this run's data is ${m.data.source === "task" ? `the built-in task ${m.data.task}` : "token data (give it with --data)"}`);
    // The runs of a sweep share their task file: found and its tokenizer loaded once.
    const key = `${m.data.task_sha256}:${m.data.file?.sha256}:${m.data.tokenizer?.sha256}`;
    if (m.data.source === "task-file" && !taskCache.has(key)) taskCache.set(key, await findTaskInputs(m, path, { task: str("task"), tokenizer: str("tokenizer") }));
    const taskInputs = m.data.source === "task-file" ? taskCache.get(key) : undefined;
    if (taskInputs) Object.assign(found.how, taskInputs.how);
    const weights = found.weights ? fileSource(found.weights) : undefined;
    // A sharded checkpoint is recorded by its index: the shards are the files it names beside it.
    const shards = found.weights?.endsWith(".index.json") ? shardedWeights(found.weights).shards : undefined;
    const bar = progressBar(process.stderr, `verify ${label}${m.options.algorithm}`, quiet);
    let report: VerifyReport;
    try {
      report = await verifyRun(m, {
        weights, shards, config: found.config ? new Uint8Array(readFileSync(found.config)) : undefined,
        data: found.data ? new Uint8Array(readFileSync(found.data)) : undefined,
        task: taskInputs?.task,
        threads, onProgress: (p) => bar.update(p), sha256: nodeSha256,
      });
    } finally {
      bar.finish();
      weights?.close();
      for (const s of shards?.values() ?? []) s.close();
    }
    // The circuit beside a run manifest (or inside a sweep manifest) must be the one it describes.
    const circuitPath = m.circuit ? join(dirname(resolve(path)), m.circuit) : undefined;
    const recorded = circuit ?? (circuitPath && existsSync(circuitPath) ? JSON.parse(readFileSync(circuitPath, "utf8")) as CircuitJson : undefined);
    if (recorded) report.differences.push(...checkCircuitFile(m, recorded, circuit ? "the sweep's circuit" : m.circuit));
    report.ok = report.differences.length === 0;
    // Why the recorded tokens were used, as this command knows it (what was looked for, which option gives it).
    if (taskInputs?.why && report.dataFrom?.startsWith("the manifest's recorded tokens")) report.dataFrom = `the manifest's recorded tokens (${taskInputs.why})`;
    const where = [...Object.entries(found.how).map(([k, how]) => `${k} ${how}`), ...(report.dataFrom ? [`token data from ${report.dataFrom}`] : [])].join(", ");
    if (report.ok) {
      out.write(`${label}ok: ${report.decisions} decisions, ${report.circuit.num_kept} edges, every digest matches (re-run on ${describe(report)}; written on ${m.runtime.name} ${m.runtime.version}`.trimEnd() + `, ${m.options.threads} thread${m.options.threads > 1 ? "s" : ""})${where ? `; ${where}` : ""}\n`);
    } else {
      failed++;
      out.write(`${label}DIFFERS (re-run on ${describe(report)}${where ? `; ${where}` : ""}):\n`);
      for (const d of report.differences) out.write(`  ${d.kind}: ${d.message}\n`);
    }
  }
  if (runs.length > 1) out.write(`${runs.length - failed} of ${runs.length} runs verified\n`);
  return failed ? 1 : 0;
}

export async function replayCommand(args: string[]): Promise<number> {
  const [path, rest] = splitManifestArg(args);
  const values = parseOptions(rest, { run: { type: "string" } });
  if (values.help) { process.stdout.write(REPLAY_HELP); return 0; }
  if (!path) throw new UsageError("give the manifest to replay: acdc replay c.manifest.json");
  for (const { label, manifest } of runsOf(readManifest(path), values.run as string | undefined)) {
    if (label) process.stdout.write(`\n${label.replace(/: $/, "")}\n`);
    process.stdout.write(replayText(manifest));
  }
  return 0;
}
