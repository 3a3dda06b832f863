// Socket.IO benchmark (issue 4): switchboard (Server) vs socket.io@4 (defaults, ws engine) and
// socket.io@4 on uWebSockets.js (io.attachApp; left out, with a note, where uWS.js does not load).
// The load generator speaks Engine.IO v4 / Socket.IO v5 over a raw WebSocket (websocket transport).
// Usage: node bench/socketio.mjs [--quick] [--runs N] [--duration ms] [--only name] [--window N] [--big N] [--gen c]
// --gen c drives the throughput cases with the C generator (bench/loadgen, --proto sio) and writes
// bench/results/socketio-c.json; the idle-memory case keeps the Node workers.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { options, runSuite } from './lib/suite.mjs';
import { oursPath } from './lib/serverctl.mjs';
import { uwsAvailable } from './lib/uws.mjs';
import { chooseGen } from './lib/cgen.mjs';

async function oursReady() {
  const path = oursPath('server');
  if (!path) return false;
  // From src the parent has no TypeScript loader: look for the export instead of importing.
  if (path.endsWith('.ts')) return /export\s*\{[^}]*\bServer\b/.test(readFileSync(path, 'utf8'));
  try {
    return typeof (await import(path)).Server === 'function';
  } catch {
    return false;
  }
}

export async function socketioSuite(opts = options()) {
  const notes = [];
  opts = chooseGen(opts, notes);
  const cases = [];
  for (const conns of [1, 100]) {
    cases.push({ name: `echo+ack 32 B x ${conns}`, kind: 'echo', mode: 'echo', conns, size: 32, target: 2, targets: { 'socket.io-uws': 1.1 } });
  }
  for (const conns of [1000, opts.big]) {
    cases.push({ name: `broadcast event to ${conns}`, kind: 'broadcast', mode: 'broadcast', conns, size: 32, workers: 2, target: 5, targets: { 'socket.io-uws': 1.1 } });
  }
  cases.push({ name: `idle memory at ${opts.big}`, kind: 'memory', conns: opts.big, workers: 2, target: 0.5 });
  const uws = uwsAvailable();
  if (!uws) notes.push('socket.io on uWebSockets.js left out: its native module does not load here');
  const cgen = opts.gen === 'c';
  return runSuite({
    title: 'Socket.IO: switchboard vs socket.io@4 and socket.io@4 on uWS.js' + (cgen ? ' (C load generator)' : ''),
    name: cgen ? 'socketio-c' : 'socketio',
    script: fileURLToPath(new URL('./lib/server-sio.mjs', import.meta.url)),
    proto: 'sio',
    impls: { peer: 'socket.io', peers: uws ? ['socket.io', 'socket.io-uws'] : ['socket.io'], ours: 'switchboard', ceiling: 'net' },
    notes,
    oursReady: await oursReady(),
    cases,
    opts,
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await socketioSuite();
