// Socket.IO server under test, one per child process.
//   --impl socket.io    socket.io@4 with its defaults (the `ws` engine)
//   --impl switchboard  ours, from the build (dist/esm/server)
//   --impl socket.io-uws  socket.io@4 on uWebSockets.js (native), as its docs show it:
//                       `io.attachApp(app)` (WebSocket broadcasts then go through app.publish)
//   --impl net          a raw `net` baseline: WebSocket handshake, Engine.IO open, Socket.IO
//                       CONNECT reply, then the least work that answers the generator (not a
//                       real server): the ceiling the load generator can drive
// The same app runs on both: 'echo' answers through the ack, 'bc' is re-emitted to everyone.
//   --transports polling  (optional) the server's `transports` option, comma-separated
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { arg, oursPath, serveControl } from './serverctl.mjs';
import { acceptKey, frame, OP_TEXT } from './wsframe.mjs';
import { listenApp, loadUws } from './uws.mjs';

const impl = arg('impl', 'socket.io');
const host = '127.0.0.1';

if (impl === 'net') {
  await netCeiling();
} else {
  await realServer();
}

async function netCeiling() {
  const sockets = new Set();
  const open = frame(OP_TEXT, '0{"sid":"ceiling0000000000000","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}');
  const connected = frame(OP_TEXT, '40{"sid":"ceiling0000000000000"}');
  const server = net.createServer({ noDelay: true }, (socket) => {
    let head = '';
    const onHandshake = (chunk) => {
      head += chunk.latin1Slice();
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)[1];
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`);
      socket.write(open);
      socket.off('data', onHandshake);
      sockets.add(socket);
      socket.on('data', onData);
    };
    socket.on('data', onHandshake);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  // Assumes small masked frames arrive whole (true for 32 B payloads on loopback). Every frame of
  // one read is unmasked; '40' is answered with the CONNECT reply; an EVENT '42<id>["echo",d]'
  // becomes the ACK '43<id>[d]'; '42["bc",d]' is framed once and written to every client, one write
  // per read.
  function onData(chunk) {
    const out = [];
    let bc = null;
    for (let p = 0; p + 6 <= chunk.length;) {
      const len = chunk[p + 1] & 0x7f;
      const payload = Buffer.allocUnsafe(len);
      for (let i = 0; i < len; i++) payload[i] = chunk[p + 6 + i] ^ chunk[p + 2 + (i & 3)];
      p += 6 + len;
      if (payload[0] !== 0x34 /* 4 */) continue; // pongs
      if (payload[1] === 0x30 /* 0: CONNECT */) out.push(connected);
      else if (payload[2] !== 0x5b /* '[': no ack id, broadcast */) {
        const open = payload.indexOf(0x5b);
        const comma = payload.indexOf(0x2c /* , */);
        out.push(frame(OP_TEXT, Buffer.concat([Buffer.from('43'), payload.subarray(2, open + 1), payload.subarray(comma + 1)])));
      } else (bc ??= []).push(frame(OP_TEXT, payload));
    }
    if (out.length > 0) this.write(out.length === 1 ? out[0] : Buffer.concat(out));
    if (bc !== null) {
      const data = bc.length === 1 ? bc[0] : Buffer.concat(bc);
      for (const s of sockets) s.write(data);
    }
  }
  server.listen(0, host);
  await once(server, 'listening');
  serveControl(server.address().port, () => sockets.size);
}

async function realServer() {
// `<library>-uws`: the same library served by a uWebSockets.js app through attachApp.
const onUws = impl.endsWith('-uws');
const library = onUws ? impl.slice(0, -'-uws'.length) : impl;
let Server;
if (library === 'socket.io') ({ Server } = await import('socket.io'));
else if (library === 'switchboard') {
  const path = oursPath('server');
  if (!path) throw new Error('switchboard is not built (npm run build)');
  ({ Server } = await import(path));
  if (typeof Server !== 'function') throw new Error('switchboard does not export Server yet');
} else throw new Error('unknown --impl ' + impl);

const withHandlers = (io) => {
  io.on('connection', (socket) => {
    socket.on('echo', (data, ack) => ack(data));
    socket.on('bc', (data) => io.emit('bc', data));
  });
  return io;
};
if (onUws) {
  const uws = loadUws();
  const uwsApp = uws.App();
  const io = withHandlers(new Server());
  io.attachApp(uwsApp);
  serveControl(await listenApp(uws, uwsApp, host), () => io.engine.clientsCount);
  return;
}
const transports = arg('transports', null);
const httpServer = http.createServer();
const io = withHandlers(new Server(httpServer, transports ? { transports: transports.split(',') } : {}));
httpServer.listen(0, host);
await once(httpServer, 'listening');
serveControl(httpServer.address().port, () => io.engine.clientsCount);
}
