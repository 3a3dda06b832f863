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
