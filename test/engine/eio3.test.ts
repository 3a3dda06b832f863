// Engine.IO protocol v3 sessions (`allowEIO3`): raw wire checks and the real engine.io-client 3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import EioV3, { type EioV3Socket } from 'engine.io-client-v3';
import { decodePayloadV3, encodeBinaryPayloadV3 } from '../../src/protocol/engineio-v3.js';
import type { ConnectionError, EngineSocket } from '../../src/engine/index.js';
import { startEngine, request, json, until, WireClient, type Harness } from './helpers.js';

async function v3Handshake(h: Harness, query = 'transport=polling'): Promise<{ sid: string; open: Record<string, unknown>; body: string }> {
  const reply = await request(h.port, 'GET', h.url(query));
  assert.equal(reply.status, 200, reply.body);
  const [open] = decodePayloadV3(reply.body);
  assert.equal(open!.type, 'open');
  const data = JSON.parse(open!.data as string) as Record<string, unknown>;
  return { sid: data.sid as string, open: data, body: reply.body };
}

test('v3 handshakes are refused by default, as engine.io: 400, code 5, context protocol 3 (a number)', async (t) => {
  const h = await startEngine(t);
  const errors: ConnectionError[] = [];
  h.engine.on('connection_error', (e) => errors.push(e));
  for (const query of ['transport=polling', 'EIO=3&transport=polling']) {
    const reply = await request(h.port, 'GET', h.url(query));
    assert.equal(reply.status, 400);
    assert.deepEqual(json(reply), { code: 5, message: 'Unsupported protocol version' });
  }
  assert.deepEqual(errors.map((e) => e.context), [{ protocol: 3 }, { protocol: 3 }]);
  assert.equal(h.engine.clientsCount, 0);
});

test('v3 polling on the wire: length-prefixed payloads, b4 binary, client pings, binary POST bodies', async (t) => {
  const h = await startEngine(t, { allowEIO3: true, pingInterval: 60_000, pingTimeout: 60_000 });
  const connection = h.nextConnection();
  const { sid, open, body } = await v3Handshake(h);
  assert.match(body, /^\d+:0\{/);
  assert.deepEqual(Object.keys(open), ['sid', 'upgrades', 'pingInterval', 'pingTimeout', 'maxPayload']);
  const session = await connection;
  assert.equal(session.protocol, 3);
  const received: Array<string | Buffer> = [];
  session.on('message', (m) => received.push(m));
  const poll = `transport=polling&sid=${sid}`;

  // Text payload in, two packets.
  let reply = await request(h.port, 'POST', h.url(poll), { body: '6:4hello3:4é✓', headers: { 'Content-Type': 'text/plain;charset=UTF-8' } });
  assert.equal(reply.body, 'ok');
  // Binary payload in (XHR2 clients post application/octet-stream): one text, one binary record.
  reply = await request(h.port, 'POST', h.url(poll), {
    body: Buffer.from(encodeBinaryPayloadV3([{ type: 'message', data: 'hé' }, { type: 'message', data: new Uint8Array([0, 255]) }])),
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  assert.equal(reply.body, 'ok');
  assert.deepEqual(received, ['hello', 'é✓', 'hé', Buffer.from([0, 255])]);

  // Out: text and binary in one length-prefixed body; binary as b4 + base64.
  session.send('hi');
  session.send(new Uint8Array([1, 2, 3]));
  reply = await request(h.port, 'GET', h.url(poll));
  assert.equal(reply.body, '3:4hi6:b4AQID');

  // The client pings, the server answers pong (v4 is the other way round).
  let heartbeats = 0;
  session.on('heartbeat', () => heartbeats++);
  await request(h.port, 'POST', h.url(poll), { body: '1:2' });
  reply = await request(h.port, 'GET', h.url(poll));
  assert.equal(reply.body, '1:3');
  assert.equal(heartbeats, 1);

  // A malformed length ends the session with a parse error.
  const closed = once(session, 'close');
  reply = await request(h.port, 'POST', h.url(poll), { body: '9:4x' });
  assert.equal(reply.status, 400);
  assert.equal((await closed)[0], 'parse error');
});

test('v3: a pong from the client is a protocol error (heartbeats go client → server)', async (t) => {
  const h = await startEngine(t, { allowEIO3: true });
  const v3 = h.nextConnection();
  const { sid } = await v3Handshake(h, 'EIO=3&transport=polling');
  const v3Session = await v3;
  const closed = once(v3Session, 'close');
  await request(h.port, 'POST', h.url(`transport=polling&sid=${sid}`), { body: '1:3' });
  assert.deepEqual([(await closed)[0], String((await closed)[1])], ['transport error', 'Error: invalid heartbeat direction']);
});

test('v3: no ping from the client within pingInterval + pingTimeout closes with ping timeout', async (t) => {
  const h = await startEngine(t, { allowEIO3: true, pingInterval: 50, pingTimeout: 50 });
  const connection = h.nextConnection();
  await v3Handshake(h);
  const session = await connection;
  const [reason] = await once(session, 'close');
  assert.equal(reason, 'ping timeout');
});

test('v3 WebSocket on the wire: binary frames carry the type byte; b4 text is binary too', async (t) => {
  const h = await startEngine(t, { allowEIO3: true });
  const connection = h.nextConnection();
  const ws = await WireClient.connect(`ws://127.0.0.1:${h.port}${h.url('transport=websocket')}`);
  t.after(() => ws.ws.terminate());
  const session = await connection;
  assert.equal(session.protocol, 3);
  assert.match(String(await ws.nth(0)), /^0\{"sid"/);
  const received: Array<string | Buffer> = [];
  session.on('message', (m) => received.push(m));
  ws.send(Buffer.from([4, 7, 8]));
  ws.send('b4CQo=');
  ws.send('4text');
  await until(() => received.length === 3, 2000, 'three messages');
  assert.deepEqual(received, [Buffer.from([7, 8]), Buffer.from([9, 10]), 'text']);
  session.send(new Uint8Array([5, 6]));
  session.sendPrepared(h.engine.prepare(new Uint8Array([1])));
  assert.deepEqual(await ws.nth(1), Buffer.from([4, 5, 6]));
  assert.deepEqual(await ws.nth(2), Buffer.from([4, 1]));
  ws.send('2');
  assert.equal(await ws.nth(3), '3');
});

/** engine.io-client 3 has its own emitter type. */
const next = (client: EioV3Socket, event: string): Promise<unknown[]> =>
  new Promise((resolve) => client.once(event, (...args: unknown[]) => resolve(args)));

async function echo(client: EioV3Socket, session: EngineSocket): Promise<void> {
  const serverGot: Array<string | Buffer> = [];
  session.on('message', (data) => {
    serverGot.push(data);
    session.send(data);
  });
  const clientGot: unknown[] = [];
  client.on('message', (data: unknown) => clientGot.push(data));
  client.send('héllo ✓');
  client.send(Buffer.from([0, 1, 2, 255]));
  await until(() => clientGot.length >= 2, 3000, 'echo');
  assert.equal(serverGot[0], 'héllo ✓');
  assert.deepEqual(serverGot[1], Buffer.from([0, 1, 2, 255]));
  assert.equal(clientGot[0], 'héllo ✓');
  assert.deepEqual([...new Uint8Array(clientGot[1] as ArrayBuffer)], [0, 1, 2, 255]);
}

for (const [name, options] of [
  ['polling', { transports: ['polling'] }],
  ['polling (base64)', { transports: ['polling'], forceBase64: true }],
  ['websocket', { transports: ['websocket'] }],
  ['upgrade', { transports: ['polling', 'websocket'] }],
] as const) {
  test(`engine.io-client 3 over ${name}: text + binary both ways, client heartbeats keep it open`, async (t) => {
    const h = await startEngine(t, { allowEIO3: true, pingInterval: 40, pingTimeout: 1000 });
    const connection = h.nextConnection();
    const client = new EioV3(h.origin, { path: '/engine.io', ...options });
    t.after(() => client.close());
    const session = await connection;
    await next(client, 'open');
    assert.equal(client.id, session.id);
    assert.equal(session.protocol, 3);
    if (name === 'upgrade') {
      await next(client, 'upgrade');
      await until(() => session.upgraded, 2000, 'the server side of the upgrade');
      assert.equal(session.transport.name, 'websocket');
    }
    await echo(client, session);
    let heartbeats = 0;
    session.on('heartbeat', () => heartbeats++);
    await until(() => heartbeats >= 3, 3000, 'three client pings');
    assert.equal(session.readyState, 'open');
    const closed = once(session, 'close');
    client.close();
    assert.equal((await closed)[0], 'transport close');
  });
}

test('engine.io-client 3 learns of a server close', async (t) => {
  const h = await startEngine(t, { allowEIO3: true });
  for (const transports of [['polling'], ['websocket']]) {
    const connection = h.nextConnection();
    const client = new EioV3(h.origin, { path: '/engine.io', transports });
    t.after(() => client.close());
    const session = await connection;
    await next(client, 'open');
    const closed = next(client, 'close');
    session.close();
    assert.equal((await closed)[0], 'transport close');
  }
});
