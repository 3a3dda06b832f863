// Fault tests: each starts its own redis-server on a spare port, stops it during a stream of
// broadcasts, restarts it, and counts what the clients received.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket as ClientSocket } from 'socket.io-client';
import { RedisProcess, collect, connectClient, connected, sleep, sparePort, startNode, uniquePrefix, until, type ServerNode } from './helpers.js';
import { redisServerBinarySkip } from '../shared/redis.js';

/** Each test runs its own redis-server. */
const skip = redisServerBinarySkip();

const COUNT = 150;
const INTERVAL = 10;

/**
 * Kills Redis (SIGKILL) during a series of broadcasts and restarts it. For streams the server
 * persists every write before answering (AOF, fsync always): "no broadcast lost" is a promise
 * about acknowledged writes, and a Redis without persistence forgets the unread tail of the
 * stream in a crash (docs/scaling.md).
 */
async function outageDuringBroadcasts(adapter: 'streams' | 'pubsub') {
  const redis = new RedisProcess(await sparePort(), { persistent: adapter === 'streams' });
  await redis.start();
  const nodes: ServerNode[] = [];
  const clients: ClientSocket[] = [];
  after(async () => {
    for (const c of clients) c.disconnect();
    await Promise.all(nodes.map((n) => n.kill()));
    await redis.dispose();
  });
  const prefix = uniquePrefix(`fault-${adapter}`);
  nodes.push(...(await Promise.all(['A', 'B', 'C'].map((name) => startNode({ name, adapter, prefix, redisUrl: redis.url })))));
  await until(async () => (await Promise.all(nodes.map((n) => n.call<number>('serverCount')))).every((c) => c === 3), 'nodes to see each other');
  for (const n of nodes) clients.push(await connected(connectClient(n.port)));
  const received = clients.map((c) => collect(c, 'tick'));

  const series = nodes[0]!.call('series', { event: 'tick', count: COUNT, interval: INTERVAL });
  await sleep(COUNT * INTERVAL * 0.3);
  await redis.stop('SIGKILL');
  await sleep(500);
  await redis.start();
  await series;
  return { nodes, received };
}

test('streams adapter: Redis killed and restarted mid-stream, no broadcast is lost', { skip }, async (t) => {
  const { nodes, received } = await outageDuringBroadcasts('streams');
  await until(() => received.every((r) => r.length >= COUNT), 'every client to get every broadcast', 15_000);
  await sleep(200);
  for (const [i, r] of received.entries()) {
    const values = r.map((args) => args[0] as number);
    assert.equal(values.length, COUNT, `client ${i}: no duplicates`);
    assert.deepEqual([...values].sort((a, b) => a - b), Array.from({ length: COUNT }, (_, k) => k), `client ${i}: nothing lost`);
  }
  const errors = await Promise.all(nodes.map((n) => n.errors()));
  t.diagnostic(`errors reported: ${JSON.stringify(errors)}`);
  for (const e of errors) assert.ok(e.includes('REDIS_UNREACHABLE'), 'each node reported the outage');
});

test('pub/sub adapter: Redis killed and restarted mid-stream, the loss is counted and reported', { skip }, async (t) => {
  const { nodes, received } = await outageDuringBroadcasts('pubsub');
  await sleep(500);
  const local = received[0]!.map((args) => args[0]);
  assert.equal(local.length, COUNT, 'clients of the sending node get everything');
  const remote = [received[1]!, received[2]!].map((r) => r.map((args) => args[0] as number));
  const dropped = await nodes[0]!.call<number>('dropped');
  t.diagnostic(`pub/sub: ${COUNT} sent, B got ${remote[0]!.length}, C got ${remote[1]!.length}, A dropped ${dropped}`);
  for (const r of remote) {
    assert.ok(r.length < COUNT, 'remote clients missed the broadcasts sent while Redis was down');
    assert.equal(new Set(r).size, r.length, 'no duplicates');
    assert.ok(r.length + dropped >= COUNT - 5, 'what was not delivered was (almost all) counted as dropped');
  }
  assert.ok(dropped > 0);
  const errors = await nodes[0]!.errors();
  assert.ok(errors.includes('MESSAGES_LOST'), `reported: ${errors}`);
  // After the restart, broadcasts flow again across nodes.
  const after = [received[1]!.length, received[2]!.length];
  await until(async () => {
    await nodes[0]!.call('broadcast', { event: 'tick', args: [-1] });
    await sleep(50);
    return received[1]!.length > after[0]! && received[2]!.length > after[1]!;
  }, 'cross-node broadcasts after the restart');
});

for (const adapter of ['pubsub', 'streams'] as const) {
  test(`${adapter} adapter: Redis unreachable at start is reported, the node keeps serving, then joins when Redis appears`, { skip }, async () => {
    const redis = new RedisProcess(await sparePort());
    const prefix = uniquePrefix(`down-${adapter}`);
    const a = await startNode({ name: 'A', adapter, prefix, redisUrl: redis.url });
    after(async () => {
      await a.kill();
      await redis.stop();
    });
    await until(async () => (await a.errors()).includes('REDIS_UNREACHABLE'), 'REDIS_UNREACHABLE to be reported');
    const client = await connected(connectClient(a.port));
    after(() => client.disconnect());
    const got = collect(client, 'solo');
    await a.call('broadcast', { event: 'solo' });
    await until(() => got.length === 1, 'local delivery without Redis');
    assert.equal(await a.call('serverCount'), 1);

    await redis.start();
    const b = await startNode({ name: 'B', adapter, prefix, redisUrl: redis.url });
    after(() => b.kill());
    await until(async () => (await a.call('serverCount')) === 2 && (await b.call('serverCount')) === 2, 'A and B to meet', 10_000);
    const across = collect(client, 'across');
    await b.call('broadcast', { event: 'across', args: ['hi'] });
    await until(() => across.length === 1, 'broadcast from B to a client of A');
  });
}

test('streams adapter: messages held while Redis is down are bounded by maxPendingMessages', { skip }, async () => {
  const redis = new RedisProcess(await sparePort());
  const node = await startNode({ name: 'P', adapter: 'streams', prefix: uniquePrefix('pending'), redisUrl: redis.url, adapterOptions: { maxPendingMessages: 5 } });
  after(() => node.kill());
  await until(async () => (await node.errors()).includes('REDIS_UNREACHABLE'), 'the outage to be reported');
  for (let i = 0; i < 20; i++) await node.call('broadcast', { event: 'held', args: [i] });
  await until(async () => (await node.errors()).includes('MESSAGES_LOST'), 'the overflow to be reported');
});
