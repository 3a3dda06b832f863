// Socket.IO server under test, one per child process.
//   --impl socket.io    socket.io@4 with its defaults (the `ws` engine)
//   --impl switchboard  ours, from the build (dist/esm/server)
// The same app runs on both: 'echo' answers through the ack, 'bc' is re-emitted to everyone.
import http from 'node:http';
import { once } from 'node:events';
import { arg, oursPath, serveControl } from './serverctl.mjs';

const impl = arg('impl', 'socket.io');
const host = '127.0.0.1';

let Server;
if (impl === 'socket.io') ({ Server } = await import('socket.io'));
else if (impl === 'switchboard') {
  const path = oursPath('server');
  if (!path) throw new Error('switchboard is not built (npm run build)');
  ({ Server } = await import(path));
  if (typeof Server !== 'function') throw new Error('switchboard does not export Server yet');
} else throw new Error('unknown --impl ' + impl);

const httpServer = http.createServer();
const io = new Server(httpServer);
io.on('connection', (socket) => {
  socket.on('echo', (data, ack) => ack(data));
  socket.on('bc', (data) => io.emit('bc', data));
});
httpServer.listen(0, host);
await once(httpServer, 'listening');
serveControl(httpServer.address().port, () => io.engine.clientsCount);
