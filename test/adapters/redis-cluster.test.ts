// Both Redis adapters on a real Redis Cluster (three masters, three replicas; redis-cluster.ts):
// the sharded pub/sub adapter and the streams adapter (hash-tagged keys) pass the cross-node
// behaviour suite, then a master is killed (SIGKILL) during a series of broadcasts: after the
// failover, streams deliver everything in order; pub/sub counts and reports what it lost.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Socket as ClientSocket } from 'socket.io-client';
import { redisServerBinarySkip } from '../shared/redis.js';
import { clusterBehaviour } from './behaviour.js';
import { collect, connectClient, connected, sleep, startNode, uniquePrefix, until, type ServerNode } from './helpers.js';
import { RedisCluster } from './redis-cluster.js';

/** Sharded pub/sub needs Redis 7; the cluster is built with redis-cli. */
function clusterSkip(): string | false {
  const binary = redisServerBinarySkip();
  if (binary) return binary;
  const version = /v=(\d+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout)?.[1];
  const cli = spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;
  const reason = Number(version) < 7 ? `redis-server ${version} is older than 7.0 (no sharded pub/sub)` : !cli ? 'redis-cli is not on PATH' : '';
  if (!reason) return false;
  if (process.env.CI) throw new Error(`${reason}; CI must provide Redis 7+ with redis-cli`);
  return `${reason} (apt-get install redis-server); CI runs these`;
}

const skip = clusterSkip();
const cluster = new RedisCluster();
const env = () => ({ REDIS_CLUSTER: JSON.stringify(cluster.rootNodes) });

describe('Redis Cluster', { skip }, () => {
  before(() => cluster.start());
  after(() => cluster.stop());

  describe('sharded pub/sub adapter on a Redis Cluster', () => clusterBehaviour('sharded', { env }));
  describe('streams adapter on a Redis Cluster', () => clusterBehaviour('streams', { env }));

  const COUNT = 200;
  const INTERVAL = 10;

  /** Three nodes, a client on each, node A broadcasting `tick` 0..COUNT-1 while the master of `key` is killed. */
  async function failoverDuringBroadcasts(adapter: 'sharded' | 'streams', key: (prefix: string) => string, adapterOptions = {}) {
    await cluster.waitHealthy();
    const prefix = uniquePrefix(`cluster-${adapter}`);
    const nodes: ServerNode[] = [];
    const clients: ClientSocket[] = [];
    after(async () => {
      for (const c of clients) c.disconnect();
      await Promise.all(nodes.map((n) => n.kill()));
    });
    nodes.push(...(await Promise.all(['A', 'B', 'C'].map((name) => startNode({ name, adapter, prefix, env: env(), adapterOptions })))));
    await until(async () => (await Promise.all(nodes.map((n) => n.call<number>('serverCount')))).every((c) => c === 3), 'nodes to see each other');
    for (const n of nodes) clients.push(await connected(connectClient(n.port)));
    const received = clients.map((c) => collect(c, 'tick'));
    const master = await cluster.masterOf(key(prefix));
    const series = nodes[0]!.call('series', { event: 'tick', count: COUNT, interval: INTERVAL });
    await sleep(COUNT * INTERVAL * 0.3);
    const killedAt = Date.now();
    await cluster.kill(master);
    const promoted = await cluster.failedOver(key(prefix));
    const failoverMs = Date.now() - killedAt;
    await series;
    // The killed master comes back as the new master's replica (and the next test's waitHealthy
    // waits for its sync): otherwise a later failover could hit a master left without a replica.
    await cluster.restart(master);
    return { nodes, clients, received, failoverMs, promoted, master };
  }

  test('streams adapter: a master killed mid-stream, after the failover every client has every broadcast, in order', async (t) => {
    const { nodes, received, failoverMs } = await failoverDuringBroadcasts('streams', (p) => `{${p}}-stream`, { waitForReplicas: 1 });
    await until(() => received.every((r) => r.length >= COUNT), 'every client to get every broadcast', 30_000);
    await sleep(300);
    for (const [i, r] of received.entries()) {
      assert.deepEqual(r.map((args) => args[0]), Array.from({ length: COUNT }, (_, k) => k), `client ${i}: all, once, in order`);
    }
    const errors = await Promise.all(nodes.map((n) => n.errors()));
    t.diagnostic(`failover took ${failoverMs} ms; errors reported: ${JSON.stringify(errors)}`);
    assert.ok(errors[0]!.includes('REDIS_UNREACHABLE'), 'the writer reported the outage');
  });

  test('sharded pub/sub adapter: a master killed mid-stream, the loss is counted and reported, delivery resumes', async (t) => {
    const { nodes, clients, received, failoverMs } = await failoverDuringBroadcasts('sharded', (p) => `${p}#/#`);
    // Subscribers move to the promoted replica by themselves: broadcasts reach every node again.
    const after = received.map(() => 0);
    clients.forEach((c, i) => c.on('after', () => after[i]++));
    await until(
      async () => {
        await nodes[0]!.call('broadcast', { event: 'after' });
        await sleep(100);
        return after.every((n) => n > 0);
      },
      'broadcasts to reach every client again after the failover',
      30_000,
    );
    const dropped = await nodes[0]!.call<number>('dropped');
    const missed = await Promise.all(nodes.map((n) => n.call<number>('missed')));
    const errors = (await Promise.all(nodes.map((n) => n.errors()))).flat();
    const missing = received.map((r) => COUNT - r.length);
    t.diagnostic(`failover took ${failoverMs} ms; ${dropped} publishes dropped by node A; missed per node (A, B, C): ${missed}; missing per client: ${missing}; errors: ${errors}`);
    for (const [i, r] of received.entries()) {
      const values = r.map((args) => args[0] as number);
      assert.deepEqual(values, [...values].sort((a, b) => a - b), `client ${i}: in order, no duplicates`);
      assert.equal(new Set(values).size, values.length, `client ${i}: no duplicates`);
    }
    assert.equal(missing[0], 0, 'the client on the sending node gets everything (local delivery)');
    // Whether a publish fails at the sender (its connection to the dead master) or is lost at a
    // receiver (its subscription moving to the promoted replica), the loss is counted and reported.
    // How much a subscriber loses depends on when it moves to the promoted replica (sometimes
    // nothing); what it loses is counted and reported.
    if (missing[1]! + missing[2]! > 0) assert.ok(errors.includes('MESSAGES_LOST'), 'the loss is reported as MESSAGES_LOST');
    for (const i of [1, 2]) {
      assert.ok(missing[i]! < COUNT, `client ${i} lost at most the broadcasts of the outage`);
      // Counts include heartbeats on the channel, so they bound the lost broadcasts from above.
      assert.ok(dropped + missed[i]! >= missing[i]!, `node ${i}'s loss is counted (dropped by A ${dropped} + missed ${missed[i]} ≥ ${missing[i]} lost)`);
    }
  });
});
