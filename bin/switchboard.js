#!/usr/bin/env node
// The `switchboard` executable: runs the compiled CLI with the demo pages copied next to it.
import { fileURLToPath } from 'node:url';
import { run } from '../dist/esm/cli/main.js';

const publicDir = fileURLToPath(new URL('../dist/esm/cli/public/', import.meta.url));
const code = await run(process.argv.slice(2), { publicDir });
process.exitCode = code;
// Normally the process ends by itself once the command is done; if a connection left open by a
// library still holds it, leave anyway (after a moment for the last writes to flush).
setTimeout(() => process.exit(code), 500).unref();
