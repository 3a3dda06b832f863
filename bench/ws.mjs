// WebSocket benchmark (issue 2): switchboard/websocket vs ws (+ bufferutil, utf-8-validate) and
// uWebSockets.js (native; left out, with a note, where its binary does not load here).
// Usage: node bench/ws.mjs [--quick] [--runs N] [--duration ms] [--only name] [--window N] [--big N] [--gen c]
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { options, runSuite } from './lib/suite.mjs';
import { oursPath } from './lib/serverctl.mjs';
import { uwsAvailable } from './lib/uws.mjs';
import { chooseGen } from './lib/cgen.mjs';

export async function wsSuite(opts = options()) {
  const statusFile = fileURLToPath(new URL('../src/websocket/STATUS.md', import.meta.url));
  const oursReady = (existsSync(statusFile) || opts.forceOurs) && oursPath('websocket') !== null;
  const notes = [];
  opts = chooseGen(opts, notes);
  const cases = [];
  for (const conns of [1, 100]) {
    for (const [size, label] of [[32, '32 B'], [1024, '1 KiB'], [65536, '64 KiB']]) {
      cases.push({ name: `echo ${label} x ${conns}`, kind: 'echo', mode: 'echo', conns, size, target: 1.3, targets: { uws: 0.9 } });
    }
  }
  for (const conns of [1000, opts.big]) {
    cases.push({ name: `broadcast 32 B to ${conns}`, kind: 'broadcast', mode: 'broadcast', conns, size: 32, workers: 2, target: 2, targets: { uws: 0.9 } });
  }
  cases.push({ name: `idle memory at ${opts.big}`, kind: 'memory', conns: opts.big, workers: 2, target: 0.5 });
  const uws = uwsAvailable();
  if (!uws) notes.push('uWebSockets.js left out: its native module does not load here');
  const cgen = opts.gen === 'c';
  return runSuite({
    title: 'WebSocket: switchboard/websocket vs ws and uWS.js' + (cgen ? ' (C load generator)' : ''),
    name: cgen ? 'ws-c' : 'ws',
    script: fileURLToPath(new URL('./lib/server-ws.mjs', import.meta.url)),
    proto: 'ws',
    impls: { peer: 'ws', peers: uws ? ['ws', 'uws'] : ['ws'], ours: 'switchboard', ceiling: 'net' },
    notes,
    oursReady,
    cases,
    opts,
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await wsSuite();
