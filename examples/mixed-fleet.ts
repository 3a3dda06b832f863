import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { createAdapter as createSocketIOAdapter } from '@socket.io/redis-adapter';
import { Server as SocketIOServer } from 'socket.io';
import { io } from 'socket.io-client';
import { Server } from 'switchboard';
import { createAdapter } from 'switchboard/adapters/redis';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const key = 'docs-mixed-fleet'; // socket.io's default is 'socket.io': keep whatever your app uses

async function listen(httpServer: ReturnType<typeof createServer>) {
  httpServer.listen(0);
  await once(httpServer, 'listening');
  return `http://localhost:${(httpServer.address() as AddressInfo).port}`;
}

// A node of the app as it is today: socket.io with @socket.io/redis-adapter.
const oldPub = createClient({ url });
const oldSub = oldPub.duplicate();
await Promise.all([oldPub.connect(), oldSub.connect()]);
const oldHttp = createServer();
const oldNode = new SocketIOServer(oldHttp, { adapter: createSocketIOAdapter(oldPub, oldSub, { key }) });
const oldUrl = await listen(oldHttp);

// A node of the app on switchboard, speaking the same format on the same Redis.
const pub = createClient({ url });
const sub = pub.duplicate();
await Promise.all([pub.connect(), sub.connect()]);
const newHttp = createServer();
const newNode = new Server(newHttp, { adapter: createAdapter(pub, sub, { format: 'socket.io', key }) });
await listen(newHttp);
while ((await newNode.of('/').adapter.serverCount()) < 2) await sleep(20);

oldNode.on('connection', (socket) => socket.join('lobby'));
const client = io(oldUrl); // a client of the socket.io node
await new Promise((resolve) => client.on('connect', () => resolve(null)));

const news = new Promise((resolve) => client.on('news', resolve));
newNode.to('lobby').emit('news', 'from the switchboard node'); // a room on the other node
console.log(await news); // → from the switchboard node

const sockets = await newNode.fetchSockets(); // sockets of every node, socket.io's included
console.log(sockets.map((s) => [...s.rooms].includes('lobby'))); // → [ true ]

client.disconnect();
await Promise.all([oldNode.close(), newNode.close()]);
await Promise.all([oldPub.close(), oldSub.close(), pub.close(), sub.close()]);
