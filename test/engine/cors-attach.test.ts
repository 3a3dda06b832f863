// CORS for polling, and mounting the engine: attach(), middleware() with Express, handleRequest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { connect, type AddressInfo } from 'node:net';
import express from 'express';
import { Socket as ClientSocket } from 'engine.io-client';
import { EngineServer } from '../../src/engine/index.js';
import { startEngine, request, json } from './helpers.js';

const HANDSHAKE = 'EIO=4&transport=polling';

test('CORS is closed by default: no Access-Control headers, preflight not answered as CORS', async (t) => {
  const h = await startEngine(t);
  const reply = await request(h.port, 'GET', h.url(HANDSHAKE), { headers: { Origin: 'https://evil.example' } });
  assert.equal(reply.status, 403, 'a page from another site may not open a session');
  assert.deepEqual(json(reply), { code: 4, message: 'Origin not allowed' });
  assert.equal(reply.headers['access-control-allow-origin'], undefined);
  const sameSite = await request(h.port, 'GET', h.url(HANDSHAKE), { headers: { Origin: `http://127.0.0.1:${h.port}` } });
  assert.equal(sameSite.status, 200, 'the server\'s own pages are same-origin');
  assert.equal(sameSite.headers['access-control-allow-origin'], undefined);
  const noOrigin = await request(h.port, 'GET', h.url(HANDSHAKE));
  assert.equal(noOrigin.status, 200, 'non-browser clients send no Origin');
  const preflight = await request(h.port, 'OPTIONS', h.url(HANDSHAKE), {
    headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
  });
  assert.equal(preflight.status, 400);
  assert.equal(preflight.headers['access-control-allow-origin'], undefined);
});

test('CORS origin list: allowed origins reflected with credentials, others get no header', async (t) => {
  const h = await startEngine(t, {
    cors: { origin: ['https://app.example', /\.trusted\.example$/], credentials: true, maxAge: 600, exposedHeaders: ['X-Id'] },
  });
  for (const origin of ['https://app.example', 'https://a.trusted.example']) {
    const reply = await request(h.port, 'GET', h.url(HANDSHAKE), { headers: { Origin: origin } });
    assert.equal(reply.headers['access-control-allow-origin'], origin);
    assert.equal(reply.headers['access-control-allow-credentials'], 'true');
    assert.equal(reply.headers['access-control-expose-headers'], 'X-Id');
    assert.equal(reply.headers['vary'], 'Origin');
  }
  const denied = await request(h.port, 'GET', h.url(HANDSHAKE), { headers: { Origin: 'https://evil.example' } });
  assert.equal(denied.headers['access-control-allow-origin'], undefined);
  assert.equal(denied.headers['access-control-allow-credentials'], undefined);

  const sessionsBefore = h.engine.clientsCount;
  const preflight = await request(h.port, 'OPTIONS', h.url(HANDSHAKE), {
    headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-custom' },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers['access-control-allow-origin'], 'https://app.example');
  assert.equal(preflight.headers['access-control-allow-methods'], 'GET,POST');
  assert.equal(preflight.headers['access-control-allow-headers'], 'content-type,x-custom');
  assert.equal(preflight.headers['access-control-max-age'], '600');
  assert.equal(h.engine.clientsCount, sessionsBefore, 'preflight opens no session');

  // Error responses carry the CORS headers too, so browsers can read them.
  const error = await request(h.port, 'GET', h.url('EIO=3&transport=polling'), { headers: { Origin: 'https://app.example' } });
  assert.equal(error.status, 400);
  assert.equal(error.headers['access-control-allow-origin'], 'https://app.example');
});

test('CORS origin forms: "*", single string, RegExp, function (async, erroring)', async (t) => {
  const star = await startEngine(t, { cors: { origin: '*' } });
  const any = await request(star.port, 'GET', star.url(HANDSHAKE), { headers: { Origin: 'https://x.example' } });
  assert.equal(any.headers['access-control-allow-origin'], '*');

  const single = await startEngine(t, { cors: { origin: 'https://one.example', methods: ['GET'], allowedHeaders: 'content-type' } });
  const pre = await request(single.port, 'OPTIONS', single.url(HANDSHAKE), { headers: { Origin: 'https://one.example' } });
  assert.equal(pre.headers['access-control-allow-methods'], 'GET');
  assert.equal(pre.headers['access-control-allow-headers'], 'content-type');
  const other = await request(single.port, 'GET', single.url(HANDSHAKE), { headers: { Origin: 'https://two.example' } });
  assert.equal(other.headers['access-control-allow-origin'], undefined);

  const pattern = await startEngine(t, { cors: { origin: /^https:\/\/[a-z]+\.example$/g } });
  for (let i = 0; i < 3; i++) {
    const reply = await request(pattern.port, 'GET', pattern.url(HANDSHAKE), { headers: { Origin: 'https://abc.example' } });
    assert.equal(reply.headers['access-control-allow-origin'], 'https://abc.example', 'a /g pattern matches every time');
  }

  const fn = await startEngine(t, {
    cors: {
      origin: (origin, cb) => {
        if (origin === 'https://boom.example') return cb(new Error('lookup failed'));
        setTimeout(() => cb(null, origin === 'https://ok.example'), 1);
      },
    },
  });
  const ok = await request(fn.port, 'GET', fn.url(HANDSHAKE), { headers: { Origin: 'https://ok.example' } });
  assert.equal(ok.headers['access-control-allow-origin'], 'https://ok.example');
  for (const origin of ['https://no.example', 'https://boom.example']) {
    const reply = await request(fn.port, 'GET', fn.url(HANDSHAKE), { headers: { Origin: origin } });
    assert.equal(reply.status, 403, 'an origin the function refuses may not open a session');
    assert.equal(reply.headers['access-control-allow-origin'], undefined, origin);
  }
});

test('an Origin header with invalid characters is refused (code 3)', async (t) => {
  // Node's HTTP parser already drops such requests; a server or proxy in front may not, so the
  // engine checks again. A real request whose header is rewritten on the way in stands for that.
  const engine = new EngineServer();
  const http = createServer((req, res) => {
    req.headers.origin = 'https://a\x01.example';
    engine.handleRequest(req, res);
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.after(async () => {
    engine.close();
    await new Promise((resolve) => http.close(resolve));
  });
  const reply = await request((http.address() as AddressInfo).port, 'GET', '/engine.io/?' + HANDSHAKE);
  assert.equal(reply.status, 400);
  assert.deepEqual(json(reply), { code: 3, message: 'Bad request' });
  assert.equal(engine.clientsCount, 0);
});

test('attach() takes only its path: other routes and other upgrade handlers are untouched', async (t) => {
  const h = await startEngine(t, {}, '/realtime/');
  const app = await request(h.port, 'GET', '/realtime-but-not-really');
  assert.equal(app.body, 'app route');
  const nested = await request(h.port, 'GET', '/realtime/sub?EIO=4&transport=polling');
  assert.equal(nested.status, 200, 'the path is a prefix, as in engine.io');
  const engine = await request(h.port, 'GET', '/realtime/?EIO=4&transport=polling');
  assert.equal(engine.status, 200);
  const noSlash = await request(h.port, 'GET', '/realtime?EIO=4&transport=polling');
  assert.equal(noSlash.status, 200, 'the path without trailing slash works too');
  // An upgrade on another path with no other upgrade listener is refused, not left hanging.
  const socket = connect(h.port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write('GET /other HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await once(socket, 'close');
  assert.match(Buffer.concat(chunks).toString(), /^HTTP\/1\.1 400/);
});

test('after close(), engine requests are answered 503 (never left hanging); other routes still served', async (t) => {
  const http = createServer((_req, res) => res.end('mine'));
  const engine = new EngineServer();
  engine.attach(http);
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.after(() => new Promise((resolve) => http.close(resolve)));
  const port = (http.address() as AddressInfo).port;
  const handshake = await request(port, 'GET', '/engine.io/?' + HANDSHAKE);
  const sid = JSON.parse(handshake.body.slice(1)).sid as string;
  engine.close();
  assert.equal(engine.clientsCount, 0);
  for (const [method, query] of [['GET', HANDSHAKE], ['POST', `${HANDSHAKE}&sid=${sid}`]] as const) {
    const reply = await request(port, method, '/engine.io/?' + query, { body: method === 'POST' ? '1' : undefined });
    assert.equal(reply.status, 503);
    assert.deepEqual(json(reply), { code: 3, message: 'Server is closing' });
  }
  assert.equal((await request(port, 'GET', '/other')).body, 'mine');
});

test('Express: middleware() serves the engine path and calls next() for the rest; engine.io-client connects', async (t) => {
  const engine = new EngineServer({ path: '/engine.io/' });
  const app = express();
  app.get('/hello', (_req, res) => {
    res.send('world');
  });
  app.use(engine.middleware());
  app.use((_req, res) => {
    res.status(404).send('express 404');
  });
  const http = createServer(app);
  http.on('upgrade', engine.handleUpgrade);
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const port = (http.address() as AddressInfo).port;
  t.after(async () => {
    engine.close();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });
  assert.equal((await request(port, 'GET', '/hello')).body, 'world');
  assert.equal((await request(port, 'GET', '/nope')).body, 'express 404');
  assert.deepEqual(json(await request(port, 'GET', '/engine.io/?EIO=9&transport=polling')), { code: 5, message: 'Unsupported protocol version' });

  const connection = once(engine, 'connection');
  const client = new ClientSocket(`http://127.0.0.1:${port}`, { path: '/engine.io/' });
  t.after(() => client.close());
  const [session] = await connection;
  const upgraded = new Promise((resolve) => client.once('upgrade', resolve));
  await upgraded;
  const got = once(session, 'message');
  client.send('through express');
  assert.equal((await got)[0], 'through express');
});

test('plain Node handler: handleRequest as the request listener', async (t) => {
  const engine = new EngineServer();
  const http = createServer(engine.handleRequest);
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const port = (http.address() as AddressInfo).port;
  t.after(async () => {
    engine.close();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });
  const reply = await request(port, 'GET', '/anything?EIO=4&transport=polling');
  assert.equal(reply.status, 200);
  assert.equal(engine.clientsCount, 1);
});

test('cross-origin WebSocket handshakes are refused until cors.origin allows the origin', async (t) => {
  const upgrade = (port: number, origin: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          `GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: ${origin}\r\n` +
            'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
      });
      let head = '';
      socket.on('data', (chunk) => {
        head += chunk.toString('latin1');
        if (head.includes('\r\n')) {
          socket.destroy();
          resolve(head.slice(0, head.indexOf('\r\n')));
        }
      });
      socket.on('error', reject);
    });
  const closed = await startEngine(t);
  assert.match(await upgrade(closed.port, 'https://evil.example'), /^HTTP\/1\.1 403/);
  assert.match(await upgrade(closed.port, `http://127.0.0.1:${closed.port}`), /^HTTP\/1\.1 101/);
  const open = await startEngine(t, { cors: { origin: 'https://app.example' } });
  assert.match(await upgrade(open.port, 'https://app.example'), /^HTTP\/1\.1 101/);
  assert.match(await upgrade(open.port, 'https://evil.example'), /^HTTP\/1\.1 403/);
});
