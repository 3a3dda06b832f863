import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'switchboard';
import { io } from 'switchboard/client';

const httpServer = createServer();
const server = new Server(httpServer);
const frame = 'x'.repeat(40_000);
server.on('connection', (socket) => {
  let sent = 0;
  for (let i = 0; i < 10; i++) {
    if (socket.conn.bufferedAmount > 100_000) continue; // this client is behind: skip the frame
    socket.emit('frame', i, frame);
    sent++;
  }
  console.log(`sent ${sent} of 10`); // → sent 3 of 10
});
httpServer.listen(0);
await once(httpServer, 'listening');

const client = io(`http://localhost:${(httpServer.address() as AddressInfo).port}`, { transports: ['websocket'] });
const received: number[] = [];
client.on('frame', (i: number) => received.push(i));
while (received.length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
console.log(received); // → [ 0, 1, 2 ]
client.disconnect();
await server.close();
