// Reconnect storm (issue 12, item 5): N socket.io-client sockets over WebSocket from one address
// (loopback, as behind a proxy) are connected; the server is killed (SIGKILL) and a fresh one takes
// the same port; we time until every socket is connected again and count refusals. switchboard
// and socket.io 4.8 run in the same run, both with their defaults.
//
// Usage: node bench/reconnect-storm.mjs [--clients 2000,5000] [--runs 1] [--only socket.io|switchboard]
//        [--ours path/to/server/index.(js|ts)]   (default: dist/esm/server, else src through tsx)
// (--only writes bench/results/reconnect-storm.partial.json, so a one-sided run does not replace both.)
//
// To be fair to a server that starts slowly (ours from src compiles on start), the replacement
// server is started and loaded before the kill and only told to listen right after it, so both
// implementations are down for the same few milliseconds.
//
// Counted as refusals: `connect_error` on a client after the new server listens (HTTP 429/503,
// or any failed handshake), and the server's own `connection_error` events.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { oursPath } from './lib/serverctl.mjs';

const SELF = fileURLToPath(import.meta.url);
const arg = (name, fallback) => {
  const i = process.argv.indexOf('--' + name);
  return i === -1 ? fallback : process.argv[i + 1];
};

// Run as a script: the orchestrator, or (with --role) one of the children it forks of this file.
// Imported (bench/run.mjs), only reconnectStormSuite is used.
if (process.argv[1] === SELF) {
  const role = arg('role', 'main');
  if (role === 'server') await serverRole();
  else if (role === 'clients') await clientsRole();
  else {
    await reconnectStormSuite({
      sizes: String(arg('clients', '2000,5000')).split(',').map(Number),
      runs: Number(arg('runs', 1)),
      only: arg('only', null),
      module: arg('ours', null) ?? undefined,
    });
  }
}

// ---- server child: load, report ready, listen when told, count refusals ----
async function serverRole() {
  const impl = arg('impl');
  let Server;
  if (impl === 'socket.io') ({ Server } = await import('socket.io'));
  else ({ Server } = await import(arg('module')));
  const http = createServer();
  const io = new Server(http);
  let refused = 0;
  io.engine.on('connection_error', () => refused++);
  process.on('message', (msg) => {
    if (msg.cmd === 'listen') {
      http.listen(Number(msg.port), '127.0.0.1', () => process.send({ ev: 'listening', port: http.address().port }));
    } else if (msg.cmd === 'stats') {
      process.send({ ev: 'stats', refused, clients: io.engine.clientsCount });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ev: 'ready' });
}

// ---- clients child: N socket.io-client sockets, default reconnection ----
async function clientsRole() {
  const { io } = await import('socket.io-client');
  const n = Number(arg('clients'));
  const url = `http://127.0.0.1:${arg('port')}`;
  let connected = 0;
  let errorsSinceMark = 0;
  let mark = null;
  let target = null;
  const sockets = [];
  const check = () => {
    if (target !== null && connected === n) {
      process.send({ ev: 'all', ms: performance.now() - mark, errors: errorsSinceMark });
      target = null;
    }
  };
  for (let i = 0; i < n; i++) {
    const s = io(url, { transports: ['websocket'], forceNew: true });
    s.on('connect', () => { connected++; check(); });
    s.on('disconnect', () => { connected--; });
    s.on('connect_error', () => { if (mark !== null) errorsSinceMark++; });
    sockets.push(s);
    if (i % 200 === 199) await new Promise((resolve) => setTimeout(resolve, 20)); // ramp up, do not storm the first connect
  }
  process.on('message', (msg) => {
    if (msg.cmd === 'wait') { mark = performance.now(); target = n; errorsSinceMark = 0; check(); }
    else if (msg.cmd === 'mark') { mark = performance.now(); errorsSinceMark = 0; }
    else if (msg.cmd === 'await') { target = n; check(); }
    else if (msg.cmd === 'count') process.send({ ev: 'count', connected });
    else if (msg.cmd === 'close') { for (const s of sockets) s.disconnect(); setTimeout(() => process.exit(0), 200); }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ev: 'started' });
}

// ---- orchestration ----
function child(args, execArgv = []) {
  const proc = fork(SELF, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const events = [];
  const waiters = [];
  proc.on('message', (m) => { events.push(m); for (const w of waiters.splice(0)) w(); });
  proc.on('exit', () => { for (const w of waiters.splice(0)) w(); });
  return {
    proc,
    async next(ev, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = events.findIndex((e) => e.ev === ev);
        if (i !== -1) return events.splice(i, 1)[0];
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`child exited waiting for '${ev}'`);
        if (Date.now() > deadline) throw new Error(`timeout waiting for '${ev}'`);
        await new Promise((resolve) => { waiters.push(resolve); setTimeout(resolve, 200); });
      }
    },
    send: (m) => proc.send(m),
  };
}

async function freePort() {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

function oursModule() {
  return oursPath('server') ?? fileURLToPath(new URL('../src/server/index.ts', import.meta.url));
}

async function startServer(impl, module) {
  const execArgv = impl !== 'socket.io' && module.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
  const server = child(['--role', 'server', '--impl', impl, '--module', module], execArgv);
  await server.next('ready');
  return server;
}

async function storm(impl, n, module) {
  const port = await freePort();
  let server = await startServer(impl, module);
  server.send({ cmd: 'listen', port });
  await server.next('listening');
  const clients = child(['--role', 'clients', '--clients', String(n), '--port', String(port)]);
  await clients.next('started');
  clients.send({ cmd: 'wait' });
  await clients.next('all', 180_000);

  const next = await startServer(impl, module); // loaded, not listening yet
  server.proc.kill('SIGKILL');
  await once(server.proc, 'exit');
  const killed = performance.now();
  clients.send({ cmd: 'mark' });
  next.send({ cmd: 'listen', port });
  await next.next('listening');
  const listeningAfter = performance.now() - killed;
  clients.send({ cmd: 'await' });
  let result;
  try {
    const all = await clients.next('all', 180_000);
    next.send({ cmd: 'stats' });
    const stats = await next.next('stats');
    result = { impl, clients: n, allBackMs: Math.round(all.ms), downMs: Math.round(listeningAfter), connectErrors: all.errors, refused: stats.refused };
  } catch (err) {
    clients.send({ cmd: 'count' });
    const { connected } = await clients.next('count').catch(() => ({ connected: NaN }));
    next.send({ cmd: 'stats' });
    const stats = await next.next('stats').catch(() => ({ refused: NaN }));
    result = { impl, clients: n, allBackMs: NaN, downMs: Math.round(listeningAfter), connectErrors: NaN, refused: stats.refused, stuckAt: connected, error: err.message };
  }
  clients.send({ cmd: 'close' });
  await once(clients.proc, 'exit');
  next.proc.kill();
  await once(next.proc, 'exit');
  return result;
}

/** Runs the storm for each size and implementation; writes bench/results/reconnect-storm[.partial].json. */
export async function reconnectStormSuite({ sizes = [2000, 5000], runs = 1, only = null, module = oursModule(), partial = false } = {}) {
  const impls = ['socket.io', 'switchboard'].filter((i) => !only || i === only);
  console.log('\nReconnect storm: N socket.io-client sockets (websocket, default reconnection) from one address; server SIGKILLed, a loaded replacement listens on the same port');
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; switchboard from ${module}`);
  const rows = [];
  for (const n of sizes) {
    for (let r = 0; r < runs; r++) {
      for (const impl of impls) {
        const row = await storm(impl, n, module);
        rows.push(row);
        console.log(`  ${impl.padEnd(12)} ${String(n).padStart(6)} clients: all back ${Number.isNaN(row.allBackMs) ? `NOT (${row.stuckAt} of ${n})` : `${(row.allBackMs / 1000).toFixed(2)} s`}` +
          ` after the kill (down ${row.downMs} ms), ${row.connectErrors} connect_error, ${row.refused} refused by the server`);
      }
    }
  }
  console.log('\n| clients | implementation | all back after the kill | connect_error after restart | refused by the server |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.clients} | ${r.impl} | ${Number.isNaN(r.allBackMs) ? `not all (${r.stuckAt}/${r.clients})` : (r.allBackMs / 1000).toFixed(2) + ' s'} | ${r.connectErrors} | ${r.refused} |`);
  }
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `reconnect-storm${partial || only ? '.partial' : ''}.json`;
  writeFileSync(`${dir}${file}`, JSON.stringify({ date: new Date().toISOString(), node: process.version, module, rows }, null, 2) + '\n');
  console.log(`\nresults written to bench/results/${file}`);
  return rows;
}
