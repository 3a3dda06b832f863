// How sessions end, as engine.io documents it: what is buffered at close, heartbeat timeouts
// without a poll, a close inside a payload, aborted uploads, parse errors, server shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { Socket as ClientSocket } from 'engine.io-client';
import { startEngine, request, pollingHandshake, until, WireClient, type Harness } from './helpers.js';

/** A polling session opened by hand, with the messages it receives and its close event. */
async function watchedPollingSession(h: Harness) {
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  const received: unknown[] = [];
  session.on('message', (m) => received.push(m));
  return { sid, session, received, closed: once(session, 'close') };
}

for (const transport of ['polling', 'websocket'] as const) {
  test(`close() after send() over ${transport}: the buffered message reaches the client before the close`, async (t) => {
    const h = await startEngine(t, { allowUpgrades: false });
    const connection = h.nextConnection();
    const peer = new ClientSocket(h.origin, { path: '/engine.io/', transports: [transport] });
    t.after(() => peer.close());
    const session = await connection;
    await new Promise<void>((resolve) => peer.once('open', () => resolve()));
    const seen: string[] = [];
    peer.on('message', (m) => seen.push(`message ${m}`));
    const closed = new Promise((resolve) => peer.once('close', (reason) => resolve(seen.push(`close ${reason}`))));
    session.send('last words');
    session.close();
    await closed;
    assert.deepEqual(seen, ['message last words', 'close transport close']);
  });
}

test('a polling client that stops polling ends with ping timeout', async (t) => {
  const h = await startEngine(t, { pingInterval: 30, pingTimeout: 30 });
  const connection = h.nextConnection();
  await pollingHandshake(h); // and never polls again
  const session = await connection;
  assert.equal((await once(session, 'close'))[0], 'ping timeout');
});

test('a close packet inside a payload: packets before it are delivered, the rest ignored', async (t) => {
  const h = await startEngine(t);
  const { sid, received, closed } = await watchedPollingSession(h);
  const reply = await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${sid}`), { body: '4a\x1e1\x1e4b' });
  assert.equal(reply.status, 200);
  assert.equal((await closed)[0], 'transport close');
  assert.deepEqual(received, ['a']);
});

test('a polling upload aborted mid-body ends the session with a transport error', async (t) => {
  const h = await startEngine(t);
  const { sid, received, closed } = await watchedPollingSession(h);
  const socket = netConnect(h.port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(`POST ${h.url(`EIO=4&transport=polling&sid=${sid}`)} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n4partial`);
  await until(() => socket.bytesWritten > 0, 1000, 'request written');
  socket.destroy();
  const [reason, description] = await closed;
  assert.equal(reason, 'transport error');
  assert.match(String(description), /closed prematurely/);
  assert.deepEqual(received, []);
});

test('parse errors end the session with reason parse error, over WebSocket and polling', async (t) => {
  const h = await startEngine(t);
  const wsConnection = h.nextConnection();
  const ws = await WireClient.connect(`ws://127.0.0.1:${h.port}${h.url('EIO=4&transport=websocket')}`);
  const wsSession = await wsConnection;
  const wsClosed = once(wsSession, 'close');
  ws.send('9unknown type');
  assert.equal((await wsClosed)[0], 'parse error');

  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  const closed = once(session, 'close');
  const reply = await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${sid}`), { body: 'x' });
  assert.equal(reply.status, 400);
  assert.equal((await closed)[0], 'parse error');
});

test('engine.close() discards what sessions still had buffered: nothing is delivered, no send callback runs', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  let callbacks = 0;
  session.send('never delivered', () => callbacks++);
  const closed = once(session, 'close');
  h.engine.close();
  assert.equal((await closed)[0], 'forced close');
  const late = await request(h.port, 'GET', h.url(`EIO=4&transport=polling&sid=${sid}`));
  assert.equal(late.status, 503);
  assert.doesNotMatch(late.body, /never delivered/);
  assert.equal(callbacks, 0);
  assert.equal(h.engine.clientsCount, 0);
});
