// engine.io's documented server behaviours, each checked over real sockets with the real
// engine.io-client (v4) as the peer: send callbacks, flush/drain, generateId, clients, headers,
// unhandled upgrades, opts, wsPreEncodedFrame, and the listen/attach helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type OutgoingHttpHeaders, type Server } from 'node:http';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { Socket as ClientSocket } from 'engine.io-client';
import WebSocket from 'ws';
import { attach, listen, type AttachOptions, type EngineOptions, type ConnectionError, type EngineSocket, type FlushedPacket } from '../../src/engine/index.js';
import { prepareMessage } from '../../src/websocket/index.js';
import { startEngine, request, json, until, pollingHandshake, type Harness } from './helpers.js';

const opened = (client: ClientSocket): Promise<void> => new Promise((resolve) => client.once('open', () => resolve()));

/** `attach(http, options)` (the engine.io-style helper), listening on a loopback port, closed after the test. */
async function attachAndListen(t: { after(fn: () => void): void }, http: Server, options: EngineOptions & AttachOptions) {
  const engine = attach(http, options);
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.after(() => {
    engine.close();
    http.closeAllConnections();
    http.close();
  });
  return { engine, port: (http.address() as AddressInfo).port };
}

function client(t: { after(fn: () => void): void }, h: Harness, options: Record<string, unknown>): ClientSocket {
  const socket = new ClientSocket(h.origin, { path: '/engine.io/', ...options });
  t.after(() => socket.close());
  return socket;
}

for (const transport of ['polling', 'websocket'] as const) {
  test(`send(data, cb) over ${transport}: each callback runs once, after its message was written`, async (t) => {
    const h = await startEngine(t, { allowUpgrades: false });
    const connection = h.nextConnection();
    const peer = client(t, h, { transports: [transport] });
    const session = await connection;
    await opened(peer);
    const received: unknown[] = [];
    peer.on('message', (m) => received.push(m));
    const done: string[] = [];
    session.send('a', () => done.push('a'));
    session.send('b', { compress: false }, () => done.push('b'));
    session.write('c', () => done.push('c'));
    await until(() => done.length === 3 && received.length === 3, 3000, 'callbacks and messages');
    assert.deepEqual(done, ['a', 'b', 'c']);
    assert.deepEqual(received, ['a', 'b', 'c']);
  });
}

test('send callbacks during the upgrade window run once the packets leave on the new transport', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const peer = client(t, h, { transports: ['polling', 'websocket'] });
  const session = await connection;
  const done: number[] = [];
  session.once('upgrading', () => {
    for (let i = 0; i < 3; i++) session.send(`during ${i}`, () => done.push(i));
  });
  const received: unknown[] = [];
  peer.on('message', (m) => received.push(m));
  await until(() => done.length === 3, 3000, 'callbacks');
  assert.deepEqual(done, [0, 1, 2]);
  await until(() => received.length === 3, 3000, 'messages');
  assert.deepEqual(received, ['during 0', 'during 1', 'during 2']);
});

test('send callbacks of packets never written are released when the session closes, not run', async (t) => {
  const h = await startEngine(t, { allowUpgrades: false });
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  let ran = 0;
  session.send('never read', () => ran++); // no GET is waiting: it stays in the write buffer
  const closed = once(session, 'close');
  await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${sid}`), { body: '1' });
  assert.equal((await closed)[0], 'transport close');
  assert.equal(ran, 0);
});

for (const transport of ['polling', 'websocket'] as const) {
  test(`flush and drain on the socket and the server over ${transport}`, async (t) => {
    const h = await startEngine(t, { allowUpgrades: false });
    const events: string[] = [];
    let serverFlushed: FlushedPacket[] = [];
    h.engine.on('flush', (socket, packets) => {
      assert.ok(socket.id);
      serverFlushed = serverFlushed.concat(packets.filter((p) => p.type === 'message'));
      events.push('server flush');
    });
    h.engine.on('drain', (socket) => {
      assert.ok(socket.id);
      events.push('server drain');
    });
    const connection = h.nextConnection();
    const peer = client(t, h, { transports: [transport] });
    const session = await connection;
    await opened(peer);
    events.length = 0;
    let socketFlushed: FlushedPacket[] = [];
    session.on('flush', (packets) => {
      socketFlushed = socketFlushed.concat(packets.filter((p) => p.type === 'message'));
      events.push('flush');
    });
    session.on('drain', () => events.push('drain'));
    serverFlushed = [];
    session.send('x');
    session.send(new Uint8Array([1]), { compress: false });
    await until(() => socketFlushed.length === 2, 3000, 'flush of both messages');
    assert.deepEqual(socketFlushed, [
      { type: 'message', data: 'x', options: { compress: true } },
      { type: 'message', data: new Uint8Array([1]), options: { compress: false } },
    ]);
    assert.deepEqual(serverFlushed, socketFlushed);
    // Each flush is followed by its drain, socket before server.
    assert.deepEqual(events.slice(0, 4), ['flush', 'server flush', 'drain', 'server drain']);
  });
}

test('generateId: a Promise gives the session id; a rejection refuses the handshake (400) instead of hanging', async (t) => {
  let fail = false;
  const h = await startEngine(t, {
    generateId: async () => {
      if (fail) throw new Error('id service down');
      return 'custom-id-1';
    },
  });
  const connection = h.nextConnection();
  const peer = client(t, h, { transports: ['polling'] });
  assert.equal((await connection).id, 'custom-id-1');
  await opened(peer);
  assert.equal(peer.id, 'custom-id-1');

  fail = true;
  const errors: ConnectionError[] = [];
  h.engine.on('connection_error', (e) => errors.push(e));
  for (const query of ['EIO=4&transport=polling']) {
    const reply = await request(h.port, 'GET', h.url(query));
    assert.equal(reply.status, 400);
    assert.deepEqual(json(reply), { code: 3, message: 'Bad request' });
  }
  const upgrade = new WebSocket(`ws://127.0.0.1:${h.port}${h.url('EIO=4&transport=websocket')}`);
  const [, response] = await once(upgrade, 'unexpected-response');
  assert.equal(response.statusCode, 400);
  assert.deepEqual(errors.map((e) => [e.code, e.context?.name, String(e.context?.error)]), [
    [3, 'ID_GENERATION_ERROR', 'Error: id service down'],
    [3, 'ID_GENERATION_ERROR', 'Error: id service down'],
  ]);
});

test('engine.clients is an object of sessions by id (Object.keys, clients[id]) next to clientsCount', async (t) => {
  const h = await startEngine(t);
  assert.deepEqual(Object.keys(h.engine.clients), []);
  const first = await pollingHandshake(h);
  const second = await pollingHandshake(h);
  assert.deepEqual(Object.keys(h.engine.clients).sort(), [first.sid, second.sid].sort());
  assert.equal(h.engine.clients[first.sid]!.id, first.sid);
  assert.equal(h.engine.clientsCount, 2);
  // Names of Object.prototype are not sessions.
  for (const sid of ['__proto__', 'constructor', 'hasOwnProperty']) {
    const reply = await request(h.port, 'GET', h.url(`EIO=4&transport=polling&sid=${sid}`));
    assert.deepEqual(json(reply), { code: 1, message: 'Session ID unknown' }, sid);
  }
  h.engine.clients[first.sid]!.close(true);
  assert.deepEqual(Object.keys(h.engine.clients), [second.sid]);
  assert.equal(h.engine.clientsCount, 1);
  assert.equal(h.engine.clients.hasOwnProperty(first.sid), false);
});

test('headers and initial_headers: polling responses and WebSocket 101s; initial_headers once per connection', async (t) => {
  const h = await startEngine(t);
  const seen: Array<[string, string]> = [];
  h.engine.on('initial_headers', (headers: OutgoingHttpHeaders, req) => {
    seen.push(['initial', String(req.url).includes('transport=websocket') ? 'websocket' : 'polling']);
    headers['X-Initial'] = 'yes';
  });
  h.engine.on('headers', (headers: OutgoingHttpHeaders, req) => {
    seen.push(['headers', String(req.url).includes('transport=websocket') ? 'websocket' : 'polling']);
    headers['X-Every'] = 'yes';
  });

  // WebSocket-only handshake: one 101 with both headers.
  const ws = new WebSocket(`ws://127.0.0.1:${h.port}${h.url('EIO=4&transport=websocket')}`);
  const [upgradeResponse] = await once(ws, 'upgrade');
  assert.equal(upgradeResponse.headers['x-initial'], 'yes');
  assert.equal(upgradeResponse.headers['x-every'], 'yes');
  ws.close();
  assert.deepEqual(seen, [['initial', 'websocket'], ['headers', 'websocket']]);

  // Polling handshake then upgrade: initial_headers only for the handshake.
  seen.length = 0;
  const connection = h.nextConnection();
  const peer = client(t, h, { transports: ['polling', 'websocket'] });
  const session = await connection;
  await until(() => session.upgraded, 3000, 'upgrade');
  assert.equal(seen.filter(([kind]) => kind === 'initial').length, 1);
  assert.deepEqual(seen[0], ['initial', 'polling']);
  assert.ok(seen.some(([kind, transport]) => kind === 'headers' && transport === 'websocket'), 'the upgrade 101 too');
  peer.close();
});

test('unhandled upgrades: ended after destroyUpgradeTimeout unless another listener answers; destroyUpgrade: false leaves them', async (t) => {
  for (const destroyUpgrade of [true, false]) {
    const http = createServer();
    // Another upgrade listener that answers one path and ignores the rest.
    http.on('upgrade', (req, socket) => {
      if (req.url === '/mine') {
        socket.end('HTTP/1.1 418 I am a teapot\r\nContent-Length: 0\r\n\r\n');
      }
    });
    const { port } = await attachAndListen(t, http, { destroyUpgrade, destroyUpgradeTimeout: 50 });
    const raw = async (path: string) => {
      const socket = netConnect(port, '127.0.0.1');
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`);
      let text = '';
      socket.on('data', (c) => (text += c));
      return { socket, text: () => text, ended: once(socket, 'close') };
    };
    const mine = await raw('/mine');
    await mine.ended;
    assert.match(mine.text(), /^HTTP\/1.1 418/, 'answered by the other listener, left alone');
    const stray = await raw('/nobody');
    if (destroyUpgrade) {
      await stray.ended; // ended by the engine (the test times out if it never is)
      assert.equal(stray.text(), '');
    } else {
      // Still open well after the timeout: the engine left it to the application.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(stray.socket.destroyed, false);
      stray.socket.destroy();
    }
  }
});

test('attach keeps the server request listeners for other paths; addTrailingSlash: false clients connect', async (t) => {
  const http = createServer((_req, res) => res.end('app'));
  const { engine, port } = await attachAndListen(t, http, { addTrailingSlash: false });
  assert.equal((await request(port, 'GET', '/other')).body, 'app');
  assert.equal(engine.httpServer, http);
  for (const transports of [['polling'], ['websocket']]) {
    const connection = once(engine, 'connection');
    const peer = new ClientSocket(`http://127.0.0.1:${port}`, { transports, addTrailingSlash: false });
    t.after(() => peer.close());
    await connection;
    await opened(peer);
  }
});

test('new EngineServer() exposes opts; the wsPreEncodedFrame send option writes the given frame', async (t) => {
  const h = await startEngine(t, { pingTimeout: 1234, allowUpgrades: false });
  assert.equal(h.engine.opts.pingTimeout, 1234);
  assert.equal(h.engine.opts, h.engine.options);
  for (const transport of ['websocket', 'polling']) {
    const connection = h.nextConnection();
    const peer = client(t, h, { transports: [transport] });
    const session: EngineSocket = await connection;
    await opened(peer);
    // The frame is written as given on WebSocket (here deliberately not the data's, to see
    // which one travels); polling sends the data as usual.
    const frame = prepareMessage('4from the frame', { binary: false }).frame;
    const message = new Promise((resolve) => peer.once('message', resolve));
    session.send('from the data', { wsPreEncodedFrame: [frame.subarray(0, 2), frame.subarray(2)] });
    assert.equal(await message, transport === 'websocket' ? 'from the frame' : 'from the data');
  }
});

test('listen(port) serves only the engine (501 for the rest); attach(server) returns the engine', async (t) => {
  const engine = listen(0, { path: '/engine.io/' }, () => {});
  t.after(() => {
    engine.close();
    engine.httpServer!.closeAllConnections();
    engine.httpServer!.close();
  });
  await once(engine.httpServer!, 'listening');
  const port = (engine.httpServer!.address() as AddressInfo).port;
  const other = await request(port, 'GET', '/');
  assert.equal(other.status, 501);
  const connection = once(engine, 'connection');
  const peer = new ClientSocket(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
  t.after(() => peer.close());
  await connection;
  await opened(peer);
});
