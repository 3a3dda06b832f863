// Three nodes behind a real round-robin nginx (no ip_hash, no cookies): every request of a session
// may land on any node, and the session router passes it on to the node that owns the session.
// socket.io-client connects through nginx, polling-only and with its default transports.
// Two topologies: the nodes on this machine's loopback, and (as root, where `ip netns` is allowed)
// the nodes as separate hosts, each in a network namespace of its own with its own address on a
// bridge, nginx and Redis in the root namespace.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { redisSkip } from '../shared/redis.js';
import { collect, deleteKeys, sleep, startNode, uniquePrefix, until, type ServerNode } from '../adapters/helpers.js';
import { nginxSkip, startBalancer, type Balancer } from './nginx.js';
import { createHosts, netnsSkip, type Hosts } from './netns.js';

const fixture = fileURLToPath(new URL('./fixtures/routed-node.ts', import.meta.url));
const skip = (await redisSkip()) || nginxSkip();

interface Fleet {
  nodes: ServerNode[];
  balancer: Balancer;
  /** The network namespaces the nodes run in, when they are separate hosts. */
  hosts?: Hosts | undefined;
}

/** Three routed nodes (on loopback, or each on a host of its own) and a round-robin nginx in front of them. */
async function startFleet(prefix: string, env: Record<string, string> = {}, separateHosts = false): Promise<Fleet> {
  const hosts = separateHosts ? await createHosts(3) : undefined;
  const fleet: Fleet = { nodes: [], balancer: undefined!, hosts };
  try {
    const host = (i: number) => hosts?.addresses[i] ?? '127.0.0.1';
    fleet.nodes = await Promise.all(['A', 'B', 'C'].map((name, i) => startNode({
      name, adapter: 'streams', prefix, fixture,
      env: { ...env, NODE_HOST: host(i) },
      ...(hosts ? { wrap: hosts.wrap(i), redisUrl: hosts.redisUrl } : {}),
    })));
    const { nodes } = fleet;
    await until(async () => (await Promise.all(nodes.map((n) => n.call<number>('serverCount')))).every((c) => c === 3), 'nodes to see each other');
    fleet.balancer = await startBalancer({ upstreams: nodes.map((n, i) => `${host(i)}:${n.port}`) });
    return fleet;
  } catch (err) {
    await stopFleet(fleet, prefix);
    throw err;
  }
}

async function stopFleet(fleet: Fleet | undefined, prefix: string): Promise<void> {
  await fleet?.balancer?.stop();
  await Promise.all(fleet?.nodes.map((n) => n.kill()) ?? []);
  await fleet?.hosts?.close();
  await deleteKeys(prefix);
}

async function opened(socket: ClientSocket): Promise<ClientSocket> {
  if (!socket.connected) {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
  }
  return socket;
}

/** The node whose sockets include `id`. */
async function ownerOf(nodes: ServerNode[], id: string): Promise<string> {
  for (const node of nodes) if ((await node.call<string[]>('localSockets')).includes(id)) return node.name;
  throw new Error(`no node has socket ${id}`);
}

const topologies = [
  { name: 'loopback', separateHosts: false, skip },
  { name: 'separate hosts (network namespaces)', separateHosts: true, skip: skip || netnsSkip() },
] as const;

for (const topology of topologies) for (const mode of ['polling only', 'default transports'] as const) {
  describe(`three nodes behind round-robin nginx, no sticky sessions, ${topology.name}: ${mode}`, { skip: topology.skip }, () => {
    const prefix = uniquePrefix('nosticky');
    let fleet: Fleet | undefined;
    const clients: ClientSocket[] = [];
    const client = (opts: Record<string, unknown> = {}) => {
      const socket = connect(fleet!.balancer.url, {
        forceNew: true,
        reconnection: false,
        ...(mode === 'polling only' ? { transports: ['polling'] } : {}),
        ...opts,
      });
      clients.push(socket);
      return socket;
    };

    before(async () => {
      fleet = await startFleet(prefix, {}, topology.separateHosts);
    });
    after(async () => {
      for (const c of clients) c.disconnect();
      await stopFleet(fleet, prefix);
    });

    test('connect, events and acks: every request of a session is served by the node that owns it', async () => {
      const { nodes } = fleet!;
      const before = await Promise.all(nodes.map((n) => n.call<{ forwardedIn: number }>('traffic')));
      const sockets = await Promise.all([0, 1, 2, 3].map((i) => opened(client({ auth: { tag: `t${i}` } }))));
      for (const socket of sockets) {
        const owner = await ownerOf(nodes, socket.id!);
        // Many round trips: with round-robin, most of them reach other nodes first.
        for (let i = 0; i < 12; i++) assert.equal(await socket.timeout(5000).emitWithAck('whoami'), owner);
        if (mode === 'default transports') {
          await until(() => socket.io.engine.transport.name === 'websocket', 'the upgrade to WebSocket');
          assert.equal(await socket.timeout(5000).emitWithAck('whoami'), owner);
        }
      }
      const after = await Promise.all(nodes.map((n) => n.call<{ forwardedIn: number; forwardedFrom: string[] }>('traffic')));
      const forwarded = after.reduce((sum, t, i) => sum + t.forwardedIn - before[i]!.forwardedIn, 0);
      assert.ok(forwarded > 0, 'the balancer spread requests of one session over several nodes');
      for (const node of nodes) assert.deepEqual(await node.call('routerErrors'), []);
      const hosts = fleet!.hosts;
      if (hosts) {
        // Each node sees only its own address, and what it was passed came over the bridge from the others.
        for (const [i, node] of nodes.entries()) {
          assert.deepEqual(await node.call('addresses'), ['127.0.0.1', hosts.addresses[i]].sort());
          for (const from of after[i]!.forwardedFrom) assert.ok(hosts.addresses.includes(from) && from !== hosts.addresses[i], `passed on by another host: ${from}`);
        }
      }
    });

    test('rooms, broadcasts from any node, and broadcasts with acks', async () => {
      const { nodes } = fleet!;
      const sockets = await Promise.all([0, 1, 2].map(() => opened(client())));
      await sockets[0]!.timeout(5000).emitWithAck('join', 'red');
      await sockets[2]!.timeout(5000).emitWithAck('join', 'red');
      const red = sockets.map((s) => collect(s, 'red-news'));
      await nodes[1]!.call('broadcast', { event: 'red-news', rooms: ['red'], args: ['hot', { bytes: Buffer.from([1, 2]) }] });
      await until(() => red[0]!.length === 1 && red[2]!.length === 1, 'the room broadcast');
      // (recovery is on: a last argument carries the stream offset)
      assert.deepEqual(red[0]![0]!.slice(0, 2), ['hot', { bytes: Buffer.from([1, 2]) }]);
      await sleep(200);
      assert.equal(red[1]!.length, 0, 'a client outside the room got nothing');

      const all = sockets.map((s) => collect(s, 'everyone'));
      for (const node of nodes) await node.call('broadcast', { event: 'everyone', args: [node.name] });
      await until(() => all.every((got) => got.length === 3), 'a broadcast from each node to every client');

      for (const s of sockets) s.on('ask', (q: string, ack: (a: string) => void) => ack(`${q}!`));
      const ids = new Set(sockets.map((s) => s.id));
      const answers = await nodes[2]!.call<string[]>('broadcastWithAck', { event: 'ask', args: ['q'], timeout: 5000, rooms: [...ids] });
      assert.deepEqual(answers, ['q!', 'q!', 'q!']);

      const target = sockets[1]!;
      const direct = collect(target, 'direct');
      await nodes[0]!.call('remote', { id: target.id, op: 'emit', event: 'direct', args: ['to you'] });
      await until(() => direct.length === 1, 'an emit to one remote socket');
    });

    test('connection state recovery: a client that lost its connection comes back, on any node, with what it missed', async () => {
      const { nodes } = fleet!;
      const socket = await opened(client({ reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100 }));
      const news = collect(socket, 'news');
      await nodes[0]!.call('broadcast', { event: 'news', args: [1] });
      await until(() => news.length === 1, 'the first broadcast');
      const id = socket.id;
      socket.io.engine.close(); // the server sees a transport close: a recoverable reason
      await nodes[1]!.call('broadcast', { event: 'news', args: [2] });
      await nodes[2]!.call('broadcast', { event: 'news', args: [3] });
      await until(() => socket.connected && news.length === 3, 'the reconnection with the missed broadcasts', 10_000);
      assert.equal(socket.recovered, true);
      assert.equal(socket.id, id);
      // 2 and 3 come from two nodes, whose writes to the stream may land in either order: each
      // arrives once, in the stream's order (the offset, a stream entry id, is the last argument).
      assert.deepEqual(news.map((args) => args[0]).sort(), [1, 2, 3]);
      const offsets = news.map((args) => String(args.at(-1)).split('-').map(Number) as [number, number]);
      for (let i = 1; i < offsets.length; i++) {
        const [[ms0, seq0], [ms1, seq1]] = [offsets[i - 1]!, offsets[i]!];
        assert.ok(ms1 > ms0 || (ms1 === ms0 && seq1 > seq0), `delivered in stream order: ${news.map((a) => a.at(-1)).join(', ')}`);
      }
    });
  });
}

describe('the same fleet without the session router fails behind round-robin (the balancer is not sticky)', { skip }, () => {
  const prefix = uniquePrefix('nosticky-off');
  let fleet: Fleet | undefined;
  before(async () => {
    fleet = await startFleet(prefix, { NO_ROUTER: '1' });
  });
  after(() => stopFleet(fleet, prefix));

  test('a polling client is refused by the nodes that do not know its session', async () => {
    const failures = await Promise.all([0, 1, 2].map(async () => {
      const socket = connect(fleet!.balancer.url, { forceNew: true, reconnection: false, transports: ['polling'] });
      try {
        await opened(socket);
        for (let i = 0; i < 6; i++) await socket.timeout(2000).emitWithAck('whoami');
        return false;
      } catch {
        return true;
      } finally {
        socket.disconnect();
      }
    }));
    assert.ok(failures.every(Boolean), 'every client lost its session');
  });
});
