import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { Server } from 'switchboard';
import { createAdapter } from 'switchboard/adapters/redis';
import { io } from 'switchboard/client';

async function startNode() {
  const pubClient = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
  const subClient = pubClient.duplicate();
  await Promise.all([pubClient.connect(), subClient.connect()]);
  const httpServer = createServer();
  const server = new Server(httpServer, { adapter: createAdapter(pubClient, subClient, { key: 'docs-example' }) });
  httpServer.listen(0);
  await once(httpServer, 'listening');
  const url = `http://localhost:${(httpServer.address() as AddressInfo).port}`;
  const stop = async () => {
    await server.close();
    await Promise.all([pubClient.close(), subClient.close()]);
  };
  return { server, url, stop };
}

const a = await startNode();
const b = await startNode();
// The nodes find each other through Redis (HELLO, then heartbeats).
const nodes = (node: typeof a) => node.server.of('/').adapter.serverCount();
while ((await nodes(a)) < 2 || (await nodes(b)) < 2) await sleep(20);

const client = io(b.url); // connected to node B
const news = new Promise((resolve) => client.on('news', resolve));
client.on('connect', () => a.server.emit('news', 'from node A')); // broadcast on node A
console.log(await news); // → from node A

client.disconnect();
await Promise.all([a.stop(), b.stop()]);
