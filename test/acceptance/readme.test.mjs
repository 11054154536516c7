// The README says what the CLI prints: its fixture example (command taken
// from the README, numbers compared with the README's), its circuit JSON
// (every field listed, every value shown matches), the demo's output block,
// the task table's AUCs, and each command's --help text verbatim.
import t from "tap";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, fixtures } from "../helpers/fixtures.mjs";

const readme = readFileSync(join(root, "README.md"), "utf8");
const dir = mkdtempSync(join(tmpdir(), "acdc-readme-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const bin = join(root, "bin", "acdc.js");
const acdc = (args) => new Promise((resolve) => {
  execFile(process.execPath, [bin, ...args], { cwd: dir, timeout: 120_000 }, (err, stdout, stderr) => resolve({ code: err ? err.code ?? -1 : 0, stdout, stderr }));
});
/** The fenced blocks of a README section (its text up to the next "## "). */
const section = (title) => readme.slice(readme.indexOf(`## ${title}`), readme.indexOf("\n## ", readme.indexOf(`## ${title}`) + 3));
const blocks = (text) => [...text.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], body: m[2] }));

t.test("the fixture example prints what the README says", async (t) => {
  const block = blocks(section("Command line")).find((b) => b.body.includes("npx acdc run --model ../shared/fixtures/"));
  t.ok(block, "the example is in the Command line section");
  const command = block.body.split("\n").filter((l) => !l.startsWith("#")).join(" ").replace(/\\\s+/g, " ").trim();
  const args = command.split(/\s+/).slice(2).map((a) => a.replace("../shared/fixtures", fixtures));
  t.same(args.slice(0, 1), ["run"]);
  const r = await acdc(args);
  t.equal(r.code, 0, "the example runs");
  for (const line of block.body.split("\n").filter((l) => l.startsWith("# "))) {
    // "…" stands for text the README leaves out; the rest must be printed as written.
    for (const part of line.slice(2).split("…").map((p) => p.trim()).filter((p) => p && !p.startsWith("the reference"))) {
      t.ok(r.stdout.includes(part), `stdout has "${part}"`);
    }
  }
  t.match(block.body, /kept 78 of 134 edges \(128 tested\)/, "the README states the reference's 78 edges");
  const ref = JSON.parse(readFileSync(join(fixtures, "tiny-ln-mlp.acdc.json"), "utf8")).runs.find((x) => x.threshold === 0.020523 && x.ablation === "corrupted");
  const got = JSON.parse(readFileSync(join(dir, "circuit.json"), "utf8"));
  t.same(got.edges.map((e) => [e.parent, e.child, e.type]).sort(), ref.kept_edges.slice().sort(), "… and they are the reference's edges");
  t.ok(existsSync(join(dir, "circuit.dot")), "--dot wrote circuit.dot");

  // The JSON section shows this very file: every top-level field, every value shown.
  const shown = JSON.parse(blocks(section("Circuit JSON")).find((b) => b.lang === "json").body);
  t.same(Object.keys(shown), Object.keys(got), "the README's JSON has exactly the fields the CLI writes, in order");
  const digits = (x) => (String(x).split(".")[1] ?? "").length;
  const agree = (want, have, path) => {
    if (want === "...") return;
    if (Array.isArray(want)) { want.forEach((w, i) => agree(w, have?.[i], `${path}[${i}]`)); return; }
    if (want && typeof want === "object") { for (const k of Object.keys(want)) if (k !== "...") agree(want[k], have?.[k], `${path}.${k}`); return; }
    if (path === ".search_ms") return; // a time
    if (typeof want === "number") t.ok(Math.abs(want - have) <= 0.5 * 10 ** -digits(want), `${path}: ${want} (written ${have})`);
    else t.equal(have, want, path);
  };
  agree(shown, got, "");
  // The prose lists every field, top_k included (written only when EAP cut by top-k).
  const prose = section("Circuit JSON");
  const list = prose.slice(prose.indexOf("Every field:"), prose.indexOf("`acdc demo` adds"));
  for (const k of [...Object.keys(got), "top_k"]) t.ok(list.includes(`\`${k}\`:`) || list.includes(`\`${k}\`/`), `the field list explains ${k}`);
  const eap = await acdc(["run", "--model", args[2], "--data", args[4], "--algorithm", "eap-ig", "--top-k", "40", "--quiet", "--out", "eap.json"]);
  t.equal(eap.code, 0, eap.stderr);
  const e = JSON.parse(readFileSync(join(dir, "eap.json"), "utf8"));
  t.same(Object.keys(e), [...Object.keys(got), "top_k"], "top_k is the only extra field, with EAP cut by top-k");
  t.equal(e.top_k, 40);
});

t.test("the demo prints the README's block", async (t) => {
  const block = blocks(section("What `npm run demo` does")).find((b) => b.body.includes("circuit at"));
  const r = await acdc(["demo", "--quiet", "--out-dir", join(dir, "demo")]);
  t.equal(r.code, 0, r.stderr);
  for (const line of block.body.split("\n").filter((l) => l.trim() && l.trim() !== "…")) {
    // The search's milliseconds vary; everything else is printed as written.
    const re = new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\d+ ms/, "\\d+ ms")}$`, "m");
    t.match(r.stdout, re, `prints "${line.trim()}"`);
  }
});

t.test("the task table's AUCs are what acdc sweep prints", async (t) => {
  const rows = [...section("Tasks and ROC").matchAll(/^\| (tracr-\w+) \| (zero|corrupted) \| ([\d.]+) \| ([\d.]+) \|/gm)];
  t.equal(rows.length, 4, "four rows");
  for (const [, task, ablation, edges, nodes] of rows) {
    const r = await acdc(["sweep", "--task", task, "--ablation", ablation, "--quiet", "--out-dir", join(dir, `${task}-${ablation}`)]);
    t.equal(r.code, 0, `sweep --task ${task} --ablation ${ablation} runs`);
    t.match(r.stdout, new RegExp(`AUC \\(edges\\) ${edges.replace(".", "\\.")} {3}AUC \\(heads and MLPs\\) ${nodes.replace(".", "\\.")}`), `${task} ${ablation}: ${edges}, ${nodes}`);
  }
});

t.test("every --help text is in the README, verbatim", async (t) => {
  const text = section("Command line");
  for (const cmd of ["run", "info", "demo", "sweep", "verify", "replay", "serve", "explore", "worker"]) {
    const r = await acdc([cmd, "--help"]);
    t.equal(r.code, 0);
    t.ok(text.includes(`\`\`\`\n${r.stdout}\`\`\``), `acdc ${cmd} --help`);
  }
});
