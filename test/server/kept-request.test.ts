// socket.request of a WebSocket connection, which the session keeps small until it is read: the
// same IncomingMessage as socket.io gives for the same client, one object for socket.request,
// socket.conn.request and socket.client.request, sharing its headers with socket.handshake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as PeerServer, type Socket as PeerSocket } from 'socket.io';
import { io as ioc } from 'socket.io-client';
import { KeptRequest } from '../../src/engine/kept-request.js';
import { once, setup } from './helpers.js';
import type { Socket } from '../../src/server/index.js';

const held = (socket: Socket): unknown => (socket.conn as unknown as { openedBy: unknown }).openedBy;

const EXTRA_HEADERS = { 'X-User': 'ada', Cookie: 'a=1', 'User-Agent': 'kept-request-test' };

/** Header values that differ between two connections of the same client: its port, its random key. */
function normalized(headers: Record<string, unknown>): Record<string, unknown> {
  return { ...headers, host: 'host', 'sec-websocket-key': 'key' };
}
function normalizedRaw(raw: string[]): string[] {
  return raw.map((value, i) => (i % 2 === 1 && /^(host|sec-websocket-key)$/i.test(raw[i - 1]!) ? 'x' : value));
}

/** What socket.io's request has that is engine.io's, not node:http's (not kept by the engine; see the README). */
const ENGINE_IO_FIELDS = new Set<string | symbol>(['_query', 'websocket']);

test('socket.request is the IncomingMessage socket.io gives for the same client', async (t) => {
  const h = await setup(t);
  const oursConnected = once<[Socket]>(h.io, 'connection');
  const client = h.client('/', { extraHeaders: EXTRA_HEADERS });
  const [socket] = await oursConnected;
  await once(client, 'connect');
  assert.ok(held(socket) instanceof KeptRequest, 'kept small until read');

  const peerHttp = createServer();
  const peer = new PeerServer(peerHttp);
  await new Promise<void>((resolve) => peerHttp.listen(0, '127.0.0.1', resolve));
  t.after(() => peer.close());
  const peerConnected = once<[PeerSocket]>(peer, 'connection');
  const peerClient = ioc(`http://127.0.0.1:${(peerHttp.address() as AddressInfo).port}`, {
    transports: ['websocket'], forceNew: true, reconnection: false, extraHeaders: EXTRA_HEADERS,
  });
  t.after(() => peerClient.disconnect());
  const [peerSocket] = await peerConnected;

  const ours = socket.request;
  const theirs = peerSocket.request;
  assert.ok(ours instanceof IncomingMessage);
  assert.equal(Object.getPrototypeOf(ours), Object.getPrototypeOf(theirs));
  const ownKeys = (req: IncomingMessage) => Reflect.ownKeys(req).filter((k) => !ENGINE_IO_FIELDS.has(k) && k.toString() !== 'Symbol(switchboard.clientAddress)').map(String);
  assert.deepEqual(ownKeys(ours), ownKeys(theirs));
  for (const name of ['url', 'method', 'httpVersion', 'httpVersionMajor', 'httpVersionMinor', 'complete', 'upgrade', 'aborted',
    'statusCode', 'statusMessage', 'readable', 'readableEnded', 'readableFlowing', 'readableLength', 'destroyed'] as const) {
    assert.equal((ours as unknown as Record<string, unknown>)[name], (theirs as unknown as Record<string, unknown>)[name], name);
  }
  assert.deepEqual(normalized(ours.headers), normalized(theirs.headers));
  assert.deepEqual(normalizedRaw(ours.rawHeaders), normalizedRaw(theirs.rawHeaders));
  assert.deepEqual(ours.trailers, theirs.trailers);
  assert.equal(ours.headers['x-user'], 'ada');
  assert.equal(ours.socket, ours.connection);
  assert.equal(ours.socket.remoteAddress, theirs.socket.remoteAddress);
  assert.equal(socket.handshake.address, '127.0.0.1');
});

test('socket.request, socket.conn.request and socket.client.request are one object, built once', async (t) => {
  const h = await setup(t);
  const connected = once<[Socket]>(h.io, 'connection');
  h.client('/', { extraHeaders: EXTRA_HEADERS });
  const [socket] = await connected;
  const request = socket.request;
  assert.equal(socket.conn.request, request);
  assert.equal(socket.client.request, request);
  assert.equal(socket.request, request);
  assert.equal(held(socket), request);
  assert.equal(socket.handshake.headers, request.headers, 'as in socket.io: the handshake shares the request headers');
});

test('reading the handshake first does not build the request; the request built later shares its headers', async (t) => {
  const h = await setup(t);
  const connected = once<[Socket]>(h.io, 'connection');
  h.client('/', { extraHeaders: EXTRA_HEADERS, query: { room: 'blue' } });
  const [socket] = await connected;
  const { headers, url, query, xdomain, secure } = socket.handshake;
  assert.equal(headers['x-user'], 'ada');
  assert.equal(headers.cookie, 'a=1');
  assert.match(url, /^\/socket\.io\/\?.*room=blue/);
  assert.equal(query.room, 'blue');
  assert.equal(xdomain, false);
  assert.equal(secure, false);
  assert.ok(held(socket) instanceof KeptRequest, 'still small');
  assert.equal(socket.request.headers, headers);
  assert.equal(socket.request.url, url);
});

test('socket.io\'s own relations hold for the peer too (what the two tests above mirror)', async (t) => {
  const peerHttp = createServer();
  const peer = new PeerServer(peerHttp);
  await new Promise<void>((resolve) => peerHttp.listen(0, '127.0.0.1', resolve));
  t.after(() => peer.close());
  const connected = once<[PeerSocket]>(peer, 'connection');
  const client = ioc(`http://127.0.0.1:${(peerHttp.address() as AddressInfo).port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
  t.after(() => client.disconnect());
  const [socket] = await connected;
  assert.equal(socket.conn.request, socket.request);
  assert.equal(socket.client.request, socket.request);
  assert.equal(socket.handshake.headers, socket.request.headers);
});

test('rawSocket.request = null in the engine connection event: no request, empty handshake headers', async (t) => {
  const h = await setup(t);
  h.io.engine!.on('connection', (rawSocket: { request: unknown }) => {
    rawSocket.request = null;
  });
  const connected = once<[Socket]>(h.io, 'connection');
  h.client('/', { extraHeaders: EXTRA_HEADERS });
  const [socket] = await connected;
  assert.equal(socket.request, null);
  assert.equal(socket.conn.request, null);
  assert.deepEqual(socket.handshake.headers, {});
});

test('an engine middleware keeps the original request, with what it put on it', async (t) => {
  const h = await setup(t);
  const seen: IncomingMessage[] = [];
  h.io.engine!.use((req: IncomingMessage & { user?: string }, _res: unknown, next: () => void) => {
    req.user = 'ada';
    seen.push(req);
    next();
  });
  const connected = once<[Socket]>(h.io, 'connection');
  h.client('/');
  const [socket] = await connected;
  assert.equal(socket.request, seen[0]);
  assert.equal((socket.request as IncomingMessage & { user?: string }).user, 'ada');
});
