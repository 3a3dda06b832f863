// The Engine.IO client against hand-written hostile or unusual servers (real sockets, loopback):
// heartbeat loss, garbage, HTTP errors, payload splitting, refused upgrades, fallback.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { WebSocketServer } from 'ws';
import { Engine, io, Manager, TransportError } from '../../src/client/index.js';
import { connected, once, serverKinds, sleep, startServer, until } from './helpers.js';

const OPEN = (extra: Record<string, unknown> = {}) =>
  '0' + JSON.stringify({ sid: 'fake-sid', upgrades: [], pingInterval: 60, pingTimeout: 60, maxPayload: 1000000, ...extra });

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function wsServer(): Promise<WebSocketServer> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  return wss;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => resolve(body));
  });
}

describe('engine client', () => {
  test('server that stops pinging → "ping timeout"', async (t) => {
    const { server, url } = await listen((req, res) => {
      if (req.method === 'POST') return void res.end('ok');
      if (!req.url!.includes('sid=')) return void res.end(OPEN());
      // Long poll that never answers: the server is "dead".
    });
    t.after(() => close(server));
    const engine = new Engine(url, { transports: ['polling'] });
    await once(engine, 'open');
    const started = Date.now();
    const [reason] = await once(engine, 'close', 2000);
    assert.equal(reason, 'ping timeout');
    assert.ok(Date.now() - started >= 100, 'waited pingInterval + pingTimeout');
  });

  test('a browser "offline" event closes at once ("transport close"); the listener is removed', async (t) => {
    const { server, url } = await listen((req, res) => {
      if (req.method === 'POST') return void res.end('ok');
      if (!req.url!.includes('sid=')) return void res.end(OPEN({ pingInterval: 5000, pingTimeout: 5000 }));
    });
    t.after(() => close(server));
    // Node has no window events: lend it an EventTarget for this test.
    const window = new EventTarget();
    const listeners = new Set<unknown>();
    const g = globalThis as { addEventListener?: unknown; removeEventListener?: unknown };
    g.addEventListener = (type: string, fn: () => void) => (listeners.add(fn), window.addEventListener(type, fn));
    g.removeEventListener = (type: string, fn: () => void) => (listeners.delete(fn), window.removeEventListener(type, fn));
    t.after(() => void (delete g.addEventListener, delete g.removeEventListener));
    const engine = new Engine(url, { transports: ['polling'] });
    assert.equal(listeners.size, 1);
    await once(engine, 'open');
    const closed = once(engine, 'close', 500);
    window.dispatchEvent(new Event('offline'));
    assert.deepEqual(await closed, ['transport close', { description: 'network connection lost' }]);
    assert.equal(listeners.size, 0);
  });

  test('answers pings with pongs (Engine.IO v4: server pings)', async (t) => {
    const posts: string[] = [];
    let polls = 0;
    const { server, url } = await listen(async (req, res) => {
      if (req.method === 'POST') {
        posts.push(await readBody(req));
        return void res.end('ok');
      }
      if (!req.url!.includes('sid=')) return void res.end(OPEN());
      if (polls++ < 3) setTimeout(() => res.end('2'), 10);
    });
    t.after(() => close(server));
    const engine = new Engine(url, { transports: ['polling'] });
    t.after(() => void engine.close());
    let pings = 0;
    engine.on('ping', () => pings++);
    await until(() => posts.length >= 3);
    assert.equal(pings, 3);
    assert.deepEqual(posts.slice(0, 3), ['3', '3', '3']);
  });

  test('HTTP error on handshake → error with status, then close "transport error"', async (t) => {
    const { server, url } = await listen((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"code":5,"message":"Unsupported protocol version"}');
    });
    t.after(() => close(server));
    const engine = new Engine(url, { transports: ['polling'] });
    const [err] = await once(engine, 'error');
    assert.ok(err instanceof TransportError);
    assert.equal(err.status, 400);
    assert.match(String(err.description), /Unsupported protocol version/);
    assert.equal(engine.readyState, 'closed');
  });

  test('garbage handshake → error, never an uncaught exception', async (t) => {
    for (const body of ['x', '0not json', '0{"sid":1}', '', '\x1e\x1e', 'b!!!']) {
      const { server, url } = await listen((_req, res) => res.end(body));
      t.after(() => close(server));
      const engine = new Engine(url, { transports: ['polling'] });
      const [err] = await once(engine, 'error');
      assert.ok(err instanceof Error, body);
    }
  });

  test('connect timeout when the server never answers', async (t) => {
    const { server, url } = await listen(() => {});
    t.after(() => close(server));
    const manager = new Manager(url, { transports: ['polling'], timeout: 80, reconnection: false });
    const socket = manager.socket('/');
    const [err] = await once(socket, 'connect_error');
    assert.equal(err.message, 'timeout');
  });

  test('polling writes are split to respect the server maxPayload, order kept', async (t) => {
    const bodies: string[] = [];
    let releasePost: (() => void) | undefined;
    const { server, url } = await listen(async (req, res) => {
      if (req.method === 'POST') {
        bodies.push(await readBody(req));
        // Hold the first POST so later writes pile up in the buffer.
        if (bodies.length === 1) await new Promise<void>((resolve) => (releasePost = resolve));
        return void res.end('ok');
      }
      if (!req.url!.includes('sid=')) return void res.end(OPEN({ maxPayload: 30, pingInterval: 5000, pingTimeout: 5000 }));
    });
    t.after(() => close(server));
    const engine = new Engine(url, { transports: ['polling'] });
    t.after(() => void engine.close());
    await once(engine, 'open');
    const messages = Array.from({ length: 8 }, (_, i) => `message-${i}`); // 9 bytes + type = 10 each
    for (const m of messages) engine.write(m);
    await until(() => releasePost !== undefined);
    releasePost!();
    await until(() => bodies.flatMap((b) => b.split('\x1e')).length === messages.length);
    for (const body of bodies) {
      const packets = body.split('\x1e');
      assert.ok(packets.length === 1 || Buffer.byteLength(body) <= 30, `body over maxPayload: ${body}`);
    }
    assert.deepEqual(bodies.flatMap((b) => b.split('\x1e')), messages.map((m) => '4' + m));
    assert.ok(bodies.length >= 4);
  });

  test('Socket.IO decode error from the server → disconnect "parse error"', async (t) => {
    const wss = await wsServer();
    t.after(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    wss.on('connection', (ws) => {
      ws.send(OPEN({ pingInterval: 5000, pingTimeout: 5000 }));
      ws.on('message', (data) => {
        if (String(data) === '40') ws.send('40{"sid":"abc"}');
        if (String(data) === '42["go"]') ws.send('42not json');
      });
    });
    const socket = io(`http://127.0.0.1:${(wss.address() as AddressInfo).port}`, { forceNew: true, transports: ['websocket'], reconnection: false });
    t.after(() => void socket.disconnect());
    await connected(socket);
    assert.equal(socket.id, 'abc');
    const disconnected = once(socket, 'disconnect');
    socket.emit('go');
    const [reason] = await disconnected;
    assert.equal(reason, 'parse error');
  });

  test('random frames from a hostile server never crash the client (fast-check)', async (t) => {
    const wss = await wsServer();
    t.after(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    let frames: (string | Uint8Array)[] = [];
    wss.on('connection', (ws) => {
      ws.send(OPEN({ pingInterval: 5000, pingTimeout: 5000 }));
      ws.on('message', (data) => {
        if (String(data) !== '40') return;
        ws.send('40{"sid":"abc"}');
        for (const frame of frames) ws.send(frame);
        ws.send('42["done"]');
      });
    });
    const url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const frame = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ maxLength: 30 }).map((s) => '4' + s),
      fc.constantFrom('451-["x",{"_placeholder":true,"num":0}]', '43', '44', '41', '40', '42[]', '42["connect"]', '6', '3', '1', '2probe', '0{}', '4'),
      fc.uint8Array({ maxLength: 16 }),
    );
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    t.after(() => void process.off('uncaughtException', onUncaught));
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { maxLength: 8 }), async (list) => {
        frames = list;
        const socket = io(url, { forceNew: true, transports: ['websocket'], reconnection: false });
        socket.on('error' as any, () => {});
        const outcome = await Promise.race([
          once(socket, 'done', 2000).then(() => 'done'),
          once(socket, 'disconnect', 2000).then(([reason]) => reason as string),
          once(socket, 'connect_error', 2000).then(() => 'connect_error'),
        ]);
        socket.disconnect();
        assert.ok(['done', 'parse error', 'transport close', 'transport error', 'io server disconnect', 'connect_error'].includes(outcome), outcome);
        assert.deepEqual(uncaught, []);
      }),
      { numRuns: 40 },
    );
  });

  test('maxHttpBufferSize: an oversized polling response fails the connection (default 100 MB)', async (t) => {
    const { server, url } = await listen((_req, res) => res.end(OPEN() + '\x1e4' + 'x'.repeat(5000)));
    t.after(() => close(server));
    const engine = new Engine(url, { transports: ['polling'], maxHttpBufferSize: 1000 });
    const [err] = await once(engine, 'error');
    assert.ok(err instanceof TransportError);
    assert.equal(err.message, 'response too large');
    const fine = new Engine(url, { transports: ['polling'] });
    t.after(() => void fine.close());
    const [message] = await once(fine, 'message');
    assert.equal(message.length, 5000);
  });

  test('maxHttpBufferSize: an oversized WebSocket message closes the connection', async (t) => {
    const wss = await wsServer();
    t.after(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    wss.on('connection', (ws) => {
      ws.send(OPEN({ pingInterval: 5000, pingTimeout: 5000 }));
      ws.on('message', (data) => {
        if (String(data) === '40') ws.send('40{"sid":"abc"}');
        if (String(data) === '42["big"]') ws.send('42["big","' + 'y'.repeat(5000) + '"]');
        if (String(data) === '42["small"]') ws.send('42["small","ok"]');
      });
    });
    const url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const socket = io(url, { forceNew: true, transports: ['websocket'], reconnection: false, maxHttpBufferSize: 1000 });
    t.after(() => void socket.disconnect());
    await connected(socket);
    socket.emit('small');
    assert.deepEqual(await once(socket, 'small'), ['ok']);
    const gone = once(socket, 'disconnect');
    let got = false;
    socket.on('big', () => (got = true));
    socket.emit('big');
    const [reason] = await gone;
    assert.ok(['transport close', 'transport error'].includes(reason), reason);
    assert.equal(got, false);
  });

  test('maxAttachments: more binary attachments than allowed → "parse error" (default 10, option)', async (t) => {
    const wss = await wsServer();
    t.after(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const placeholders = Array.from({ length: 11 }, (_, num) => ({ _placeholder: true, num }));
    wss.on('connection', (ws) => {
      ws.send(OPEN({ pingInterval: 5000, pingTimeout: 5000 }));
      ws.on('message', (data) => {
        if (String(data) === '40') ws.send('40{"sid":"abc"}');
        if (String(data) === '42["go"]') {
          ws.send('4511-' + JSON.stringify(['many', ...placeholders])); // EIO message + SIO BINARY_EVENT, 11 attachments
          for (let i = 0; i < 11; i++) ws.send(Buffer.from([i]));
        }
      });
    });
    const url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const strict = io(url, { forceNew: true, transports: ['websocket'], reconnection: false });
    t.after(() => void strict.disconnect());
    await connected(strict);
    const gone = once(strict, 'disconnect');
    strict.emit('go');
    const [reason, cause] = await gone;
    assert.equal(reason, 'parse error');
    assert.equal((cause as { code?: string }).code, 'TOO_MANY_ATTACHMENTS');

    const relaxed = io(url, { forceNew: true, transports: ['websocket'], reconnection: false, maxAttachments: 11 });
    t.after(() => void relaxed.disconnect());
    await connected(relaxed);
    const many = once(relaxed, 'many');
    relaxed.emit('go');
    const args = await many;
    assert.equal(args.length, 11);
    assert.deepEqual([...args[10]], [10]);
  });

  test('Node cookie jar with withCredentials (cookie-based sticky sessions)', async (t) => {
    for (const withCredentials of [true, false]) {
      const cookies: (string | undefined)[] = [];
      const { server, url } = await listen(async (req, res) => {
        cookies.push(req.headers.cookie);
        if (req.method === 'POST') return void res.end('ok');
        if (!req.url!.includes('sid=')) return void res.writeHead(200, { 'set-cookie': 'sticky=node-7; Path=/; HttpOnly' }).end(OPEN());
        setTimeout(() => res.end('6'), 20);
      });
      t.after(() => close(server));
      const engine = new Engine(url, { transports: ['polling'], withCredentials });
      await once(engine, 'open');
      await until(() => cookies.length >= 2);
      engine.close();
      assert.equal(cookies[0], undefined);
      assert.equal(cookies[1], withCredentials ? 'sticky=node-7' : undefined);
    }
  });

  test('retries re-send the same packet with the same ack id; a late answer to an earlier attempt counts', async (t) => {
    const wss = await wsServer();
    t.after(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const frames: string[] = [];
    wss.on('connection', (ws) => {
      ws.send(OPEN({ pingInterval: 5000, pingTimeout: 5000 }));
      ws.on('message', (data) => {
        const text = String(data);
        if (text === '40') return void ws.send('40{"sid":"abc"}');
        frames.push(text);
        const id = /^42(\d+)/.exec(text)![1];
        // Answer only the first attempt, and late (after the client's timeout): the client has
        // re-sent by then, and must still complete the emit exactly once.
        if (frames.length === 1) setTimeout(() => ws.send(`43${id}["late ok"]`), 120);
      });
    });
    const url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const socket = io(url, { forceNew: true, transports: ['websocket'], reconnection: false, retries: 3, ackTimeout: 50 });
    t.after(() => void socket.disconnect());
    const calls: unknown[][] = [];
    socket.emit('save', { n: 1 }, (...args: unknown[]) => calls.push(args));
    await until(() => calls.length === 1);
    await sleep(150);
    assert.deepEqual(calls, [[null, 'late ok']]);
    assert.ok(frames.length >= 2);
    assert.ok(frames.every((f) => f === frames[0]), `attempts differ: ${frames.join(' | ')}`);
    assert.match(frames[0]!, /^420\["save",\{"n":1\}\]$/);
  });

  for (const kind of serverKinds) {
    describe(`${kind} server refusing WebSocket upgrades`, () => {
      let server: Awaited<ReturnType<typeof startServer>>;
      after(() => server?.close());

      test('stays on polling, reports upgradeError, keeps working; tryAllTransports falls back', async (t) => {
        server = await startServer(
          kind,
          {},
          (io) => io.on('connection', (s: any) => s.on('echo', (v: unknown, ack: (v: unknown) => void) => ack(v))),
        );
        // A proxy that refuses upgrades: drop the server's upgrade handling, answer 403.
        server.http.removeAllListeners('upgrade');
        server.http.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n'));

        const socket = io(server.url, { forceNew: true });
        t.after(() => void socket.disconnect());
        const upgradeError = once(socket.io.engine, 'upgradeError');
        await connected(socket);
        await upgradeError;
        assert.equal(socket.io.engine.transport.name, 'polling');
        assert.equal(await socket.timeout(1000).emitWithAck('echo', 'over polling'), 'over polling');

        const wsFirst = io(server.url, { forceNew: true, transports: ['websocket', 'polling'], tryAllTransports: true });
        t.after(() => void wsFirst.disconnect());
        await connected(wsFirst);
        assert.equal(wsFirst.io.engine.transport.name, 'polling');

        const wsOnly = io(server.url, { forceNew: true, transports: ['websocket'], reconnection: false });
        t.after(() => void wsOnly.disconnect());
        const [err] = await once(wsOnly, 'connect_error');
        assert.ok(err instanceof TransportError);
        await sleep(10);
      });
    });
  }
});
