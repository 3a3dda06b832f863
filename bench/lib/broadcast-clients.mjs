// The raw load generator of the broadcast benchmarks: clients that speak just enough WebSocket +
// Engine.IO + Socket.IO to join the default namespace, then only count the bytes they receive, so
// the client side costs the same (and little) whatever server they measure.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';

/** A client that joins the default namespace over WebSocket, then counts received bytes. */
export function connectClient(port) {
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

/** Resolves once every client has received `perClient` bytes. */
export async function waitBytes(clients, perClient, timeoutMs) {
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

/**
 * Forks a server script that answers `{ id, cmd, ...args }` with `{ id, result }` and says
 * `{ ready, port }` once it listens; resolves with its port, the child and `call(cmd, args)`.
 */
export function forkServer(script, env, execArgv = []) {
  const child = fork(script, [], { env: { ...process.env, ...env }, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 0;
  const pending = new Map();
  child.on('message', (msg) => {
    if (msg.id === undefined) return;
    pending.get(msg.id)?.(msg.result);
    pending.delete(msg.id);
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} (${JSON.stringify(env)}) exited (${code})`)));
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

/**
 * Rounds of `burst(count)` (which makes every client receive `count` frames) after a warm-up that
 * learns the frame size; resolves with the frame size, each round's deliveries per second (sorted)
 * and their median.
 */
export async function measureBursts(clients, burst, { count, rounds }) {
  const warm = 10;
  for (const c of clients) c.bytes = 0;
  await burst(warm);
  await waitBytes(clients, 1, 60_000);
  await new Promise((r) => setTimeout(r, 300));
  const frame = clients[0].bytes / warm;
  await waitBytes(clients, warm * frame, 60_000);

  const rates = [];
  for (let r = 0; r < rounds; r++) {
    for (const c of clients) c.bytes = 0;
    const start = process.hrtime.bigint();
    await burst(count);
    await waitBytes(clients, count * frame, 120_000);
    rates.push((count * clients.length) / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  rates.sort((a, b) => a - b);
  return { frame, rates, median: rates[Math.floor(rates.length / 2)] };
}
