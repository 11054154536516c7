// External components some suites need (Chromium, Redis, …): present, or the
// suite skips with one line saying how to enable it — except under CI
// (CI set, as .ci/run sets it), where a missing component is a failure.
import { existsSync } from "node:fs";

/** The Chromium binary tests drive, or null after recording a skip (or, under CI, a failure) on `t`. */
export function chromiumOrSkip(t, what = "browser tests") {
  const path = process.env.ACDC_CHROMIUM || "/usr/bin/chromium";
  if (existsSync(path)) return path;
  if (process.env.CI) t.fail(`Chromium not found at ${path} (CI requires it; .ci/run installs Debian's chromium)`);
  else t.skip(`${what} skipped: no Chromium at ${path} (apt-get install chromium, or set ACDC_CHROMIUM; required when CI is set)`);
  return null;
}

/** Flags every headless launch here uses (no sandbox as root, no background network on a closed machine). */
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
