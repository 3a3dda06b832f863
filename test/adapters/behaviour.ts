// Behaviour every cluster adapter must show with three server nodes and clients spread across them.
// Registered inside a describe() by pubsub.test.ts, streams.test.ts and node-cluster.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { Socket as ClientSocket } from 'socket.io-client';
import { collect, connectClient, connected, deleteKeys, sleep, startNode, startWorkerCluster, uniquePrefix, until, type ServerNode, type WorkerCluster } from './helpers.js';

/**
 * Redis adapters run as three processes; 'ipc' as three node:cluster workers of one primary. The
 * mixed fleets alternate real socket.io nodes (@socket.io/redis-adapter) and switchboard nodes
 * speaking its format, starting with the one named.
 */
type AdapterKind = 'pubsub' | 'sharded' | 'streams' | 'ipc' | 'mixed:switchboard-first' | 'mixed:socket.io-first';

const socketIONode = fileURLToPath(new URL('./fixtures/socketio-node.ts', import.meta.url));

/** `env` (read when the nodes start): more environment for every node, e.g. a Redis Cluster's address. */
export function clusterBehaviour(adapter: AdapterKind, options: { env?: () => Record<string, string> } = {}): void {
  const nodes: ServerNode[] = [];
  /** clients[i] is connected to nodes[i % 3]. */
  const clients: ClientSocket[] = [];
  const ids: string[] = [];
  const prefix = uniquePrefix(adapter);
  let workers: WorkerCluster | undefined;

  before(async () => {
    if (adapter === 'ipc') {
      workers = await startWorkerCluster({ workers: 3 });
      nodes.push(...workers.nodes);
    } else if (adapter.startsWith('mixed:')) {
      const socketIOAt = adapter === 'mixed:socket.io-first' ? 0 : 1;
      const start = (name: string, i: number) =>
        startNode({ name, adapter: 'socket.io-format', prefix, fixture: i % 2 === socketIOAt ? socketIONode : undefined });
      nodes.push(...(await Promise.all(['A', 'B', 'C'].map(start))));
    } else {
      const kind = adapter as 'pubsub' | 'sharded' | 'streams';
      const env = options.env?.();
      nodes.push(...(await Promise.all(['A', 'B', 'C'].map((name) => startNode({ name, adapter: kind, prefix, env })))));
    }
    await until(async () => (await Promise.all(nodes.map((n) => n.call<number>('serverCount')))).every((c) => c === 3), 'nodes to see each other');
    for (let i = 0; i < 6; i++) clients.push(await connected(connectClient(nodes[i % 3]!.port, { auth: { tag: `c${i}` } })));
    ids.push(...clients.map((c) => c.id!));
  });

  after(async () => {
    for (const c of clients) c.disconnect();
    if (workers) return workers.close();
    await Promise.all(nodes.map((n) => n.kill()));
    if (!options.env) await deleteKeys(prefix);
  });

  /** Sends one event and waits until every client that should get it did, then a little longer. */
  async function expectDelivery(event: string, send: () => Promise<unknown>, expected: number[]): Promise<void> {
    const got = clients.map((c) => collect(c, event));
    await send();
    await until(() => expected.every((i) => got[i]!.length > 0), `${event} to reach clients ${expected}`);
    await sleep(100); // give wrong recipients a chance to show up
    const receivers = got.flatMap((g, i) => (g.length > 0 ? [i] : []));
    assert.deepEqual(receivers, expected, `${event} receivers`);
    for (const i of expected) assert.equal(got[i]!.length, 1, `client ${i} got ${event} once`);
    for (const c of clients) c.off(event);
  }

  test('every node counts the others (heartbeats)', async () => {
    for (const n of nodes) assert.equal(await n.call('serverCount'), 3);
  });

  test('broadcast to everyone reaches the clients of every node, binary included', async () => {
    const got = clients.map((c) => collect(c, 'all'));
    await nodes[0]!.call('broadcast', { event: 'all', args: ['hello', { n: 1, bytes: Buffer.from([0, 255]) }] });
    await until(() => got.every((g) => g.length === 1), 'broadcast to reach all clients');
    for (const g of got) assert.deepEqual(g[0], ['hello', { n: 1, bytes: Buffer.from([0, 255]) }]);
    for (const c of clients) c.off('all');
  });

  test('broadcast to a room, with except, across nodes', async () => {
    // clients 0 (A), 1 (B), 4 (B) join "red"; client 1 also joins "muted"
    for (const i of [0, 1, 4]) await clients[i]!.emitWithAck('join', 'red');
    await clients[1]!.emitWithAck('join', 'muted');
    await expectDelivery('room', () => nodes[2]!.call('broadcast', { event: 'room', rooms: ['red'] }), [0, 1, 4]);
    await expectDelivery('except', () => nodes[2]!.call('broadcast', { event: 'except', rooms: ['red'], except: ['muted'] }), [0, 4]);
    await expectDelivery('all-but', () => nodes[0]!.call('broadcast', { event: 'all-but', except: ['red'] }), [2, 3, 5]);
    // a socket id is a room too
    await expectDelivery('direct', () => nodes[0]!.call('broadcast', { event: 'direct', rooms: [ids[5]] }), [5]);
  });

  test('local broadcasts stay on their node; volatile ones cross nodes', async () => {
    await expectDelivery('local', () => nodes[1]!.call('broadcast', { event: 'local', local: true }), [1, 4]);
    await expectDelivery('volatile', () => nodes[1]!.call('broadcast', { event: 'volatile', volatile: true }), [0, 1, 2, 3, 4, 5]);
  });

  test('fetchSockets returns the sockets of every node, with data and rooms', async () => {
    const sockets = await nodes[0]!.call<{ id: string; rooms: string[]; data: { node: string; tag: string } }[]>('fetchSockets', {});
    assert.deepEqual(sockets.map((s) => s.id).sort(), [...ids].sort());
    for (const s of sockets) {
      const i = ids.indexOf(s.id);
      assert.deepEqual(s.data, { node: 'ABC'[i % 3], tag: `c${i}` });
      assert.ok(s.rooms.includes(s.id));
    }
    const red = await nodes[2]!.call<{ id: string }[]>('fetchSockets', { rooms: ['red'] });
    assert.deepEqual(red.map((s) => s.id).sort(), [ids[0], ids[1], ids[4]].sort());
    const local = await nodes[2]!.call<{ id: string }[]>('fetchSockets', { local: true });
    assert.deepEqual(local.map((s) => s.id).sort(), [ids[2], ids[5]].sort());
  });

  test('remote sockets can be emitted to, joined, left and disconnected', async () => {
    // client 4 lives on node B; node A acts on it
    const got = collect(clients[4]!, 'private');
    await nodes[0]!.call('remote', { id: ids[4], op: 'emit', event: 'private', args: [42] });
    await until(() => got.length === 1, 'remote emit');
    assert.deepEqual(got[0], [42]);
    clients[4]!.on('question', (x: number, ack: (r: number) => void) => ack(x * 2));
    assert.equal(await nodes[0]!.call('remote', { id: ids[4], op: 'emitWithAck', event: 'question', args: [21] }), 42);

    await nodes[0]!.call('remote', { id: ids[4], op: 'join', room: 'blue' });
    await until(async () => (await clients[4]!.emitWithAck('rooms')).includes('blue'), 'remote join');
    await nodes[2]!.call('remote', { id: ids[4], op: 'leave', room: 'blue' });
    await until(async () => !(await clients[4]!.emitWithAck('rooms')).includes('blue'), 'remote leave');
  });

  test('socketsJoin / socketsLeave act on the selection on every node', async () => {
    await nodes[2]!.call('socketsJoin', { rooms: ['red'], room: 'green' });
    await until(async () => (await nodes[1]!.call<unknown[]>('fetchSockets', { rooms: ['green'] })).length === 3, 'socketsJoin');
    const green = await nodes[1]!.call<{ id: string }[]>('fetchSockets', { rooms: ['green'] });
    assert.deepEqual(green.map((s) => s.id).sort(), [ids[0], ids[1], ids[4]].sort());
    await nodes[0]!.call('socketsLeave', { except: [ids[4]!], room: 'green' });
    await until(async () => (await nodes[1]!.call<unknown[]>('fetchSockets', { rooms: ['green'] })).length === 1, 'socketsLeave');
    const left = await nodes[2]!.call<{ id: string }[]>('fetchSockets', { rooms: ['green'] });
    assert.deepEqual(left.map((s) => s.id), [ids[4]]);
  });

  test('serverSideEmit reaches the other nodes; acks come back from each', async () => {
    await nodes[0]!.call('serverSideEmit', { event: 'notify', args: ['x', Buffer.from([1, 2, 3])] });
    for (const n of [nodes[1]!, nodes[2]!]) {
      await until(async () => (await n.call<unknown[][]>('serverEvents')).some((e) => e[0] === 'notify'), `notify on ${n.name}`);
      const ev = (await n.call<unknown[][]>('serverEvents')).find((e) => e[0] === 'notify')!;
      // IPC turns the Buffer into its JSON form; what matters is that the bytes arrived
      assert.deepEqual(ev, ['notify', 'x', { type: 'Buffer', data: [1, 2, 3] }]);
    }
    assert.equal((await nodes[0]!.call<unknown[][]>('serverEvents')).length, 0, 'the sender does not receive its own event');
    const { responses } = await nodes[1]!.call<{ responses: string[] }>('serverSideEmitWithAck', { event: 'ping-node', args: ['hi'] });
    assert.deepEqual([...responses].sort(), ['A:hi', 'C:hi']);
  });

  test('serverSideEmit acks time out when a node does not answer (typed error)', async () => {
    const result = await nodes[0]!.call<{ error?: string }>('serverSideEmitWithAck', { event: 'silent' });
    if (adapter === 'mixed:socket.io-first') assert.match(result.error!, /^timeout reached: only 0 responses received out of 2$/);
    else assert.equal(result.error, 'REQUEST_TIMEOUT');
  });

  test('broadcast acks collect the answers of every node’s clients', async () => {
    clients.forEach((c, i) => c.on('poll', (ack: (r: string) => void) => ack(`c${i}`)));
    const answers = await nodes[2]!.call<string[]>('broadcastWithAck', { event: 'poll', timeout: 3000 });
    assert.deepEqual([...answers].sort(), ['c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
    const red = await nodes[0]!.call<string[]>('broadcastWithAck', { event: 'poll', rooms: ['red'], timeout: 3000 });
    assert.deepEqual([...red].sort(), ['c0', 'c1', 'c4']);
  });

  test('disconnectSockets across nodes', async () => {
    const gone = [clients[3]!, clients[5]!].map((c) => new Promise((resolve) => c.once('disconnect', resolve)));
    await nodes[1]!.call('disconnectSockets', { rooms: [ids[3], ids[5]] });
    assert.deepEqual(await Promise.all(gone), ['io server disconnect', 'io server disconnect']);
    await until(async () => (await nodes[0]!.call<unknown[]>('fetchSockets', {})).length === 4, 'sockets to be gone');
  });

  test('a node that dies is dropped: requests wait only for live nodes', async () => {
    await nodes[2]!.kill('SIGKILL');
    // fetchSockets started right away would wait for C until the heartbeat timeout, not the request timeout
    const sockets = await nodes[0]!.call<{ id: string }[]>('fetchSockets', {});
    assert.deepEqual(sockets.map((s) => s.id).sort(), [ids[0], ids[1], ids[4]].sort());
    for (const n of [nodes[0]!, nodes[1]!]) await until(async () => (await n.call('serverCount')) === 2, `C to be dropped by ${n.name}`);
    const { responses } = await nodes[0]!.call<{ responses: string[] }>('serverSideEmitWithAck', { event: 'ping-node', args: ['again'] });
    assert.deepEqual(responses, ['B:again']);
  });
}
