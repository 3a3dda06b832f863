// One server node of the Redis broadcast benchmark (started by bench/redis-broadcast.mjs).
// IMPL=switchboard: our Server + switchboard/adapters/redis (pub/sub);
// IMPL=socket.io:   socket.io@4 + @socket.io/redis-adapter. Both use node-redis clients.
import http from 'node:http';
import { createClient, createCluster } from 'redis';

const impl = process.env.IMPL;
const prefix = process.env.PREFIX;
// IMPL=*-cluster: a Redis Cluster (REDIS_CLUSTER: comma-separated node URLs), sharded pub/sub.
const cluster = impl.endsWith('-cluster');
const pub = cluster
  ? createCluster({ rootNodes: process.env.REDIS_CLUSTER.split(',').map((url) => ({ url })) })
  : createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
const sub = pub.duplicate();
pub.on('error', () => {});
sub.on('error', () => {});
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = http.createServer();
const common = { pingInterval: 120_000, pingTimeout: 120_000, transports: ['websocket'] };
let io;
if (impl === 'switchboard-cluster') {
  const { Server } = await import('../dist/esm/server/index.js');
  const { createAdapter } = await import('../dist/esm/adapters/redis/index.js');
  io = new Server(httpServer, { ...common, handshakeRate: false, adapter: createAdapter(pub, sub, { key: prefix, sharded: true }) });
} else if (impl === 'socket.io-cluster') {
  const { Server } = await import('socket.io');
  const { createShardedAdapter } = await import('@socket.io/redis-adapter');
  io = new Server(httpServer, { ...common, adapter: createShardedAdapter(pub, sub, { channelPrefix: prefix }) });
} else if (impl === 'switchboard') {
  const { Server } = await import('../dist/esm/server/index.js');
  const { createAdapter } = await import('../dist/esm/adapters/redis/index.js');
  io = new Server(httpServer, { ...common, handshakeRate: false, adapter: createAdapter(pub, sub, { key: prefix }) });
} else if (impl === 'switchboard-streams') {
  const { Server } = await import('../dist/esm/server/index.js');
  const { createStreamsAdapter } = await import('../dist/esm/adapters/redis/index.js');
  io = new Server(httpServer, { ...common, handshakeRate: false, adapter: createStreamsAdapter(pub, { streamName: `${prefix}-stream` }) });
} else if (impl === 'socket.io-streams') {
  const { Server } = await import('socket.io');
  const { createAdapter } = await import('@socket.io/redis-streams-adapter');
  io = new Server(httpServer, { ...common, adapter: createAdapter(pub, { streamName: `${prefix}-stream` }) });
} else {
  const { Server } = await import('socket.io');
  const { createAdapter } = await import('@socket.io/redis-adapter');
  io = new Server(httpServer, { ...common, adapter: createAdapter(pub, sub, { key: prefix }) });
}

process.on('message', async (msg) => {
  if (msg.cmd === 'burst') {
    const payload = 'x'.repeat(msg.size);
    for (let i = 0; i < msg.count; i++) io.emit('tick', payload);
    process.send({ id: msg.id, result: true });
  } else if (msg.cmd === 'serverCount') {
    process.send({ id: msg.id, result: await io.of('/').adapter.serverCount() });
  } else if (msg.cmd === 'clients') {
    process.send({ id: msg.id, result: io.of('/').sockets.size });
  }
});
process.on('disconnect', () => process.exit(0));
httpServer.listen(0, '127.0.0.1', () => process.send({ ready: true, port: httpServer.address().port }));
