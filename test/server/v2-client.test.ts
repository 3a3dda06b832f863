// The real socket.io-client 2 (Socket.IO protocol v4 on Engine.IO v3) against our server with
// `allowEIO3: true`: what an old mobile app does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import ioV2, { type SioV2Socket } from 'socket.io-client-v2';
import { Server, type ServerOptions } from '../../src/server/index.js';
import { once, until } from './helpers.js';

const MODES = {
  polling: { transports: ['polling'] },
  websocket: { transports: ['websocket'] },
  upgrade: { transports: ['polling', 'websocket'] },
} as const;

async function setupV2(t: TestContext, opts: ServerOptions = {}) {
  const httpServer = createServer();
  const io = new Server(httpServer, { allowEIO3: true, pingInterval: 5000, pingTimeout: 5000, ...opts });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  const clients: SioV2Socket[] = [];
  t.after(async () => {
    for (const c of clients) c.close();
    await io.close();
  });
  const client = (nsp = '/', options: Record<string, unknown> = {}) => {
    const socket = ioV2(url + nsp, { forceNew: true, reconnection: false, ...options });
    clients.push(socket);
    return socket;
  };
  return { io, url, client };
}

test('socket.io-client 2 is refused without allowEIO3 (the default)', async (t) => {
  const { client } = await setupV2(t, { allowEIO3: false });
  const socket = client('/', { transports: ['polling'] });
  const [err] = await once(socket, 'connect_error');
  assert.match(String((err as Error).message ?? err), /xhr poll error/);
});

for (const [mode, transport] of Object.entries(MODES)) {
  test(`socket.io-client 2 over ${mode}: implied connect, events, acks both ways, binary, rooms`, async (t) => {
    const { io, client } = await setupV2(t);
    io.on('connection', (socket) => {
      socket.on('echo', (value: unknown, ack: (v: unknown) => void) => ack(value));
      socket.on('join', (room: string, ack: () => void) => {
        void socket.join(room);
        ack();
      });
      socket.on('shout', (room: string, text: string) => io.to(room).emit('news', text));
    });
    const a = client('/', transport);
    const b = client('/', transport);
    const c = client('/', transport);
    for (const s of [a, b, c]) s.on('question', (q: string, ack: (v: string) => void) => ack(`${q} yes`));
    await Promise.all([once(a, 'connect'), once(b, 'connect'), once(c, 'connect')]);
    if (mode === 'upgrade') await until(() => a.io.engine.transport.name === 'websocket');
    const serverSocket = [...io.of('/').sockets.values()].find((s) => s.conn.id === a.io.engine.id)!;
    assert.equal(serverSocket.conn.protocol, 3);

    // client → server with ack: JSON and binary (attachments travel as Engine.IO binary messages)
    assert.deepEqual(await new Promise((resolve) => a.emit('echo', { text: 'héllo', list: [1, 2] }, resolve)), { text: 'héllo', list: [1, 2] });
    const bytes = await new Promise<Buffer>((resolve) => a.emit('echo', { nested: Buffer.from([0, 1, 255]) }, (v: { nested: Buffer }) => resolve(v.nested)));
    assert.deepEqual([...bytes], [0, 1, 255]);

    // server → client with ack, and a binary event
    assert.equal(await serverSocket.timeout(3000).emitWithAck('question', 'ok?'), 'ok? yes');
    const gotBinary = once(a, 'blob');
    serverSocket.emit('blob', Buffer.from([9, 8, 7]), 'tail');
    const [blob, tail] = await gotBinary;
    assert.deepEqual([...(blob as Buffer)], [9, 8, 7]);
    assert.equal(tail, 'tail');

    // rooms: a and b join, c does not
    await Promise.all([a, b].map((s) => new Promise((resolve) => s.emit('join', 'lobby', resolve))));
    const missed: unknown[] = [];
    c.on('news', (n: unknown) => missed.push(n));
    const heard = Promise.all([once(a, 'news'), once(b, 'news')]);
    c.emit('shout', 'lobby', 'hello lobby');
    assert.deepEqual(await heard, [['hello lobby'], ['hello lobby']]);
    assert.deepEqual(missed, []);
  });
}

test('socket.io-client 2: a custom namespace with a query (it becomes handshake.auth)', async (t) => {
  const { io, client } = await setupV2(t);
  const seen: Array<{ auth: unknown; query: unknown }> = [];
  io.of('/admin').on('connection', (socket) => {
    seen.push({ auth: { ...socket.handshake.auth }, query: socket.handshake.query.app });
    socket.emit('welcome', socket.nsp.name);
  });
  const rootConnections: string[] = [];
  io.on('connection', (socket) => rootConnections.push(socket.id));
  const admin = client('/admin', { query: { token: 'abc', role: 'ops' }, transports: ['polling', 'websocket'] });
  const [nsp] = await once(admin, 'welcome');
  assert.equal(nsp, '/admin');
  assert.deepEqual(seen, [{ auth: { token: 'abc', role: 'ops' }, query: undefined }]);
  // The v4 protocol implies the main namespace on every connection, as socket.io does.
  assert.equal(rootConnections.length, 1);
});

test('socket.io-client 2: middleware refusals and unknown namespaces reach the client as errors', async (t) => {
  const { io, client } = await setupV2(t);
  io.of('/locked').use((_socket, next) => next(Object.assign(new Error('not allowed'), { data: { reason: 'token' } })));
  io.of('/plain').use((_socket, next) => next(new Error('go away')));
  const locked = client('/locked', { transports: ['websocket'] });
  assert.deepEqual((await once(locked, 'error'))[0], { reason: 'token' });
  const plain = client('/plain', { transports: ['websocket'] });
  assert.equal((await once(plain, 'error'))[0], 'go away');
  const unknown = client('/nowhere', { transports: ['websocket'] });
  assert.equal((await once(unknown, 'error'))[0], 'Invalid namespace');
});

test('socket.io-client 2 reconnects after the server drops the connection', async (t) => {
  const { io, client } = await setupV2(t);
  const socket = client('/', { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100, transports: ['websocket'] });
  await once(socket, 'connect');
  const server = [...io.of('/').sockets.values()][0]!;
  const reasons: string[] = [];
  socket.on('disconnect', (reason: string) => reasons.push(reason));
  server.conn.close();
  await once(socket, 'reconnect');
  assert.equal(reasons[0], 'transport close');
  await until(() => io.of('/').sockets.size === 1 && [...io.of('/').sockets.values()][0] !== server);
  const fresh = [...io.of('/').sockets.values()][0]!;
  fresh.once('again', (ack: (v: string) => void) => ack('still here'));
  assert.equal(await new Promise((resolve) => socket.emit('again', resolve)), 'still here');
});
