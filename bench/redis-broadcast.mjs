// Benchmark (issue 6): broadcast to 10,000 clients spread over 3 server nodes sharing one Redis,
// switchboard (pub/sub adapter) vs socket.io@4 + @socket.io/redis-adapter, in the same run.
//
// Each node is its own process; the load generator holds every client as a raw TCP socket that
// speaks just enough WebSocket + Engine.IO + Socket.IO to join, then only counts bytes, so the
// client side costs the same (and little) for both servers. A round = node A emits K broadcasts
// (io.emit: 1/3 of the clients are local to A, 2/3 reached through Redis); the round ends when
// every client has received all K frames. Reported: deliveries per second (K x clients / time).
//
// Usage: npm run build && node bench/redis-broadcast.mjs [--clients 10000] [--burst 50] [--rounds 5] [--size 32] [--streams]
// --streams also compares the streams adapters (ours vs @socket.io/redis-streams-adapter).
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { writeFileSync, mkdirSync } from 'node:fs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const CLIENTS = arg('clients', 10_000);
const BURST = arg('burst', 50);
const ROUNDS = arg('rounds', 5);
const SIZE = arg('size', 32);
const NODES = 3;
const nodeScript = fileURLToPath(new URL('./redis-node.mjs', import.meta.url));

function startNode(impl, prefix) {
  const child = fork(nodeScript, [], { env: { ...process.env, IMPL: impl, PREFIX: prefix }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 0;
  const pending = new Map();
  child.on('message', (msg) => {
    if (msg.id !== undefined) {
      pending.get(msg.id)?.(msg.result);
      pending.delete(msg.id);
    }
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${impl} node exited (${code})`)));
    child.on('message', (msg) => {
      if (!msg.ready) return;
      resolve({
        port: msg.port,
        child,
        call: (cmd, args = {}) =>
          new Promise((res) => {
            const id = next++;
            pending.set(id, res);
            child.send({ id, cmd, ...args });
          }),
      });
    });
  });
}

/** A client that joins the default namespace over WebSocket, then counts received bytes. */
function connectClient(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    const client = { socket, bytes: 0, joined: false };
    let buf = Buffer.alloc(0);
    let upgraded = false;
    socket.on('error', reject);
    socket.on('connect', () => {
      socket.write(
        `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('data', (chunk) => {
      if (client.joined) {
        client.bytes += chunk.length;
        return;
      }
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buf.subarray(0, 12).toString().includes('101')) return reject(new Error(buf.toString()));
        upgraded = true;
        buf = buf.subarray(end + 4);
      }
      // Setup phase: parse server frames (unmasked, short) until the CONNECT reply "40".
      while (buf.length >= 2) {
        let len = buf[1] & 0x7f;
        let offset = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          offset = 4;
        }
        if (buf.length < offset + len) return;
        const text = buf.toString('utf8', offset, offset + len);
        buf = buf.subarray(offset + len);
        if (text.startsWith('0')) socket.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0x34, 0x30])); // masked "40"
        else if (text.startsWith('40')) {
          client.joined = true;
          client.bytes = buf.length;
          return resolve(client);
        }
      }
    });
  });
}

async function connectAll(nodes) {
  const clients = [];
  const batch = 250;
  for (let i = 0; i < CLIENTS; i += batch) {
    const n = Math.min(batch, CLIENTS - i);
    clients.push(...(await Promise.all(Array.from({ length: n }, (_, k) => connectClient(nodes[(i + k) % NODES].port)))));
  }
  return clients;
}

async function waitBytes(clients, perClient, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let done = true;
    for (const c of clients) {
      if (c.bytes < perClient) {
        done = false;
        break;
      }
    }
    if (done) return;
    if (Date.now() > deadline) throw new Error('timed out waiting for deliveries');
    await new Promise((r) => setImmediate(r));
  }
}

async function measure(impl) {
  const prefix = `sbbench-${impl}-${process.pid}`;
  const nodes = [];
  for (let i = 0; i < NODES; i++) nodes.push(await startNode(impl, prefix));
  for (let i = 0; ; i++) {
    const counts = await Promise.all(nodes.map((n) => n.call('serverCount')));
    if (counts.every((c) => c === NODES)) break;
    if (i > 200) throw new Error(`${impl}: nodes do not see each other (${counts})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const t0 = Date.now();
  const clients = await connectAll(nodes);
  const connectMs = Date.now() - t0;
  const perNode = await Promise.all(nodes.map((n) => n.call('clients')));

  // Warm-up, and learn the frame size from it.
  const warm = 10;
  for (const c of clients) c.bytes = 0;
  await nodes[0].call('burst', { count: warm, size: SIZE });
  await waitBytes(clients, 1, 60_000);
  await new Promise((r) => setTimeout(r, 300));
  const frame = clients[0].bytes / warm;
  await waitBytes(clients, warm * frame, 60_000);

  const rates = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of clients) c.bytes = 0;
    const start = process.hrtime.bigint();
    await nodes[0].call('burst', { count: BURST, size: SIZE });
    await waitBytes(clients, BURST * frame, 120_000);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    rates.push((BURST * clients.length) / seconds);
  }
  for (const c of clients) c.socket.destroy();
  for (const n of nodes) n.child.kill();
  rates.sort((a, b) => a - b);
  return { impl, clients: clients.length, perNode, connectMs, frameBytes: frame, rates, median: rates[Math.floor(rates.length / 2)] };
}

const pairs = [['socket.io', 'switchboard']];
if (process.argv.includes('--streams')) pairs.push(['socket.io-streams', 'switchboard-streams']);
const results = [];
const ratios = {};
for (const pair of pairs) {
  for (const impl of pair) {
    const r = await measure(impl);
    results.push(r);
    console.log(
      `${impl.padEnd(20)} ${r.clients} clients (${r.perNode.join('/')}), burst ${BURST} x ${SIZE} B payload: ` +
        `median ${Math.round(r.median).toLocaleString()} deliveries/s  (rounds: ${r.rates.map((x) => Math.round(x / 1000) + 'k').join(', ')})`,
    );
  }
  const [peer, ours] = results.slice(-2);
  ratios[ours.impl] = ours.median / peer.median;
  console.log(`${ours.impl} / ${peer.impl} = ${ratios[ours.impl].toFixed(2)}x`);
}
const ratio = ratios.switchboard;
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/redis-broadcast.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), clients: CLIENTS, burst: BURST, size: SIZE, results, ratio, ratios }, null, 2));
process.exit(0);
