// Hub downloads (src/model/hub.ts, src/node/hub-cache.ts, --model NAME):
// a local HTTP server on 127.0.0.1 plays the Hugging Face hub with the
// tiny-ln-mlp-hf fixture (and misbehaves on purpose for some repos); the
// real internet is never touched (every URL is
// the local server's, and the one test of the default host stubs fetch).
import t from "tap";
import { createServer } from "node:http";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { loadModel } from "../../dist/index.js";
import { downloadHubFile, fetchHubModel, fetchHubFile, hubFileUrl, hubRepoId, isHubRepoId, HubError } from "../../dist/model/hub.js";
import { loadHubModelCached } from "../../dist/node/hub-cache.js";
import { isHubModelArg } from "../../dist/node/files.js";
import { fixtures, readJson, root } from "../helpers/fixtures.mjs";

const weights = readFileSync(join(fixtures, "tiny-ln-mlp-hf.safetensors"));
const configText = readFileSync(join(fixtures, "tiny-ln-mlp-hf.config.json"));
const ref = readJson(join(fixtures, "tiny-ln-mlp-hf.logits.json"));
const tlConfig = Buffer.from(JSON.stringify({ n_layers: 2, d_model: 32, n_heads: 4, d_head: 8, d_mlp: 0, d_vocab: 40, n_ctx: 12, attn_only: true, act_fn: "gelu_new" }));

/** Each repo the fake hub knows: file → handler(req, res). Unknown repos answer 401 RepoNotFound like the hub. */
const send = (body, headers = {}) => (req, res) => { res.writeHead(200, { "content-type": "application/octet-stream", "content-length": body.length, ...headers }); res.end(body); };
const status = (code, headers = {}) => (req, res) => { res.writeHead(code, headers); res.end(`status ${code}`); };
const repos = {
  "fx/tiny": { "config.json": send(configText), "model.safetensors": send(weights) },
  "fx/cli": { "config.json": send(configText), "model.safetensors": send(weights) },
  "fx/noweights": { "config.json": send(configText), "model.safetensors": status(404, { "x-error-code": "EntryNotFound" }) },
  "fx/tl-pth": { "config.json": send(tlConfig), "model.safetensors": status(404) },
  "fx/gated": { "config.json": status(403, { "x-error-code": "GatedRepo" }) },
  "fx/truncated": {
    "config.json": send(configText),
    // Promise the whole file, send a third of it, hang up.
    "model.safetensors": (req, res) => {
      res.writeHead(200, { "content-length": weights.length });
      res.write(weights.subarray(0, Math.floor(weights.length / 3)), () => res.destroy());
    },
  },
  "fx/stall": { "config.json": (req, res) => { res.writeHead(200, { "content-length": configText.length }); res.write(configText.subarray(0, 5)); } },
  "fx/badjson": { "config.json": send(Buffer.from("{ not json")) },
  "fx/garbage": { "config.json": send(configText), "model.safetensors": send(Buffer.alloc(4096, 0x41)) },
  "fx/huge": { "config.json": send(configText), "model.safetensors": (req, res) => { res.writeHead(200, { "content-length": 20 * 2 ** 30 }); res.write(weights.subarray(0, 100), () => res.destroy()); } },
  "fx/trickle": { "config.json": (req, res) => { res.writeHead(200, { "content-length": configText.length }); let i = 0; const iv = setInterval(() => { if (res.destroyed || i >= configText.length) return clearInterval(iv); res.write(configText.subarray(i, ++i)); }, 20); res.on("close", () => clearInterval(iv)); } },
  "fx/loop": { "config.json": (req, res) => { res.writeHead(302, { location: req.url }); res.end(); } },
};

const hits = [];
const server = createServer((req, res) => {
  hits.push(req.url);
  const m = /^\/(.+)\/resolve\/([^/]+)\/([^/]+)$/.exec(req.url);
  const repo = m && repos[m[1]];
  if (!repo) return status(401, { "x-error-code": "RepoNotFound" })(req, res);
  if (m[2] !== "main") return status(404, { "x-error-code": "RevisionNotFound" })(req, res);
  (repo[m[3]] ?? status(404, { "x-error-code": "EntryNotFound" }))(req, res);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const baseUrl = `http://127.0.0.1:${server.address().port}`;
const tmp = mkdtempSync(join(tmpdir(), "acdc-hub-"));
t.teardown(() => { server.closeAllConnections(); server.close(); rmSync(tmp, { recursive: true, force: true }); });

/** Run fn and return how many requests reached the server meanwhile. */
async function counting(fn) {
  const before = hits.length;
  const value = await fn();
  return { value, hits: hits.length - before };
}
async function rejects(t, p, re, msg) {
  let err = null;
  try { await p; } catch (e) { err = e; }
  t.ok(err instanceof HubError && re.test(err.message), `${msg} → ${err ? `${err.name}: ${err.message}` : "no error"}`);
  return err;
}
const maxDiff = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const sink = () => { const s = new Writable({ write(c, e, cb) { s.text += c; cb(); } }); s.text = ""; return s; };

const bin = join(root, "bin", "acdc.js");
const acdc = (args, env) => new Promise((resolve) => {
  execFile(process.execPath, [bin, ...args], { cwd: tmp, timeout: 120_000, env: { ...process.env, HF_TOKEN: "", ...env } }, (err, stdout, stderr) => {
    resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
  });
});

t.test("repo ids and URLs", async (t) => {
  for (const id of ["gpt2", "NeelNanda/Attn_Only_4L512W_C4_Code", "openai-community/gpt2", "a.b-c_d/x1"]) t.ok(isHubRepoId(id), `${id} is a repo id`);
  for (const id of ["", "a/b/c", "./gpt2", "/gpt2", "gpt2/", "-x", "x.", "a--b", "a..b", "x.git", "has space", "a/" + "n".repeat(97)]) t.notOk(isHubRepoId(id), `${JSON.stringify(id)} is not`);
  t.equal(hubRepoId("redwood_attn_2l"), "ArthurConmy/redwood_attn_2l", "TransformerLens alias");
  t.throws(() => hubRepoId("a/b/c"), /"a\/b\/c" is not a Hugging Face repo id/);
  t.equal(hubFileUrl("gpt2", "model.safetensors"), "https://huggingface.co/gpt2/resolve/main/model.safetensors");
  t.equal(hubFileUrl("o/n", "config.json", { baseUrl: "http://h/", revision: "refs/pr/1" }), "http://h/o/n/resolve/refs%2Fpr%2F1/config.json");
  for (const arg of ["./nope", "../nope", "/nope", "nope.safetensors", "nope.config.json", "~/m", "C:\\m", "a/b/c"]) t.notOk(isHubModelArg(arg), `${arg} is a path`);
  for (const arg of ["gpt2", "some/repo", "redwood_attn_2l"]) t.ok(isHubModelArg(arg), `${arg} is a hub name`);
});

t.test("fetchHubModel → loadModel gives the fixture's reference logits", async (t) => {
  const seen = [];
  const { value: got, hits: n } = await counting(() => fetchHubModel("fx/tiny", { baseUrl, onProgress: (b, total, file) => seen.push([file, b, total]) }));
  t.equal(n, 2, "two requests: config.json and model.safetensors");
  t.same(got.config, JSON.parse(configText));
  t.equal(got.safetensors.length, weights.length);
  const last = seen.filter(([f]) => f === "model.safetensors").at(-1);
  t.same(last, ["model.safetensors", weights.length, weights.length], "progress ends at bytes = Content-Length");
  const model = await loadModel(got.safetensors, got.config);
  const d = maxDiff(model.forward(ref.tokens).logits, ref.logits.flat(2));
  t.ok(d <= 1e-4, `logits within 1e-4 (max |Δ| ${d.toExponential(1)})`);
});

t.test("hub errors name the repo, file and cause", async (t) => {
  await rejects(t, fetchHubModel("fx/noweights", { baseUrl }), /^no model\.safetensors in repo fx\/noweights at revision main$/, "404");
  await rejects(t, fetchHubModel("fx/tiny", { baseUrl, revision: "v9" }), /no revision v9 in repo fx\/tiny/, "unknown revision");
  await rejects(t, fetchHubModel("nobody/nothing", { baseUrl }), /no repo nobody\/nothing on 127\.0\.0\.1:\d+/, "401 RepoNotFound");
  const gated = await rejects(t, fetchHubModel("fx/gated", { baseUrl }), /gated or private.*HF_TOKEN/, "403 gated");
  t.equal(gated?.kind, "auth");
  await rejects(t, fetchHubModel("fx/tl-pth", { baseUrl }), /no model\.safetensors.*TransformerLens config.*\.pth checkpoint/, "TransformerLens repo: says why there is no safetensors");
  await rejects(t, fetchHubModel("fx/badjson", { baseUrl }), /config\.json of fx\/badjson is not valid JSON/, "bad config");
  const cut = await rejects(t, fetchHubModel("fx/truncated", { baseUrl }), /model\.safetensors from fx\/truncated was cut off after [\d.]+ MB of [\d.]+ MB/, "truncated body");
  t.equal(cut?.kind, "truncated");
  await rejects(t, fetchHubFile("fx/stall", "config.json", { baseUrl, stallTimeoutMs: 300 }), /stalled: nothing received from 127\.0\.0\.1:\d+ for 0\.3 s/, "stalled body");
  const off = await rejects(t, fetchHubModel("gpt2", { fetch: async () => { throw new TypeError("fetch failed", { cause: Object.assign(new Error("getaddrinfo ENOTFOUND huggingface.co"), { code: "ENOTFOUND" }) }); } }),
    /^could not reach huggingface\.co to download gpt2 \(offline\? ENOTFOUND\)$/, "DNS failure (stubbed fetch, no network)");
  t.equal(off?.kind, "offline");
});

t.test("downloads stream to a sink and refuse what no model can be", async (t) => {
  const chunks = [];
  const n = await downloadHubFile("fx/tiny", "model.safetensors", { baseUrl }, (c) => { chunks.push(c); });
  t.equal(n, weights.length, "resolves to the byte count");
  t.ok(Buffer.concat(chunks).equals(weights), "the sink got every byte, in order");
  const huge = await rejects(t, downloadHubFile("fx/huge", "model.safetensors", { baseUrl }, () => {}), /model\.safetensors of fx\/huge is 21474\.8 MB: no model that fits WebAssembly's 4 GiB memory is that large/, "a 20 GiB Content-Length: refused at once, not a RangeError");
  t.equal(huge?.kind, "bad-file");
  await rejects(t, fetchHubFile("fx/trickle", "config.json", { baseUrl, stallTimeoutMs: 200 }), /config\.json from fx\/trickle is too slow: \d+ bytes in the last 0\.2 s .*under 1024 bytes\/s/, "a trickle: abandoned as too slow");
  const loop = await rejects(t, fetchHubFile("fx/loop", "config.json", { baseUrl }), /redirected the request for config\.json of fx\/loop too many times \(a redirect loop/, "a redirect loop, not \"offline?\"");
  t.equal(loop?.kind, "http");
  await rejects(t, fetchHubModel("fx/garbage", { baseUrl }), /model\.safetensors of fx\/garbage is not a valid safetensors file \(safetensors: header length/, "garbage weights: refused with the reader's reason");
});

t.test("cache: first call downloads, second reads the disk only", async (t) => {
  const cacheDir = join(tmp, "cache-api");
  const progress = sink();
  const first = await counting(() => loadHubModelCached("fx/tiny", { cacheDir, baseUrl, progress }));
  t.equal(first.hits, 2, "downloaded config.json and model.safetensors");
  t.same(first.value.downloaded, ["config.json", "model.safetensors"]);
  const dir = join(cacheDir, "fx", "tiny", "main");
  t.equal(first.value.dir, dir);
  t.same(readdirSync(dir).sort(), ["config.json", "model.safetensors"], "CACHE/OWNER/NAME/REVISION holds the two files, no temp files");
  t.ok(readFileSync(join(dir, "model.safetensors")).equals(weights), "cached bytes are the served bytes");
  t.match(progress.text, /downloading fx\/tiny model\.safetensors: [\d.]+\/[\d.]+ MB 100% · [\d.]+ MB\/s/, "progress line with MB and MB/s");
  const again = await counting(() => loadHubModelCached("fx/tiny", { cacheDir, baseUrl: "http://127.0.0.1:1", progress }));
  t.equal(again.hits, 0, "no request the second time (and an unreachable hub does not matter)");
  t.same(again.value.downloaded, []);
  t.ok(readFileSync(again.value.weightsPath).equals(weights), "the cached weights file is returned by path");
  await rejects(t, loadHubModelCached("fx/cli", { cacheDir, baseUrl, offline: true, progress: null }), /fx\/cli \(config\.json\) is not in the cache .* downloads are off/, "offline and not cached");
});

t.test("acdc info --model OWNER/NAME through ACDC_HUB_URL and ACDC_CACHE", async (t) => {
  const env = { ACDC_HUB_URL: baseUrl, ACDC_CACHE: join(tmp, "cache-cli") };
  const first = await counting(() => acdc(["info", "--model", "fx/cli"], env));
  t.equal(first.value.code, 0, first.value.stderr);
  t.equal(first.hits, 2);
  t.match(first.value.stdout, /^fx\/cli: 2 layers × 4 heads, d_model 32, vocab 40/);
  t.match(first.value.stdout, /110 addition \+ 24 direct = 134 counted edges/);
  t.match(first.value.stderr, /downloading fx\/cli model\.safetensors: .*100% · [\d.]+ MB\/s/);
  t.ok(existsSync(join(env.ACDC_CACHE, "fx", "cli", "main", "model.safetensors")));
  const second = await counting(() => acdc(["info", "--model", "fx/cli"], env));
  t.equal(second.value.code, 0, second.value.stderr);
  t.equal(second.hits, 0, "second run: from the cache");
  t.equal(second.value.stderr, "", "no download line");
});

t.test("CLI hub errors: exit 2, clear message, nothing partial cached", async (t) => {
  const cache = join(tmp, "cache-err");
  const env = { ACDC_HUB_URL: baseUrl, ACDC_CACHE: cache };
  const nf = await acdc(["info", "--model", "fx/noweights"], env);
  t.equal(nf.code, 2);
  t.match(nf.stderr, /acdc info: no model\.safetensors in repo fx\/noweights at revision main \(and there is no local file or folder fx\/noweights\)/);
  t.notMatch(nf.stderr, /\n\s+at /, "no stack trace");

  const closed = createServer();
  await new Promise((r) => closed.listen(0, "127.0.0.1", r));
  const port = closed.address().port;
  await new Promise((r) => closed.close(r));
  const off = await acdc(["info", "--model", "fx/tiny"], { ...env, ACDC_HUB_URL: `http://127.0.0.1:${port}` });
  t.equal(off.code, 2, "connection refused: exit 2");
  t.match(off.stderr, new RegExp(`could not reach 127\\.0\\.0\\.1:${port} to download fx/tiny \\(offline\\? ECONNREFUSED\\) — pass --model \\./dir with model\\.safetensors and config\\.json`));

  const cut = await acdc(["info", "--model", "fx/truncated"], env);
  t.equal(cut.code, 2, "truncated: exit 2");
  t.match(cut.stderr, /model\.safetensors from fx\/truncated was cut off after [\d.]+ MB of [\d.]+ MB \(connection/);
  const dir = join(cache, "fx", "truncated", "main");
  t.same(existsSync(dir) ? readdirSync(dir) : [], ["config.json"], "only the complete config.json is cached: no model.safetensors, no temp file");

  const before = hits.length;
  for (const arg of ["./fx/tiny", "missing.safetensors", join(tmp, "none")]) {
    const r = await acdc(["info", "--model", arg], env);
    t.equal(r.code, 2);
    t.match(r.stderr, /model not found/, `${arg}: a path, not a hub name`);
  }
  t.equal(hits.length, before, "path-like arguments never reach the hub");
});
