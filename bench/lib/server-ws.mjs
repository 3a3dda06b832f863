// WebSocket server under test, one per child process.
//   --impl ws           the `ws` package (bufferutil + utf-8-validate installed), README idioms
//   --impl switchboard  ours, from the build (dist/esm/websocket)
//   --impl uws          uWebSockets.js (native), its documented idioms: ws.send for echo,
//                       app.publish to a topic every client subscribes to for broadcast
//   --impl net          a raw `net` baseline that does only the handshake and the minimum of
//                       framing: the ceiling the load generator can drive (not a real server)
//   --mode echo|broadcast
// Broadcast = every message received is sent to every connected client, the sender included.
import net from 'node:net';
import { once } from 'node:events';
import { arg, oursPath, serveControl } from './serverctl.mjs';
import { acceptKey, frame, OP_TEXT } from './wsframe.mjs';
import { listenApp, loadUws } from './uws.mjs';

const impl = arg('impl', 'ws');
const mode = arg('mode', 'echo');
const host = '127.0.0.1';

if (impl === 'ws') {
  const { WebSocketServer, WebSocket } = await import('ws');
  const wss = new WebSocketServer({ host, port: 0 });
  await once(wss, 'listening');
  wss.on('connection', (ws) => {
    if (mode === 'echo') ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    else ws.on('message', (data, isBinary) => {
      for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    });
  });
  serveControl(wss.address().port, () => wss.clients.size);
} else if (impl === 'switchboard') {
  const path = oursPath('websocket');
  if (!path) throw new Error('switchboard/websocket is not built (npm run build)');
  const { WebSocketServer, prepareMessage } = await import(path);
  const wss = new WebSocketServer({ host, port: 0 });
  await once(wss, 'listening');
  wss.on('connection', (ws) => {
    if (mode === 'echo') ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    else ws.on('message', (data, isBinary) => {
      // Frame once, write the same bytes to every client.
      const prepared = prepareMessage(data, { binary: isBinary });
      for (const client of wss.clients) client.sendPrepared(prepared);
    });
  });
  serveControl(wss.address().port, () => wss.clients.size);
} else if (impl === 'uws') {
  const uws = loadUws();
  const app = uws.App();
  let clients = 0;
  app.ws('/*', {
    // The same limits as ours by default (maxPayload 1 MiB, maxBufferedAmount 4 MiB): uWS.js's own
    // 16 KiB would refuse the 64 KiB echo, and its 64 KiB backpressure cap drops broadcasts to
    // slow readers, which would make it deliver less than the others.
    maxPayloadLength: 1024 * 1024,
    maxBackpressure: 4 * 1024 * 1024,
    open: (ws) => {
      clients++;
      if (mode === 'broadcast') ws.subscribe('all');
    },
    close: () => {
      clients--;
    },
    message: mode === 'echo'
      ? (ws, message, isBinary) => ws.send(message, isBinary)
      : (ws, message, isBinary) => app.publish('all', message, isBinary),
  });
  serveControl(await listenApp(uws, app, host), () => clients);
} else if (impl === 'net') {
  const sockets = new Set();
  const server = net.createServer({ noDelay: true }, (socket) => {
    let head = '';
    const onHandshake = (chunk) => {
      head += chunk.latin1Slice();
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)[1];
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`);
      socket.off('data', onHandshake);
      sockets.add(socket);
      if (mode === 'echo') socket.pipe(socket); // client frames go back still masked; the generator accepts that
      else socket.on('data', relay);
    };
    socket.on('data', onHandshake);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  // Assumes small masked frames arrive whole (true for the 32 B publisher on loopback). All frames
  // of one read go out in one write per client: the ceiling for a server that batches per tick.
  const relay = (chunk) => {
    const frames = [];
    for (let p = 0; p + 6 <= chunk.length;) {
      const len = chunk[p + 1] & 0x7f;
      const payload = Buffer.allocUnsafe(len);
      for (let i = 0; i < len; i++) payload[i] = chunk[p + 6 + i] ^ chunk[p + 2 + (i & 3)];
      frames.push(frame(OP_TEXT, payload));
      p += 6 + len;
    }
    const out = frames.length === 1 ? frames[0] : Buffer.concat(frames);
    for (const s of sockets) s.write(out);
  };
  server.listen(0, host);
  await once(server, 'listening');
  serveControl(server.address().port, () => sockets.size);
} else {
  throw new Error('unknown --impl ' + impl);
}
