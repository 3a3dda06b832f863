// Rooms and broadcasting with the official socket.io-client over the three transport modes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket as ClientSocket } from 'socket.io-client';
import { delay, once, setup, until, TRANSPORT_MODES, type Harness, type TransportMode } from './helpers.js';
import type { Socket } from '../../src/server/index.js';

/** Connects `n` clients and returns them with their server sockets, in order. */
async function connectMany(h: Harness, n: number, nsp = '/'): Promise<{ clients: ClientSocket[]; sockets: Socket[] }> {
  const clients: ClientSocket[] = [];
  const sockets: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const serverSide = once<[Socket]>(h.io.of(nsp), 'connection');
    const c = h.client(nsp);
    const [s] = await serverSide;
    await once(c, 'connect');
    clients.push(c);
    sockets.push(s);
  }
  return { clients, sockets };
}

/** Records which clients got `event` (by index). */
function record(clients: ClientSocket[], event: string): number[][] {
  const got: number[][] = clients.map(() => []);
  clients.forEach((c, i) => c.on(event, (n: number) => got[i]!.push(n)));
  return got;
}

for (const mode of Object.keys(TRANSPORT_MODES) as TransportMode[]) {
  describe(`broadcasting over ${mode}`, () => {
    test('to / in / except / socket.broadcast / socket.to / own room', async (t) => {
      const h = await setup(t, {}, mode);
      const { clients, sockets } = await connectMany(h, 4);
      await sockets[0]!.join(['red', 'all']);
      await sockets[1]!.join(['red', 'blue', 'all']);
      await sockets[2]!.join(['blue', 'all']);
      const got = record(clients, 'n');
      h.io.to('red').emit('n', 1); // 0, 1
      h.io.to('red').to('blue').emit('n', 2); // union: 0, 1, 2 (1 once)
      h.io.in('all').except('blue').emit('n', 3); // 0
      sockets[0]!.broadcast.emit('n', 4); // 1, 2, 3
      sockets[1]!.to('red').emit('n', 5); // 0 (not the sender)
      h.io.to(sockets[3]!.id).emit('n', 6); // 3
      h.io.emit('n', 7); // all
      sockets[2]!.except('red').emit('n', 8); // everyone but red and the sender: 3
      h.io.except(['red', 'blue']).emit('n', 9); // 3
      await until(() => got[3]!.includes(9) && got[0]!.includes(7) && got[1]!.includes(7) && got[2]!.includes(7));
      await delay(30);
      assert.deepEqual(got, [
        [1, 2, 3, 5, 7],
        [1, 2, 4, 7],
        [2, 4, 7],
        [4, 6, 7, 8, 9],
      ]);
    });

    test('join/leave emits adapter events; rooms are per namespace', async (t) => {
      const h = await setup(t, {}, mode);
      const events: string[] = [];
      const adapter = h.io.sockets.adapter;
      for (const ev of ['create-room', 'delete-room', 'join-room', 'leave-room']) adapter.on(ev, (room: string) => !room.startsWith('/') && room.length < 20 && events.push(`${ev}:${room}`));
      const { sockets } = await connectMany(h, 1);
      const s = sockets[0]!;
      await s.join('x');
      await s.join('x');
      assert.ok(s.rooms.has('x'));
      await s.leave('x');
      assert.ok(!s.rooms.has('x'));
      assert.deepEqual(events, ['create-room:x', 'join-room:x', 'leave-room:x', 'delete-room:x']);
      assert.equal(h.io.of('/other').adapter.rooms.size, 0);
    });

    test('broadcast with acks collects every answer; timeout reports the missing ones', async (t) => {
      const h = await setup(t, {}, mode);
      const { clients } = await connectMany(h, 3);
      clients.forEach((c, i) => c.on('vote', (ack: (n: number) => void) => i !== 2 && ack(i * 10)));
      clients[2]!.on('vote-all', (ack: (n: number) => void) => ack(20));
      clients[0]!.on('vote-all', (ack: (n: number) => void) => ack(0));
      clients[1]!.on('vote-all', (ack: (n: number) => void) => ack(10));
      const all = await h.io.timeout(2000).emitWithAck('vote-all');
      assert.deepEqual([...(all as number[])].sort((a, b) => a - b), [0, 10, 20]);
      const [err, partial] = await new Promise<[Error | null, number[]]>((resolve) =>
        h.io.timeout(100).emit('vote', (e: Error | null, r: number[]) => resolve([e, r])),
      );
      assert.match(String(err?.message), /timed out/);
      assert.deepEqual([...partial].sort((a, b) => a - b), [0, 10]);
      // no recipients: answered at once, with no responses
      assert.deepEqual(await h.io.to('empty-room').timeout(1000).emitWithAck('vote'), []);
      // broadcast acks need a timeout
      assert.throws(() => (h.io.emit as (...a: unknown[]) => void)('vote', () => {}), /timeout/);
      // unanswered broadcast acks do not stay registered on the silent socket
      const silent = [...h.io.sockets.sockets.values()].find((s) => s.id === clients[2]!.id)!;
      assert.equal((silent as unknown as { acks?: Map<number, unknown> }).acks?.size ?? 0, 0);
    });

    test('volatile, local and compress flags deliver to connected clients', async (t) => {
      const h = await setup(t, {}, mode);
      const { clients, sockets } = await connectMany(h, 2);
      const got = record(clients, 'n');
      h.io.local.emit('n', 1);
      h.io.compress(false).emit('n', 2);
      sockets[0]!.compress(true).emit('n', 3);
      sockets[0]!.local.emit('n', 4);
      await until(() => got[0]!.length === 3 && got[1]!.length === 3);
      if (mode !== 'polling') {
        // volatile: dropped only when the transport cannot write right now; an idle WebSocket can
        // (one at a time: a second volatile packet queued behind the first would be dropped)
        await until(() => sockets.every((s) => s.conn.bufferedAmount === 0));
        sockets[0]!.volatile.emit('n', 5);
        await until(() => got[0]!.includes(5));
        h.io.volatile.emit('n', 6);
        await until(() => got[0]!.includes(6) && got[1]!.includes(6));
      }
      assert.deepEqual(got[0]!.slice(0, 3), [1, 2, 3]);
      assert.deepEqual(got[1]!.slice(0, 3), [1, 2, 4]);
    });

    test('serverSideEmit with one node: no other servers, ack gets no responses', async (t) => {
      const h = await setup(t, {}, mode);
      const received: unknown[] = [];
      h.io.on('ping-servers' as never, (...args: unknown[]) => {
        received.push(args);
      });
      h.io.serverSideEmit('ping-servers', 1);
      assert.deepEqual(await h.io.serverSideEmitWithAck('ping-servers'), []);
      assert.deepEqual(received, [], 'a server does not receive its own server-side events');
      h.io.sockets._onServerSideEmit(['ping-servers', 'from-another-node']);
      assert.deepEqual(received, [['from-another-node']]);
      assert.throws(() => (h.io.serverSideEmit as (ev: string) => void)('connect'), /reserved/);
    });

    test('a parent namespace emits to all its children', async (t) => {
      const h = await setup(t, {}, mode);
      const parent = h.io.of(/^\/team-\w+$/);
      const a = h.client('/team-a');
      const b = h.client('/team-b');
      await Promise.all([once(a, 'connect'), once(b, 'connect')]);
      const both = Promise.all([once(a, 'all'), once(b, 'all')]);
      parent.emit('all', 'teams');
      assert.deepEqual(await both, [['teams'], ['teams']]);
      const onlyA = once(a, 'mine');
      h.io.of('/team-a').emit('mine', 1);
      assert.deepEqual(await onlyA, [1]);
    });
  });
}

test('cleanupEmptyChildNamespaces removes an empty dynamic child', async (t) => {
  const h = await setup(t, { cleanupEmptyChildNamespaces: true });
  const parent = h.io.of(/^\/tmp-\d+$/) as unknown as { children: Set<unknown> };
  const c = h.client('/tmp-1');
  await once(c, 'connect');
  assert.equal(parent.children.size, 1);
  c.disconnect();
  await until(() => parent.children.size === 0);
});

test('a broadcast is encoded and framed once for every recipient', async (t) => {
  const h = await setup(t);
  const { clients } = await connectMany(h, 5);
  const engine = h.io.engine!;
  const prepare = engine.prepare.bind(engine);
  const prepared: unknown[] = [];
  engine.prepare = (data) => {
    prepared.push(data);
    return prepare(data);
  };
  t.after(() => {
    engine.prepare = prepare;
  });
  const got = Promise.all(clients.map((c) => once(c, 'news')));
  h.io.emit('news', 'hello', Buffer.from([1, 2]));
  const answers = await got;
  assert.equal(prepared.length, 2, 'one text part + one attachment, for five clients');
  for (const [text, bin] of answers) {
    assert.equal(text, 'hello');
    assert.deepEqual([...new Uint8Array(bin as ArrayBuffer)], [1, 2]);
  }
  prepared.length = 0;
  h.io.to('nobody-here').emit('news', 'x');
  assert.equal(prepared.length, 0, 'nothing encoded without recipients');
});
