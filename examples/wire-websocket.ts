import { on, once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'switchboard';
import { WebSocket } from 'switchboard/websocket';

const httpServer = createServer();
const server = new Server(httpServer);
server.on('connection', (socket) => {
  socket.on('hello', (name: string, ack: (reply: string) => void) => ack(`hello, ${name}`));
});
httpServer.listen(0);
await once(httpServer, 'listening');
const { port } = httpServer.address() as AddressInfo;

const ws = new WebSocket(`ws://localhost:${port}/socket.io/?EIO=4&transport=websocket`);
const frames = on(ws, 'message'); // buffers every frame from now on
const next = async () => String((await frames.next()).value[0]).replace(/"sid":"[^"]+"/, '"sid":"…"');
await once(ws, 'open');
console.log(await next()); // → 0{"sid":"…","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
ws.send('40');             // CONNECT to namespace "/"
console.log(await next()); // → 40{"sid":"…"}
ws.send('421["hello","ada"]');
console.log(await next()); // → 431["hello, ada"]

ws.close();
await server.close();
