import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { io } from 'socket.io-client'; // npm install socket.io-client socket.io-msgpack-parser
import * as msgpackParser from 'socket.io-msgpack-parser';
import { Server } from 'switchboard';

const httpServer = createServer();
const server = new Server(httpServer, { parser: msgpackParser });
server.on('connection', (socket) => {
  socket.on('sum', (numbers: number[], ack: (total: number) => void) => ack(numbers.reduce((a, b) => a + b, 0)));
});
httpServer.listen(0);
await once(httpServer, 'listening');

const client = io(`http://localhost:${(httpServer.address() as AddressInfo).port}`, { parser: msgpackParser });
console.log(await client.emitWithAck('sum', [1, 2, 3])); // → 6
client.disconnect();
await server.close();
