import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { io as ioc } from 'socket.io-client';
import { Server, Adapter, type Namespace } from '../../src/server/index.js';
import { once, setup } from './helpers.js';

test('serveClient answers the bundle URL and leaves other routes to the app', async (t) => {
  const httpServer = createServer((_req, res) => res.end('app'));
  const io = new Server(httpServer, { serveClient: { path: '/assets/sb.js' } });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  t.after(() => io.close());
  const base = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  const bundle = await fetch(base + '/assets/sb.js');
  assert.ok([200, 404].includes(bundle.status)); // 404 only when the browser bundle is not built
  if (bundle.status === 200) assert.match(bundle.headers.get('content-type')!, /javascript/);
  assert.equal(await (await fetch(base + '/other')).text(), 'app');
  const off = new Server(createServer((_q, r) => r.end('app')), { serveClient: false });
  t.after(() => off.close());
});

test('listen on a port, custom path, custom adapter class, close', async (t) => {
  const created: string[] = [];
  class TracingAdapter extends Adapter {
    constructor(nsp: Namespace) {
      super(nsp);
      created.push(nsp.name);
    }
  }
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const io = new Server(port, { path: '/rt/', adapter: TracingAdapter });
  t.after(() => io.close());
  io.of('/x');
  assert.deepEqual(created, ['/', '/x']);
  assert.equal(io.path(), '/rt/');
  assert.equal(io.adapter(), TracingAdapter);
  await once(io.httpServer!, 'listening');
  const c = ioc(`http://127.0.0.1:${port}`, { path: '/rt/', transports: ['websocket'], reconnection: false });
  t.after(() => c.disconnect());
  await once(c, 'connect');
});

test('allowRequest and transports are passed to the engine', async (t) => {
  const h = await setup(t, { allowRequest: (req, cb) => cb(req.headers['x-key'] === 'ok' ? null : 'denied', req.headers['x-key'] === 'ok'), transports: ['polling'] }, 'polling');
  const refused = h.client('/', { extraHeaders: { 'x-key': 'nope' } });
  await once(refused, 'connect_error');
  const ok = h.client('/', { extraHeaders: { 'x-key': 'ok' } });
  await once(ok, 'connect');
  const ws = h.client('/', { transports: ['websocket'], extraHeaders: { 'x-key': 'ok' } });
  await once(ws, 'connect_error');
});

test('cors is closed by default and opens when configured', async (t) => {
  const closed = await setup(t, {}, 'polling');
  const r1 = await fetch(`${closed.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'https://evil.example' } });
  assert.equal(r1.headers.get('access-control-allow-origin'), null);
  const open = await setup(t, { cors: { origin: 'https://good.example' } }, 'polling');
  const r2 = await fetch(`${open.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'https://good.example' } });
  assert.equal(r2.headers.get('access-control-allow-origin'), 'https://good.example');
});

test('maxHttpBufferSize: an oversized message closes only that client', async (t) => {
  const h = await setup(t, { maxHttpBufferSize: 1000 });
  const big = h.client();
  const small = h.client();
  await Promise.all([once(big, 'connect'), once(small, 'connect')]);
  const gone = once<[string]>(big, 'disconnect');
  big.emit('x', 'a'.repeat(5000));
  assert.match((await gone)[0], /transport (close|error)/);
  assert.equal(small.connected, true);
});
