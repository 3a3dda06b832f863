// State that idle connections keep small: a client's namespace sockets (a field for the first, a Map
// only for more), and the session's upgrade request, which an application may drop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Manager } from 'socket.io-client';
import { once, setup, until } from './helpers.js';
import type { Socket } from '../../src/server/index.js';

test('one connection, three namespaces: leaving the first keeps the others, in join order', async (t) => {
  const h = await setup(t);
  for (const name of ['/', '/a', '/b']) {
    h.io.of(name).on('connection', (socket) => {
      socket.on('echo', (value: unknown, ack: (v: unknown) => void) => ack([name, value]));
    });
  }
  const manager = new Manager(h.url, { transports: ['websocket'], reconnection: false });
  t.after(() => manager.engine?.close());
  const connected = once<[Socket]>(h.io.of('/b'), 'connection');
  const sockets = ['/', '/a', '/b'].map((name) => manager.socket(name));
  await Promise.all(sockets.map((s) => once(s, 'connect')));
  const client = (await connected)[0].client;
  assert.deepEqual([...client.nsps.keys()], ['/', '/a', '/b']);
  assert.equal(client.sockets.size, 3);

  sockets[0]!.disconnect();
  await until(() => client.nsps.size === 2);
  assert.deepEqual([...client.nsps.keys()], ['/a', '/b']);
  assert.deepEqual(await sockets[1]!.emitWithAck('echo', 1), ['/a', 1]);
  assert.deepEqual(await sockets[2]!.emitWithAck('echo', 2), ['/b', 2]);

  // Back to the main namespace: it now comes after the others.
  sockets[0]!.connect();
  await once(sockets[0]!, 'connect');
  assert.deepEqual([...client.nsps.keys()], ['/a', '/b', '/']);
  assert.deepEqual(await sockets[0]!.emitWithAck('echo', 3), ['/', 3]);

  sockets[1]!.disconnect();
  sockets[2]!.disconnect();
  await until(() => client.nsps.size === 1);
  assert.deepEqual(await sockets[0]!.emitWithAck('echo', 4), ['/', 4]);
  assert.equal(client.conn.readyState, 'open');
});

test('an application may drop the session request to save memory: empty handshake headers, the rest works', async (t) => {
  const h = await setup(t);
  h.io.engine!.on('connection', (session: { request: unknown }) => {
    session.request = null;
  });
  const connected = once<[Socket]>(h.io, 'connection');
  h.io.on('connection', (socket) => {
    socket.on('echo', (value: unknown, ack: (v: unknown) => void) => ack(value));
  });
  const c = h.client('/', { auth: { token: 'abc' }, extraHeaders: { 'x-test': 'yes' } });
  const [socket] = await connected;
  await once(c, 'connect');
  assert.deepEqual(socket.handshake.headers, {});
  assert.equal(socket.handshake.url, '');
  assert.deepEqual(socket.handshake.auth, { token: 'abc' });
  assert.equal(socket.handshake.address, '127.0.0.1');
  assert.equal(await c.emitWithAck('echo', 'hi'), 'hi');
});

/** Fields an idle session keeps small (read from outside for the test). */
const internals = (socket: Socket) => socket.conn as unknown as { transitions: unknown; heartbeat: { due: number } };

test('an idle session holds no upgrade or close state, and its heartbeat time is a whole number of ms', async (t) => {
  const h = await setup(t);
  const connected = once<[Socket]>(h.io, 'connection');
  h.client('/');
  const [socket] = await connected;
  assert.equal(internals(socket).transitions, undefined);
  assert.ok(Number.isInteger(internals(socket).heartbeat.due));
  const before = Date.now();
  assert.ok(socket.handshake.issued <= before && socket.handshake.issued > before - 5000);
  assert.equal(socket.handshake.time, new Date(socket.handshake.issued).toString());
});

test('after the polling → WebSocket upgrade, the session drops the probe state', async (t) => {
  const h = await setup(t, {}, 'upgrade');
  const connected = once<[Socket]>(h.io, 'connection');
  const c = h.client('/');
  const [socket] = await connected;
  await until(() => socket.conn.upgraded);
  assert.equal(socket.conn.transport.name, 'websocket');
  assert.equal(internals(socket).transitions, undefined);
  socket.on('echo', (value: unknown, ack: (v: unknown) => void) => ack(value));
  assert.equal(await c.emitWithAck('echo', 'after upgrade'), 'after upgrade');
});
