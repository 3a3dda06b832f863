// Interop with the official socket.io-client@4, for every feature, over websocket only, polling
// only, and polling upgraded to websocket.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { delay, once, setup, until, upgraded, TRANSPORT_MODES, type TransportMode } from './helpers.js';
import type { Socket } from '../../src/server/index.js';

for (const mode of Object.keys(TRANSPORT_MODES) as TransportMode[]) {
  describe(`socket.io-client over ${mode}`, () => {
    test('connects to / with a handshake, socket id ≠ engine id, own room', async (t) => {
      const h = await setup(t, {}, mode);
      const connected = once<[Socket]>(h.io, 'connection');
      const c = h.client('/', { auth: { token: 'abc' }, query: { q: '1' }, extraHeaders: { 'x-test': 'yes' } });
      const [socket] = await connected;
      await once(c, 'connect');
      assert.equal(c.id, socket.id);
      assert.notEqual(socket.id, socket.conn.id);
      assert.equal(socket.id.length, 20);
      assert.deepEqual(socket.handshake.auth, { token: 'abc' });
      assert.equal(socket.handshake.query.q, '1');
      assert.equal(socket.handshake.query.EIO, '4');
      assert.equal(socket.handshake.headers['x-test'], 'yes');
      assert.equal(socket.handshake.address, '127.0.0.1');
      assert.equal(socket.handshake.secure, false);
      assert.equal(typeof socket.handshake.issued, 'number');
      assert.match(socket.handshake.url, /^\/socket\.io\/\?/);
      assert.deepEqual([...socket.rooms], [socket.id]);
      assert.equal(socket.recovered, false);
      if (mode === 'upgrade') {
        await upgraded(c);
        await until(() => socket.conn.transport.name === 'websocket');
      }
    });

    test('events and acks both ways, with binary anywhere', async (t) => {
      const h = await setup(t, {}, mode);
      h.io.on('connection', (socket) => {
        socket.on('echo', (...args: unknown[]) => {
          const ack = args.pop() as (...a: unknown[]) => void;
          ack(...args);
        });
        socket.on('ask-client', async (ack: (v: unknown) => void) => {
          const answer = await socket.emitWithAck('question', { n: 41, bin: Buffer.from([7]) });
          ack(answer);
        });
      });
      const c = h.client();
      c.on('question', (q: { n: number; bin: ArrayBuffer }, ack: (v: unknown) => void) => ack({ n: q.n + 1, bin: q.bin }));
      await once(c, 'connect');
      const payload = ['text', 42, { nested: [Buffer.from('deep'), { b: new Uint8Array([1, 2, 3]) }] }, null, true];
      const echoed = await c.emitWithAck('echo', ...payload);
      assert.equal(echoed, 'text');
      const all = await new Promise<unknown[]>((resolve) => c.emit('echo', ...payload, (...a: unknown[]) => resolve(a)));
      assert.equal(all[1], 42);
      const nested = (all[2] as { nested: [Uint8Array, { b: Uint8Array }] }).nested;
      assert.equal(Buffer.from(nested[0]).toString(), 'deep');
      assert.deepEqual([...new Uint8Array(nested[1].b)], [1, 2, 3]);
      const fromClient = (await c.emitWithAck('ask-client')) as { n: number; bin: Uint8Array };
      assert.equal(fromClient.n, 42);
      assert.deepEqual([...new Uint8Array(fromClient.bin)], [7]);
    });

    test('timeout acks: server waits, then errors; emitWithAck rejects', async (t) => {
      const h = await setup(t, {}, mode);
      const c = h.client();
      const [socket] = await once<[Socket]>(h.io, 'connection');
      await once(c, 'connect');
      const err = await new Promise<Error | null>((resolve) => socket.timeout(50).emit('never-answered', (e: Error | null) => resolve(e)));
      assert.match(String(err?.message), /timed out/);
      await assert.rejects(socket.timeout(50).emitWithAck('never-answered'), /timed out/);
    });

    test('server timeout ack succeeds when the client answers in time', async (t) => {
      const h = await setup(t, {}, mode);
      const c = h.client();
      c.on('q', (ack: (v: number) => void) => ack(5));
      const [socket] = await once<[Socket]>(h.io, 'connection');
      const [err, value] = await new Promise<[Error | null, number]>((resolve) => socket.timeout(2000).emit('q', (e: Error | null, v: number) => resolve([e, v])));
      assert.equal(err, null);
      assert.equal(value, 5);
      assert.equal(await socket.timeout(2000).emitWithAck('q'), 5);
    });

    test('namespaces: static, dynamic by RegExp and by function, multiplexed; unknown → connect_error', async (t) => {
      const h = await setup(t, {}, mode);
      h.io.of('/static').on('connection', (s) => s.emit('where', s.nsp.name));
      h.io.of(/^\/dyn-\d+$/).on('connection', (s) => s.emit('where', s.nsp.name));
      h.io.of((name, auth, next) => next(null, name === '/fn' && auth.ok === true)).on('connection', (s) => s.emit('where', s.nsp.name));
      const created: string[] = [];
      h.io.on('new_namespace', (nsp) => created.push(nsp.name));
      const forceNewFalse = { forceNew: false };
      const root = h.client('/', forceNewFalse);
      await once(root, 'connect');
      const a = h.client('/static', forceNewFalse);
      const b = h.client('/dyn-12', forceNewFalse);
      const f = h.client('/fn', { ...forceNewFalse, auth: { ok: true } });
      assert.deepEqual(await Promise.all([once(a, 'where'), once(b, 'where'), once(f, 'where')]), [['/static'], ['/dyn-12'], ['/fn']]);
      assert.equal(a.io, root.io, 'multiplexed on one Manager');
      assert.equal(h.io.engine!.clientsCount, 1, 'one engine connection');
      assert.ok(created.includes('/dyn-12') && created.includes('/fn'));
      const unknown = h.client('/nope', forceNewFalse);
      const [err] = await once<[Error]>(unknown, 'connect_error');
      assert.equal(err.message, 'Invalid namespace');
      const fnRefused = h.client('/fn2', forceNewFalse);
      assert.equal((await once<[Error]>(fnRefused, 'connect_error'))[0].message, 'Invalid namespace');
      // the others are unaffected
      await delay(20);
      assert.equal(a.connected && b.connected && f.connected && root.connected, true);
    });

    test('middleware: io.use and namespace.use errors reach the client with data', async (t) => {
      const h = await setup(t, {}, mode);
      h.io.use((socket, next) => {
        if (socket.handshake.auth.token !== 'good') {
          const err = new Error('not authorized') as Error & { data?: unknown };
          err.data = { content: 'retry later' };
          return next(err);
        }
        socket.data.user = 'alice';
        next();
      });
      h.io.of('/admin').use((_socket, next) => next(new Error('admins only')));
      const seen: string[] = [];
      h.io.on('connection', (s) => seen.push(s.data.user));
      const bad = h.client('/', { auth: { token: 'bad' } });
      const [err] = await once<[Error & { data?: unknown }]>(bad, 'connect_error');
      assert.equal(err.message, 'not authorized');
      assert.deepEqual(err.data, { content: 'retry later' });
      const good = h.client('/', { auth: { token: 'good' } });
      await once(good, 'connect');
      assert.deepEqual(seen, ['alice']);
      const admin = h.client('/admin', { forceNew: false });
      assert.equal((await once<[Error]>(admin, 'connect_error'))[0].message, 'admins only');
      assert.equal(good.connected, true);
    });

    test('socket.use runs for incoming packets and can reject them', async (t) => {
      const h = await setup(t, {}, mode);
      const received: string[] = [];
      const errors: string[] = [];
      h.io.on('connection', (s) => {
        s.use(([event], next) => (event === 'forbidden' ? next(new Error('nope')) : next()));
        s.on('error', (e) => errors.push(e.message));
        s.on('allowed', () => received.push('allowed'));
        s.on('forbidden', () => received.push('forbidden'));
      });
      const c = h.client();
      await once(c, 'connect');
      c.emit('forbidden');
      c.emit('allowed');
      await until(() => received.length === 1 && errors.length === 1);
      assert.deepEqual(received, ['allowed']);
      assert.deepEqual(errors, ['nope']);
    });

    test('onAny, prependAny, offAny, onAnyOutgoing', async (t) => {
      const h = await setup(t, {}, mode);
      const log: string[] = [];
      h.io.on('connection', (s) => {
        const late = (ev: string) => log.push('any:' + ev);
        s.onAny(late);
        s.prependAny((ev: string) => log.push('first:' + ev));
        s.onAnyOutgoing((ev: string, arg: unknown) => log.push(`out:${ev}:${arg}`));
        s.on('stop', () => {
          s.offAny(late);
          s.emit('bye', 1);
        });
        s.emit('hello', 0);
      });
      const c = h.client();
      await once(c, 'hello');
      c.emit('a');
      c.emit('stop');
      c.emit('b');
      await once(c, 'bye');
      await until(() => log.includes('first:b'));
      assert.deepEqual(log, ['out:hello:0', 'first:a', 'any:a', 'first:stop', 'any:stop', 'out:bye:1', 'first:b']);
      assert.equal(h.io.sockets.sockets.size, 1);
      const [s] = [...h.io.sockets.sockets.values()];
      assert.equal(s!.listenersAny().length, 1);
      assert.equal(s!.listenersAnyOutgoing().length, 1);
    });

    test('reserved event names are refused', async (t) => {
      const h = await setup(t, {}, mode);
      const c = h.client();
      const [socket] = await once<[Socket]>(h.io, 'connection');
      await once(c, 'connect');
      for (const name of ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']) {
        assert.throws(() => (socket.emit as (ev: string) => void)(name), /reserved/);
        assert.throws(() => (h.io.emit as (ev: string) => void)(name), /reserved/);
      }
    });

    test('disconnecting (rooms still there) then disconnect with the reason, both directions', async (t) => {
      const h = await setup(t, {}, mode);
      const events: string[] = [];
      h.io.on('connection', (s) => {
        void s.join('room-a');
        s.on('disconnecting', (reason) => events.push(`disconnecting:${reason}:${[...s.rooms].includes('room-a')}`));
        s.on('disconnect', (reason) => events.push(`disconnect:${reason}:${s.rooms.size}`));
      });
      const c1 = h.client();
      await once(c1, 'connect');
      c1.disconnect();
      await until(() => events.length === 2);
      assert.deepEqual(events, ['disconnecting:client namespace disconnect:true', 'disconnect:client namespace disconnect:0']);
      const c2 = h.client();
      const [s2] = await once<[Socket]>(h.io, 'connection');
      await once(c2, 'connect');
      const clientSide = once<[string]>(c2, 'disconnect');
      s2.disconnect();
      assert.equal((await clientSide)[0], 'io server disconnect');
      assert.equal(events[3], 'disconnect:server namespace disconnect:0');
    });

    test('disconnect(true) closes the whole connection', async (t) => {
      const h = await setup(t, {}, mode);
      const root = h.client('/', { forceNew: false });
      await once(root, 'connect');
      const other = h.client('/other', { forceNew: false });
      const [s] = await once<[Socket]>(h.io.of('/other'), 'connection');
      await once(other, 'connect');
      const reasons: string[] = [];
      for (const socket of [...h.io.sockets.sockets.values(), s]) socket.on('disconnect', (r) => reasons.push(r));
      s.disconnect(true);
      await until(() => reasons.length === 2);
      assert.deepEqual(reasons, ['forced server close', 'forced server close']);
      await until(() => h.io.engine!.clientsCount === 0);
    });

    test('client transport loss gives transport close', async (t) => {
      const h = await setup(t, {}, mode);
      const c = h.client();
      const [s] = await once<[Socket]>(h.io, 'connection');
      await once(c, 'connect');
      if (mode === 'upgrade') await upgraded(c);
      const reason = once<[string]>(s, 'disconnect');
      c.io.engine.close();
      assert.match((await reason)[0], /transport close|forced close/);
    });

    test('socket.data and fetchSockets / socketsJoin / socketsLeave / disconnectSockets', async (t) => {
      const h = await setup(t, {}, mode);
      h.io.on('connection', (s) => {
        s.data = { name: s.handshake.auth.name };
        void s.join('everyone');
      });
      const a = h.client('/', { auth: { name: 'a' } });
      const b = h.client('/', { auth: { name: 'b' } });
      await Promise.all([once(a, 'connect'), once(b, 'connect')]);
      const sockets = await h.io.fetchSockets();
      assert.deepEqual(sockets.map((s) => s.data.name).sort(), ['a', 'b']);
      const sa = sockets.find((s) => s.data.name === 'a')!;
      assert.ok(sa.rooms.has('everyone'));
      h.io.in(sa.id).socketsJoin(['vip']);
      assert.deepEqual((await h.io.in('vip').fetchSockets()).map((s) => s.id), [sa.id]);
      const got = once(a, 'vip-news');
      h.io.to('vip').emit('vip-news', 1);
      await got;
      h.io.socketsLeave('vip');
      assert.equal((await h.io.in('vip').fetchSockets()).length, 0);
      assert.deepEqual([...(await h.io.allSockets())].sort(), sockets.map((s) => s.id).sort());
      // RemoteSocket operations
      const remoteEvent = once(a, 'direct');
      sa.emit('direct', 'x');
      assert.deepEqual(await remoteEvent, ['x']);
      a.on('q', (ack: (v: string) => void) => ack('answer'));
      const single = await new Promise<unknown[]>((resolve) => sa.timeout(1000).emit('q', (...r: unknown[]) => resolve(r)));
      assert.deepEqual(single, [null, 'answer']);
      sa.join('r2');
      assert.ok((await h.io.in('r2').fetchSockets()).length === 1);
      sa.leave('r2');
      const dis = once<[string]>(a, 'disconnect');
      h.io.except('nobody').in('everyone').except(sockets.find((s) => s.data.name === 'b')!.id).disconnectSockets();
      assert.equal((await dis)[0], 'io server disconnect');
      assert.equal(b.connected, true);
      const disB = once<[string]>(b, 'disconnect');
      h.io.disconnectSockets(true);
      assert.ok(['io server disconnect', 'transport close'].includes((await disB)[0]));
    });
  });
}
