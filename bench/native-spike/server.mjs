// Server child for the native-transport spike:
//   --impl native  the prototype addon built in this folder (its own epoll thread)
//   --impl bare    the least a Node server can hold an idle WebSocket with: a net.Socket whose
//                  listeners are shared by every connection, the handshake answered from the first
//                  chunk, no per-connection JavaScript object besides the socket
//   --impl handle  the WebSocket echo server on libuv's TCP handle of bench/handle-spike
//   any other      the WebSocket server of bench/ws.mjs (uws, switchboard, ws, net)
import net from 'node:net';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { getHeapSpaceStatistics } from 'node:v8';
import { arg, serveControl } from '../lib/serverctl.mjs';
import { acceptKey } from '../lib/wsframe.mjs';

const impl = arg('impl', 'ws');
const addon = loadAddon();
// Every server reports, beside process.memoryUsage() (the `mem` control command), the resident size
// of V8's young generation and its C heap (when the addon is built), so that the driver can tell
// per-connection objects from V8's own buffers and from the native objects behind each connection.
const memoryUsage = process.memoryUsage;
process.memoryUsage = () => ({
  ...memoryUsage.call(process),
  newSpace: getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? 0,
  malloc: addon?.mallinfo(),
});

function loadAddon() {
  try {
    return createRequire(import.meta.url)('./build/Release/idle_ws.node');
  } catch (err) {
    if (impl === 'native') throw err;
    return null;
  }
}

if (impl === 'native') {
  serveControl(addon.listen('127.0.0.1', 0), () => addon.clients());
} else if (impl === 'bare') {
  let clients = 0;
  const opened = new WeakSet();
  // The load generator writes its whole request in one write, so one chunk holds it on loopback.
  function onData(chunk) {
    if (opened.has(this)) return; // idle connections send nothing; data frames would be dropped
    const key = /sec-websocket-key:\s*(\S+)/i.exec(chunk.latin1Slice())?.[1];
    if (!key) return void this.destroy();
    this.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`);
    opened.add(this);
    clients++;
  }
  function onClose() { if (opened.has(this)) clients--; }
  function onError() {}
  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onError);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  serveControl(server.address().port, () => clients);
} else if (impl === 'handle') {
  const { listenEcho } = await import('../handle-spike/transport.mjs');
  const { port, clients } = listenEcho('127.0.0.1');
  serveControl(port, clients);
} else {
  await import('../lib/server-ws.mjs');
}
