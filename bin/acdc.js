#!/usr/bin/env node
// The `acdc` command; the CLI itself is compiled from src/node/cli.ts.
import { main } from "../dist/node/cli.js";

process.exitCode = await main(process.argv.slice(2));
