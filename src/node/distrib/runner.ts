// The worker side of a distributed sweep: take a job (src/eval/jobs.ts),
// find its model files on this machine (the recorded path if the file there
// has the recorded sha256, else any file of that size and digest in the
// working directory, the package's models/ or --models folders), load the
// model, check that the loaded parameters and the data hash to what the
// coordinator recorded, and run the job. The loaded setup is kept for the
// next job of the same sweep, as the single-machine sweep keeps its model
// between runs. Used by the local worker processes (child.ts) and by the
// queue's sandboxed processor (processor.ts); one job at a time.
import { existsSync, readFileSync, statSync } from "node:fs";
import { buildGraph } from "../../graph/graph.js";
import { loadModel } from "../../model/load.js";
import type { Transformer } from "../../model/transformer.js";
import { builtinTask } from "../../repro/run.js";
import { canonicalJson, dataDigest, type FileRef, type ModelSection } from "../../repro/manifest.js";
import { checkJob, jobData, jobMetric, runJob, type JobResult, type JobSetup, type SweepJob } from "../../eval/jobs.js";
import { createEngine, type Engine } from "../../wasm/engine.js";
import { InputError } from "../../errors.js";
import { fileSource } from "../files.js";
import { fileDigest, findByHash, nodeParamsDigest, packageModelsDir } from "../manifest-files.js";

export interface RunnerOptions {
  /** Kernel threads per job. */
  threads: number | "auto";
  /** Extra folders searched for model files by sha256. */
  dirs: string[];
  /** Who runs the jobs (host:pid), recorded in each result. */
  by: string;
}

export class JobRunner {
  private current: { key: string; setup: JobSetup; engine: Engine } | null = null;
  /** sha256 of files already read, by path, size and mtime (a changed file is hashed again). */
  private readonly digests = new Map<string, string>();

  constructor(private readonly o: RunnerOptions) {}

  /** Run one job (anything that is not a job of this package's version is refused). */
  async run(raw: unknown): Promise<JobResult> {
    const j = checkJob(raw);
    return runJob(await this.setupFor(j), j, this.o.by);
  }

  /** Release the kept model and its engine. */
  close(): void {
    this.current?.engine.dispose();
    this.current = null;
  }

  private async setupFor(j: SweepJob): Promise<JobSetup> {
    const { weights, config, ...rest } = j.model;
    const key = canonicalJson({ model: { ...rest, weights: weights?.sha256, config: config?.sha256 }, data: j.dataSha256, splitInput: j.splitInput, metric: j.metric });
    if (this.current?.key === key) return this.current.setup;
    this.close();
    const engine = await createEngine({ threads: this.o.threads });
    try {
      const model = await this.loadModel(j.model, engine);
      const params = nodeParamsDigest(model);
      if (params !== j.model.params_sha256) {
        throw new InputError(`model ${j.model.name} loaded here has parameters with sha256 ${params.slice(0, 12)}…, the sweep's ${j.model.params_sha256.slice(0, 12)}… (another file or loader)`);
      }
      const data = jobData(j);
      const digest = dataDigest(data);
      if (digest !== j.dataSha256) throw new InputError(`the job's data has sha256 ${digest.slice(0, 12)}… here, the sweep's ${j.dataSha256.slice(0, 12)}…`);
      const setup: JobSetup = { model, graph: buildGraph(model.cfg, { splitInput: j.splitInput }), data, metric: jobMetric(j, data) };
      this.current = { key, setup, engine };
      return setup;
    } catch (e) {
      engine.dispose();
      throw e;
    }
  }

  private async loadModel(m: ModelSection, engine: Engine): Promise<Transformer> {
    if (m.source === "builtin") {
      const t = builtinTask(m.builtin ?? "");
      if (!t.model) throw new InputError(`task ${m.builtin} has no built-in model`);
      return t.model.create(engine);
    }
    const weights = this.locate(m.weights!, "model weights");
    const config = m.config ? JSON.parse(readFileSync(this.locate(m.config, "model config"), "utf8")) : null;
    const src = fileSource(weights);
    try {
      return await loadModel(src, config, { engine });
    } finally {
      src.close();
    }
  }

  private digest(path: string): string {
    const st = statSync(path), k = `${path}\0${st.size}\0${st.mtimeMs}`;
    let d = this.digests.get(k);
    if (!d) this.digests.set(k, (d = fileDigest(path)));
    return d;
  }

  /** A file of the job on this machine: at its recorded path with the recorded digest, else found by size and digest. */
  private locate(ref: FileRef, what: string): string {
    const p = ref.path;
    const there = p !== undefined && existsSync(p) && statSync(p).isFile();
    if (there && statSync(p).size === ref.bytes && this.digest(p) === ref.sha256) return p;
    const dirs = [...this.o.dirs, process.cwd(), packageModelsDir()];
    const found = findByHash(dirs, ref.bytes, ref.sha256);
    if (found) return found;
    throw new InputError(`the ${what} ${p ?? ""} (${ref.bytes} bytes, sha256 ${ref.sha256.slice(0, 12)}…) is not on this machine: ` +
      `${there ? "the file at that path has other contents" : "nothing at that path"}, and no file in ${[...new Set(dirs)].join(", ")} has its digest (acdc worker --models DIR adds a folder)`);
  }
}
