// `acdc explore`: a static file server for dist/explorer on the loopback
// interface only, every response cross-origin isolated (so the page may use
// threads), /models/… falling back to a models folder, nothing outside the
// two folders served, other host names refused; the command prints its URL
// and stops on SIGTERM.
import t from "tap";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root } from "../helpers/fixtures.mjs";
import { startExploreServer, EXPLORE_HEADERS } from "../../dist/node/commands/explore.js";

const models = mkdtempSync(join(tmpdir(), "acdc-explore-"));
writeFileSync(join(models, "m.bin"), "weights");
const server = await startExploreServer({ port: 0, modelsDir: models });
t.teardown(() => server.close());
const { port } = new URL(server.url);

/** A raw request (fetch would normalise the path and refuse to set Host). */
const get = (path, { method = "GET", host = `127.0.0.1:${port}` } = {}) => new Promise((resolve, reject) => {
  const req = request({ host: "127.0.0.1", port, path, method, headers: { host } }, (res) => {
    const chunks = [];
    res.on("data", (c) => chunks.push(c));
    res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
  });
  req.on("error", reject);
  req.end();
});

t.test("the page, its files and the isolation headers", async (t) => {
  t.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/, "a loopback URL");
  const r = await get("/");
  t.equal(r.status, 200);
  t.equal(r.body.toString(), readFileSync(join(root, "dist", "explorer", "index.html"), "utf8"), "index.html for /");
  for (const [k, v] of Object.entries(EXPLORE_HEADERS)) t.equal(r.headers[k], v, `${k}: ${v}`);
  t.equal(r.headers["content-type"], "text/html; charset=utf-8");
  const js = await get("/worker.js");
  t.equal(js.headers["content-type"], "text/javascript; charset=utf-8", "modules as JavaScript");
  const files = JSON.parse((await get("/files.json")).body);
  for (const f of ["index.html", "app.js", "worker.js", "acdc-wasm.mjs", "acdc-wasm-tokenizers.mjs", "models/induction-2l.safetensors", "sw.js"]) t.ok(files.files.includes(f), `the build lists ${f}`);
  for (const f of files.files) t.equal((await get(`/${f}`, { method: "HEAD" })).status, 200, `${f} is served`);
  const head = await get("/acdc-wasm.mjs", { method: "HEAD" });
  t.equal(head.body.length, 0, "HEAD: no body");
  t.equal(Number(head.headers["content-length"]), readFileSync(join(root, "dist", "explorer", "acdc-wasm.mjs")).length, "HEAD: the length");
});

t.test("models folder, and nothing else", async (t) => {
  t.equal((await get("/models/m.bin")).body.toString(), "weights", "a file of the models folder under /models/");
  t.equal((await get("/models/induction-2l.config.json")).status, 200, "the build's own models first");
  t.equal((await get("/models/nope.bin")).status, 404);
  t.equal((await get("/../package.json")).status, 404, "no way out by ..");
  t.equal((await get("/%2e%2e/package.json")).status, 404, "nor by an escaped ..");
  t.equal((await get("/models/%2e%2e/%2e%2e/package.json")).status, 404, "nor out of the models folder");
  t.equal((await get("/", { host: "attacker.example:80" })).status, 403, "another host name (DNS rebinding) is refused");
  t.equal((await get("/", { host: `localhost:${port}` })).status, 200, "localhost is this machine");
  t.equal((await get("/", { method: "POST" })).status, 405, "no POST");
});

t.test("the command prints its URL, serves, and stops on SIGTERM", async (t) => {
  const child = spawn(process.execPath, [join(root, "bin", "acdc.js"), "explore", "--port", "0", "--models", models]);
  const url = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => { out += d; const m = /acdc explorer: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out); if (m) resolve(m[1]); });
    child.on("exit", (c) => reject(new Error(`exited ${c}`)));
  });
  const r = await fetch(url);
  t.equal(r.status, 200, `serves ${url}`);
  t.equal(r.headers.get("cross-origin-embedder-policy"), "require-corp");
  const code = new Promise((resolve) => child.on("exit", resolve));
  child.kill("SIGTERM");
  t.equal(await code, 0, "exit 0 on SIGTERM");
});

t.test("usage errors", async (t) => {
  const run = (args) => new Promise((resolve) => {
    const c = spawn(process.execPath, [join(root, "bin", "acdc.js"), "explore", ...args]);
    let err = "", out = "";
    c.stderr.on("data", (d) => { err += d; });
    c.stdout.on("data", (d) => { out += d; });
    c.on("exit", (code) => resolve({ code, err, out }));
  });
  const help = await run(["--help"]);
  t.equal(help.code, 0);
  t.match(help.out, /loopback only/);
  const badPort = await run(["--port", "70000"]);
  t.equal(badPort.code, 2);
  t.match(badPort.err, /--port must be from 0 to 65535/);
  const busy = await run(["--port", port]);
  t.equal(busy.code, 2, "a port in use");
  t.match(busy.err, new RegExp(`port ${port} is in use \\(pass --port 0 for any free port\\)`));
  const noDir = await run(["--models", join(models, "m.bin")]);
  t.equal(noDir.code, 2);
  t.match(noDir.err, /--models .* is not a folder/);
});
