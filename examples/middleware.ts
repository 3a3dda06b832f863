import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'switchboard';
import { io } from 'switchboard/client';

const httpServer = createServer();
const server = new Server(httpServer);
server.engine!.use((req: IncomingMessage & { user?: string | undefined }, _res, next) => {
  req.user = req.headers['x-user'] === 'ada' ? 'Ada Lovelace' : undefined;
  next(req.user ? undefined : new Error('unknown user')); // refused: HTTP 400 before any session
});
server.on('connection', (socket) => socket.emit('hello', (socket.request as IncomingMessage & { user?: string | undefined }).user));
httpServer.listen(0);
await once(httpServer, 'listening');

const url = `http://localhost:${(httpServer.address() as AddressInfo).port}`;
const client = io(url, { extraHeaders: { 'X-User': 'ada' } });
console.log(await new Promise((resolve) => client.once('hello', resolve))); // → Ada Lovelace
client.disconnect();
await server.close();
