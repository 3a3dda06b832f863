// Native-transport spike: idle memory per WebSocket connection of a prototype N-API addon (its own
// epoll thread, 16 bytes of state per connection) against uWebSockets.js, switchboard, ws and a bare
// net.Socket server. Not part of `npm test` or `npm run bench`: it needs node-gyp and a C compiler.
//
// Usage: node bench/native-spike/run.mjs [--n 10000] [--runs 3] [--only native,uws,switchboard,ws,bare,handle,net] [--semi-space MB] [--settle ms] [--src] [--no-build]
// Each run starts a fresh server child (pinned to CPU 0, fd limit raised to the hard limit), measures
// its memory after full GCs, opens N idle connections from two load-generator children (CPU 1),
// measures again, and divides the difference by N. Implementations are interleaved run by run; the
// table shows medians.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { GEN_CPU, pinning, startServer } from '../lib/harness.mjs';
import { uwsAvailable } from '../lib/uws.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const argv = process.argv.slice(2);
const value = (name, fallback) => {
  const i = argv.indexOf('--' + name);
  return i === -1 ? fallback : argv[i + 1];
};
const N = Number(value('n', 10000));
const RUNS = Number(value('runs', 3));
const SETTLE_MS = Number(value('settle', 1000)); // idle time between the last connection and the measurement
if (argv.includes('--src')) process.env.BENCH_FROM_SRC = '1';
// --semi-space MB: cap V8's young generation (each of its two semi-spaces) in every Node child, to
// see how much of the RSS per connection is young-generation space grown while connections arrive.
const SEMI = value('semi-space', null);
if (SEMI) process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --max-semi-space-size=${Number(SEMI)}`.trim();

const LABELS = {
  native: 'prototype addon (own epoll thread, 16 B/conn state)',
  uws: 'uWebSockets.js 20.30',
  switchboard: 'switchboard/websocket',
  ws: 'ws 8',
  bare: 'bare net.Socket (shared listeners, no other object)',
  handle: 'our protocol core on the TCP handle (bench/handle-spike)',
  net: 'raw net echo baseline (bench/lib/server-ws.mjs --impl net)',
};
// handle and net only when asked for (--only), as bench/handle-spike/run.sh does.
const DEFAULT_IMPLS = ['native', 'uws', 'switchboard', 'ws', 'bare'];
let impls = (value('only', null)?.split(',') ?? DEFAULT_IMPLS).filter((i) => LABELS[i]);
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
const LOADGEN = fileURLToPath(new URL('../lib/loadgen.mjs', import.meta.url));

// A bench/lib/loadgen.mjs worker on the generator's CPU, with the fd limit raised, and its IPC.
function loadgen() {
  const pin = pinning.startsWith('no pinning') ? '' : `taskset -c ${GEN_CPU} `;
  const proc = spawn('bash', ['-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${pin}"$0" "$1"`, process.execPath, LOADGEN], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextId = 1;
  const pending = new Map();
  proc.on('message', (msg) => {
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.error) p?.reject(new Error(msg.error));
    else p?.resolve(msg);
  });
  proc.once('exit', (code) => { for (const p of pending.values()) p.reject(new Error(`load generator exited with ${code}`)); });
  return {
    rpc: (msg) => new Promise((resolve, reject) => { const id = nextId++; pending.set(id, { resolve, reject }); proc.send({ ...msg, id }); }),
    stop: () => { if (proc.connected) proc.send({ cmd: 'close' }); return new Promise((resolve) => (proc.exitCode !== null ? resolve() : proc.once('exit', resolve))); },
  };
}

/**
 * Memory per idle connection: the server's process.memoryUsage() (with the C heap, when the addon
 * is built) after full GCs, before and after N connections, the difference divided by N. The
 * harness's runIdleMemory does the same but keeps only heap and RSS; this keeps every field.
 */
async function measureIdle(impl) {
  const server = await startServer(script, ['--impl', impl, '--mode', 'echo']);
  const gens = [loadgen(), loadgen()];
  try {
    await Promise.all(gens.map((g) => g.rpc({ cmd: 'config', cfg: { proto: 'ws', mode: 'idle', port: server.port, size: 32, window: 1 } })));
    const before = (await server.rpc({ cmd: 'mem' })).mem;
    const shares = [Math.ceil(N / 2), Math.floor(N / 2)];
    const failed = (await Promise.all(gens.map((g, i) => g.rpc({ cmd: 'connect', n: shares[i] })))).reduce((s, r) => s + r.failed, 0);
    if (failed) throw new Error(`${failed} of ${N} connections failed`);
    for (let t = Date.now(); (await server.rpc({ cmd: 'stats' })).clients < N;) {
      if (Date.now() - t > 60_000) throw new Error('the server did not see every connection');
      await sleep(50);
    }
    await sleep(SETTLE_MS);
    const { mem: after, clients } = await server.rpc({ cmd: 'mem' });
    if (clients !== N) throw new Error(`server holds ${clients} of ${N} clients`);
    const per = (f) => (f(after) - f(before)) / N;
    const res = {
      heapUsed: per((m) => m.heapUsed),
      heapTotal: per((m) => m.heapTotal),
      newSpace: per((m) => m.newSpace),
      rss: per((m) => m.rss),
      external: per((m) => m.external),
    };
    if (after.malloc) {
      res.cInUse = per((m) => m.malloc.inUse + m.malloc.mmapped);
      res.cFree = per((m) => m.malloc.free);
    }
    return res;
  } finally {
    await Promise.allSettled(gens.map((g) => g.stop()));
    await server.stop();
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const kib = (b) => (b / 1024).toFixed(2);

console.log(`Idle memory per WebSocket connection at ${N.toLocaleString('en')}: ${impls.join(', ')}`);
console.log(`${pinning}; ${RUNS} interleaved runs, medians${SEMI ? `; --max-semi-space-size=${SEMI}` : ''}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (const note of notes) console.log('note: ' + note);

const FIELDS = ['heapUsed', 'heapTotal', 'newSpace', 'cInUse', 'cFree', 'rss'];
const runs = Object.fromEntries(impls.map((i) => [i, []]));
for (let r = 0; r < RUNS; r++) {
  for (const impl of impls) {
    try {
      const res = await measureIdle(impl);
      runs[impl].push(res);
      console.log(`  run ${r + 1} ${impl.padEnd(11)} ` + FIELDS.filter((f) => f in res).map((f) => `${f} ${kib(res[f])}`).join(', ') + ' KiB per connection');
    } catch (err) {
      console.error(`  run ${r + 1} ${impl}: ${err.message}`);
    }
  }
}

const cell = (x) => (x == null ? '-' : kib(x));
const rows = impls.filter((i) => runs[i].length).map((impl) => {
  const rs = runs[impl];
  const row = { impl, label: LABELS[impl], runs: rs };
  for (const f of FIELDS) if (rs.every((x) => f in x)) row[f] = median(rs.map((x) => x[f]));
  return row;
});
console.log(`\nPer connection, KiB (medians of ${RUNS}): JS heap used; V8 heap committed (heapTotal), of which young generation; C heap in use and free-but-held (malloc); RSS`);
console.log(`| server | JS heap | V8 committed | of which young gen. | C heap in use | C heap free | RSS | RSS runs |`);
console.log('|---|---|---|---|---|---|---|---|');
for (const row of rows) {
  console.log(`| ${row.label} | ${cell(row.heapUsed)} | ${cell(row.heapTotal)} | ${cell(row.newSpace)} | ${cell(row.cInUse)} | ${cell(row.cFree)} | ${cell(row.rss)} | ${row.runs.map((x) => kib(x.rss)).join(', ')} |`);
}
console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
writeFileSync(join(here, 'results.json'), JSON.stringify({ date: new Date().toISOString(), n: N, runs: RUNS, pinning, notes, node: process.version, rows }, null, 2));
