import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'switchboard';
import { io, type Socket } from 'switchboard/client';

interface ClientToServer {
  hello: (name: string, ack: (reply: string) => void) => void;
}
interface ServerToClient {
  news: (text: string) => void;
}

const httpServer = createServer();
const server = new Server<ClientToServer, ServerToClient>(httpServer);
server.on('connection', (socket) => {
  socket.on('hello', (name, ack) => ack(`hello, ${name}`));
  socket.emit('news', 'welcome');
});
httpServer.listen(0);
await once(httpServer, 'listening');
const { port } = httpServer.address() as AddressInfo;

const socket: Socket<ServerToClient, ClientToServer> = io(`http://localhost:${port}`);
const news = new Promise<string>((resolve) => socket.once('news', resolve));
const reply = await socket.timeout(2000).emitWithAck('hello', 'ada'); // sent once connected
console.log(await news); // → welcome
console.log(reply);      // → hello, ada

socket.disconnect();
await server.close();    // disconnects everyone and closes the HTTP server
