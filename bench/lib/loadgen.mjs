// Load generator worker (a child process, driven over IPC by bench/lib/harness.mjs).
//
// Speaks WebSocket on raw `net` sockets: client frames are built once and masked once (a fixed,
// non-zero key), so the hot loop only writes a ready Buffer. Incoming frames are parsed minimally
// straight out of one shared read buffer (`onread`), so receiving costs no allocation per read.
// With proto 'sio' it speaks Engine.IO v4 / Socket.IO v5 text packets over that same WebSocket
// (websocket transport only) and answers heartbeats; no client library runs in the hot loop.
import net from 'node:net';
import { frame, newKey, newMaskKey, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG } from './wsframe.mjs';
import { Histogram } from './hist.mjs';

const CAPTURE = 256; // payload bytes kept per frame; larger payloads are only counted
const readBuffer = Buffer.allocUnsafe(256 * 1024);
const maskKey = newMaskKey();
const hist = new Histogram();

let cfg; // { proto: 'ws'|'sio', mode: 'echo'|'broadcast'|'idle', port, size, window, binary }
let running = false;
let delivered = 0; // completed echo round trips, or broadcast messages received
let failures = 0; // unexpected closes / errors / refusals
let echoFrame; // the pre-framed request of the echo loop
let sioPong; // Engine.IO pong "3"
let sioConnect; // Socket.IO CONNECT to the main namespace "40"
const conns = [];
let publisher = null;
let mark = null;
let readNow = 0; // µs timestamp shared by all frames of one read

function nowUs() {
  const t = process.hrtime();
  return t[0] * 1e6 + t[1] / 1e3;
}

const H_HANDSHAKE = 0;
const H_HEADER = 1;
const H_PAYLOAD = 2;

class Conn {
  constructor() {
    this.socket = null;
    this.state = H_HANDSHAKE;
    this.http = '';
    this.hdr = Buffer.allocUnsafe(14);
    this.hdrHave = 0;
    this.hdrNeed = 2;
    this.op = 0;
    this.fin = false;
    this.maskAt = -1;
    this.left = 0;
    this.capture = null; // allocated on the first small frame
    this.capLen = 0;
    this.capturing = false;
    this.ready = null; // resolve() once usable
    this.isPublisher = false;
    this.closed = false;
  }
}

// ---------------------------------------------------------------- frame parsing

function onRead(c, n, buf) {
  readNow = 0;
  let pos = 0;
  if (c.state === H_HANDSHAKE) {
    c.http += buf.latin1Slice(0, n);
    const end = c.http.indexOf('\r\n\r\n');
    if (end === -1) {
      if (c.http.length > 16384) fail(c, 'handshake response too long');
      return;
    }
    if (!c.http.startsWith('HTTP/1.1 101')) return fail(c, 'handshake refused: ' + c.http.split('\r\n')[0]);
    pos = n - (c.http.length - (end + 4));
    c.http = '';
    c.state = H_HEADER;
    if (cfg.proto === 'ws') c.ready();
  }
  while (pos < n) {
    if (c.state === H_HEADER) {
      c.hdr[c.hdrHave++] = buf[pos++];
      if (c.hdrHave === 2) {
        const len7 = c.hdr[1] & 0x7f;
        c.hdrNeed = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (c.hdr[1] & 0x80 ? 4 : 0);
      }
      if (c.hdrHave === c.hdrNeed) startPayload(c);
    } else {
      const take = Math.min(c.left, n - pos);
      if (c.capturing) {
        const cap = c.capture;
        if (c.maskAt >= 0) {
          for (let i = 0; i < take; i++) cap[c.capLen + i] = buf[pos + i] ^ c.hdr[c.maskAt + ((c.capLen + i) & 3)];
        } else {
          buf.copy(cap, c.capLen, pos, pos + take);
        }
        c.capLen += take;
      }
      pos += take;
      c.left -= take;
      if (c.left === 0) endFrame(c);
    }
  }
}

function startPayload(c) {
  const h = c.hdr;
  c.fin = (h[0] & 0x80) !== 0;
  c.op = h[0] & 0x0f;
  const len7 = h[1] & 0x7f;
  let at = 2;
  let len = len7;
  if (len7 === 126) { len = h.readUInt16BE(2); at = 4; }
  else if (len7 === 127) { len = h.readUInt32BE(2) * 2 ** 32 + h.readUInt32BE(6); at = 10; }
  c.maskAt = h[1] & 0x80 ? at : -1;
  c.left = len;
  c.capLen = 0;
  c.capturing = len <= CAPTURE;
  if (c.capturing && c.capture === null) c.capture = Buffer.allocUnsafe(CAPTURE);
  c.state = H_PAYLOAD;
  if (len === 0) endFrame(c);
}

function endFrame(c) {
  c.state = H_HEADER;
  c.hdrHave = 0;
  c.hdrNeed = 2;
  const op = c.op;
  if (op >= 8) {
    if (op === OP_PING) c.socket.write(frame(OP_PONG, c.capture.subarray(0, c.capLen), maskKey));
    else if (op === OP_CLOSE) fail(c, 'server sent close ' + (c.capLen >= 2 ? c.capture.readUInt16BE(0) : ''));
    return;
  }
  if (!c.fin) return; // servers under test do not fragment; only the final frame counts
  if (cfg.proto === 'ws') onWsMessage(c);
  else onSioMessage(c);
}

// ---------------------------------------------------------------- behaviour per mode

function onWsMessage(c) {
  if (cfg.mode === 'echo') {
    delivered++;
    if (running) c.socket.write(echoFrame);
  } else if (cfg.mode === 'broadcast') {
    onBroadcast(c);
  }
}

function onSioMessage(c) {
  if (!c.capturing) {
    // Only echo replies are large; they are acks.
    if (cfg.mode === 'echo') { delivered++; if (running) c.socket.write(echoFrame); }
    return;
  }
  const cap = c.capture;
  const type = cap[0];
  if (type === 0x32 /* 2: ping */ && c.capLen === 1) { c.socket.write(sioPong); return; }
  if (type === 0x30 /* 0: open */) { c.socket.write(sioConnect); return; }
  if (type === 0x31 /* 1: close */) { fail(c, 'engine.io close'); return; }
  if (type !== 0x34 /* 4: message */) return;
  const sio = cap[1];
  if (sio === 0x33 /* 3: ACK */) {
    delivered++;
    if (running) c.socket.write(echoFrame);
  } else if (sio === 0x32 /* 2: EVENT */) {
    if (cfg.mode === 'broadcast') onBroadcast(c);
  } else if (sio === 0x30 /* 0: CONNECT reply */) {
    c.ready();
  } else if (sio === 0x34 /* 4: CONNECT_ERROR */) {
    fail(c, 'connect_error ' + cap.latin1Slice(0, c.capLen));
  }
}

// Broadcast payloads carry 'T' + 16 digits: the publisher's send time in µs (a monotonic clock
// shared by all processes on this machine).
function onBroadcast(c) {
  delivered++;
  const cap = c.capture;
  let i = cap.indexOf(0x54 /* T */);
  if (i >= 0 && i + 17 <= c.capLen) {
    let ts = 0;
    for (let k = i + 1; k < i + 17; k++) ts = ts * 10 + (cap[k] - 48);
    if (readNow === 0) readNow = nowUs();
    if (mark !== null) hist.add(readNow - ts);
  }
  if (c.isPublisher && running) publish();
}

function publish() {
  const stamp = 'T' + String(Math.round(nowUs())).padStart(16, '0');
  const body = stamp + '.'.repeat(Math.max(0, cfg.size - stamp.length));
  const payload = cfg.proto === 'ws' ? body : `42["bc","${body}"]`;
  publisher.socket.write(frame(OP_TEXT, payload, maskKey));
}

function fail(c, why) {
  if (c.closed) return;
  c.closed = true;
  failures++;
  if (failures <= 5) process.stderr.write(`loadgen: ${why}\n`);
  c.socket.destroy();
  c.ready?.(); // never leave the connect phase hanging; the failure is counted
}

// ---------------------------------------------------------------- connections

// Clients come from many loopback addresses (127.<worker>.0.1-250), as real clients come from many
// hosts: per-address handshake limits stay at their defaults, and ephemeral ports do not run out.
const addressBase = 1 + (process.pid % 250);
let opened = 0;

function open(isPublisher) {
  const c = new Conn();
  const localAddress = `127.${addressBase}.0.${(opened++ % 250) + 1}`;
  c.isPublisher = isPublisher;
  return new Promise((resolve) => {
    c.ready = () => { c.ready = null; resolve(c); };
    const path = cfg.proto === 'ws' ? '/' : '/socket.io/?EIO=4&transport=websocket';
    c.socket = net.connect({
      host: '127.0.0.1',
      port: cfg.port,
      localAddress,
      noDelay: true,
      onread: { buffer: readBuffer, callback: (n, buf) => { onRead(c, n, buf); return true; } },
    });
    c.socket.on('connect', () => {
      c.socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${cfg.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${newKey()}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    c.socket.on('error', (err) => fail(c, err.message));
    c.socket.on('close', () => { if (!c.closed && !shuttingDown) fail(c, 'socket closed'); });
    conns.push(c);
  });
}

async function openMany(n, isPublisher) {
  const before = failures;
  let next = 0;
  const lanes = Array.from({ length: Math.min(n, 128) }, async () => {
    while (next < n) { next++; const c = await open(isPublisher); if (isPublisher) publisher = c; }
  });
  await Promise.all(lanes);
  return failures - before;
}

// ---------------------------------------------------------------- control

let shuttingDown = false;

const commands = {
  config(msg) {
    cfg = msg.cfg;
    const filler = 'x'.repeat(cfg.size);
    if (cfg.proto === 'ws') echoFrame = frame(cfg.binary ? OP_BINARY : OP_TEXT, filler, maskKey);
    else echoFrame = frame(OP_TEXT, `421["echo","${filler}"]`, maskKey);
    sioPong = frame(OP_TEXT, '3', maskKey);
    sioConnect = frame(OP_TEXT, '40', maskKey);
    return {};
  },
  async connect(msg) {
    const failed = await openMany(msg.n, !!msg.publisher);
    return { failed };
  },
  start() {
    running = true;
    if (cfg.mode === 'echo') for (const c of conns) if (!c.closed) c.socket.write(echoFrame);
    if (cfg.mode === 'broadcast' && publisher) for (let i = 0; i < cfg.window; i++) publish();
    return {};
  },
  mark() {
    hist.reset();
    mark = { delivered, cpu: process.cpuUsage(), t: nowUs() };
    return {};
  },
  report() {
    const cpu = process.cpuUsage(mark.cpu);
    return {
      delivered: delivered - mark.delivered,
      wallUs: nowUs() - mark.t,
      cpuUs: cpu.user + cpu.system, sysUs: cpu.system,
      hist: hist.toJSON(),
      failures,
    };
  },
  stop() {
    running = false;
    return {};
  },
  close() {
    shuttingDown = true;
    for (const c of conns) c.socket.destroy();
    setImmediate(() => process.exit(0));
    return {};
  },
};

process.on('message', async (msg) => {
  try {
    const reply = await commands[msg.cmd](msg);
    process.send({ id: msg.id, ...reply });
  } catch (err) {
    process.send({ id: msg.id, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
