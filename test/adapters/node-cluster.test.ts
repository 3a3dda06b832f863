import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket as ClientSocket } from 'socket.io-client';
import { clusterBehaviour } from './behaviour.js';
import { collect, connectClient, connected, startWorkerCluster, until } from './helpers.js';

describe('node:cluster IPC adapter: three workers of one primary', () => {
  clusterBehaviour('ipc');
});

function whoami(socket: ClientSocket): Promise<string> {
  return socket.timeout(5000).emitWithAck('whoami');
}

test('IPC adapter behind the sticky front: polling and WebSocket clients of every worker share rooms and broadcasts', async () => {
  const cluster = await startWorkerCluster({ workers: 3 });
  const clients: ClientSocket[] = [];
  after(async () => {
    for (const c of clients) c.disconnect();
    await cluster.close();
  });
  for (let i = 0; i < 6; i++) {
    const transports = i % 2 === 0 ? ['polling'] : ['polling', 'websocket'];
    clients.push(await connected(connectClient(cluster.port, { transports })));
  }
  const homes = await Promise.all(clients.map(whoami));
  assert.deepEqual(new Set(homes), new Set(['A', 'B', 'C']), 'round-robin spreads the clients over the workers');

  for (const [i, c] of clients.entries()) if (i < 3) await c.emitWithAck('join', 'first-half');
  const got = clients.map((c) => collect(c, 'news'));
  await cluster.nodes[2]!.call('broadcast', { event: 'news', rooms: ['first-half'], compress: false, args: [Buffer.from([1, 2])] });
  await cluster.nodes[1]!.call('broadcast', { event: 'news', except: ['first-half'], volatile: true, args: ['rest'] });
  await until(() => got.every((g) => g.length === 1), 'both broadcasts to reach their clients on every worker');
  got.slice(0, 3).forEach((g) => assert.deepEqual(g[0], [Buffer.from([1, 2])]));
  got.slice(3).forEach((g) => assert.deepEqual(g[0], ['rest']));

  // The polling sessions kept their worker through every request of the test.
  assert.deepEqual(await Promise.all(clients.map(whoami)), homes);
});

test('a killed worker is replaced, every worker stops counting it at once, and its clients come back', async () => {
  // Heartbeats would take a minute to notice: only the primary's exit notice can drop the worker in time.
  const cluster = await startWorkerCluster({ workers: 2, respawn: true, heartbeatTimeout: 60_000 });
  const clients: ClientSocket[] = [];
  after(async () => {
    for (const c of clients) c.disconnect();
    await cluster.close();
  });
  for (let i = 0; i < 4; i++) {
    clients.push(await connected(connectClient(cluster.port, { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300 })));
  }
  const homes = await Promise.all(clients.map(whoami));
  const victims = clients.filter((_, i) => homes[i] === 'A');
  assert.ok(victims.length > 0 && victims.length < clients.length);
  const oldIds = victims.map((c) => c.id);
  const reconnected = victims.map((c) => new Promise((resolve) => c.once('disconnect', () => c.once('connect', () => resolve(c.id)))));

  const replaced = cluster.respawned(0);
  await cluster.nodes[0]!.kill('SIGKILL');
  await until(async () => (await cluster.nodes[1]!.call('serverCount')) === 1, 'B to drop the dead worker', 5000);
  await replaced;
  await Promise.all(reconnected);
  for (const c of victims) assert.ok(c.connected && !oldIds.includes(c.id), 'a new session after the worker died');

  await until(async () => (await cluster.nodes[1]!.call('serverCount')) === 2, 'B to count the replacement');
  const got = clients.map((c) => collect(c, 'after'));
  await cluster.nodes[1]!.call('broadcast', { event: 'after' });
  await until(() => got.every((g) => g.length === 1), 'a broadcast from B to reach every client, those of the dead worker too');
  const fetched = await cluster.nodes[0]!.call<{ id: string }[]>('fetchSockets', {});
  assert.deepEqual(fetched.map((s) => s.id).sort(), clients.map((c) => c.id).sort(), 'the replacement sees every client');
});

test('connection state recovery outlives a worker: its clients, on another worker, get their id, rooms, data and missed broadcasts', async () => {
  const cluster = await startWorkerCluster({ workers: 2, recovery: true, heartbeatTimeout: 60_000 });
  const clients: ClientSocket[] = [];
  after(async () => {
    for (const c of clients) c.disconnect();
    await cluster.close();
  });
  // Reconnection by hand (connect()) so the broadcasts below certainly happen while they are away.
  for (let i = 0; i < 4; i++) {
    const transports = i < 2 ? ['polling'] : ['polling', 'websocket'];
    clients.push(await connected(connectClient(cluster.port, { transports, auth: { tag: `c${i}` } })));
  }
  const homes = await Promise.all(clients.map(whoami));
  const onA = clients.filter((_, i) => homes[i] === 'A');
  const onB = clients.filter((_, i) => homes[i] === 'B');
  assert.ok(onA.length === 2 && onB.length === 2, 'round-robin puts two clients on each worker');
  // loud: in "news", has received events before the crash (an offset); quiet: received nothing.
  const [loud, quiet] = onA as [ClientSocket, ClientSocket];
  const watcher = onB[0]!;
  await loud.emitWithAck('join', 'news');
  await watcher.emitWithAck('join', 'news');
  const got = new Map(clients.map((c) => [c, collect(c, 'news')]));
  await cluster.nodes[1]!.call('broadcast', { event: 'news', rooms: ['news'], args: [1] });
  await cluster.nodes[0]!.call('broadcast', { event: 'news', rooms: ['news'], args: [2, Buffer.from([7])] });
  await until(() => got.get(loud)!.length === 2 && got.get(watcher)!.length === 2, 'the first broadcasts');
  const before = { loud: { id: loud.id }, quiet: { id: quiet.id } };

  const down = onA.map((c) => new Promise((resolve) => c.once('disconnect', resolve)));
  await cluster.nodes[0]!.kill('SIGKILL');
  await Promise.all(down);
  await until(async () => (await cluster.nodes[1]!.call('serverCount')) === 1, 'B to drop the dead worker');

  // Missed while away: two to the room, one to everybody, one to a room neither was in.
  await cluster.nodes[1]!.call('broadcast', { event: 'news', rooms: ['news'], args: [3] });
  await cluster.nodes[1]!.call('broadcast', { event: 'news', args: ['all'] });
  await cluster.nodes[1]!.call('broadcast', { event: 'news', rooms: ['elsewhere'], args: ['not for them'] });
  await cluster.nodes[1]!.call('broadcast', { event: 'news', rooms: ['news'], args: [4, { when: new Date(0) }] });

  for (const c of onA) c.connect();
  await Promise.all(onA.map((c) => connected(c)));
  for (const c of onA) assert.equal(c.recovered, true, 'recovered on the surviving worker');
  assert.deepEqual(await Promise.all(onA.map(whoami)), ['B', 'B']);
  assert.equal(loud.id, before.loud.id);
  assert.equal(quiet.id, before.quiet.id);
  assert.deepEqual(await loud.emitWithAck('rooms'), [loud.id, 'news']);
  assert.deepEqual(await quiet.emitWithAck('rooms'), [quiet.id]);
  const fetched = await cluster.nodes[1]!.call<{ id: string; data: any }[]>('fetchSockets', {});
  assert.deepEqual(fetched.find((s) => s.id === loud.id)?.data, { node: 'A', tag: (loud.auth as { tag: string }).tag }, 'data set by the dead worker');

  await until(() => got.get(loud)!.length === 5 && got.get(quiet)!.length === 1, 'the missed broadcasts');
  // socket.io-client leaves the offset (a string) as the last argument.
  const offsets = (c: ClientSocket) => got.get(c)!.map((args) => args.at(-1) as string);
  const values = (c: ClientSocket) => got.get(c)!.map((args) => args.slice(0, -1));
  assert.deepEqual(values(loud), [[1], [2, Buffer.from([7])], [3], ['all'], [4, { when: new Date(0).toISOString() }]]);
  assert.deepEqual(values(quiet), [['all']], 'a client that had received nothing gets what was sent since it connected');
  assert.equal(offsets(quiet)[0], offsets(loud)[3], 'one offset per broadcast, the same on every worker');
  assert.equal(new Set(offsets(watcher)).size, offsets(watcher).length);

  // And they are members again: the next broadcast reaches them once.
  await cluster.nodes[1]!.call('broadcast', { event: 'news', rooms: ['news'], args: [5] });
  await until(() => got.get(loud)!.length === 6 && got.get(watcher)!.length === 6, 'a broadcast after the recovery');
  assert.deepEqual(got.get(watcher)!.map((a) => a[0]), [1, 2, 3, 'all', 4, 5]);
  assert.deepEqual(offsets(loud), offsets(watcher), 'the recovered client and the watcher saw the same log');
  assert.equal(got.get(quiet)!.length, 1);
});
