// Function index → name for a kernels .wasm (exports, plus the name section
// when the build has one), so CPU profiles' wasm-function[i] can be read.
import { readFileSync } from "node:fs";
export function wasmNames(path) {
  const b = readFileSync(path);
  let p = 8;
  const u = () => { let r = 0, s = 0, x; do { x = b[p++]; r |= (x & 0x7f) << s; s += 7; } while (x & 0x80); return r >>> 0; };
  const str = () => { const n = u(); const t = b.subarray(p, p + n).toString("utf8"); p += n; return t; };
  const names = new Map();
  while (p < b.length) {
    const id = b[p++], size = u(), end = p + size;
    if (id === 7) {
      for (let n = u(); n > 0; n--) { const name = str(), kind = b[p++], idx = u(); if (kind === 0) names.set(idx, name); }
    } else if (id === 0) {
      const name = str();
      if (name === "name") while (p < end) {
        const sub = b[p++], sz = u(), se = p + sz;
        if (sub === 1) for (let n = u(); n > 0; n--) { const idx = u(), nm = str(); if (!names.has(idx)) names.set(idx, nm); }
        p = se;
      }
    }
    p = end;
  }
  // Internal functions: the release build's text file lists every function in index order.
  try {
    const wat = readFileSync(path.replace(/\.wasm$/, ".wat"), "utf8");
    let i = (wat.match(/^ \(import /gm) ?? []).filter((l) => /\(func/.test(l)).length;
    for (const m of wat.matchAll(/^ \(func \$(\S+)/gm)) { if (!names.has(i)) names.set(i, m[1].replace(/^assembly\//, "")); i++; }
  } catch { /* no text file */ }
  return names;
}
