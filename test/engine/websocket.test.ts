// WebSocket transport and the polling → WebSocket upgrade, driven by a raw `ws` client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { startEngine, request, pollingHandshake, rawUpgrade, until, WireClient, type Harness, heldGet } from './helpers.js';

const wsUrl = (h: Harness, query: string) => `ws://127.0.0.1:${h.port}${h.url(query)}`;

test('websocket-only session: open packet without upgrades, text and binary frames', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const client = await WireClient.connect(wsUrl(h, 'EIO=4&transport=websocket'));
  t.after(() => client.ws.terminate());
  const session = await connection;
  const open = (await client.nth(0)) as string;
  assert.equal(open[0], '0');
  const data = JSON.parse(open.slice(1));
  assert.deepEqual(Object.keys(data).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
  assert.deepEqual(data.upgrades, []);
  assert.equal(data.sid, session.id);
  assert.equal(session.transport.name, 'websocket');

  const got: Array<string | Buffer> = [];
  session.on('message', (m) => got.push(m));
  client.send('4text');
  client.send(Buffer.from([9, 8, 7]));
  client.send('bAQI='); // base64 binary is accepted on WebSocket too (forceBase64 clients)
  await until(() => got.length === 3, 2000, 'messages');
  assert.deepEqual(got, ['text', Buffer.from([9, 8, 7]), Buffer.from([1, 2])]);

  session.send('hi');
  session.send(new Uint8Array([1, 2, 3]));
  const prepared = h.engine.prepare('shared');
  session.sendPrepared(prepared);
  session.sendPrepared(h.engine.prepare(new Uint8Array([4])));
  assert.equal(await client.nth(1), '4hi');
  assert.deepEqual(await client.nth(2), Buffer.from([1, 2, 3]), 'binary frame, no type prefix');
  assert.equal(await client.nth(3), '4shared');
  assert.deepEqual(await client.nth(4), Buffer.from([4]));
});

test('websocket heartbeat: ping/pong keeps the session; silence closes it with ping timeout', async (t) => {
  const h = await startEngine(t, { pingInterval: 20, pingTimeout: 400 });
  const connection = h.nextConnection();
  const client = await WireClient.connect(wsUrl(h, 'EIO=4&transport=websocket'));
  t.after(() => client.ws.terminate());
  const session = await connection;
  for (let i = 1; i <= 3; i++) {
    assert.equal(await client.nth(i), '2');
    client.send('3');
  }
  assert.equal(session.readyState, 'open');
  const [reason] = await once(session, 'close');
  assert.equal(reason, 'ping timeout');
  await client.closed;
});

test('websocket close reasons: client close packet, peer close, parse error, too-big frame', async (t) => {
  const h = await startEngine(t, { maxHttpBufferSize: 64 });
  const cases: Array<[string, (c: WireClient) => void, string]> = [
    ['close packet', (c) => c.send('1'), 'transport close'],
    ['peer closes', (c) => c.ws.close(), 'transport close'],
    ['unknown type', (c) => c.send('9'), 'parse error'],
    ['empty text frame', (c) => c.send(''), 'parse error'],
    ['bad base64', (c) => c.send('b***'), 'parse error'],
    ['frame over maxPayload', (c) => c.send('4' + 'x'.repeat(100)), 'transport error'],
    ['ping from client', (c) => c.send('2'), 'transport error'],
  ];
  for (const [name, act, expected] of cases) {
    const connection = h.nextConnection();
    const client = await WireClient.connect(wsUrl(h, 'EIO=4&transport=websocket'));
    const session = await connection;
    const closed = once(session, 'close');
    act(client);
    assert.equal((await closed)[0], expected, name);
    await client.closed;
  }
  assert.equal(h.engine.clientsCount, 0);
});

test('server close over websocket closes the connection; forced close reported', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const client = await WireClient.connect(wsUrl(h, 'EIO=4&transport=websocket'));
  const session = await connection;
  const closed = once(session, 'close');
  session.send('bye');
  session.close();
  assert.equal((await closed)[0], 'forced close');
  await client.closed;
  assert.equal(await client.nth(1), '4bye', 'queued data flushed before closing');
});

test('refused upgrades get a raw HTTP error response with the protocol body', async (t) => {
  const h = await startEngine(t, { allowRequest: (req, cb) => cb('nope', !req.url!.includes('deny')) });
  const unknown = await rawUpgrade(h, 'EIO=4&transport=websocket&sid=missing');
  assert.match(unknown, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.ok(unknown.endsWith('{"code":1,"message":"Session ID unknown"}'));
  const version = await rawUpgrade(h, 'EIO=3&transport=websocket');
  assert.ok(version.endsWith('{"code":5,"message":"Unsupported protocol version"}'));
  const transport = await rawUpgrade(h, 'EIO=4&transport=smoke');
  assert.ok(transport.endsWith('{"code":0,"message":"Transport unknown"}'));
  const polling = await rawUpgrade(h, 'EIO=4&transport=polling');
  assert.ok(polling.endsWith('{"code":3,"message":"Bad request"}'));
  const denied = await rawUpgrade(h, 'EIO=4&transport=websocket&deny=1');
  assert.match(denied, /^HTTP\/1\.1 403 Forbidden\r\n/);
  assert.ok(denied.endsWith('{"code":4,"message":"nope"}'));

  const disabled = await startEngine(t, { transports: ['polling'] });
  const off = await rawUpgrade(disabled, 'EIO=4&transport=websocket');
  assert.ok(off.endsWith('{"code":0,"message":"Transport unknown"}'));
});

test('upgrade: probe, pending GET released with noop, buffered packets delivered once and in order', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  const events: string[] = [];
  session.on('upgrading', () => events.push('upgrading'));
  session.on('upgrade', () => events.push('upgrade'));

  const { reply: poll } = await heldGet(h, sid, session);
  const probe = await WireClient.connect(wsUrl(h, `EIO=4&transport=websocket&sid=${sid}`));
  t.after(() => probe.ws.terminate());
  assert.equal(session.upgrading, true);
  probe.send('2probe');
  assert.equal(await probe.nth(0), '3probe', 'nothing but 3probe before the upgrade packet');
  assert.equal((await poll).body, '6', 'pending GET released with a noop');
  // While paused, a new GET is answered at once (noop) rather than held.
  assert.equal((await request(h.port, 'GET', h.url(`EIO=4&transport=polling&sid=${sid}`))).body, '6');

  session.send('one');
  session.send(new Uint8Array([2]));
  assert.equal(probe.messages.length, 1, 'buffered, not sent on the probe');
  probe.send('5');
  assert.equal(await probe.nth(1), '4one');
  assert.deepEqual(await probe.nth(2), Buffer.from([2]));
  session.send('three');
  assert.equal(await probe.nth(3), '4three');
  assert.deepEqual(events, ['upgrading', 'upgrade']);
  assert.equal(session.transport.name, 'websocket');
  assert.equal(session.upgraded, true);

  // Polling is over for this session.
  const late = await request(h.port, 'GET', h.url(`EIO=4&transport=polling&sid=${sid}`));
  assert.equal(late.status, 400);
  assert.deepEqual(JSON.parse(late.body), { code: 3, message: 'Bad request' });

  const got = once(session, 'message');
  probe.send('4over ws');
  assert.equal((await got)[0], 'over ws');
});

test('upgrade aborted: unexpected packet on the probe, or upgrade timeout; session stays on polling', async (t) => {
  const h = await startEngine(t, { upgradeTimeout: 300 });
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;

  const probe = await WireClient.connect(wsUrl(h, `EIO=4&transport=websocket&sid=${sid}`));
  probe.send('4not a probe');
  await probe.closed;
  assert.equal(session.upgrading, false);
  assert.equal(session.readyState, 'open');

  const slow = await WireClient.connect(wsUrl(h, `EIO=4&transport=websocket&sid=${sid}`));
  slow.send('2probe');
  assert.equal(await slow.nth(0), '3probe');
  await slow.closed; // no upgrade packet within upgradeTimeout
  assert.equal(session.transport.name, 'polling');
  assert.equal(session.readyState, 'open');
  session.send('still polling');
  const poll = await request(h.port, 'GET', h.url(`EIO=4&transport=polling&sid=${sid}`));
  assert.equal(poll.body, '4still polling');

  // A probe that goes away leaves the session usable as well.
  const gone = await WireClient.connect(wsUrl(h, `EIO=4&transport=websocket&sid=${sid}`));
  gone.ws.terminate();
  await until(() => !session.upgrading, 2000, 'probe dropped');
  assert.equal(session.readyState, 'open');
});

// engine.io-protocol suite, "ignores WebSocket connection with same sid after upgrade": the extra
// WebSocket completes its handshake (101) and is closed at once; the session is untouched.
test('a second WebSocket with the sid of an upgraded or upgrading session is accepted, then closed', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  const first = await WireClient.connect(wsUrl(h, `EIO=4&transport=websocket&sid=${sid}`));
  t.after(() => first.ws.terminate());
  first.send('2probe');
  assert.equal(await first.nth(0), '3probe');

  // While the first probe is in flight: a second probe is closed, the first one still completes.
  const during = await WireClient.connect(wsUrl(h, `EIO=4&transport=websocket&sid=${sid}`));
  assert.deepEqual(await during.closed, [1008, 'upgrade refused']);
  assert.equal(session.upgrading, true);
  first.send('5');
  await until(() => session.upgraded, 2000, 'upgrade');

  const events: string[] = [];
  session.on('close', (reason) => events.push(reason));
  const after = await WireClient.connect(wsUrl(h, `EIO=4&transport=websocket&sid=${sid}`)); // 101, not 400
  assert.deepEqual(await after.closed, [1008, 'upgrade refused']);
  assert.deepEqual(after.messages, [], 'nothing of the session is sent to the extra connection');
  first.send('4hello');
  const got = once(session, 'message');
  assert.equal((await got)[0], 'hello');
  session.send('hello');
  assert.equal(await first.nth(1), '4hello', 'the next message still echoes on the first socket');
  assert.equal(session.readyState, 'open');
  assert.deepEqual(events, []);

  // Same for a session that began on WebSocket.
  const wsOnly = await WireClient.connect(wsUrl(h, 'EIO=4&transport=websocket'));
  t.after(() => wsOnly.ws.terminate());
  const wsSid = JSON.parse(String(await wsOnly.nth(0)).slice(1)).sid as string;
  const extra = await WireClient.connect(wsUrl(h, `EIO=4&transport=websocket&sid=${wsSid}`));
  assert.deepEqual((await extra.closed)[0], 1008);
  assert.equal(h.engine.clients[wsSid]?.readyState, 'open');
});

test('allowUpgrades: false refuses WebSocket upgrades of polling sessions', async (t) => {
  const h = await startEngine(t, { allowUpgrades: false });
  const { sid } = await pollingHandshake(h);
  assert.match(await rawUpgrade(h, `EIO=4&transport=websocket&sid=${sid}`), /^HTTP\/1\.1 400/);
});

test('closing a session mid-upgrade closes the probe too', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  const probe = await WireClient.connect(wsUrl(h, `EIO=4&transport=websocket&sid=${sid}`));
  probe.send('2probe');
  await probe.nth(0);
  session.close(true);
  await probe.closed;
  assert.equal(h.engine.clientsCount, 0);
});

test('a close after 3probe lets the upgrade finish and sends the close packet on the WebSocket', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  const { reply: poll } = await heldGet(h, sid, session);
  const probe = await WireClient.connect(wsUrl(h, `EIO=4&transport=websocket&sid=${sid}`));
  t.after(() => probe.ws.terminate());
  probe.send('2probe');
  assert.equal(await probe.nth(0), '3probe');
  assert.equal((await poll).body, '6', 'polling released: the client pauses it and waits on the probe');
  const closed = once(session, 'close');
  session.send('last words');
  session.close();
  assert.equal(session.upgrading, true, 'the probe is kept');
  probe.send('5');
  assert.equal(await probe.nth(1), '4last words');
  assert.equal(await probe.nth(2), '1', 'the close packet arrives where the client listens');
  await probe.closed;
  assert.equal((await closed)[0], 'forced close');
  assert.equal(h.engine.clientsCount, 0);
});

test('perMessageDeflate: off by default, negotiated when enabled; compress option honoured', async (t) => {
  const plain = await startEngine(t);
  const offered = await WireClient.connect(wsUrl(plain, 'EIO=4&transport=websocket')); // ws offers deflate
  t.after(() => offered.ws.terminate());
  assert.equal(offered.ws.extensions, '');

  const h = await startEngine(t, { perMessageDeflate: { threshold: 0 } });
  const connection = h.nextConnection();
  const client = await WireClient.connect(wsUrl(h, 'EIO=4&transport=websocket'));
  t.after(() => client.ws.terminate());
  const session = await connection;
  assert.match(client.ws.extensions, /permessage-deflate/);
  const big = 'abc'.repeat(5000);
  const got = once(session, 'message');
  client.send('4' + big);
  assert.equal((await got)[0], big);
  session.send(big);
  session.send(big, { compress: false });
  assert.equal(await client.nth(1), '4' + big);
  assert.equal(await client.nth(2), '4' + big);
});

// Issue 12, item 7: a client that stops reading is dropped with its own reason, and a close frame
// (1008) waits behind the data it did not read.
test('slow consumer over WebSocket: close reason "transport buffer full" and a 1008 close frame', async (t) => {
  const h = await startEngine(t, { maxBufferedBytes: 256 * 1024 });
  const connection = h.nextConnection();
  const client = await WireClient.connect(wsUrl(h, 'EIO=4&transport=websocket'));
  t.after(() => client.ws.terminate());
  const session = await connection;
  await client.nth(0); // open packet
  const tcp = (client.ws as unknown as { _socket: import('node:net').Socket })._socket;
  tcp.pause(); // the client stops reading; the kernel buffers fill, then the server's queue grows

  const closed = once(session, 'close');
  const chunk = 'x'.repeat(16 * 1024);
  let sent = 0;
  while (session.readyState === 'open') {
    session.send(chunk);
    sent++;
    if (sent % 64 === 0) await new Promise((resolve) => setImmediate(resolve)); // let the socket write
  }
  const [reason, description] = await closed;
  assert.equal(reason, 'transport buffer full');
  assert.match(String(description), /send buffer over 262144 bytes/);
  assert.equal(h.engine.clientsCount, 0);

  tcp.resume(); // reads the backlog, then the close frame
  assert.deepEqual(await client.closed, [1008, 'transport buffer full']);
  assert.ok(client.messages.length > 1 && client.messages.length <= sent + 1, 'queued data arrived before the close frame');
});
