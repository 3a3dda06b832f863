import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'switchboard';
import { io } from 'switchboard/client';

const httpServer = createServer();
const server = new Server(httpServer);
server.on('connection', (socket) => {
  socket.data.name = socket.handshake.auth.name;
  socket.on('join', async (room: string, ack: () => void) => {
    await socket.join(room);
    ack();
  });
  // To everyone in the room except the sender.
  socket.on('say', (room: string, text: string) => socket.to(room).emit('said', `${socket.data.name}: ${text}`));
});
httpServer.listen(0);
await once(httpServer, 'listening');
const url = `http://localhost:${(httpServer.address() as AddressInfo).port}`;

const connectAs = (name: string) => io(url, { auth: { name }, forceNew: true });
const [ada, bob, cy] = [connectAs('ada'), connectAs('bob'), connectAs('cy')];
await ada.timeout(2000).emitWithAck('join', 'lobby');
await bob.timeout(2000).emitWithAck('join', 'lobby');
await cy.timeout(2000).emitWithAck('join', 'kitchen');

const bobHeard = new Promise((resolve) => bob.once('said', resolve));
ada.emit('say', 'lobby', 'hi');
console.log(await bobHeard); // → ada: hi

// From the server: one room, everyone but a room, everyone.
server.to('lobby').emit('news', 'lobby only');
server.except('lobby').emit('news', 'not for the lobby');
const cyHeard = new Promise((resolve) => cy.once('news', resolve));
console.log(await cyHeard); // → not for the lobby

const members = await server.in('lobby').fetchSockets();
console.log(members.map((s) => s.data.name).sort().join(', ')); // → ada, bob

for (const socket of [ada, bob, cy]) socket.disconnect();
await server.close();
