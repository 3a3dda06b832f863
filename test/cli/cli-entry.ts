// Runs the CLI from source (through tsx), with the page sources as its public directory; the tests
// spawn this as a real process, exactly as bin/switchboard.js runs the compiled CLI.
import { fileURLToPath } from 'node:url';
import { run } from '../../src/cli/main.js';

const publicDir = fileURLToPath(new URL('../../src/cli/public/', import.meta.url));
const code = await run(process.argv.slice(2), { publicDir });
process.exitCode = code;
// Normally the process ends by itself once the command is done; if a connection left open by a
// library still holds it, leave anyway (after a moment for the last writes to flush).
setTimeout(() => process.exit(code), 500).unref();
