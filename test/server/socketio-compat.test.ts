// Behaviours an application moving from socket.io observes unchanged: each test states what
// socket.io documents or does on the wire, with the real socket.io-client where a client is needed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { delay, once, setup, until } from './helpers.js';
import { request } from '../engine/helpers.js';
import { Adapter, Server, type BroadcastOptions, type ParentNamespace, type Socket, type SocketLike } from '../../src/server/index.js';

describe('decoding errors', () => {
  for (const [name, text] of [['a bad attachment count', '5woooot'], ['an empty binary packet', '5']] as const) {
    test(`${name} is refused with socket.io's "Illegal attachments" message`, async (t) => {
      const h = await setup(t);
      const c = h.client();
      const [socket] = await once<[Socket]>(h.io, 'connection');
      await once(c, 'connect');
      const error = once<[Error]>(socket, 'error');
      const disconnected = once<[string]>(socket, 'disconnect');
      (c.io.engine as unknown as { write(data: string): void }).write(text);
      const [err] = await error;
      assert.match(err.message, /Illegal attachments/);
      assert.equal((await disconnected)[0], 'parse error');
    });
  }
});

describe('event listeners', () => {
  test('a listener that throws surfaces its error as uncaught; the events that came with it still reach their listeners, in order', async (t) => {
    const h = await setup(t);
    const c = h.client();
    const [socket] = await once<[Socket]>(h.io, 'connection');
    await once(c, 'connect');
    // The test runner's own handler would fail the test: put it aside while the error is expected.
    const runners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    const errors: Error[] = [];
    process.on('uncaughtException', (err) => errors.push(err));
    t.after(() => {
      process.removeAllListeners('uncaughtException');
      for (const listener of runners) process.on('uncaughtException', listener);
    });
    const seen: string[] = [];
    socket.on('boom', () => {
      seen.push('boom');
      throw new Error('listener failed');
    });
    socket.on('after', (n: number) => seen.push(`after ${n}`));
    // Written in one go, so the server decodes them from the same read.
    const engine = c.io.engine as unknown as { write(data: string): void };
    engine.write('2["boom"]');
    engine.write('2["after",1]');
    engine.write('2["after",2]');
    await until(() => seen.length === 3);
    assert.deepEqual(seen, ['boom', 'after 1', 'after 2']);
    assert.deepEqual(errors.map((err) => err.message), ['listener failed']);
    assert.equal(socket.connected, true);
  });
});

describe('io.close()', () => {
  test('passes ERR_SERVER_NOT_RUNNING to the callback when the HTTP server never listened, and resolves', async () => {
    const io = new Server(createServer());
    const err = await new Promise<(Error & { code?: string }) | undefined>((resolve) => void io.close(resolve));
    assert.equal(err?.code, 'ERR_SERVER_NOT_RUNNING');
    await io.close(); // the Promise form does not reject
  });

  test('passes no error when it closed a listening server', async () => {
    const httpServer = createServer();
    const io = new Server(httpServer);
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const err = await new Promise<Error | undefined>((resolve) => void io.close(resolve));
    assert.equal(err, undefined);
    assert.equal(httpServer.listening, false);
  });
});

/** Opens a session by hand over polling; `push` posts one payload, `poll` gets the next one. */
async function rawPolling(port: number) {
  const base = '/socket.io/?EIO=4&transport=polling';
  const open = await request(port, 'GET', base);
  assert.equal(open.status, 200);
  const sid = (JSON.parse(open.body.slice(1)) as { sid: string }).sid;
  return {
    sid,
    push: async (body: string) => assert.equal((await request(port, 'POST', `${base}&sid=${sid}`, { body })).body, 'ok'),
    poll: () => request(port, 'GET', `${base}&sid=${sid}`),
  };
}

describe('after disconnection', () => {
  test('an EVENT decoded in the same batch as the DISCONNECT that follows it is not delivered', async (t) => {
    const h = await setup(t);
    const received: unknown[] = [];
    const connected = once<[Socket]>(h.io, 'connection');
    const raw = await rawPolling(h.port);
    await raw.push('40');
    const [socket] = await connected;
    socket.on('test', (...args) => received.push(args));
    const disconnected = once<[string]>(socket, 'disconnect');
    await raw.push('42["test",1]\x1e41');
    assert.equal((await disconnected)[0], 'client namespace disconnect');
    await delay(20);
    assert.deepEqual(received, []);
  });

  test('socket.io-client: emit with binary then disconnect at once; the server does not run the listener', async (t) => {
    const h = await setup(t, {}, 'polling');
    let ran = false;
    h.io.on('connection', (socket) => socket.on('test', () => (ran = true)));
    const c = h.client();
    const [socket] = await once<[Socket]>(h.io, 'connection');
    await once(c, 'connect');
    const disconnected = once<[string]>(socket, 'disconnect');
    c.emit('test', Buffer.alloc(10));
    c.disconnect();
    assert.equal((await disconnected)[0], 'client namespace disconnect');
    await delay(20);
    assert.equal(ran, false);
  });

  test('events still reach listeners, in order, when no DISCONNECT follows', async (t) => {
    const h = await setup(t);
    const received: number[] = [];
    h.io.on('connection', (socket) => socket.on('n', (n: number) => received.push(n)));
    const raw = await rawPolling(h.port);
    await raw.push('40');
    await raw.push('42["n",1]\x1e42["n",2]\x1e42["n",3]');
    await until(() => received.length === 3);
    assert.deepEqual(received, [1, 2, 3]);
  });

  test('join() after disconnect() does nothing', async (t) => {
    const h = await setup(t);
    h.io.on('connection', (socket) => {
      socket.disconnect();
      void socket.join('room1');
      assert.deepEqual([...socket.rooms], []);
    });
    const c = h.client();
    await once(c, 'disconnect');
    assert.equal(h.io.of('/').adapter.rooms.size, 0);
  });
});

test('a client connects when its engine session no longer holds the request; the handshake is empty, not a crash', async (t) => {
  const h = await setup(t);
  h.io.engine!.on('connection', (conn) => {
    delete (conn as { request?: unknown }).request; // what apps do to save memory
  });
  const c = h.client('/', { query: { q: '1' } });
  const [socket] = await once<[Socket]>(h.io, 'connection');
  await once(c, 'connect');
  assert.deepEqual({ ...socket.handshake.headers }, {});
  assert.deepEqual({ ...socket.handshake.query }, {});
  assert.equal(socket.handshake.secure, true); // socket.io's answer without a request (WebTransport is always TLS)
  assert.equal(socket.handshake.address, '127.0.0.1');
  socket.on('echo', (n: number, ack: (n: number) => void) => ack(n));
  assert.equal(await c.emitWithAck('echo', 1), 1);
});

describe('io.fetchSockets()', () => {
  class OneRemoteSocketAdapter extends Adapter {
    override fetchSockets(_opts: BroadcastOptions): Promise<SocketLike[]> {
      const handshake = { headers: {}, query: { EIO: '4' } } as unknown as SocketLike['handshake'];
      return Promise.resolve([{ id: '42', handshake, rooms: new Set(['42', 'room1']), data: { username: 'john' } }]);
    }
  }

  test('asks the adapter set with io.adapter() after the namespaces exist', async (t) => {
    const h = await setup(t);
    const c = h.client();
    const [socket] = await once<[Socket]>(h.io, 'connection');
    await once(c, 'connect');
    void socket.join('before');
    assert.equal((await h.io.fetchSockets()).length, 1);
    h.io.adapter(OneRemoteSocketAdapter);
    const sockets = await h.io.fetchSockets();
    assert.deepEqual(
      sockets.map((s) => ({ id: s.id, rooms: [...s.rooms], data: s.data })),
      [{ id: '42', rooms: ['42', 'room1'], data: { username: 'john' } }],
    );
    // The connected socket kept its rooms in the new adapter, and broadcasts still reach it.
    assert.ok(h.io.of('/').adapter instanceof OneRemoteSocketAdapter);
    assert.deepEqual([...socket.rooms].sort(), ['before', socket.id].sort());
    const got = once<[string]>(c, 'news');
    h.io.to('before').emit('news', 'hi');
    assert.deepEqual(await got, ['hi']);
  });
});

test('a broadcast to a room on a parent namespace reaches the members of that room in every child namespace', async (t) => {
  const h = await setup(t);
  const parent = h.io.of(/^\/team-\d+$/) as ParentNamespace;
  parent.on('connection', (socket) => {
    if (socket.handshake.auth.admin) void socket.join('admins');
  });
  const admin1 = h.client('/team-1', { auth: { admin: true } });
  const member1 = h.client('/team-1');
  const admin2 = h.client('/team-2', { auth: { admin: true } });
  await Promise.all([admin1, member1, admin2].map((c) => once(c, 'connect')));
  await until(() => [...parent.children].reduce((n, child) => n + (child.adapter.rooms.get('admins')?.size ?? 0), 0) === 2);
  const heard: string[] = [];
  member1.on('notice', () => heard.push('member1'));
  const got = Promise.all([once(admin1, 'notice'), once(admin2, 'notice')]);
  parent.to('admins').emit('notice', 'hi');
  assert.deepEqual(await got, [['hi'], ['hi']]);
  // except() and socketsJoin() act on the children too.
  parent.except('admins').socketsJoin('members');
  assert.deepEqual([...parent.children].map((child) => child.adapter.rooms.get('members')?.size ?? 0), [1, 0]);
  await delay(20);
  assert.deepEqual(heard, []);
});

describe('the path is a prefix', () => {
  const query = '?EIO=4&transport=polling';

  test('a preflight under the path gets 204 with the configured CORS headers; the GET opens a session', async (t) => {
    const origin = 'http://localhost:54023';
    const h = await setup(t, { cors: { origin, methods: ['GET', 'POST'], allowedHeaders: ['content-type'], credentials: true } });
    const preflight = await request(h.port, 'OPTIONS', `/socket.io/default/${query}`, { headers: { Origin: origin } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], origin);
    assert.equal(preflight.headers['access-control-allow-methods'], 'GET,POST');
    assert.equal(preflight.headers['access-control-allow-headers'], 'content-type');
    assert.equal(preflight.headers['access-control-allow-credentials'], 'true');
    const get = await request(h.port, 'GET', `/socket.io/default/${query}`, { headers: { Origin: origin } });
    assert.equal(get.status, 200);
    assert.match(get.body, /^0\{"sid":/);
    assert.equal(get.headers['access-control-allow-origin'], origin);
  });

  test('allowRequest decides there too (200 / 403)', async (t) => {
    for (const allow of [true, false]) {
      const h = await setup(t, { allowRequest: (_req, cb) => cb(null, allow) });
      const reply = await request(h.port, 'GET', `/socket.io/default/${query}`);
      assert.equal(reply.status, allow ? 200 : 403);
    }
  });

  test('origins stay closed until configured: no CORS headers, and a foreign page is refused', async (t) => {
    const h = await setup(t);
    const headers = { Origin: 'https://elsewhere.example' };
    const preflight = await request(h.port, 'OPTIONS', `/socket.io/default/${query}`, { headers });
    assert.equal(preflight.status, 400); // not a handshake method, as engine.io answers without cors
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    const get = await request(h.port, 'GET', `/socket.io/default/${query}`, { headers });
    assert.equal(get.status, 403);
    assert.equal(get.headers['access-control-allow-origin'], undefined);
  });

  test('other routes still reach the application; unknown files under the path are engine refusals, not 404', async (t) => {
    const httpServer = createServer((_req, res) => res.writeHead(404).end('app'));
    const io = new Server(httpServer, { serveClient: false });
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    t.after(() => io.close());
    const port = (httpServer.address() as { port: number }).port;
    assert.equal((await request(port, 'GET', '/socket.iox/')).body, 'app');
    assert.equal((await request(port, 'GET', '/other')).body, 'app');
    const unknown = await request(port, 'GET', '/socket.io/socket.io.js');
    assert.equal(unknown.status, 400);
    assert.deepEqual(JSON.parse(unknown.body), { code: 0, message: 'Transport unknown' });
  });
});

describe('protocol violations on a polling session end it cleanly: what was queued, then `6` `1`', () => {
  test('a second CONNECT to the same namespace', async (t) => {
    const h = await setup(t);
    const raw = await rawPolling(h.port);
    await raw.push('40');
    await raw.push('40');
    assert.match((await raw.poll()).body, /^40\{"sid":"[\w-]{20}"\}$/); // the first CONNECT's answer
    assert.equal((await raw.poll()).body, '6\x1e1');
    const after = await raw.poll();
    assert.equal(after.status, 400);
  });

  test('an EVENT before CONNECT', async (t) => {
    const h = await setup(t);
    const raw = await rawPolling(h.port);
    await raw.push('42["some event"]');
    assert.equal((await raw.poll()).body, '6\x1e1');
  });

  test('an invalid packet', async (t) => {
    const h = await setup(t);
    const disconnected: string[] = [];
    h.io.on('connection', (socket) => socket.on('disconnect', (reason) => disconnected.push(reason)));
    const raw = await rawPolling(h.port);
    await raw.push('40');
    await raw.push('4abc');
    assert.match((await raw.poll()).body, /^40\{"sid":/);
    assert.equal((await raw.poll()).body, '6\x1e1');
    assert.deepEqual(disconnected, ['parse error']);
  });
});

describe('volatile packets go out only when the transport can write them at once', () => {
  for (const mode of ['polling', 'websocket'] as const) {
    /** A connected pair, idle: nothing queued, and on polling a GET waiting. */
    async function idle(t: Parameters<typeof setup>[0]) {
      const h = await setup(t, {}, mode);
      const c = h.client();
      const [socket] = await once<[Socket]>(h.io, 'connection');
      await once(c, 'connect');
      await until(() => socket.conn.transport.writable && socket.conn.bufferedAmount === 0);
      const received: unknown[] = [];
      c.on('ev', (n: unknown) => received.push(n instanceof ArrayBuffer || Buffer.isBuffer(n) ? 'bin' : n));
      /** Waits for a regular marker emitted after the packets under test (delivery is ordered). */
      const settle = async () => {
        const end = once(c, 'end');
        socket.emit('end');
        await end;
        return received;
      };
      return { h, c, socket, settle };
    }

    test(`${mode}: a volatile event on an idle connection is delivered`, async (t) => {
      const { socket, settle } = await idle(t);
      socket.volatile.emit('ev', 1);
      assert.deepEqual(await settle(), [1]);
    });

    test(`${mode}: of consecutive volatile events only the first goes out (text and binary)`, async (t) => {
      const { socket, settle } = await idle(t);
      socket.volatile.emit('ev', Buffer.from([1, 2, 3]));
      socket.volatile.emit('ev', Buffer.from([4, 5, 6]));
      socket.volatile.emit('ev', 3);
      assert.deepEqual(await settle(), ['bin']);
    });

    test(`${mode}: a volatile event right after a regular one is dropped; regular ones after it are not`, async (t) => {
      const { socket, settle } = await idle(t);
      socket.emit('ev', 1);
      socket.volatile.emit('ev', 2);
      socket.emit('ev', 3);
      assert.deepEqual(await settle(), [1, 3]);
    });

    test(`${mode}: volatile broadcasts follow the same rule per recipient`, async (t) => {
      const { h, settle } = await idle(t);
      h.io.volatile.emit('ev', Buffer.from([1]));
      h.io.volatile.emit('ev', Buffer.from([2]));
      assert.deepEqual(await settle(), ['bin']);
    });
  }

  test('during the connection handler: the CONNECT answer is queued, so a volatile event after a regular one is dropped', async (t) => {
    const h = await setup(t, {}, 'polling');
    h.io.on('connection', (socket) => {
      socket.emit('ev', 'data');
      socket.volatile.emit('ev', 'data');
      socket.emit('end');
    });
    const c = h.client();
    let count = 0;
    c.on('ev', () => count++);
    await once(c, 'end');
    assert.equal(count, 1);
  });
});

describe('packetCreate on socket.conn', () => {
  test('carries options.compress: true by default, false after compress(false)', async (t) => {
    const h = await setup(t);
    const c = h.client('/chat');
    const [socket] = await once<[Socket]>(h.io.of('/chat'), 'connection');
    await once(c, 'connect');
    const created: { type: string; data?: unknown; options: { compress: boolean } }[] = [];
    socket.conn.on('packetCreate', (packet) => created.push(packet));
    socket.emit('woot', 'hi');
    socket.compress(false).emit('woot', 'quiet');
    assert.deepEqual(
      created.map((p) => [p.type, p.data, p.options.compress]),
      [
        ['message', '2/chat,["woot","hi"]', true],
        ['message', '2/chat,["woot","quiet"]', false],
      ],
    );
  });

  test('a broadcast carries the WebSocket frame it prepared once, as options.wsPreEncodedFrame', async (t) => {
    const h = await setup(t);
    const c = h.client('/chat');
    const [socket] = await once<[Socket]>(h.io.of('/chat'), 'connection');
    await once(c, 'connect');
    const created = once<[{ data: string; options: { compress: boolean; wsPreEncodedFrame?: Buffer[] } }]>(socket.conn, 'packetCreate');
    const got = once(c, 'woot');
    h.io.of('/chat').compress(false).emit('woot', 'hi');
    const [packet] = await created;
    assert.ok(Array.isArray(packet.options.wsPreEncodedFrame));
    assert.equal(packet.options.compress, false);
    const frame = Buffer.concat(packet.options.wsPreEncodedFrame!);
    // RFC 6455 §5.2: FIN + text opcode, unmasked, 7-bit length; the payload is the Engine.IO packet.
    assert.equal(frame[0], 0x81);
    assert.equal(frame.subarray(2).toString(), '4' + packet.data);
    assert.deepEqual(await got, ['hi']);
  });
});
