// Core code (src/ outside src/node/) must run in Node, Deno and browsers, so
// it may not touch Node-only APIs; this scans the sources for them.
import t from "tap";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { root } from "../helpers/fixtures.mjs";

const src = join(root, "src");
const files = readdirSync(src, { recursive: true }).map(String)
  .filter((f) => f.endsWith(".ts") && !f.startsWith("node/") && !f.endsWith(".generated.ts"));
const banned = [
  [/\bfrom\s+["'](node:[\w/]+|fs|path|os|child_process|url|util|crypto|worker_threads)["']/, "a Node module import"],
  [/\brequire\s*\(/, "require()"],
  [/\bprocess\./, "process"],
  [/\bBuffer\b/, "Buffer"],
  [/\bNodeJS\./, "NodeJS types"],
  [/\b__dirname\b|\b__filename\b/, "__dirname/__filename"],
];

t.ok(files.length >= 10, `${files.length} core source files scanned`);
for (const f of files) {
  // Comments may mention these words; code may not.
  const code = readFileSync(join(src, f), "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  const hits = banned.filter(([re]) => re.test(code)).map(([, what]) => what);
  t.same(hits, [], `${relative(root, join(src, f))} uses no Node-only API`);
}
t.test("the scan catches what it should", async (t) => {
  for (const [bad, what] of [['import { readFileSync } from "node:fs";', "node:fs"], ["const b = Buffer.from(x);", "Buffer"], ["if (process.env.X) {}", "process"]]) {
    t.ok(banned.some(([re]) => re.test(bad)), `flags ${what}`);
  }
});
