// Native-transport spike: idle memory per WebSocket connection of a prototype N-API addon (its own
// epoll thread, 16 bytes of state per connection) against uWebSockets.js, switchboard, ws and a bare
// net.Socket server. Not part of `npm test` or `npm run bench`: it needs node-gyp and a C compiler.
//
// Usage: node bench/native-spike/run.mjs [--n 10000] [--runs 3] [--only native,uws,switchboard,ws,bare] [--src] [--no-build]
// Each run starts a fresh server child (pinned to CPU 0, fd limit raised to the hard limit), measures
// its memory after full GCs, opens N idle connections from two load-generator children (CPU 1),
// measures again, and divides the difference by N. Implementations are interleaved run by run; the
// table shows medians.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinning, runIdleMemory } from '../lib/harness.mjs';
import { uwsAvailable } from '../lib/uws.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const argv = process.argv.slice(2);
const value = (name, fallback) => {
  const i = argv.indexOf('--' + name);
  return i === -1 ? fallback : argv[i + 1];
};
const N = Number(value('n', 10000));
const RUNS = Number(value('runs', 3));
if (argv.includes('--src')) process.env.BENCH_FROM_SRC = '1';

const LABELS = {
  native: 'prototype addon (own epoll thread, 16 B/conn state)',
  uws: 'uWebSockets.js 20.30',
  switchboard: 'switchboard/websocket',
  ws: 'ws 8',
  bare: 'bare net.Socket (shared listeners, no other object)',
};
let impls = (value('only', null)?.split(',') ?? Object.keys(LABELS)).filter((i) => LABELS[i]);
const notes = [];

// node-gyp: on PATH, or the copy bundled with npm next to this node.
function nodeGyp() {
  if (spawnSync('node-gyp', ['--version']).status === 0) return ['node-gyp'];
  const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  return existsSync(bundled) ? [process.execPath, bundled] : null;
}

function buildAddon() {
  const gyp = nodeGyp();
  if (!gyp) return 'node-gyp not found (npm install -g node-gyp)';
  for (const tool of ['make', 'cc']) if (spawnSync(tool, ['--version']).status !== 0) return `${tool} not found (apt-get install build-essential)`;
  // Node's own headers when they are installed beside it (distribution packages), so that node-gyp
  // does not need to download them.
  const prefix = join(dirname(process.execPath), '..');
  const nodedir = existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
  const [cmd, ...pre] = gyp;
  const r = spawnSync(cmd, [...pre, 'rebuild', ...nodedir], { cwd: here, encoding: 'utf8' });
  if (r.status !== 0) return `node-gyp rebuild failed:\n${(r.stderr || r.stdout).split('\n').slice(-15).join('\n')}`;
  return null;
}

if (impls.includes('native')) {
  const why = argv.includes('--no-build') ? null : buildAddon();
  if (why || !existsSync(join(here, 'build', 'Release', 'idle_ws.node'))) {
    const msg = `the addon is left out: ${why ?? 'not built (run without --no-build)'}`;
    console.error(msg);
    notes.push(msg);
    impls = impls.filter((i) => i !== 'native');
  }
}
if (impls.includes('uws') && !uwsAvailable()) {
  notes.push('uWebSockets.js left out: its native module does not load here');
  impls = impls.filter((i) => i !== 'uws');
}
const oursBuilt = existsSync(fileURLToPath(new URL('../../dist/esm/websocket/index.js', import.meta.url)));
if (impls.includes('switchboard') && !oursBuilt && !process.env.BENCH_FROM_SRC) {
  process.env.BENCH_FROM_SRC = '1';
  notes.push('dist/ is not built: switchboard runs from src/ through tsx (every server then loads tsx; the baseline absorbs it)');
}

const script = fileURLToPath(new URL('./server.mjs', import.meta.url));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const kib = (b) => (b / 1024).toFixed(2);

console.log(`Idle memory per WebSocket connection at ${N.toLocaleString('en')}: ${impls.join(', ')}`);
console.log(`${pinning}; ${RUNS} interleaved runs, medians; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (const note of notes) console.log('note: ' + note);

const runs = Object.fromEntries(impls.map((i) => [i, []]));
for (let r = 0; r < RUNS; r++) {
  for (const impl of impls) {
    try {
      const res = await runIdleMemory({ script, impl, proto: 'ws', conns: N, workers: 2 });
      runs[impl].push(res);
      console.log(`  run ${r + 1} ${impl.padEnd(11)} heap ${kib(res.heapPerConn)} KiB, RSS ${kib(res.rssPerConn)} KiB, external ${kib(res.externalPerConn)} KiB per connection`);
    } catch (err) {
      console.error(`  run ${r + 1} ${impl}: ${err.message}`);
    }
  }
}

const rows = impls.filter((i) => runs[i].length).map((impl) => {
  const rs = runs[impl];
  return {
    impl,
    label: LABELS[impl],
    heap: median(rs.map((x) => x.heapPerConn)),
    rss: median(rs.map((x) => x.rssPerConn)),
    external: median(rs.map((x) => x.externalPerConn)),
    rssRuns: rs.map((x) => x.rssPerConn),
  };
});
console.log(`\n| server | heap / conn | RSS / conn | RSS runs |`);
console.log('|---|---|---|---|');
for (const row of rows) {
  console.log(`| ${row.label} | ${kib(row.heap)} KiB | ${kib(row.rss)} KiB | ${row.rssRuns.map(kib).join(', ')} |`);
}
console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
writeFileSync(join(here, 'results.json'), JSON.stringify({ date: new Date().toISOString(), n: N, runs: RUNS, pinning, notes, node: process.version, rows }, null, 2));
