import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCluster } from 'redis';
import { Server } from 'switchboard';
import { createAdapter, createStreamsAdapter } from 'switchboard/adapters/redis';
import { io } from 'switchboard/client';

// Any node of the Redis Cluster; the client discovers the others.
const rootNodes = (process.env.REDIS_CLUSTER ?? 'redis://127.0.0.1:7000').split(',').map((url) => ({ url }));

async function startNode(kind: 'sharded pub/sub' | 'streams') {
  const redis = createCluster({ rootNodes });
  await redis.connect();
  const subscriber = redis.duplicate();
  const adapter =
    kind === 'streams'
      ? // the stream and the recovery sessions share the hash tag {docs}: one slot, one shard
        createStreamsAdapter(redis, { streamName: '{docs}-stream', sessionKeyPrefix: '{docs}-session:', waitForReplicas: 1 })
      : createAdapter(redis, subscriber, { sharded: true, key: 'docs-cluster' }); // SPUBLISH / SSUBSCRIBE
  const httpServer = createServer();
  const server = new Server(httpServer, { adapter });
  httpServer.listen(0);
  await once(httpServer, 'listening');
  const url = `http://localhost:${(httpServer.address() as AddressInfo).port}`;
  const stop = async () => {
    await server.close();
    await Promise.all([redis.close(), subscriber.isOpen ? subscriber.close() : undefined]);
  };
  return { server, url, stop };
}

for (const kind of ['sharded pub/sub', 'streams'] as const) {
  const a = await startNode(kind);
  const b = await startNode(kind);
  while ((await a.server.of('/').adapter.serverCount()) < 2) await sleep(20);
  const client = io(b.url);
  await new Promise((resolve) => client.on('connect', () => resolve(null)));
  const news = new Promise((resolve) => client.on('news', resolve));
  a.server.emit('news', `${kind}: from node A`);
  console.log(await news); // → sharded pub/sub: from node A
  // → streams: from node A
  client.disconnect();
  await Promise.all([a.stop(), b.stop()]);
}
