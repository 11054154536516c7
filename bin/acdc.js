#!/usr/bin/env node
// The `acdc` command; the CLI itself is compiled from src/node/cli.ts.
import { main } from "../dist/node/cli.js";
import { keepYoungGenerationSmall } from "../dist/node/heap.js";

keepYoungGenerationSmall();
// Output piped into `head` and closed early is not an error.
for (const s of [process.stdout, process.stderr]) s.on("error", (e) => { if (e.code === "EPIPE") process.exit(process.exitCode ?? 0); else throw e; });
process.exitCode = await main(process.argv.slice(2));
