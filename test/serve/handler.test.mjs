// The fetch handler in-process: every bad request (not JSON, missing or
// mistyped fields, unknown options, unreachable or failing URLs, models that
// do not load, tokens outside the vocabulary) is refused with HTTP 4xx and
// one line before any work; every limit (body, model bytes, prompts,
// positions, time) is configurable and enforced; a good request streams
// progress lines and ends with the circuit `acdc run` writes and its manifest
// — for every algorithm (the mask methods with the CLI's option checks) and
// for task files (token ids, or text through a tokenizer the host provides).
import t from "tap";
import { execFile } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixtures, readJson, root } from "../helpers/fixtures.mjs";
import { existsSync } from "node:fs";
import { createHandler, DEFAULT_LIMITS } from "../../dist/serve/index.js";
import { checkRunManifest } from "../../dist/repro/index.js";
import { loadTokenizer } from "../../dist/tokenizers/index.js";

const W = readFileSync(join(fixtures, "tiny-ln-mlp.safetensors"));
const C = readFileSync(join(fixtures, "tiny-ln-mlp.config.json"));
const data = readJson(join(fixtures, "tiny-ln-mlp.data.json"));
const b64 = (b) => Buffer.from(b).toString("base64");

const storiesDir = join(root, "..", "shared", "models", "stories260K");
const haveStories = existsSync(join(storiesDir, "stories260K.bin")) && existsSync(join(storiesDir, "tok512.bin"));

// Files for URL cases: the fixture, a tokenizer, a 404, and a body larger than its limit.
const files = createServer((req, res) => {
  if (req.url === "/tok512.bin" && haveStories) { res.writeHead(200); res.end(readFileSync(join(storiesDir, "tok512.bin"))); return; }
  if (req.url === "/tiny.safetensors") { res.writeHead(200, { "content-length": W.length }); res.end(W); return; }
  if (req.url === "/tiny.config.json") { res.writeHead(200); res.end(C); return; }
  if (req.url === "/big.safetensors") { res.writeHead(200); res.end(Buffer.alloc(3 << 20)); return; }
  res.writeHead(404).end();
});
await new Promise((r) => files.listen(0, "127.0.0.1", r));
t.teardown(() => new Promise((r) => { files.closeAllConnections?.(); files.close(r); }));
const base = `http://127.0.0.1:${files.address().port}`;

const handler = createHandler({ limits: { maxModelBytes: 2 << 20, maxPrompts: 64, maxPositions: 64 } });
const call = async (body, { method = "POST", path = "/v1/run", h = handler } = {}) => {
  const req = new Request(`http://local${path}`, { method, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
  const res = await h.fetch(req);
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type"), text, lines: text.trim().split("\n").map((l) => { try { return JSON.parse(l); } catch { return l; } }) };
};
const good = () => ({ model: { safetensors: b64(W), config: b64(C), name: "tiny" }, data: structuredClone(data), options: { threshold: 0.05 } });

t.test("bad requests: 4xx, one line, before any work", async (t) => {
  const cases = [
    ["not JSON", "{model", 400, /^request body is not JSON/],
    ["a JSON array", [], 400, /request body must be a JSON object/],
    ["unknown top-level field", { ...good(), extra: 1 }, 400, /unknown field "extra" \(expected model, data, options\)/],
    ["no model", { data, options: { threshold: 1 } }, 400, /"model" is missing/],
    ["no data", { model: good().model, options: { threshold: 1 } }, 400, /"data" is missing/],
    ["model not an object", { ...good(), model: "gpt2" }, 400, /"model" must be an object/],
    ["two model kinds", { ...good(), model: { safetensors: b64(W), llama2c: b64(W) } }, 400, /exactly one of "safetensors", "llama2c", "builtin"; it has safetensors and llama2c/],
    ["safetensors without config", { ...good(), model: { safetensors: b64(W) } }, 400, /"model.config" is required/],
    ["weights not a string", { ...good(), model: { safetensors: 5, config: b64(C) } }, 400, /model.safetensors must be a URL or base64 bytes/],
    ["weights neither URL nor base64", { ...good(), model: { safetensors: "file:///etc/passwd", config: b64(C) } }, 400, /model.safetensors is neither an http\(s\) URL nor base64/],
    ["unknown model field", { ...good(), model: { ...good().model, revision: "main" } }, 400, /"model" has unknown field "revision"/],
    ["unknown built-in model", { ...good(), model: { builtin: "induction" }, data: { task: "induction" } }, 400, /"induction" has no built-in model/],
    ["config not JSON", { ...good(), model: { safetensors: b64(W), config: b64("{") } }, 400, /model.config is not JSON/],
    ["weights are not safetensors", { ...good(), model: { safetensors: b64("hello world, not weights"), config: b64(C) } }, 400, /^safetensors: /],
    ["a llama2.c file that is not one", { ...good(), model: { llama2c: b64(new Uint8Array(40)) } }, 400, /^llama2\.c: header field dim is 0/],
    ["unreachable URL", { ...good(), model: { safetensors: "http://127.0.0.1:9/x.safetensors", config: b64(C) } }, 400, /^model.safetensors: cannot fetch http:\/\/127\.0\.0\.1:9\/x\.safetensors/],
    ["URL answering 404", { ...good(), model: { safetensors: `${base}/missing.safetensors`, config: b64(C) } }, 400, /model.safetensors: http:\/\/127\.0\.0\.1:\d+\/missing\.safetensors answered HTTP 404/],
    ["data not an object", { ...good(), data: [[1, 2]] }, 400, /"data" must be an object/],
    ["data without clean", { ...good(), data: { positions: [1] } }, 400, /data: "clean" must be a non-empty list of token-id lists/],
    ["data field mistyped", { ...good(), data: { ...data, positions: "last" } }, 400, /data: "positions" must list one position/],
    ["data unknown field", { ...good(), data: { ...data, label: [1] } }, 400, /data: unknown field "label"/],
    ["unknown task", { ...good(), data: { task: "ioi" } }, 400, /unknown task "ioi"/],
    ["token outside the vocabulary", { ...good(), data: { ...data, clean: data.clean.map((r, i) => (i ? r : [999, ...r.slice(1)])) } }, 400, /^clean: token 999 at \[0\]\[0\] is outside the vocabulary \[0, 40\)/],
    ["options not an object", { ...good(), options: 0.05 }, 400, /options must be a JSON object/],
    ["no threshold", { ...good(), options: {} }, 400, /options.threshold is required/],
    ["threshold a string", { ...good(), options: { threshold: "0.05" } }, 400, /options.threshold must be a non-negative number, got "0.05"/],
    ["negative threshold", { ...good(), options: { threshold: -1 } }, 400, /options.threshold must be a non-negative number, got -1/],
    ["unknown option", { ...good(), options: { threshold: 1, thresh: 2 } }, 400, /options: unknown option "thresh"/],
    ["unknown algorithm", { ...good(), options: { threshold: 1, algorithm: "nope" } }, 400, /options.algorithm must be one of acdc, eap, eap-ig, hybrid, sp, hisp, edge-pruning; got "nope"/],
    ["sp without lambda", { ...good(), options: { algorithm: "sp" } }, 400, /^algorithm sp needs options.lambda$/],
    ["lambda with acdc", { ...good(), options: { threshold: 1, lambda: 1 } }, 400, /options.lambda applies to algorithm sp, not acdc/],
    ["threshold with sp", { ...good(), options: { algorithm: "sp", lambda: 1, threshold: 0.1 } }, 400, /options.threshold does not apply to sp \(it is cut by its lambda\)/],
    ["top_k with hisp", { ...good(), options: { algorithm: "hisp", masked: 1, top_k: 3 } }, 400, /options.top_k does not apply to algorithm hisp/],
    ["steps with hisp", { ...good(), options: { algorithm: "hisp", masked: 1, steps: 3 } }, 400, /options.steps applies to sp and edge-pruning, not hisp/],
    ["negative lambda", { ...good(), options: { algorithm: "sp", lambda: -1 } }, 400, /options.lambda must be a non-negative number, got -1/],
    ["sparsity above 1", { ...good(), options: { algorithm: "edge-pruning", sparsity: 1.5 } }, 400, /options.sparsity must be a fraction in \[0, 1\], got 1.5/],
    ["zero steps", { ...good(), options: { algorithm: "edge-pruning", sparsity: 0.5, steps: 0 } }, 400, /options.steps must be an integer from 1 to 1000000, got 0/],
    ["zero lr", { ...good(), options: { algorithm: "sp", lambda: 1, lr: 0 } }, 400, /options.lr must be a positive number, got 0/],
    ["negative seed", { ...good(), options: { algorithm: "sp", lambda: 1, seed: -1 } }, 400, /options.seed must be an integer from 0 to 4294967295, got -1/],
    ["more components than the model has", { ...good(), options: { algorithm: "hisp", masked: 27 } }, 400, /^hisp: masked must be an integer from 0 to 26 \(the model's head q\/k\/v and MLP components\), got 27$/],
    ["task neither a name nor a file", { ...good(), data: { task: 5 } }, 400, /"data.task" must name a built-in task .* or be a task file object/],
    ["task file with an unknown field", { ...good(), data: { task: { clean: [[1, 2]], corrupted: [[1, 3]], prompt: "x" } } }, 400, /^data.task: unknown field "prompt"/],
    ["task file with text and no tokenizer", { ...good(), data: { task: { clean: ["a b"], corrupted: ["a c"] } } }, 400, /^data.task: clean\[0\] is text but the file names no "tokenizer"/],
    ["task file naming a tokenizer by path", { ...good(), data: { task: { tokenizer: "tok512.bin", clean: ["a"], corrupted: ["b"] } } }, 400, /data.task: "tokenizer" "tok512.bin" is a path, and a request has no files beside it/],
    ["text task file, no tokenizer loader", { ...good(), data: { task: { tokenizer: "gpt2", clean: ["a"], corrupted: ["b"] } } }, 400, /data.task names the tokenizer "gpt2", but this handler has none/],
    ["task file: corrupted ablation without corrupted prompts", { ...good(), data: { task: { clean: [[1, 2, 3]], ablation: "zero" } }, options: { threshold: 1, ablation: "corrupted" } }, 400, /options.ablation corrupted needs "corrupted" prompts, and data.task has none/],
    ["task file: another metric than its own or kl", { ...good(), data: { task: { clean: [[1, 2, 3]], corrupted: [[1, 2, 4]] } }, options: { threshold: 1, metric: "logit-diff" } }, 400, /options.metric must be one of kl; got "logit-diff"/],
    ["task file: a token outside the vocabulary", { ...good(), data: { task: { clean: [[1, 2, 99]], corrupted: [[1, 2, 3]] } } }, 400, /^data.task: clean prompt 0 \[1, 2, 99\] \(3 tokens\): token 99 at position 2 is outside the model's vocabulary \[0, 40\)/],
    ["top_k with acdc", { ...good(), options: { threshold: 1, top_k: 3 } }, 400, /options.top_k does not apply to algorithm acdc/],
    ["hybrid without top_k", { ...good(), options: { threshold: 1, algorithm: "hybrid" } }, 400, /algorithm hybrid needs options.top_k/],
    ["unknown metric", { ...good(), options: { threshold: 1, metric: "l1" } }, 400, /options.metric must be one of kl, logit-diff; got "l1"/],
    ["logit-diff without answers", { ...good(), options: { threshold: 1, metric: "logit-diff" } }, 400, /metric logit-diff needs "correct" and "incorrect"/],
    ["unknown ablation", { ...good(), options: { threshold: 1, ablation: "noise" } }, 400, /options.ablation must be one of corrupted, zero, mean; got "noise"/],
  ];
  for (const [what, body, status, re] of cases) {
    const r = await call(body);
    t.equal(r.status, status, `${what}: HTTP ${status}`);
    t.match(r.type, /^application\/x-ndjson/);
    t.equal(r.lines.length, 1, `${what}: one line`);
    t.equal(r.lines[0]?.type, "error");
    t.match(r.lines[0]?.message, re, `${what}: ${r.lines[0]?.message}`);
  }
});

t.test("limits are configurable and refused with 413", async (t) => {
  const bigData = { ...data, clean: Array(65).fill(data.clean[0]), corrupted: Array(65).fill(data.clean[0]), positions: Array(65).fill(data.positions[0]) };
  const long = { clean: [Array(65).fill(1)], corrupted: [Array(65).fill(2)], positions: [64] };
  const cases = [
    ["prompts", { ...good(), data: bigData }, /data has 65 prompts, over the limit of 64/],
    ["positions", { ...good(), data: long }, /data has a prompt of 65 tokens, over the limit of 64/],
    ["task file prompts", { ...good(), data: { task: { clean: Array(65).fill([1, 2]), corrupted: Array(65).fill([1, 3]) } } }, /data.task has 65 prompts, over the limit of 64/],
    ["model bytes (base64)", { ...good(), model: { llama2c: b64(Buffer.alloc(3 << 20)) } }, /model.llama2c is over the model limit of 2\.0 MiB/],
    ["model bytes (URL, by content-length or as read)", { ...good(), model: { llama2c: `${base}/big.safetensors` } }, /model.llama2c.*(over the model limit|larger than the limit) of 2\.0 MiB/],
  ];
  for (const [what, body, re] of cases) {
    const r = await call(body);
    t.equal(r.status, 413, `${what}: 413`);
    t.match(r.lines[0]?.message, re, r.lines[0]?.message);
  }
  // A task file's prompt lengths are known once it is tokenized for the model: refused then, still before the search.
  const short = await call({ ...good(), data: { task: { clean: [[1, 2, 3, 4, 5, 6, 7, 8]], corrupted: [[1, 2, 3, 4, 5, 6, 7, 9]] } } }, { h: createHandler({ limits: { maxPositions: 5 } }) });
  t.equal(short.status, 413);
  t.match(short.lines[0]?.message, /data has a prompt of 8 tokens, over the limit of 5/);
  const small = createHandler({ limits: { maxBodyBytes: 1000 } });
  const r = await call(good(), { h: small });
  t.equal(r.status, 413);
  t.match(r.lines[0].message, /request body is larger than the limit of 0\.0 MiB|over the limit/);
  t.throws(() => createHandler({ limits: { maxPrompts: 0 } }), /limit maxPrompts must be a positive number/);
  t.equal(DEFAULT_LIMITS.maxModelBytes, 48 * 2 ** 20, "defaults documented in the README");
  // Time: checked between decisions; the stream is already 200, so it ends with an error line.
  const hurried = createHandler({ limits: { maxSeconds: 1e-9 } });
  const slow = await call(good(), { h: hurried });
  t.equal(slow.status, 200);
  t.same(slow.lines.at(-1), { type: "error", message: slow.lines.at(-1).message });
  t.match(slow.lines.at(-1).message, /^time limit of 1e-9 s reached after \d+ of 134 edges$/);
});

t.test("routes", async (t) => {
  const info = await call(undefined, { method: "GET", path: "/" });
  t.equal(info.status, 200);
  t.match(info.lines[0], { name: "acdc-wasm", endpoints: ["POST /v1/run"], limits: { maxPrompts: 64 } });
  t.equal((await call(undefined, { method: "GET" })).status, 405, "GET /v1/run");
  t.equal((await call("{}", { path: "/v2/run" })).status, 404);
});

t.test("a good request: progress lines, then the circuit acdc run writes and a manifest that verifies", async (t) => {
  const r = await call(good());
  t.equal(r.status, 200);
  t.ok(r.lines.length > 3, `${r.lines.length} lines`);
  t.match(r.lines[0], { type: "progress", phase: "ready", model: "tiny", edges: 134 });
  t.ok(r.lines.slice(0, -1).every((l) => l.type === "progress"));
  const res = r.lines.at(-1);
  t.equal(res.type, "result");
  const m = checkRunManifest(res.manifest);
  t.match(m.data, { source: "inline", prompts: data.clean.length });
  t.match(m.model, { source: "file", format: "safetensors", name: "tiny" });
  t.notOk(m.model.weights.url, "no URL for base64 bytes");

  // The CLI on the same files: the same circuit, byte for byte but its timing.
  const dir = mkdtempSync(join(tmpdir(), "acdc-serve-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "tiny.safetensors"), W);
  writeFileSync(join(dir, "tiny.config.json"), C);
  writeFileSync(join(dir, "data.json"), JSON.stringify(data));
  writeFileSync(join(dir, "h.manifest.json"), JSON.stringify(m));
  const acdc = (args) => new Promise((res) => execFile(process.execPath, [join(root, "bin", "acdc.js"), ...args], { cwd: dir }, (e, stdout, stderr) => res({ code: e ? e.code : 0, stdout, stderr })));
  const cli = await acdc(["run", "--model", "tiny.safetensors", "--data", "data.json", "--threshold", "0.05", "--out", "c.json", "--quiet"]);
  t.equal(cli.code, 0, cli.stderr);
  const text = readFileSync(join(dir, "c.json"), "utf8");
  t.equal(JSON.stringify({ ...res.circuit, search_ms: JSON.parse(text).search_ms }, null, 1) + "\n", text, "byte-identical to acdc run's c.json");
  t.equal(m.results.circuit_sha256, readJson(join(dir, "c.manifest.json")).results.circuit_sha256);
  const v = await acdc(["verify", "h.manifest.json", "--data", "data.json", "--quiet"]);
  t.equal(v.code, 0, `the handler's manifest verifies with the CLI: ${v.stdout}${v.stderr}`);
  t.match(v.stdout, /model weights found by sha256/);

  // By URL: the same circuit, and the manifest records the URLs.
  const u = await call({ ...good(), model: { safetensors: `${base}/tiny.safetensors`, config: `${base}/tiny.config.json` } });
  const ures = u.lines.at(-1);
  t.equal(ures.type, "result", JSON.stringify(ures).slice(0, 200));
  t.equal(ures.circuit.model.name, "tiny", "name from the URL");
  t.equal(ures.manifest.model.weights.url, `${base}/tiny.safetensors`);
  t.equal(ures.manifest.results.circuit_sha256, m.results.circuit_sha256);
});

t.test("built-in tracr model and task data", async (t) => {
  const r = await call({ model: { builtin: "tracr-reverse" }, data: { task: "tracr-reverse" }, options: { threshold: 0.001 } });
  const res = r.lines.at(-1);
  t.equal(res.type, "result");
  t.match(res.circuit, { ablation: "zero", metric: "tracr-l2", model: { name: "tracr-reverse" } }, "the task's ablation and metric by default");
  t.match(res.manifest, { model: { source: "builtin", builtin: "tracr-reverse" }, data: { source: "task", task: "tracr-reverse" }, options: { split_input: true, metric: "task" } });
});

t.test("acdc serve: loopback, limits from the command line, bad options refused", async (t) => {
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, [join(root, "bin", "acdc.js"), "serve", "--port", "0", "--max-prompts", "1", "--max-model-mb", "1"], { stdio: ["ignore", "pipe", "pipe"] });
  t.teardown(() => child.kill("SIGTERM"));
  const port = await new Promise((res, rej) => {
    child.stdout.on("data", (d) => { const m = String(d).match(/listening on http:\/\/127\.0\.0\.1:(\d+) \(POST \/v1\/run\)/); if (m) res(Number(m[1])); });
    child.once("exit", (c) => rej(new Error(`exited ${c}`)));
  });
  const info = await (await fetch(`http://127.0.0.1:${port}/`)).json();
  t.match(info.limits, { maxPrompts: 1, maxModelBytes: 2 ** 20 });
  const r = await fetch(`http://127.0.0.1:${port}/v1/run`, { method: "POST", body: JSON.stringify(good()) });
  t.equal(r.status, 413);
  t.match(await r.text(), /data has \d+ prompts, over the limit of 1/);
  // acdc serve brings the package's tokenizers: a text task file is tokenized (here into ids past the tiny model's vocabulary).
  t.equal(info.text_task_files, true);
  const text = await fetch(`http://127.0.0.1:${port}/v1/run`, { method: "POST", body: JSON.stringify({ ...good(), data: { task: { tokenizer: "gpt2", clean: ["Hello world"], corrupted: ["Hello there"] } } }) });
  t.equal(text.status, 400);
  t.match(JSON.parse(await text.text()).message, /^data.task: clean prompt 0 "Hello world" → \["Hello", "Ġworld"\] \(2 tokens\): token 15496 at position 0 is outside the model's vocabulary \[0, 40\) \(the tokenizer has 50257 tokens: is it the model's\?\)/);
  const bad = await new Promise((res) => execFile(process.execPath, [join(root, "bin", "acdc.js"), "serve", "--max-prompts", "0"], (e, so, se) => res({ code: e?.code, stderr: se })));
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--max-prompts must be positive/);
});

t.test("mask methods through the handler: the circuit acdc run writes, a manifest that verifies", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "acdc-serve-mask-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "tiny.safetensors"), W);
  writeFileSync(join(dir, "tiny.config.json"), C);
  writeFileSync(join(dir, "data.json"), JSON.stringify(data));
  const acdc = (args) => new Promise((res) => execFile(process.execPath, [join(root, "bin", "acdc.js"), ...args], { cwd: dir }, (e, stdout, stderr) => res({ code: e ? e.code : 0, stdout, stderr })));
  for (const [alg, options, args] of [
    ["sp", { lambda: 0.5, steps: 30, seed: 2 }, ["--lambda", "0.5", "--steps", "30", "--seed", "2"]],
    ["hisp", { masked: 4 }, ["--masked", "4"]],
    ["edge-pruning", { sparsity: 0.8, steps: 30, lr: 0.05 }, ["--sparsity", "0.8", "--steps", "30", "--lr", "0.05"]],
  ]) {
    const r = await call({ ...good(), options: { algorithm: alg, ...options } });
    t.equal(r.status, 200);
    const res = r.lines.at(-1);
    t.equal(res.type, "result", `${alg}: ${res.message ?? ""}`);
    if (res.type !== "result") continue;
    t.ok(r.lines.filter((l) => l.phase === alg).length >= 1, `${alg}: progress lines`);
    const cli = await acdc(["run", "--model", "tiny.safetensors", "--data", "data.json", "--algorithm", alg, ...args, "--out", `${alg}.json`, "--quiet"]);
    t.equal(cli.code, 0, cli.stderr);
    const text = readFileSync(join(dir, `${alg}.json`), "utf8");
    t.equal(JSON.stringify({ ...res.circuit, search_ms: JSON.parse(text).search_ms }, null, 1) + "\n", text, `${alg}: byte-identical to acdc run's circuit`);
    const cm = JSON.parse(readFileSync(join(dir, `${alg}.manifest.json`), "utf8"));
    t.same(res.manifest.options, { ...cm.options }, `${alg}: the same options section`);
    t.same(res.manifest.results, cm.results, `${alg}: the same decisions and digests`);
    writeFileSync(join(dir, `h-${alg}.manifest.json`), JSON.stringify(res.manifest));
    const v = await acdc(["verify", `h-${alg}.manifest.json`, "--data", "data.json", "--threads", "2", "--quiet"]);
    t.equal(v.code, 0, `${alg}: the handler's manifest verifies: ${v.stdout}${v.stderr}`);
  }
});

t.test("task files through the handler: token ids as acdc run --task; text with the host's tokenizer, by URL", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "acdc-serve-task-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "tiny.safetensors"), W);
  writeFileSync(join(dir, "tiny.config.json"), C);
  const acdc = (args) => new Promise((res) => execFile(process.execPath, [join(root, "bin", "acdc.js"), ...args], { cwd: dir }, (e, stdout, stderr) => res({ code: e ? e.code : 0, stdout, stderr })));
  const task = { clean: data.clean, corrupted: data.corrupted, positions: "last", metric: "kl" };
  writeFileSync(join(dir, "task.json"), JSON.stringify(task, null, 2));
  const r = await call({ ...good(), data: { task }, options: { threshold: 0.05 } });
  const res = r.lines.at(-1);
  t.equal(res.type, "result", res.message);
  t.match(res.manifest.data, { source: "task-file", tokenizer: null, prompts: data.clean.length });
  t.notOk(res.manifest.data.file, "no file: it came inline");
  const cli = await acdc(["run", "--model", "tiny.safetensors", "--task", "task.json", "--threshold", "0.05", "--out", "c.json", "--quiet"]);
  t.equal(cli.code, 0, cli.stderr);
  const { task: label, ...cliCircuit } = JSON.parse(readFileSync(join(dir, "c.json"), "utf8"));
  t.equal(label, "task.json");
  t.same({ ...res.circuit, search_ms: 0 }, { ...cliCircuit, search_ms: 0 }, "acdc run --task's circuit (its task label aside)");
  const cm = JSON.parse(readFileSync(join(dir, "c.manifest.json"), "utf8"));
  t.same([res.manifest.data.sha256, res.manifest.data.task_sha256, res.manifest.results], [cm.data.sha256, cm.data.task_sha256, cm.results], "the same token data, task file and results digests as the CLI's");
  writeFileSync(join(dir, "h.manifest.json"), JSON.stringify(res.manifest));
  const v = await acdc(["verify", "h.manifest.json", "--quiet"]);
  t.equal(v.code, 0, v.stdout + v.stderr);
  t.match(v.stdout, /token data from the manifest's recorded tokens \(the task file came inline; give it with --task to tokenize it again\)/);
  const vt = await acdc(["verify", "h.manifest.json", "--task", "task.json", "--quiet"]);
  t.equal(vt.code, 0, vt.stdout + vt.stderr);
  t.match(vt.stdout, /task file given, token data from the task file, tokenized again/);

  if (!haveStories) { t.comment(`text task file skipped: ${storiesDir} has no stories260K.bin and tok512.bin`); return; }
  const texts = { clean: ["Once upon a time there was a cat. The cat was happy. The cat"], corrupted: ["Once upon a time there was a dog. The dog was happy. The dog"], metric: "kl" };
  const stories = readFileSync(join(storiesDir, "stories260K.bin"));
  const withTok = createHandler({ loadTokenizer });
  const body = (tokenizer) => ({ model: { llama2c: b64(stories), name: "stories260K" }, data: { task: { tokenizer, ...texts } }, options: { threshold: 0.05 } });
  const missing = await call(body(`${base}/missing.bin`), { h: withTok });
  t.equal(missing.status, 400);
  t.match(missing.lines[0].message, /^data.task: tokenizer "http:\/\/127\.0\.0\.1:\d+\/missing\.bin" not found/);
  const s = await call(body(`${base}/tok512.bin`), { h: withTok });
  const sres = s.lines.at(-1);
  t.equal(sres.type, "result", sres.message);
  const tok = readFileSync(join(storiesDir, "tok512.bin"));
  t.same(sres.manifest.data.tokenizer, { spec: `${base}/tok512.bin`, url: `${base}/tok512.bin`, bytes: tok.length, sha256: (await import("node:crypto")).createHash("sha256").update(tok).digest("hex") }, "the tokenizer's URL, size and digest");
  writeFileSync(join(dir, "stories260K.bin"), stories);
  writeFileSync(join(dir, "tok512.bin"), tok);
  writeFileSync(join(dir, "st.json"), JSON.stringify({ tokenizer: "tok512.bin", ...texts }));
  const sc = await acdc(["run", "--model", "stories260K.bin", "--task", "st.json", "--threshold", "0.05", "--out", "sc.json", "--quiet"]);
  t.equal(sc.code, 0, sc.stderr);
  const scm = JSON.parse(readFileSync(join(dir, "sc.manifest.json"), "utf8"));
  t.same([sres.manifest.data.sha256, sres.manifest.results], [scm.data.sha256, scm.results], "the CLI's tokens and circuit, tokenized in the handler");
});
