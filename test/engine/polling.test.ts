// HTTP long-polling and every HTTP error response, over raw loopback HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { gunzipSync } from 'node:zlib';
import { request as rawRequest } from 'node:http';
import { startEngine, request, json, pollingHandshake, rawUpgrade, until, heldGet } from './helpers.js';
import type { EngineSocket } from '../../src/engine/index.js';

test('handshake: open packet with exactly the five fields, defaults as socket.io', async (t) => {
  const h = await startEngine(t);
  const { open, reply } = await pollingHandshake(h);
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['content-type'], 'text/plain; charset=UTF-8');
  assert.equal(reply.headers['cache-control'], 'no-store');
  assert.equal(Number(reply.headers['content-length']), Buffer.byteLength(reply.body));
  assert.deepEqual(Object.keys(open).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
  assert.deepEqual(open.upgrades, ['websocket']);
  assert.equal(open.pingInterval, 25000);
  assert.equal(open.pingTimeout, 20000);
  assert.equal(open.maxPayload, 1000000);
  assert.ok(Object.keys(h.engine.clients).includes(open.sid as string));
  assert.equal(h.engine.clientsCount, 1);
  assert.equal(reply.headers['access-control-allow-origin'], undefined, 'CORS closed by default');
});

test('handshake: options reach the open packet; session ids are long and distinct', async (t) => {
  const h = await startEngine(t, { pingInterval: 1234, pingTimeout: 567, maxHttpBufferSize: 890, allowUpgrades: false });
  const ids = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const { open } = await pollingHandshake(h);
    assert.equal(open.pingInterval, 1234);
    assert.equal(open.pingTimeout, 567);
    assert.equal(open.maxPayload, 890);
    assert.deepEqual(open.upgrades, []);
    assert.match(open.sid as string, /^[A-Za-z0-9_-]{24}$/); // 144 random bits
    ids.add(open.sid as string);
  }
  assert.equal(ids.size, 20);
});

test('handshake: initialPacket follows the open packet; polling-only server offers no upgrade', async (t) => {
  const h = await startEngine(t, { initialPacket: 'welcome', transports: ['polling'] });
  const { open, reply } = await pollingHandshake(h);
  assert.deepEqual(open.upgrades, []);
  assert.equal(reply.body.split('\x1e')[1], '4welcome');
});

test('error responses: JSON body with the protocol code and message', async (t) => {
  const h = await startEngine(t, {
    allowRequest: (req, cb) => (req.headers['x-token'] === 'no' ? cb('Token rejected', false) : cb(null, true)),
  });
  const errors: Array<{ code: number; message: string }> = [];
  h.engine.on('connection_error', (e) => errors.push({ code: e.code, message: e.message }));
  const cases: Array<[string, string, Record<string, string>, number, number, string]> = [
    ['GET', 'EIO=4&transport=carrier-pigeon', {}, 400, 0, 'Transport unknown'],
    ['GET', 'EIO=4', {}, 400, 0, 'Transport unknown'],
    ['GET', 'EIO=4&transport=webtransport', {}, 400, 0, 'Transport unknown'],
    ['GET', 'EIO=4&transport=polling&sid=nope', {}, 400, 1, 'Session ID unknown'],
    ['POST', 'EIO=4&transport=polling', {}, 400, 2, 'Bad handshake method'],
    ['PUT', 'EIO=4&transport=polling', {}, 400, 2, 'Bad handshake method'],
    ['GET', 'EIO=4&transport=websocket', {}, 400, 3, 'Bad request'],
    ['GET', 'EIO=4&transport=polling', { 'x-token': 'no' }, 403, 4, 'Token rejected'],
    ['GET', 'EIO=3&transport=polling', {}, 400, 5, 'Unsupported protocol version'],
    ['GET', 'transport=polling', {}, 400, 5, 'Unsupported protocol version'],
    ['GET', 'EIO=5&transport=polling', {}, 400, 5, 'Unsupported protocol version'],
  ];
  for (const [method, query, headers, status, code, message] of cases) {
    const reply = await request(h.port, method, h.url(query), { headers });
    assert.equal(reply.status, status, `${method} ${query}`);
    assert.equal(reply.headers['content-type'], 'application/json');
    assert.deepEqual(json(reply), { code, message }, `${method} ${query}`);
  }
  assert.equal(errors.length, cases.length);
  assert.deepEqual(errors[7], { code: 4, message: 'Token rejected' });
  assert.equal(h.engine.clientsCount, 0);
});

test('allowRequest refusing without a reason answers "Forbidden"; a throwing hook refuses too', async (t) => {
  let mode = 'refuse';
  const h = await startEngine(t, {
    allowRequest: (_req, cb) => {
      if (mode === 'throw') throw new Error('hook bug');
      setTimeout(() => cb(undefined, false), 1); // async decisions work
    },
  });
  const reply = await request(h.port, 'GET', h.url('EIO=4&transport=polling'));
  assert.equal(reply.status, 403);
  assert.deepEqual(json(reply), { code: 4, message: 'Forbidden' });
  mode = 'throw';
  const thrown = await request(h.port, 'GET', h.url('EIO=4&transport=polling'));
  assert.equal(thrown.status, 403);
});

test('long polling: GET waits for packets; POST carries packets and answers ok', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  const messages: Array<string | Buffer> = [];
  session.on('message', (m) => messages.push(m));

  const post = await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${sid}`), {
    headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
    body: '4hello\x1ebAQIDBA==\x1e4wörld',
  });
  assert.equal(post.status, 200);
  assert.equal(post.body, 'ok');
  assert.equal(post.headers['content-type'], 'text/html');
  assert.deepEqual(messages, ['hello', Buffer.from([1, 2, 3, 4]), 'wörld']);

  let answered = false;
  const poll = request(h.port, 'GET', h.url(`EIO=4&transport=polling&sid=${sid}`)).then((r) => {
    answered = true;
    return r;
  });
  await until(() => (session.transport as unknown as { writable: boolean }).writable, 2000, 'GET pending');
  assert.equal(answered, false, 'GET is held while nothing is queued');
  session.send('a');
  session.send(new Uint8Array([5, 6]));
  const reply = await poll;
  assert.equal(reply.body, '4a\x1ebBQY=');
});

test('send callbacks run once the polling response is written; bufferedAmount counts queued bytes', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  let called = 0;
  session.send('x'.repeat(100), {}, () => called++);
  assert.ok(session.bufferedAmount >= 100);
  const reply = await request(h.port, 'GET', h.url(`EIO=4&transport=polling&sid=${sid}`));
  assert.equal(reply.body, '4' + 'x'.repeat(100));
  await until(() => called === 1, 1000, 'callback');
  assert.equal(session.bufferedAmount, 0);
});

test('a second concurrent GET is refused with 400 and closes the session; the pending GET gets a close packet', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  const closed = once(session, 'close');
  const first = request(h.port, 'GET', h.url(`EIO=4&transport=polling&sid=${sid}`));
  await until(() => session.transport.writable, 2000, 'first GET pending');
  const second = await request(h.port, 'GET', h.url(`EIO=4&transport=polling&sid=${sid}`));
  assert.equal(second.status, 400);
  assert.equal((await first).body, '1');
  assert.equal((await closed)[0], 'transport error');
  const after = await request(h.port, 'GET', h.url(`EIO=4&transport=polling&sid=${sid}`));
  assert.deepEqual(json(after), { code: 1, message: 'Session ID unknown' });
});

test('POST body over maxHttpBufferSize: 413 and the session closed (declared and streamed)', async (t) => {
  const h = await startEngine(t, { maxHttpBufferSize: 100 });
  for (const chunked of [false, true]) {
    const connection = h.nextConnection();
    const { sid } = await pollingHandshake(h);
    const session = await connection;
    const closed = once(session, 'close');
    const body = '4' + 'x'.repeat(200);
    const headers: Record<string, string> = chunked ? { 'Transfer-Encoding': 'chunked' } : {};
    const reply = await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${sid}`), { body, headers });
    assert.equal(reply.status, 413);
    const [reason, description] = await closed;
    assert.equal(reason, 'transport error');
    assert.match(String(description), /over 100 bytes/);
  }
  // A body exactly at the limit is fine.
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  const got = once(session, 'message');
  const ok = await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${sid}`), { body: '4' + 'y'.repeat(99) });
  assert.equal(ok.status, 200);
  assert.equal(((await got)[0] as string).length, 99);
});

test('garbage bodies close the session with parse error; other sessions are untouched', async (t) => {
  const h = await startEngine(t);
  const bystanderConnection = h.nextConnection();
  const bystander = await pollingHandshake(h);
  const bystanderSession = await bystanderConnection;
  for (const body of ['', '9nine', '4ok\x1e\x1e', 'b!!!', Buffer.from([0x34, 0xff, 0xfe])]) {
    const connection = h.nextConnection();
    const { sid } = await pollingHandshake(h);
    const session = await connection;
    const closed = once(session, 'close');
    const reply = await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${sid}`), { body });
    assert.equal(reply.status, 400, JSON.stringify(body));
    assert.equal((await closed)[0], 'parse error');
  }
  const got = once(bystanderSession, 'message');
  await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${bystander.sid}`), { body: '4still here' });
  assert.equal((await got)[0], 'still here');
  assert.equal(h.engine.clientsCount, 1);
});

test('a bare text/plain body that is not UTF-8 is read as Latin-1 (python-engineio 4.3); with charset=UTF-8 it is a parse error', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  const got = once(session, 'message');
  const latin1 = Buffer.from('4h\u00e9llo \u00ff', 'latin1');
  const reply = await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${sid}`), { body: latin1, headers: { 'Content-Type': 'text/plain' } });
  assert.equal(reply.status, 200);
  assert.equal((await got)[0], 'h\u00e9llo \u00ff');

  const strict = await pollingHandshake(h);
  const refused = await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${strict.sid}`), {
    body: latin1,
    headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
  });
  assert.equal(refused.status, 400);
});

test('octet-stream POST (v3 binary) is refused and closes the session; other methods are refused', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  const put = await request(h.port, 'PUT', h.url(`EIO=4&transport=polling&sid=${sid}`));
  assert.equal(put.status, 400);
  assert.deepEqual(json(put), { code: 3, message: 'Bad request' });
  assert.equal(session.readyState, 'open');
  const closed = once(session, 'close');
  const reply = await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${sid}`), {
    headers: { 'Content-Type': 'application/octet-stream' },
    body: Buffer.from([4, 1, 2]),
  });
  assert.equal(reply.status, 400);
  assert.equal((await closed)[0], 'transport error');
});

test('a second concurrent POST is refused and closes the session', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  const closed = once(session, 'close');
  // First POST: headers and part of the body, then it stalls.
  const slow = rawRequest({ host: '127.0.0.1', port: h.port, method: 'POST', path: h.url(`EIO=4&transport=polling&sid=${sid}`), headers: { 'Content-Length': '10' }, agent: false });
  slow.on('error', () => {});
  slow.write('4abc');
  await until(() => (session.transport as unknown as { receiving: boolean }).receiving, 2000, 'first POST started');
  const second = await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${sid}`), { body: '4x' });
  assert.equal(second.status, 400);
  assert.equal((await closed)[0], 'transport error');
  slow.destroy();
});

test('client close packet: pending GET released with noop, session closed as transport close', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  const closed = once(session, 'close');
  const { reply: poll } = await heldGet(h, sid, session);
  const post = await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${sid}`), { body: '1' });
  assert.equal(post.body, 'ok');
  assert.equal((await poll).body, '6');
  assert.equal((await closed)[0], 'transport close');
  assert.equal(h.engine.clientsCount, 0);
});

test('client aborting its pending GET closes the session (transport error)', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  const closed = once(session, 'close');
  const req = rawRequest({ host: '127.0.0.1', port: h.port, path: h.url(`EIO=4&transport=polling&sid=${sid}`), agent: false });
  req.on('error', () => {});
  req.end();
  await until(() => session.transport.writable, 2000, 'GET pending');
  req.destroy();
  const [reason, description] = await closed;
  assert.equal(reason, 'transport error');
  assert.match(String(description), /closed prematurely/);
});

test('server close: queued packets on the next GET, then `6` `1` on the one after (as engine.io); close timeout when no GET comes', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  session.send('last words');
  session.close();
  assert.equal(session.readyState, 'closing');
  const closed = once(session, 'close');
  const reply = await request(h.port, 'GET', h.url(`EIO=4&transport=polling&sid=${sid}`));
  assert.equal(reply.body, '4last words');
  assert.equal(session.readyState, 'closing');
  const last = await request(h.port, 'GET', h.url(`EIO=4&transport=polling&sid=${sid}`));
  assert.equal(last.body, '6\x1e1');
  assert.equal((await closed)[0], 'forced close');

  // A GET already waiting with nothing queued takes the close packet alone.
  const connection3 = h.nextConnection();
  const { sid: sid3 } = await pollingHandshake(h);
  const session3 = await connection3;
  const { reply: waiting } = await heldGet(h, sid3, session3);
  session3.close();
  assert.equal((await waiting).body, '1');
  assert.equal(session3.readyState, 'closed');

  const quick = await startEngine(t, { closeTimeout: 50 });
  const connection2 = quick.nextConnection();
  await pollingHandshake(quick);
  const session2 = await connection2;
  const closed2 = once(session2, 'close');
  session2.close();
  assert.equal((await closed2)[0], 'forced close');
  assert.equal(quick.engine.clientsCount, 0);
});

test('close(true) discards the queue and ends the pending GET with a close packet at once', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  const { reply: poll } = await heldGet(h, sid, session);
  session.close(true);
  assert.equal(session.readyState, 'closed');
  assert.equal((await poll).body, '1');
});

test('heartbeat over polling: ping delivered on the GET, pong keeps the session, silence closes it', async (t) => {
  const h = await startEngine(t, { pingInterval: 30, pingTimeout: 500 });
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  let heartbeats = 0;
  session.on('heartbeat', () => heartbeats++);
  for (let i = 0; i < 3; i++) {
    const poll = await request(h.port, 'GET', h.url(`EIO=4&transport=polling&sid=${sid}`));
    assert.equal(poll.body, '2');
    await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${sid}`), { body: '3' });
  }
  assert.equal(heartbeats, 3);
  assert.equal(session.readyState, 'open');
  const [reason] = await once(session, 'close');
  assert.equal(reason, 'ping timeout');
});

test('a client ping (wrong heartbeat direction in v4) closes the session', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  const closed = once(session, 'close');
  await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${sid}`), { body: '2' });
  assert.equal((await closed)[0], 'transport error');
});

test('large polling responses are gzip-compressed when accepted; small ones are not', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  session.send('z'.repeat(5000));
  const body = await new Promise<{ encoding?: string; data: Buffer }>((resolve, reject) => {
    rawRequest({ host: '127.0.0.1', port: h.port, path: h.url(`EIO=4&transport=polling&sid=${sid}`), headers: { 'Accept-Encoding': 'gzip' }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ encoding: res.headers['content-encoding'], data: Buffer.concat(chunks) }));
    }).on('error', reject).end();
  });
  assert.equal(body.encoding, 'gzip');
  assert.equal(gunzipSync(body.data).toString(), '4' + 'z'.repeat(5000));
  session.send('small');
  const small = await request(h.port, 'GET', h.url(`EIO=4&transport=polling&sid=${sid}`), { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(small.headers['content-encoding'], undefined);
  assert.equal(small.body, '4small');
});

test('cookie option sets the session cookie on the handshake', async (t) => {
  const h = await startEngine(t, { cookie: { name: 'lb', sameSite: 'strict' } });
  const { sid, reply } = await pollingHandshake(h);
  assert.deepEqual(reply.headers['set-cookie'], [`lb=${sid}; Path=/; HttpOnly; SameSite=Strict`]);
  const plain = await startEngine(t);
  assert.equal((await pollingHandshake(plain)).reply.headers['set-cookie'], undefined);
});

test('cookie option: a WebSocket-only handshake gets the cookie on its 101, an upgrade of a polling session does not', async (t) => {
  const h = await startEngine(t, { cookie: { name: 'lb', sameSite: 'strict' } });
  const connection = h.nextConnection();
  const head = await rawUpgrade(h, 'EIO=4&transport=websocket', { untilHead: true });
  const session = await connection;
  assert.match(head, /^HTTP\/1\.1 101 /);
  assert.ok(head.includes(`\r\nSet-Cookie: lb=${session.id}; Path=/; HttpOnly; SameSite=Strict`), head);
  const { sid } = await pollingHandshake(h);
  const upgrade = await rawUpgrade(h, `EIO=4&transport=websocket&sid=${sid}`, { untilHead: true });
  assert.match(upgrade, /^HTTP\/1\.1 101 /);
  assert.doesNotMatch(upgrade, /Set-Cookie/i);
  const plain = await startEngine(t);
  assert.doesNotMatch(await rawUpgrade(plain, 'EIO=4&transport=websocket', { untilHead: true }), /Set-Cookie/i);
});

test('headers event can add response headers', async (t) => {
  const h = await startEngine(t);
  h.engine.on('headers', (headers) => {
    headers['X-Served-By'] = 'switchboard';
  });
  const { reply } = await pollingHandshake(h);
  assert.equal(reply.headers['x-served-by'], 'switchboard');
});

test('limits: maxSessions answers 503, handshakeRate answers 429 per address; existing sessions keep working', async (t) => {
  const h = await startEngine(t, { maxSessions: 3 });
  const sessions = [];
  for (let i = 0; i < 3; i++) sessions.push(await pollingHandshake(h));
  // Sessions that came back after their handshake are not evicted to make room (see limits.test.ts).
  for (const { sid } of sessions) await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${sid}`), { body: '4hi' });
  const full = await request(h.port, 'GET', h.url('EIO=4&transport=polling'));
  assert.equal(full.status, 503);
  assert.deepEqual(json(full), { code: 3, message: 'Too many sessions' });
  const post = await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${sessions[0]!.sid}`), { body: '4hi' });
  assert.equal(post.status, 200);

  const r = await startEngine(t, { handshakeRate: { max: 5, windowMs: 60_000 } });
  const statuses = [];
  for (let i = 0; i < 8; i++) statuses.push((await request(r.port, 'GET', r.url('EIO=4&transport=polling'))).status);
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
  const limited = await request(r.port, 'GET', r.url('EIO=4&transport=polling'));
  assert.deepEqual(json(limited), { code: 3, message: 'Too many handshakes' });
  assert.equal(r.engine.clientsCount, 5);
});

test('custom generateId (sync and async); a failing generator answers 400', async (t) => {
  let n = 0;
  const h = await startEngine(t, { generateId: () => (n++ === 0 ? 'custom-id-1' : Promise.resolve('custom-id-2')) });
  assert.equal((await pollingHandshake(h)).sid, 'custom-id-1');
  assert.equal((await pollingHandshake(h)).sid, 'custom-id-2');
  const bad = await startEngine(t, { generateId: () => Promise.reject(new Error('no entropy')) });
  const reply = await request(bad.port, 'GET', bad.url('EIO=4&transport=polling'));
  assert.deepEqual(json(reply), { code: 3, message: 'Bad request' });
});

test('prepared packets: one encoding shared by polling recipients; packet, packetCreate and drain events', async (t) => {
  const h = await startEngine(t);
  const sessions: EngineSocket[] = [];
  const sids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const connection = h.nextConnection();
    sids.push((await pollingHandshake(h)).sid);
    sessions.push(await connection);
  }
  const created: unknown[] = [];
  sessions[0]!.on('packetCreate', (p) => created.push(p));
  const prepared = h.engine.prepare(new Uint8Array([7, 7]));
  for (const s of sessions) s.sendPrepared(prepared);
  const text = prepared.pollingText();
  assert.equal(text, 'bBwc=');
  assert.equal(prepared.pollingText(), text, 'cached: same string object');
  for (const sid of sids) {
    assert.equal((await request(h.port, 'GET', h.url(`EIO=4&transport=polling&sid=${sid}`))).body, 'bBwc=');
  }
  assert.deepEqual(created, [{ type: 'message', data: new Uint8Array([7, 7]), options: { compress: true } }]);

  const received: unknown[] = [];
  sessions[1]!.on('packet', (p) => received.push(p));
  await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${sids[1]}`), { body: '4x\x1e3' });
  assert.deepEqual(received, [{ type: 'message', data: 'x' }, { type: 'pong' }]);

  let drained = 0;
  sessions[2]!.on('drain', () => drained++);
  const poll = request(h.port, 'GET', h.url(`EIO=4&transport=polling&sid=${sids[2]}`));
  await until(() => sessions[2]!.transport.writable, 2000, 'GET pending');
  sessions[2]!.send('flush me');
  assert.equal((await poll).body, '4flush me');
  assert.equal(drained, 1);
});
