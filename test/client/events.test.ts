// Events, acknowledgements, binary, namespaces, auth and options against real servers: the
// official socket.io@4 server and ours, over every transport configuration.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { io, Manager, type Socket } from '../../src/client/index.js';
import { connected, once, serverKinds, sleep, startServer, transportMatrix, until, type TestServer } from './helpers.js';

for (const kind of serverKinds) {
  for (const { name, transports } of transportMatrix) {
    describe(`client ↔ ${kind} server (${name})`, () => {
      let server: TestServer;
      const sockets: Socket<any, any>[] = [];
      const client = (path = '/', opts: Record<string, unknown> = {}) => {
        const socket = io(server.url + path, { forceNew: true, transports, reconnectionDelay: 20, ...opts });
        sockets.push(socket);
        return socket;
      };

      before(async () => {
        server = await startServer(kind, {}, (io) => {
          io.on('connection', (socket: any) => {
            socket.emit('welcome', socket.id, socket.handshake.auth, socket.handshake.query.room ?? null);
            socket.on('echo', (...args: any[]) => {
              const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
              if (ack) ack(...args);
              else socket.emit('echo', ...args);
            });
            socket.on('silent', () => {});
            socket.on('message', (...args: unknown[]) => socket.emit('message-back', ...args));
            socket.on('headers', (ack: (h: unknown) => void) => ack(socket.handshake.headers));
            socket.on('transport', (ack: (name: string) => void) => ack(socket.conn.transport.name));
            socket.on('ask', async (ack: (answer: unknown) => void) => {
              const answer = await socket.timeout(1000).emitWithAck('question', 'what?');
              ack(answer);
            });
            socket.on('kick', () => socket.disconnect());
            socket.on('join', (room: string, ack: () => void) => {
              socket.join(room);
              ack();
            });
            socket.on('shout', (room: string, text: string) => io.to(room).emit('shout', text));
          });
          io.of('/admin').use((socket: any, next: (err?: Error) => void) => {
            if (socket.handshake.auth.token === 'secret') return next();
            const err = new Error('not authorized') as Error & { data?: unknown };
            err.data = { hint: 'send a token' };
            next(err);
          });
          io.of('/admin').on('connection', (socket: any) => {
            socket.on('whoami', (ack: (nsp: string, id: string) => void) => ack(socket.nsp.name, socket.id));
          });
        });
      });
      after(async () => {
        for (const socket of sockets) socket.disconnect();
        await server.close();
      });

      test('connects, gets an id distinct from the engine id, receives events', async () => {
        const socket = client();
        const [id, auth] = await once(socket, 'welcome');
        assert.equal(socket.connected, true);
        assert.equal(socket.disconnected, false);
        assert.equal(socket.active, true);
        assert.equal(socket.id, id);
        assert.notEqual(socket.id, socket.io.engine.id);
        assert.deepEqual(auth, {});
        assert.equal(socket.recovered, false);
      });

      test('emit with ack, timeout(ms).emit, emitWithAck', async () => {
        const socket = client();
        await connected(socket);
        const reply = await new Promise<any[]>((resolve) => socket.emit('echo', 1, 'two', { three: [3] }, (...args: any[]) => resolve(args)));
        assert.deepEqual(reply, [1, 'two', { three: [3] }]);
        assert.equal(await socket.emitWithAck('echo', 'x'), 'x');
        assert.equal(await socket.timeout(1000).emitWithAck('echo', 'y'), 'y');
        const [err, value] = await new Promise<any[]>((resolve) => socket.timeout(1000).emit('echo', 'z', (...args: any[]) => resolve(args)));
        assert.equal(err, null);
        assert.equal(value, 'z');
        const timedOut = await new Promise<any[]>((resolve) => socket.timeout(50).emit('silent', (...args: any[]) => resolve(args)));
        assert.ok(timedOut[0] instanceof Error);
        await assert.rejects(socket.timeout(50).emitWithAck('silent'), /timed out/);
      });

      test('ackTimeout option applies when no explicit timeout is given', async () => {
        const socket = client('/', { ackTimeout: 500 }); // long enough for the echo on a loaded machine
        await connected(socket);
        await assert.rejects(socket.emitWithAck('silent'), /timed out/);
        assert.equal(await socket.emitWithAck('echo', 'ok'), 'ok');
      });

      test('answers server acknowledgements (server emitWithAck)', async () => {
        const socket = client();
        socket.on('question', (text: string, ack: (answer: string) => void) => ack(`answer to ${text}`));
        await connected(socket);
        assert.equal(await socket.emitWithAck('ask'), 'answer to what?');
      });

      test('binary both ways, nested and as acknowledgement', async () => {
        const socket = client();
        await connected(socket);
        const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
        const [a, nested, text] = await new Promise<any[]>((resolve) =>
          socket.emit('echo', bytes.buffer, { deep: [bytes.subarray(1, 3)] }, 'text', (...args: any[]) => resolve(args)),
        );
        assert.ok(Buffer.isBuffer(a));
        assert.deepEqual([...a], [...bytes]);
        assert.deepEqual([...nested.deep[0]], [1, 2]);
        assert.equal(text, 'text');
        socket.emit('echo', Buffer.alloc(3000, 7));
        const [big] = await once(socket, 'echo');
        assert.equal(big.length, 3000);
        assert.ok(big.every((b: number) => b === 7));
      });

      test('Blob arguments are read and sent as binary', async () => {
        const socket = client();
        await connected(socket);
        const blob = new Blob([new Uint8Array([9, 8, 7])]);
        socket.emit('echo', 'first');
        const [back] = await Promise.all([
          socket.emitWithAck('echo', blob),
          once(socket, 'echo'),
        ]);
        assert.deepEqual([...back], [9, 8, 7]);
      });

      test('onAny, onAnyOutgoing, prependAny, offAny, once, off', async () => {
        const socket = client();
        const incoming: unknown[][] = [];
        const outgoing: unknown[][] = [];
        const anyListener = (...args: unknown[]) => incoming.push(args);
        socket.onAny(anyListener);
        socket.prependAny(() => incoming.push(['first']));
        socket.onAnyOutgoing((...args) => outgoing.push(args));
        let onceCount = 0;
        socket.once('echo', () => onceCount++);
        const removed = () => assert.fail('removed listener called');
        socket.on('echo', removed);
        socket.off('echo', removed);
        await connected(socket);
        socket.emit('echo', 'a');
        socket.emit('echo', 'b');
        await until(() => incoming.filter((e) => e[0] === 'echo').length === 2);
        assert.equal(onceCount, 1);
        assert.deepEqual(outgoing, [['echo', 'a'], ['echo', 'b']]);
        assert.equal(socket.listenersAny().length, 2);
        assert.equal(socket.listenersAnyOutgoing().length, 1);
        socket.offAny(anyListener);
        assert.equal(socket.listenersAny().length, 1);
        socket.offAnyOutgoing();
        assert.equal(socket.listenersAnyOutgoing().length, 0);
        assert.deepEqual(incoming[0], ['first']);
      });

      test('reserved event names cannot be emitted', () => {
        const socket = client('/', { autoConnect: false });
        for (const name of ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']) {
          assert.throws(() => socket.emit(name), /reserved/);
        }
      });

      test('auth as an object and as a function (called on every connection)', async () => {
        const plain = client('/', { auth: { token: 'abc' } });
        assert.deepEqual((await once(plain, 'welcome'))[1], { token: 'abc' });
        let calls = 0;
        const dynamic = client('/', { auth: (cb: (data: object) => void) => cb({ call: ++calls }) });
        assert.deepEqual((await once(dynamic, 'welcome'))[1], { call: 1 });
      });

      test('query (option and URL), extraHeaders', async () => {
        const socket = client('/?room=lobby', { extraHeaders: { 'x-test': 'yes' } });
        const [, , room] = await once(socket, 'welcome');
        assert.equal(room, 'lobby');
        const headers = await socket.emitWithAck('headers');
        assert.equal(headers['x-test'], 'yes');
        const other = client('/', { query: { room: 'garden' } });
        assert.equal((await once(other, 'welcome'))[2], 'garden');
      });

      test('transport as configured (upgrade when offered)', async () => {
        const socket = client();
        await connected(socket);
        if (transports.length === 2) {
          if (socket.io.engine.transport.name !== 'websocket') await once(socket.io.engine, 'upgrade');
          await until(() => !socket.io.engine.upgrading);
        }
        const expected = transports.includes('websocket') ? 'websocket' : 'polling';
        assert.equal(socket.io.engine.transport.name, expected);
        assert.equal(await socket.emitWithAck('transport'), expected);
      });

      test('namespaces are multiplexed over one connection; middleware errors carry data', async () => {
        const root = io(server.url, { transports });
        sockets.push(root);
        await connected(root);
        const denied = io(server.url + '/admin', { transports });
        sockets.push(denied);
        assert.equal(denied.io, root.io, 'same Manager for the same origin');
        const [err] = await once(denied, 'connect_error');
        assert.equal(err.message, 'not authorized');
        assert.deepEqual(err.data, { hint: 'send a token' });
        assert.equal(denied.active, false);
        denied.auth = { token: 'secret' };
        denied.connect();
        await connected(denied);
        const [nsp, id] = await new Promise<any[]>((resolve) => denied.emit('whoami', (...args: any[]) => resolve(args)));
        assert.equal(nsp, '/admin');
        assert.equal(id, denied.id);
        assert.notEqual(denied.id, root.id);
        assert.equal(server.io.engine.clientsCount >= 1, true);
        // Leaving one namespace keeps the connection for the other.
        denied.disconnect();
        await sleep(20);
        assert.equal(root.connected, true);
        assert.equal(await root.emitWithAck('echo', 'still here'), 'still here');
      });

      test('unknown namespace → connect_error "Invalid namespace"', async () => {
        const socket = client('/nowhere');
        const [err] = await once(socket, 'connect_error');
        assert.match(err.message, /Invalid namespace/);
      });

      test('forceNew and multiplex:false open separate connections; same namespace twice too', async () => {
        const a = io(server.url, { transports });
        const b = io(server.url, { transports });
        const c = io(server.url + '/admin', { transports, multiplex: false, auth: { token: 'secret' } });
        sockets.push(a, b, c);
        await Promise.all([connected(a), connected(b), connected(c)]);
        assert.notEqual(a.io, b.io);
        assert.notEqual(c.io, a.io);
        assert.notEqual(c.io, b.io);
      });

      test('rooms: broadcasts reach members only', async () => {
        const alice = client();
        const bob = client();
        await Promise.all([connected(alice), connected(bob)]);
        await alice.emitWithAck('join', 'kitchen');
        const heard: string[] = [];
        bob.on('shout', (text: string) => heard.push(text));
        const got = once(alice, 'shout');
        bob.emit('shout', 'kitchen', 'dinner!');
        assert.deepEqual(await got, ['dinner!']);
        await sleep(30);
        assert.deepEqual(heard, []);
      });

      test('server-side disconnect: "io server disconnect", no reconnection', async () => {
        const socket = client();
        await connected(socket);
        socket.emit('kick');
        const [reason] = await once(socket, 'disconnect');
        assert.equal(reason, 'io server disconnect');
        assert.equal(socket.active, false);
        await sleep(80);
        assert.equal(socket.connected, false);
      });

      test('client disconnect: "io client disconnect"; connect() again works', async () => {
        const socket = client();
        await connected(socket);
        const firstId = socket.id;
        const gone = once(socket, 'disconnect');
        socket.disconnect();
        assert.deepEqual(await gone, ['io client disconnect', undefined]);
        assert.equal(socket.id, undefined);
        socket.connect();
        await connected(socket);
        assert.notEqual(socket.id, firstId);
      });

      test('emits before connection are buffered and sent in order; volatile ones dropped', async () => {
        const socket = client('/', { autoConnect: false });
        const got: unknown[] = [];
        socket.on('echo', (value: unknown) => got.push(value));
        socket.emit('echo', 1);
        socket.volatile.emit('echo', 'volatile');
        socket.compress(false).emit('echo', 2);
        assert.equal(socket.sendBuffer.length, 2);
        socket.connect();
        await until(() => got.length === 2);
        await sleep(30);
        assert.deepEqual(got, [1, 2]);
        // Connected and writable: volatile goes through.
        socket.volatile.emit('echo', 3);
        await until(() => got.length === 3);
      });

      test('send() emits "message"', async () => {
        const socket = client();
        await connected(socket);
        const back = once(socket, 'message-back');
        socket.send('hi', 2);
        assert.deepEqual(await back, ['hi', 2]);
      });

      test('Manager used directly; manager events', async () => {
        const manager = new Manager(server.url, { transports, reconnectionDelay: 20 });
        const events: string[] = [];
        manager.on('open', () => events.push('open'));
        manager.on('ping', () => events.push('ping'));
        const socket = manager.socket('/');
        sockets.push(socket);
        await connected(socket);
        await once(manager, 'ping');
        assert.deepEqual(events.slice(0, 2), ['open', 'ping']);
        assert.equal(manager.socket('/'), socket);
        assert.equal(manager.reconnection(), true);
        assert.equal(manager.reconnectionDelay(), 20);
        manager.reconnectionDelayMax(100).randomizationFactor(0).reconnectionAttempts(3).timeout(1000);
        assert.equal(manager.reconnectionDelayMax(), 100);
        assert.equal(manager.randomizationFactor(), 0);
        assert.equal(manager.reconnectionAttempts(), 3);
        assert.equal(manager.timeout(), 1000);
      });
    });
  }
}
