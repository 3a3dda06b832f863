// Checks that the TCP-handle spike (./transport.mjs) is a working echo server before its figures
// are trusted: text, binary and large messages through the `ws` client, ping, the close handshake,
// a refused handshake, invalid UTF-8, and fragmented messages with pings between their frames sent
// in reads cut at random points. Both read modes: the shared read buffer and HANDLE_FRESH_READS=1.
// Usage: node bench/handle-spike/check.mjs   (needs `npm run build`); exits 1 on a failure.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { frame, newMaskKey } from '../lib/wsframe.mjs';

let failures = 0;
const expect = (what, ok) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
};

async function startServer(env) {
  const server = spawn(process.execPath, [new URL('./server.mjs', import.meta.url).pathname, '--impl', 'handle'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  const port = await new Promise((resolve) => server.on('message', (m) => m.ev === 'listening' && resolve(m.port)));
  return { port, stop: () => server.kill() };
}

const open = async (port, options) => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, options);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  return ws;
};
const closed = (ws) => new Promise((resolve) => ws.once('close', (code) => resolve(code)));

/** A masked client frame (RFC 6455 §5.3); FIN clear for all but the last frame of a message. */
function clientFrame(opcode, payload, fin = true) {
  const out = frame(opcode, payload, newMaskKey());
  if (!fin) out[0] &= 0x7f;
  return out;
}

async function checkMode(label, env) {
  const { port, stop } = await startServer(env);
  try {
    const ws = await open(port);
    const sent = [Buffer.from('hello'), randomBytes(100_000), Buffer.from('x'.repeat(300)), randomBytes(20_000)];
    const got = [];
    ws.on('message', (data) => got.push(data));
    for (const [i, data] of sent.entries()) ws.send(data, { binary: i % 2 === 1 });
    const pong = new Promise((resolve) => ws.once('pong', (data) => resolve(data.toString())));
    ws.ping('p');
    expect(`${label}: ping answered with its payload`, (await pong) === 'p');
    for (let t = 0; got.length < sent.length && t < 100; t++) await sleep(20);
    expect(`${label}: four messages echoed byte for byte, in order`, got.length === 4 && got.every((d, i) => Buffer.compare(d, sent[i]) === 0));
    ws.close(4001);
    expect(`${label}: a close is answered with its code`, (await closed(ws)) === 4001);

    const bad = await open(port, { skipUTF8Validation: true });
    const socket = bad._socket;
    socket.write(clientFrame(1, Buffer.from([0xff, 0xfe])));
    expect(`${label}: invalid UTF-8 closes with 1007`, (await closed(bad)) === 1007);

    const plain = net.connect(port, '127.0.0.1');
    let response = '';
    plain.on('data', (d) => (response += d));
    plain.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => plain.on('close', resolve));
    expect(`${label}: a request without Upgrade gets 400 and the connection closes`, response.startsWith('HTTP/1.1 400 '));

    // Fragmented messages (§5.4) with a ping between their frames (§5.5), sent in random pieces.
    const raw = net.connect(port, '127.0.0.1');
    raw.setNoDelay(true);
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    let received = Buffer.alloc(0);
    raw.on('data', (d) => (received = Buffer.concat([received, d])));
    const messages = [];
    const wire = [];
    for (let k = 0; k < 40; k++) {
      const parts = [randomBytes([3, 100, 1000, 70_000][k % 4]), randomBytes(50), randomBytes((k * 37) % 500)];
      messages.push(Buffer.concat(parts));
      wire.push(clientFrame(2, parts[0], false), clientFrame(9, Buffer.from('pg')), clientFrame(0, parts[1], false), clientFrame(0, parts[2]));
    }
    const bytes = Buffer.concat(wire);
    for (let p = 0; p < bytes.length;) {
      const n = 1 + Math.floor(Math.random() * 3000);
      raw.write(bytes.subarray(p, p + n));
      p += n;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await sleep(1000);
    raw.destroy();
    let p = received.indexOf('\r\n\r\n') + 4;
    let echoed = 0;
    let pongs = 0;
    let wrong = 0;
    while (p < received.length) {
      const opcode = received[p] & 0x0f;
      let n = received[p + 1] & 0x7f;
      let h = 2;
      if (n === 126) { n = received.readUInt16BE(p + 2); h = 4; } else if (n === 127) { n = received.readUInt32BE(p + 6); h = 10; }
      const payload = received.subarray(p + h, p + h + n);
      p += h + n;
      if (opcode === 0xa) pongs++;
      else if (Buffer.compare(payload, messages[echoed++] ?? Buffer.alloc(0)) !== 0) wrong++;
    }
    expect(`${label}: 40 fragmented messages in random reads echoed whole, 40 pings answered`, echoed === 40 && wrong === 0 && pongs === 40);
  } finally {
    stop();
  }
}

await checkMode('shared read buffer', {});
await checkMode('fresh buffer per read', { HANDLE_FRESH_READS: '1' });
process.exitCode = failures ? 1 : 0;
