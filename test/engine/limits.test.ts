// Issue 12, item 5: the defaults never refuse honest clients (one address behind a proxy, a
// reconnect storm, abandoned handshakes), and per-client limits key on the real client address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import { startEngine, request, pollingHandshake, json, type Harness } from './helpers.js';
import type { EngineSocket } from '../../src/engine/index.js';

const handshake = (h: Harness, headers: Record<string, string> = {}) =>
  request(h.port, 'GET', h.url('EIO=4&transport=polling'), { headers });

test('trustProxy: the session address comes from X-Forwarded-For only through a trusted peer', async (t) => {
  const trusted = await startEngine(t, { trustProxy: 'loopback' });
  let connection = trusted.nextConnection();
  await handshake(trusted, { 'X-Forwarded-For': '6.6.6.6, 198.51.100.7' });
  assert.equal((await connection).remoteAddress, '198.51.100.7');

  // Over a WebSocket handshake too, and with the RFC 7239 header when chosen.
  const fwd = await startEngine(t, { trustProxy: 1, proxyHeader: 'forwarded' });
  connection = fwd.nextConnection();
  const ws = new WebSocket(`ws://127.0.0.1:${fwd.port}${fwd.url('EIO=4&transport=websocket')}`, {
    headers: { Forwarded: 'for="[2001:db8::7]:4711";proto=https', 'X-Forwarded-For': '6.6.6.6' },
  });
  t.after(() => ws.terminate());
  assert.equal((await connection).remoteAddress, '2001:db8::7');
  assert.equal(fwd.engine.clientAddress((await connection).request), '2001:db8::7');

  const untrusted = await startEngine(t); // default: the TCP peer, headers ignored
  connection = untrusted.nextConnection();
  await handshake(untrusted, { 'X-Forwarded-For': '198.51.100.7' });
  assert.equal((await connection).remoteAddress, '127.0.0.1');

  await assert.rejects(startEngine(t, { trustProxy: 'not-an-address' }), /trustProxy/);
});

test('handshakeRate, when enabled, counts per client address (trusted X-Forwarded-For)', async (t) => {
  const h = await startEngine(t, { trustProxy: 'loopback', handshakeRate: { max: 3, windowMs: 60_000 } });
  const as = (ip: string) => handshake(h, { 'X-Forwarded-For': ip }).then((r) => r.status);
  const a = [];
  for (let i = 0; i < 5; i++) a.push(await as('198.51.100.1'));
  assert.deepEqual(a, [200, 200, 200, 429, 429]);
  assert.deepEqual(json(await handshake(h, { 'X-Forwarded-For': '198.51.100.1' })), { code: 3, message: 'Too many handshakes' });
  assert.equal(await as('198.51.100.2'), 200, 'another client behind the same proxy is not affected');
});

test('defaults: a reconnect storm of 1,000 WebSocket clients from one address all get in', async (t) => {
  const h = await startEngine(t);
  const clients = Array.from({ length: 1000 }, () => new WebSocket(`ws://127.0.0.1:${h.port}${h.url('EIO=4&transport=websocket')}`));
  t.after(() => clients.forEach((c) => c.terminate()));
  const results = await Promise.all(clients.map((c) => new Promise<string>((resolve) => {
    c.once('message', (data) => resolve(String(data)[0]!)); // the open packet
    c.once('unexpected-response', (_req, res) => resolve(`HTTP ${res.statusCode}`));
    c.once('error', (err) => resolve(err.message));
  })));
  assert.deepEqual(results.filter((r) => r !== '0'), []);
  assert.equal(h.engine.clientsCount, 1000);
});

test('abandoned polling handshakes cannot lock out new clients', async (t) => {
  // Defaults: 1,000 handshakes never followed up, then a new client is served.
  const h = await startEngine(t);
  for (let i = 0; i < 10; i++) {
    const batch = await Promise.all(Array.from({ length: 100 }, () => handshake(h).then((r) => r.status)));
    assert.deepEqual(batch.filter((s) => s !== 200), []);
  }
  const { sid } = await pollingHandshake(h);
  assert.equal((await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${sid}`), { body: '4hi' })).status, 200);

  // At maxSessions: the oldest session that never came back makes room; live ones never do.
  const small = await startEngine(t, { maxSessions: 3 });
  const opened: EngineSocket[] = [];
  small.engine.on('connection', (s) => opened.push(s));
  const live = await pollingHandshake(small);
  await request(small.port, 'POST', small.url(`EIO=4&transport=polling&sid=${live.sid}`), { body: '4hi' });
  const abandoned = [await pollingHandshake(small), await pollingHandshake(small)];
  const evicted = once(opened[1]!, 'close');
  const fresh = await handshake(small);
  assert.equal(fresh.status, 200, 'a new client is served');
  assert.equal((await evicted)[0], 'forced close', 'the oldest abandoned one was closed');
  assert.equal((await request(small.port, 'GET', small.url(`EIO=4&transport=polling&sid=${abandoned[0]!.sid}`))).status, 400);
  assert.ok(small.engine.clients[live.sid]);
  // Everyone has come back now: the cap answers 503.
  for (const s of [abandoned[1]!.sid, JSON.parse(fresh.body.slice(1)).sid as string]) {
    await request(small.port, 'POST', small.url(`EIO=4&transport=polling&sid=${s}`), { body: '4hi' });
  }
  assert.equal((await handshake(small)).status, 503);
});
