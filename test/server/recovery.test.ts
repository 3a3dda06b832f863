// Connection state recovery with the official socket.io-client.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once, setup, until, upgraded, TRANSPORT_MODES, type TransportMode } from './helpers.js';
import type { Socket } from '../../src/server/index.js';

for (const mode of Object.keys(TRANSPORT_MODES) as TransportMode[]) {
  describe(`connection state recovery over ${mode}`, () => {
    test('a client reconnecting in time gets its id, rooms, data and every missed event, in order, once', async (t) => {
      const h = await setup(t, { connectionStateRecovery: { maxDisconnectionDuration: 5000 } }, mode);
      let middlewareRuns = 0;
      h.io.use((_s, next) => {
        middlewareRuns++;
        next();
      });
      const serverSockets: Socket[] = [];
      h.io.on('connection', (s) => {
        serverSockets.push(s);
        if (!s.recovered) {
          void s.join('room1');
          s.data = { user: 'alice' };
        }
      });
      const c = h.client('/', { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 50 });
      const received: unknown[] = [];
      c.on('n', (n: number) => received.push(n));
      await once(c, 'connect');
      if (mode === 'upgrade') await upgraded(c);
      const first = serverSockets[0]!;
      const id = c.id;
      h.io.emit('n', 1);
      await until(() => received.length === 1);

      // Cut the transport; events emitted meanwhile are missed by the client.
      const gone = once(first, 'disconnect');
      c.io.engine.close();
      await gone;
      h.io.emit('n', 2);
      h.io.to('room1').emit('n', 3);
      h.io.to('other-room').emit('n', 999);
      h.io.except('room1').emit('n', 998);
      h.io.volatile.emit('n', 997); // volatile: not stored

      await once(c, 'connect');
      await until(() => received.length >= 3);
      const second = serverSockets[1]!;
      assert.equal(c.recovered, true);
      assert.equal(second.recovered, true);
      assert.equal(c.id, id);
      assert.equal(second.id, first.id);
      assert.ok(second.rooms.has('room1'));
      assert.deepEqual(second.data, { user: 'alice' });
      assert.equal(middlewareRuns, 1, 'skipMiddlewares by default');
      h.io.emit('n', 4);
      await until(() => received.length >= 4);
      assert.deepEqual(received, [1, 2, 3, 4]);
    });

    test('a client that received no event (socket.io-client then sends no offset) is recovered too', async (t) => {
      const h = await setup(t, { connectionStateRecovery: { maxDisconnectionDuration: 5000 } }, mode);
      h.io.emit('n', 0); // stored before the client connects: not for it
      const serverSockets: Socket[] = [];
      h.io.on('connection', (s) => {
        serverSockets.push(s);
        if (!s.recovered) void s.join('quiet');
      });
      const c = h.client('/', { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 50 });
      const received: unknown[] = [];
      c.on('n', (n: number) => received.push(n));
      await once(c, 'connect');
      if (mode === 'upgrade') await upgraded(c);
      const id = c.id;

      const gone = once(serverSockets[0]!, 'disconnect');
      c.io.engine.close();
      await gone;
      h.io.to('quiet').emit('n', 1);
      h.io.to('elsewhere').emit('n', 999);

      await once(c, 'connect');
      await until(() => received.length >= 1);
      assert.equal(c.recovered, true);
      assert.equal(c.id, id);
      assert.ok(serverSockets[1]!.rooms.has('quiet'));
      h.io.emit('n', 2);
      await until(() => received.length >= 2);
      assert.deepEqual(received, [1, 2]);
    });
  });
}

test('CONNECT reply carries pid only with recovery; no recovery after expiry or unknown offset', async (t) => {
  const h = await setup(t, { connectionStateRecovery: { maxDisconnectionDuration: 50, skipMiddlewares: false } });
  const c = h.client('/', { reconnection: true, reconnectionDelay: 200, reconnectionDelayMax: 200 });
  const [s] = await once<[Socket]>(h.io, 'connection');
  await once(c, 'connect');
  assert.equal(typeof s.pid, 'string');
  h.io.emit('n', 1);
  await once(c, 'n');
  const gone = once(s, 'disconnect');
  c.io.engine.close();
  await gone;
  // the 200 ms reconnection delay exceeds maxDisconnectionDuration (50 ms)
  await once(c, 'connect');
  assert.equal(c.recovered, false);
  assert.notEqual(c.id, s.id);

  const adapter = h.io.sockets.adapter;
  await adapter.persistSession({ sid: 'x', pid: 'p1', rooms: ['x'], data: {} });
  assert.equal(await adapter.restoreSession('p1', 'no-such-offset'), null);
  assert.equal(await adapter.restoreSession('p1', 'no-such-offset'), null, 'a session is consumed by the first attempt');
});

test('namespace-level disconnects are not recoverable; recovery off = no pid', async (t) => {
  const h = await setup(t);
  const c = h.client();
  const [s] = await once<[Socket]>(h.io, 'connection');
  await once(c, 'connect');
  assert.equal(s.pid, undefined);
  const { RECOVERABLE_DISCONNECT_REASONS } = await import('../../src/server/index.js');
  assert.equal(RECOVERABLE_DISCONNECT_REASONS.has('client namespace disconnect'), false);
  assert.equal(RECOVERABLE_DISCONNECT_REASONS.has('server namespace disconnect'), false);
  assert.equal(RECOVERABLE_DISCONNECT_REASONS.has('transport close'), true);
});
