// engine.use(): Connect-style middlewares on every polling request and every upgrade request,
// after CORS and before the protocol checks; refusals, answers of their own, headers on the 101.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Socket as ClientSocket } from 'engine.io-client';
import { Server } from '../../src/server/index.js';
import { runMiddlewares } from '../../src/engine/middleware.js';
import { io as ioClient } from 'socket.io-client';
import { startEngine, request, json, pollingHandshake, rawUpgrade } from './helpers.js';

const HANDSHAKE = 'EIO=4&transport=polling';
const WEBSOCKET = 'EIO=4&transport=websocket';

test('middlewares run in order on every polling request; their headers reach the client', async (t) => {
  const h = await startEngine(t);
  const seen: string[] = [];
  h.engine.use((req, res, next) => {
    seen.push(`a ${req.method}`);
    res.setHeader('X-Served-By', 'switchboard');
    next();
  });
  h.engine.use((req, _res, next) => {
    seen.push(`b ${req.method}`);
    (req as IncomingMessage & { user?: string }).user = 'ada';
    next();
  });
  const connection = h.nextConnection();
  const { sid, reply } = await pollingHandshake(h);
  assert.equal(reply.headers['x-served-by'], 'switchboard');
  const session = await connection;
  assert.equal((session.request as IncomingMessage & { user?: string }).user, 'ada', 'the session keeps what middlewares put on req');
  const post = await request(h.port, 'POST', h.url(`${HANDSHAKE}&sid=${sid}`), { body: '4hello' });
  assert.equal(post.status, 200);
  assert.equal(post.headers['x-served-by'], 'switchboard');
  assert.deepEqual(seen, ['a GET', 'b GET', 'a POST', 'b POST']);
});

test('next(err) or a throw refuses with 400 MIDDLEWARE_FAILURE; no session is opened', async (t) => {
  const h = await startEngine(t);
  const errors: unknown[] = [];
  h.engine.on('connection_error', (e) => errors.push(e.context));
  h.engine.use((req, _res, next) => {
    if (req.headers['x-mode'] === 'throw') throw new Error('boom');
    next(req.headers['x-mode'] === 'refuse' ? new Error('no') : undefined);
  });
  for (const mode of ['refuse', 'throw']) {
    const reply = await request(h.port, 'GET', h.url(HANDSHAKE), { headers: { 'X-Mode': mode } });
    assert.equal(reply.status, 400, mode);
    assert.deepEqual(json(reply), { code: 3, message: 'Bad request' });
    const upgrade = await rawUpgrade(h, WEBSOCKET, { headers: { 'X-Mode': mode } });
    assert.match(upgrade, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.ok(upgrade.endsWith('{"code":3,"message":"Bad request"}'), upgrade);
  }
  assert.equal(h.engine.clientsCount, 0);
  assert.deepEqual(errors, Array(4).fill({ name: 'MIDDLEWARE_FAILURE' }));
  const ok = await request(h.port, 'GET', h.url(HANDSHAKE));
  assert.equal(ok.status, 200, 'other requests pass');
});

test('a middleware may answer the request itself, on polling and on upgrades', async (t) => {
  const h = await startEngine(t);
  h.engine.use((req, res, next) => {
    if (req.headers.authorization !== 'Bearer good') {
      res.writeHead(401, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer' });
      res.end('who are you?');
      return;
    }
    next();
  });
  const polling = await request(h.port, 'GET', h.url(HANDSHAKE));
  assert.equal(polling.status, 401);
  assert.equal(polling.body, 'who are you?');
  const upgrade = await rawUpgrade(h, WEBSOCKET);
  const [head, body] = upgrade.split('\r\n\r\n');
  assert.match(head!, /^HTTP\/1\.1 401 Unauthorized\r\n/);
  assert.match(head!, /\r\nWWW-Authenticate: Bearer(\r\n|$)/);
  assert.match(head!, /\r\nContent-Length: 12(\r\n|$)/);
  assert.equal(body, 'who are you?');
  assert.equal(h.engine.clientsCount, 0);

  const allowed = await rawUpgrade(h, WEBSOCKET, { headers: { Authorization: 'Bearer good' }, untilHead: true });
  assert.match(allowed, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
});

test('headers set on an upgrade go into the 101 answer; bad header values are refused', async (t) => {
  const h = await startEngine(t);
  h.engine.use((req, res, next) => {
    res.setHeader('X-Node', 'n1');
    res.setHeader('Set-Cookie', ['a=1', 'b=2']);
    assert.throws(() => res.setHeader('X-Bad', 'x\r\nInjected: yes'), { code: 'ERR_INVALID_CHAR' });
    res.removeHeader('X-Missing');
    next();
  });
  const head = await rawUpgrade(h, WEBSOCKET, { untilHead: true });
  assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.match(head, /\r\nX-Node: n1(\r\n|$)/);
  assert.match(head, /\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2(\r\n|$)/);
  assert.doesNotMatch(head, /Injected/);
});

test('middlewares run after CORS: a preflight is answered without them', async (t) => {
  const h = await startEngine(t, { cors: { origin: 'https://app.example' } });
  let calls = 0;
  h.engine.use((_req, _res, next) => {
    calls++;
    next();
  });
  const preflight = await request(h.port, 'OPTIONS', h.url(HANDSHAKE), {
    headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST' },
  });
  assert.equal(preflight.status, 204);
  assert.equal(calls, 0);
  await pollingHandshake(h);
  assert.equal(calls, 1);
});

test('engine.io-client over polling with upgrade passes the middlewares; io.engine.use shares a session', async (t) => {
  const h = await startEngine(t);
  const seen: string[] = [];
  h.engine.use((req, _res, next) => {
    const transport = new URL(req.url!, 'http://x').searchParams.get('transport')!;
    if (!seen.includes(transport)) seen.push(transport);
    next();
  });
  const connection = h.nextConnection();
  const client = new ClientSocket(`ws://127.0.0.1:${h.port}`, { path: '/engine.io/' });
  t.after(() => client.close());
  const session = await connection;
  await new Promise<void>((resolve) => session.once('upgrade', () => resolve()));
  assert.deepEqual(seen, ['polling', 'websocket']);

  // The documented socket.io pattern: an Express-style session middleware on io.engine.
  const httpServer = createServer();
  const io = new Server(httpServer, { serveClient: false });
  t.after(() => io.close());
  io.engine!.use((req, _res, next) => {
    (req as IncomingMessage & { session?: { user: string } }).session = { user: String(req.headers['x-user']) };
    next();
  });
  io.on('connection', (socket) => {
    socket.emit('whoami', (socket.request as IncomingMessage & { session?: { user: string } }).session?.user);
  });
  httpServer.listen(0, '127.0.0.1');
  await once(httpServer, 'listening');
  const port = (httpServer.address() as AddressInfo).port;
  const socket = ioClient(`http://127.0.0.1:${port}`, { extraHeaders: { 'X-User': 'grace' }, transports: ['websocket'] });
  t.after(() => socket.close());
  const user = await new Promise((resolve) => socket.once('whoami', resolve));
  assert.equal(user, 'grace');
});

test('runMiddlewares: order, a second next() ignored, errors thrown after next() not blamed on the middleware', () => {
  const req = {} as IncomingMessage;
  const res = {} as any;
  const seen: unknown[] = [];
  runMiddlewares(
    [
      (_q, _r, next) => {
        seen.push('a');
        next();
        next(); // a buggy middleware: ignored
      },
      (_q, _r, next) => {
        seen.push('b');
        next();
      },
    ],
    req,
    res,
    (err) => seen.push(['done', err]),
  );
  assert.deepEqual(seen, ['a', 'b', ['done', undefined]]);
  const failures: unknown[] = [];
  runMiddlewares([() => { throw new Error('mine'); }], req, res, (err) => failures.push((err as Error).message));
  assert.deepEqual(failures, ['mine']);
  // A throw from what runs after the chain (the request handling itself) surfaces, not swallowed.
  assert.throws(() => runMiddlewares([(_q, _r, next) => next()], req, res, () => { throw new Error('downstream'); }), /downstream/);
});
