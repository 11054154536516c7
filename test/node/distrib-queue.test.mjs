// Sweeps on a BullMQ queue: a private redis-server on a free port, `acdc
// worker --queue` processes, and `acdc sweep --queue` writing the
// single-machine sweep's files bit for bit (timings aside). Faults: a worker
// killed by its PID mid-job has its job moved back by the other worker's
// stall check and run there; a worker stopped mid-job and resumed after its
// job was taken over finishes it too, and its result is not counted; a job
// whose model changed under it fails twice and is reported with its error
// (nothing written), and the same sweep run again after the model is put
// back takes the failed jobs afresh. Skips (one line) without redis-server
// unless CI is set.
import t from "tap";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root } from "../helpers/fixtures.mjs";
import { redisServerOrSkip, startRedis } from "../helpers/components.mjs";
import { runAcdc, startAcdc, withoutTimings } from "../helpers/processes.mjs";
import { diffSweeps, parseManifest } from "../../dist/repro/index.js";

const redisBin = redisServerOrSkip(t, "BullMQ queue tests (acdc sweep --queue, acdc worker)");
if (redisBin) {
  const redis = await startRedis(redisBin);
  t.teardown(() => redis.stop());
  const dir = mkdtempSync(join(tmpdir(), "acdc-queue-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = (name) => join(dir, name);
  // Short locks so a dead worker's job comes back in seconds (the defaults are 30 s).
  const WORKER = ["worker", "--queue", redis.url, "--lock-seconds", "3", "--stall-seconds", "1"];
  const workers = (t, n) => {
    const ps = Array.from({ length: n }, () => startAcdc(WORKER));
    t.teardown(() => Promise.all(ps.map((p) => p.stop())));
    return Promise.all(ps.map((p) => p.waitFor(/acdc worker \S+: jobs from/, "out"))).then(() => ps);
  };

  const sameFiles = (t, a, b, what) => {
    const files = readdirSync(a).filter((f) => /\.(json|svg)$/.test(f)).sort();
    t.same(readdirSync(b).filter((f) => /\.(json|svg)$/.test(f)).sort(), files, `${what}: the same files`);
    for (const f of files) {
      if (f.endsWith(".svg")) t.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${what}: ${f} byte for byte`);
      else if (f.endsWith(".manifest.json")) t.same(diffSweeps(parseManifest(readFileSync(join(a, f), "utf8")), parseManifest(readFileSync(join(b, f), "utf8"))), [], `${what}: ${f} digest for digest`);
      else t.equal(withoutTimings(join(b, f)), withoutTimings(join(a, f)), `${what}: ${f} apart from timings`);
    }
  };
  const table = (s, d) => s.replaceAll(d, "DIR");
  const INDUCTION = ["--task", "induction", "--thresholds=-3:-1:4"];
  const ref = await runAcdc(["sweep", ...INDUCTION, "--out-dir", out("ref"), "--quiet"]);

  t.test("two workers, one killed by its PID mid-job: the job is retried on the other, and the sweep is the local one", async (t) => {
    t.equal(ref.code, 0, ref.stderr);
    const [a, b] = await workers(t, 2);
    const p = startAcdc(["sweep", ...INDUCTION, "--queue", redis.url, "--out-dir", out("kill"), "--quiet"]);
    await p.waitFor(/4 of 4 jobs added; 2 workers connected/);
    // Kill whichever worker starts a job first, during it (its first job loads the model, then ACDC on 305 edges: about a second).
    const victim = await Promise.race([a, b].map((w) => w.waitFor(/job (\S+) started/).then((m) => ({ w, id: m[1] }))));
    const other = victim.w === a ? b : a;
    process.kill(victim.w.pid, "SIGKILL");
    const r = await p.done;
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, new RegExp(`job \\d \\(induction acdc threshold=[^)]+\\) stalled on [^:\\s]+:${victim.w.pid}: its worker stopped renewing the lock \\(killed, or its machine gone\\); back on the queue for another worker`));
    t.match(other.err, new RegExp(`job ${victim.id} started: induction acdc threshold=\\S+ \\(attempt 2\\)`), "the other worker ran the killed worker's job");
    t.match(other.err, new RegExp(`job ${victim.id} done in`));
    t.equal(table(r.stdout, out("kill")), table(ref.stdout, out("ref")), "the same table");
    sameFiles(t, out("ref"), out("kill"), "induction after a kill");
  });

  t.test("a worker stopped mid-job and resumed after the job was taken over: its late result is not counted", async (t) => {
    const [a] = await workers(t, 1);
    const p = startAcdc(["sweep", ...INDUCTION, "--queue", redis.url, "--out-dir", out("stop"), "--quiet"]);
    const [, id] = await a.waitFor(/job (\S+) started/);
    await new Promise((r) => setTimeout(r, 200));
    process.kill(a.pid, "SIGSTOP");
    const [b] = await workers(t, 1);
    await b.waitFor(new RegExp(`job ${id} started: \\S+ \\S+ \\S+ \\(attempt 2\\)`));
    process.kill(a.pid, "SIGCONT");
    const r = await p.done;
    t.equal(r.code, 0, r.stderr);
    // Both ran the job to its end; BullMQ took only the lock holder's result.
    await a.waitFor(new RegExp(`job ${id} finished here, but (another worker took it over when its lock lapsed|its sweep already has all its results): this result is dropped`));
    t.match(b.err, new RegExp(`job ${id} done in`));
    t.equal(r.stdout.split("\n").filter((l) => /^ +\d\.\d\de-\d +\d+ /.test(l)).length, 4, "four rows, one per threshold");
    sameFiles(t, out("ref"), out("stop"), "induction with a stopped worker");
  });

  t.test("--queue --workers 2: queue workers started here, the local sweep's files", async (t) => {
    const args = ["--task", "tracr-reverse", "--thresholds=-3:-1:5"];
    const local = await runAcdc(["sweep", ...args, "--out-dir", out("ref-reverse"), "--quiet"]);
    t.equal(local.code, 0, local.stderr);
    const r = await runAcdc(["sweep", ...args, "--queue", redis.url, "--workers", "2", "--out-dir", out("local-workers"), "--quiet"]);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /5 of 5 jobs added; \d+ workers? connected \(2 started here: pids \d+, \d+\)/);
    sameFiles(t, out("ref-reverse"), out("local-workers"), "tracr-reverse");
  });

  t.test("a job whose model changed under it fails twice and is reported; run again with the model back, the failed jobs start afresh", async (t) => {
    // A model no other file here shares (workers also look for a job's model by sha256): the trained induction model with one weight moved.
    const m = out("model");
    mkdirSync(m);
    copyFileSync(join(root, "models", "induction-2l.config.json"), join(m, "induction-2l.config.json"));
    const weights = readFileSync(join(root, "models", "induction-2l.safetensors"));
    const at = 8 + Number(weights.readBigUInt64LE(0)) + 4 * 100;
    weights.writeFloatLE(weights.readFloatLE(at) + 0.25, at);
    writeFileSync(join(m, "induction-2l.safetensors"), weights);
    const task = JSON.parse(readFileSync(join(root, "examples", "tasks", "induction-2l.json"), "utf8"));
    writeFileSync(out("moved.json"), JSON.stringify({ ...task, model: "model/induction-2l.safetensors" }));
    const args = ["--task", out("moved.json"), "--thresholds=-2:-1:2"];
    const local = await runAcdc(["sweep", ...args, "--out-dir", out("ref-moved"), "--quiet"]);
    t.equal(local.code, 0, local.stderr);

    const p = startAcdc(["sweep", ...args, "--queue", redis.url, "--out-dir", out("changed"), "--quiet"]);
    await p.waitFor(/2 of 2 jobs added; 0 workers connected\nno worker is connected to redis:\/\/127\.0\.0\.1:\d+ yet: start `npx acdc worker --queue redis:\/\/127\.0\.0\.1:\d+` on any machine\n/);
    // The model changes after the coordinator hashed it: no worker can find the file the jobs name.
    const changed = Buffer.from(weights);
    changed.writeFloatLE(changed.readFloatLE(at + 4) + 0.25, at + 4);
    writeFileSync(join(m, "induction-2l.safetensors"), changed);
    const [w] = await workers(t, 1);
    const r = await p.done;
    t.equal(r.code, 2, "exit 2");
    const why = "the model weights \\S+induction-2l\\.safetensors \\(310992 bytes, sha256 [0-9a-f]{12}…\\) is not on this machine: the file at that path has other contents";
    for (const i of [1, 2]) t.match(r.stderr, new RegExp(`job ${i} \\(moved acdc threshold=[^)]+\\) failed on \\S+: ${why}[^\\n]*; that was attempt 2 of 2, so it is reported`), `job ${i}: reported after its second attempt`);
    t.match(r.stderr, new RegExp(`failed: job 1 \\(moved acdc threshold=1\\.00e-2\\): ${why}`));
    t.match(r.stderr, /acdc sweep: 2 of 2 jobs failed twice \(listed above\); the sweep is incomplete, so nothing was written/);
    t.equal(w.err.match(/failed \(attempt 1 of 2\)/g)?.length, 2, "the worker: each job's first attempt failed…");
    t.equal(w.err.match(/failed \(attempt 2 of 2\)/g)?.length, 2, "…and its second");
    t.notOk(existsSync(join(out("changed"), "moved-sweep.json")), "nothing written");

    writeFileSync(join(m, "induction-2l.safetensors"), weights);
    const again = await runAcdc(["sweep", ...args, "--queue", redis.url, "--out-dir", out("changed"), "--quiet"]);
    t.equal(again.code, 0, again.stderr);
    t.match(again.stderr, /2 of 2 jobs added; 1 worker connected/, "the failed jobs were taken off and added again");
    sameFiles(t, out("ref-moved"), out("changed"), "the task-file sweep");
  });
}
