// Hostile-cost benchmark (issue 12, item 2): what a receive path costs per MiB of input (of the
// inflated message for deflate) for the shapes a client can choose, at n, 4n and 16n bytes, next
// to the peer that has the same shape (ws 8 for WebSocket, engine.io 6 for long-polling) in the
// same run. Linear paths show a flat ms/MiB across the three sizes; a quadratic one grows about
// 4x per step.
//
// Everything runs in this process over loopback: a raw peer writes the whole input at once (as
// an attacker would), and the clock stops when the receiver has delivered it.
// Usage: node bench/hostile-cost.mjs [--quick] [--runs N] [--n KiB] [--timeout ms] [--only name] [--src]
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { cpus } from 'node:os';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { options } from './lib/suite.mjs';
import { oursPath } from './lib/serverctl.mjs';
import { OP_BINARY, OP_CONT, OP_TEXT, acceptKey, newKey, newMaskKey } from './lib/wsframe.mjs';

const KiB = 1024;
const MiB = 1024 * KiB;
const LIMIT = 64 * MiB; // maxPayload / maxHttpBufferSize, raised so every size fits

// ------------------------------------------------------------------ wire builders

/** One frame, FIN and RSV1 chosen, masked with `maskKey` when given (client to server). */
function frameWith(opcode, payload, { fin = true, rsv1 = false, maskKey } = {}) {
  const len = payload.length;
  const head = (len < 126 ? 2 : len < 65536 ? 4 : 10) + (maskKey ? 4 : 0);
  const out = Buffer.allocUnsafe(head + len);
  out[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  let p = 2;
  if (len < 126) out[1] = len;
  else if (len < 65536) { out[1] = 126; out.writeUInt16BE(len, 2); p = 4; }
  else { out[1] = 127; out.writeUInt32BE(0, 2); out.writeUInt32BE(len, 6); p = 10; }
  if (maskKey) {
    out[1] |= 0x80;
    maskKey.copy(out, p);
    p += 4;
    for (let i = 0; i < len; i++) out[p + i] = payload[i] ^ maskKey[i & 3];
  } else {
    payload.copy(out, p);
  }
  return out;
}

/** A message split into fragments of `size` bytes (RSV1 on the first when compressed). */
function fragmented(opcode, payload, size, { masked, rsv1 = false }) {
  const maskKey = masked ? newMaskKey() : undefined;
  const frames = [];
  for (let at = 0; at < payload.length || at === 0; at += size) {
    const piece = payload.subarray(at, Math.min(payload.length, at + size));
    frames.push(frameWith(at === 0 ? opcode : OP_CONT, piece, { fin: at + size >= payload.length, rsv1: rsv1 && at === 0, maskKey }));
  }
  return Buffer.concat(frames);
}

/** Printable random text (16 letters and spaces): deflates to a bit over half, like chat text. */
function compressibleText(bytes) {
  const out = randomBytes(bytes);
  for (let i = 0; i < bytes; i++) out[i] = out[i] < 16 ? 0x20 : 0x61 + (out[i] & 15);
  return out;
}

// ------------------------------------------------------------------ implementations

let ours;
async function loadOurs() {
  if (ours !== undefined) return ours;
  if (process.env.BENCH_FROM_SRC) (await import('tsx/esm/api')).register();
  const ws = oursPath('websocket');
  const engine = oursPath('engine');
  ours = ws && engine ? { ws: await import(ws), engine: await import(engine) } : null;
  return ours;
}

async function wsModule(impl) {
  if (impl === 'ws') return import('ws');
  return (await loadOurs()).ws;
}

/** A WebSocket server that answers "done" once it has received `expect` messages. */
async function startWsServer(impl, { deflate }) {
  const { WebSocketServer } = await wsModule(impl);
  // ws 8.21+ refuses messages of more than 16,384 fragments by default (1008): lifted so the
  // same shape is measured on both.
  const wss = new WebSocketServer({ port: 0, maxPayload: LIMIT, maxFragments: 0, perMessageDeflate: deflate ? { threshold: 0 } : false });
  await once(wss, 'listening');
  const state = { expect: 0, count: 0 };
  wss.on('connection', (socket) => {
    socket.on('error', () => {});
    socket.on('message', () => {
      if (++state.count === state.expect) socket.send('done');
    });
  });
  return { port: wss.address().port, state, close: () => new Promise((r) => wss.close(r)) };
}

/** A raw client connected to a WebSocket server, reading frames only to spot the reply. */
async function rawWsClient(port, { deflate }) {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {}); // a receiver that gives up resets the connection
  socket.setNoDelay(true);
  await once(socket, 'connect');
  const key = newKey();
  socket.write(
    'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      (deflate ? 'Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n' : '') +
      '\r\n',
  );
  let head = Buffer.alloc(0);
  while (!head.includes('\r\n\r\n')) head = Buffer.concat([head, (await once(socket, 'data'))[0]]);
  const text = head.toString('latin1');
  if (!text.startsWith('HTTP/1.1 101') || !text.includes(acceptKey(key))) throw new Error('upgrade refused: ' + text.split('\r\n')[0]);
  if (deflate && !/permessage-deflate/i.test(text)) throw new Error('permessage-deflate not negotiated');
  return socket;
}

/** Writes `wire` at once and resolves with the ms until the first frame comes back. */
async function timeReply(socket, wire) {
  const reply = once(socket, 'data');
  const t0 = performance.now();
  socket.write(wire);
  await reply;
  return performance.now() - t0;
}

async function serverCase(impl, build, { deflate = false, timeoutMs }) {
  const server = await startWsServer(impl, { deflate });
  try {
    const socket = await rawWsClient(server.port, { deflate });
    server.state.expect = build.messages;
    server.state.count = 0;
    try {
      return await withTimeout(timeReply(socket, build.wire), timeoutMs);
    } finally {
      socket.destroy();
    }
  } finally {
    await server.close();
  }
}

/** A raw server that writes `wire` (unmasked) right after the handshake; times the client's delivery. */
async function clientCase(impl, build, { timeoutMs }) {
  const { WebSocket } = await wsModule(impl);
  let t0 = 0;
  const server = net.createServer((socket) => {
    socket.once('data', (req) => {
      const key = /Sec-WebSocket-Key: *(\S+)/i.exec(req.toString('latin1'))[1];
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`);
      t0 = performance.now();
      socket.write(build.wire);
    });
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = new WebSocket(`ws://127.0.0.1:${server.address().port}/`, { maxPayload: LIMIT, perMessageDeflate: false });
  client.on('error', () => {});
  try {
    return await withTimeout(once(client, 'message').then(() => performance.now() - t0), timeoutMs);
  } finally {
    client.terminate();
    server.close();
  }
}

/** An Engine.IO server (ours or engine.io) that counts received messages. */
async function startEngine(impl) {
  const http = createServer();
  const state = { expect: 0, count: 0 };
  const opts = { maxHttpBufferSize: LIMIT, pingInterval: 60_000, pingTimeout: 60_000 };
  if (impl === 'engine.io') {
    const { attach } = await import('engine.io');
    const engine = attach(http, opts);
    engine.on('connection', (socket) => socket.on('message', () => state.count++));
  } else {
    const { EngineServer } = (await loadOurs()).engine;
    const engine = new EngineServer(opts).attach(http);
    engine.on('connection', (socket) => socket.on('message', () => state.count++));
  }
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  return { port: http.address().port, state, close: () => { http.closeAllConnections(); return new Promise((r) => http.close(r)); } };
}

function httpCall(port, method, path, body) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false, headers: body ? { 'Content-Type': 'text/plain;charset=UTF-8', 'Content-Length': Buffer.byteLength(body) } : {} }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function pollingCase(impl, build, { timeoutMs }) {
  const server = await startEngine(impl);
  try {
    const open = await httpCall(server.port, 'GET', '/engine.io/?EIO=4&transport=polling');
    const sid = JSON.parse(open.body.slice(1)).sid;
    server.state.expect = build.messages;
    server.state.count = 0;
    const t0 = performance.now();
    const res = await withTimeout(httpCall(server.port, 'POST', `/engine.io/?EIO=4&transport=polling&sid=${sid}`, build.body), timeoutMs);
    const ms = performance.now() - t0;
    if (res.status !== 200 || server.state.count !== build.messages) throw new Error(`POST ${res.status}, ${server.state.count}/${build.messages} messages`);
    return ms;
  } finally {
    await server.close();
  }
}

function withTimeout(promise, ms) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => { timer = setTimeout(() => reject(new TimeoutError(ms)), ms); })])
    .finally(() => clearTimeout(timer));
}
class TimeoutError extends Error {
  constructor(ms) { super(`no answer within ${ms} ms`); this.timeout = ms; }
}

// ------------------------------------------------------------------ cases

/** Each case: build(bytes) → input of about `bytes` bytes; run(impl, input, opts) → ms. */
const CASES = [
  {
    name: 'server: fragments of 64 B', peer: 'ws',
    build: (bytes) => ({ wire: fragmented(OP_BINARY, Buffer.alloc(bytes, 7), 64, { masked: true }), messages: 1 }),
    run: (impl, input, o) => serverCase(impl, input, o),
  },
  {
    name: 'server: fragments of 1 KiB', peer: 'ws',
    build: (bytes) => ({ wire: fragmented(OP_BINARY, Buffer.alloc(bytes, 7), KiB, { masked: true }), messages: 1 }),
    run: (impl, input, o) => serverCase(impl, input, o),
  },
  {
    name: 'client: fragments of 1 KiB', peer: 'ws',
    build: (bytes) => ({ wire: fragmented(OP_BINARY, Buffer.alloc(bytes, 7), KiB, { masked: false }), messages: 1 }),
    run: (impl, input, o) => clientCase(impl, input, o),
  },
  {
    name: 'server: 16 B messages', peer: 'ws',
    build: (bytes) => {
      const one = frameWith(OP_BINARY, Buffer.alloc(16, 1), { maskKey: newMaskKey() });
      const messages = Math.ceil(bytes / 16);
      return { wire: Buffer.concat(Array(messages).fill(one)), messages };
    },
    run: (impl, input, o) => serverCase(impl, input, o),
  },
  {
    name: 'server: deflate, 1 KiB fragments', peer: 'ws',
    build: (bytes) => {
      // RFC 7692 §7.2.1: a sync-flushed stream without its 00 00 ff ff tail.
      const compressed = deflateRawSync(compressibleText(bytes), { finishFlush: 2 /* Z_SYNC_FLUSH */ });
      const payload = compressed.subarray(0, compressed.length - 4);
      // Cost per MiB of the inflated message (the wire is about 60% of it).
      return { wire: fragmented(OP_TEXT, payload, KiB, { masked: true, rsv1: true }), messages: 1, basis: bytes };
    },
    run: (impl, input, o) => serverCase(impl, input, { ...o, deflate: true }),
  },
  {
    name: 'polling: 16 B packets', peer: 'engine.io',
    build: (bytes) => {
      const messages = Math.ceil(bytes / 16);
      return { body: Array(messages).fill('4' + 'x'.repeat(14)).join('\x1e'), messages };
    },
    run: (impl, input, o) => pollingCase(impl, input, o),
  },
  {
    name: 'polling: one base64 packet', peer: 'engine.io',
    build: (bytes) => ({ body: 'b' + Buffer.alloc(Math.floor((bytes * 3) / 4), 5).toString('base64'), messages: 1 }),
    run: (impl, input, o) => pollingCase(impl, input, o),
  },
];

// ------------------------------------------------------------------ runner

const fmt = (x) => (x === null ? '-' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));

export async function hostileCostSuite(opts = options()) {
  const argv = process.argv.slice(2);
  const arg = (name, fallback) => (argv.includes('--' + name) ? argv[argv.indexOf('--' + name) + 1] : fallback);
  const n = Number(arg('n', 256)) * KiB;
  const runs = opts.quick ? 1 : Number(arg('runs', opts.runs));
  const timeoutMs = Number(arg('timeout', 30_000));
  const sizes = [n, 4 * n, 16 * n];
  const haveOurs = (await loadOurs()) !== null;
  console.log('\nHostile cost: ms per MiB of input received, at n, 4n, 16n (flat = linear)');
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; in-process, loopback; ` +
    `best of ${runs}; n = ${n / KiB} KiB; limits raised to ${LIMIT / MiB} MiB; a run over ${timeoutMs} ms counts as timed out` +
    (haveOurs ? '' : '; ours is NOT built (npm run build, or --src), peers only'));

  const results = [];
  for (const c of CASES.filter((x) => !opts.only || x.name.includes(opts.only))) {
    const impls = haveOurs ? [c.peer, 'switchboard'] : [c.peer];
    const row = { name: c.name, peer: c.peer, by: {} };
    // Warm-up (JIT, zlib, sockets) at a small size, not recorded.
    for (const impl of impls) await c.run(impl, c.build(16 * KiB), { timeoutMs }).catch(() => {});
    for (const bytes of sizes) {
      const input = c.build(bytes);
      const size = input.basis ?? (input.wire ?? input.body).length;
      for (const impl of impls) {
        const cell = ((row.by[impl] ??= {})[bytes] = { bytes: size, ms: null, timedOut: false });
        for (let r = 0; r < runs && !cell.timedOut; r++) {
          try {
            const ms = await c.run(impl, input, { timeoutMs });
            cell.ms = cell.ms === null ? ms : Math.min(cell.ms, ms);
          } catch (err) {
            if (err instanceof TimeoutError) cell.timedOut = true;
            else cell.error = err.message;
          }
        }
      }
    }
    results.push(row);
    const show = (impl) => sizes.map((b) => {
      const cell = row.by[impl]?.[b];
      if (!cell) return 'n/a';
      if (cell.timedOut) return `> ${fmt(timeoutMs / (cell.bytes / MiB))}`;
      if (cell.error) return 'error';
      return fmt(cell.ms / (cell.bytes / MiB));
    }).join(' / ');
    row.table = { peer: show(c.peer), ours: haveOurs ? show('switchboard') : 'n/a' };
    console.log(`  ${c.name.padEnd(34)} ${c.peer}: ${row.table.peer} | switchboard: ${row.table.ours}`);
  }

  const head = ['case (ms/MiB at n / 4n / 16n)', 'peer', 'peer ms/MiB', 'switchboard ms/MiB'];
  const rows = results.map((r) => [r.name, r.peer, r.table.peer, r.table.ours]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const line = (cells) => '| ' + cells.map((x, i) => x.padEnd(widths[i])).join(' | ') + ' |';
  console.log('\n' + line(head));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));

  const partial = opts.only || opts.quick ? '.partial' : '';
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL(`./results/hostile-cost${partial}.json`, import.meta.url),
    JSON.stringify({ date: new Date().toISOString(), n, sizes, runs, timeoutMs, results }, null, 2));
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await hostileCostSuite();
  process.exit(0);
}
