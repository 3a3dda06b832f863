// Prints the minified+gzipped size of our browser client next to socket.io-client's, and exits
// non-zero when ours is over budget: half of theirs, and at most 7,000 B as served at
// /switchboard/client.js (the file without its trailing sourceMappingURL comment: the server names
// the map in a SourceMap header). Usage: node scripts/bundle-size.mjs [--json] [--dir d]
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = new URL('..', import.meta.url).pathname;
const at = process.argv.indexOf('--dir');
const dir = at > 0 ? resolve(process.argv[at + 1]) : join(root, 'dist/browser');
const theirs = join(root, 'node_modules/socket.io-client/dist');

const CEILING = 7000;
const gzip = (bytes) => gzipSync(bytes, { level: 9 }).length;
const measure = (file) => {
  const bytes = readFileSync(file);
  return { file, raw: bytes.length, gzip: gzip(bytes) };
};
const served = (file) => gzip(Buffer.from(readFileSync(file, 'utf8').replace(/\/\/# sourceMappingURL=\S+\s*$/, '')));
const rows = {
  ours: measure(join(dir, 'switchboard.min.js')),
  oursEsm: measure(join(dir, 'switchboard.esm.min.js')),
  socketio: measure(join(theirs, 'socket.io.min.js')),
  socketioEsm: measure(join(theirs, 'socket.io.esm.min.js')),
};
const budget = Math.floor(rows.socketio.gzip / 2);
rows.ours.served = served(rows.ours.file);
const ok = rows.ours.gzip <= budget && rows.ours.served <= CEILING;
if (process.argv.includes('--json')) console.log(JSON.stringify({ ...rows, budget, ceiling: CEILING, ok }));
else {
  const kb = (n) => (n / 1024).toFixed(1).padStart(6) + ' kB';
  for (const [name, r] of Object.entries(rows)) console.log(`${name.padEnd(12)} ${kb(r.raw)} min  ${kb(r.gzip)} min+gzip`);
  console.log(`served /switchboard/client.js: ${rows.ours.served} B gzip -9 (ceiling ${CEILING} B)`);
  console.log(`budget: script ≤ ${kb(budget)} min+gzip (half of socket.io.min.js), served ≤ ${CEILING} B → ${ok ? 'OK' : 'OVER BUDGET'}`);
}
process.exit(ok ? 0 : 1);
