// Hostile and raw clients speaking Engine.IO/Socket.IO by hand over a real WebSocket (`ws`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import WebSocket from 'ws';
import { delay, once, setup, until, type Harness } from './helpers.js';
import type { Socket } from '../../src/server/index.js';

interface RawClient {
  ws: WebSocket;
  /** Next non-ping frame (pings are answered automatically unless `keepPings`). */
  next(ms?: number): Promise<string | Buffer>;
  send(data: string | Buffer): void;
  closed: Promise<void>;
}

async function raw(h: Harness, t: { after(fn: () => void): void }, keepPings = false): Promise<RawClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${h.port}/socket.io/?EIO=4&transport=websocket`);
  t.after(() => ws.terminate());
  const queue: (string | Buffer)[] = [];
  const waiters: ((m: string | Buffer) => void)[] = [];
  ws.on('message', (data, isBinary) => {
    const msg = isBinary ? (data as Buffer) : data.toString();
    if (msg === '2' && !keepPings) return ws.send('3');
    const waiter = waiters.shift();
    if (waiter) waiter(msg);
    else queue.push(msg);
  });
  const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
  await once(ws, 'open');
  const client: RawClient = {
    ws,
    closed,
    send: (d) => ws.send(d),
    next: (ms = 2000) =>
      queue.length
        ? Promise.resolve(queue.shift()!)
        : new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('no message')), ms);
            waiters.push((m) => {
              clearTimeout(timer);
              resolve(m);
            });
          }),
  };
  const open = (await client.next()) as string;
  assert.equal(open[0], '0');
  return client;
}

test('CONNECT reply is exactly {"sid"}; namespace parsed to comma or end; unknown namespace → CONNECT_ERROR', async (t) => {
  const h = await setup(t);
  h.io.of('/custom');
  const c = await raw(h, t);
  c.send('40');
  const reply = (await c.next()) as string;
  assert.match(reply, /^40\{"sid":"[\w-]{20}"\}$/);
  assert.deepEqual(Object.keys(JSON.parse(reply.slice(2))), ['sid']);
  c.send('40/custom'); // no trailing comma
  assert.match((await c.next()) as string, /^40\/custom,\{"sid":"[\w-]{20}"\}$/);
  c.send('40/random,');
  assert.equal(await c.next(), '44/random,{"message":"Invalid namespace"}');
  // connection still usable
  c.send('42["still-here"]');
  await delay(20);
  assert.equal(c.ws.readyState, WebSocket.OPEN);
});

test('leaving the last namespace does not close the engine connection', async (t) => {
  const h = await setup(t, { pingInterval: 50, pingTimeout: 200 });
  const c = await raw(h, t, true);
  c.send('40');
  assert.match((await c.next()) as string, /^40/);
  c.send('41');
  assert.equal(await c.next(), '2', 'the next frame is a ping');
  c.send('3');
  assert.equal(c.ws.readyState, WebSocket.OPEN);
});

test('binary events and acks by hand: placeholders and attachments', async (t) => {
  const h = await setup(t);
  h.io.on('connection', (s) => s.on('message', (a: Buffer, b: Buffer, ack: (...x: unknown[]) => void) => {
    s.emit('message-back', a, b);
    ack(b, a);
  }));
  const c = await raw(h, t);
  c.send('40');
  await c.next();
  c.send('452-789["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
  c.send(Buffer.from([1, 2, 3]));
  c.send(Buffer.from([4, 5, 6]));
  const got = [await c.next(), await c.next(), await c.next(), await c.next(), await c.next(), await c.next()];
  const texts = got.filter((m) => typeof m === 'string');
  assert.deepEqual(texts.sort(), [
    '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
    '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
  ]);
  assert.equal(got.filter((m) => Buffer.isBuffer(m)).length, 4);
});

for (const [name, frames] of [
  ['unknown packet type', ['49']],
  ['invalid JSON', ['42["a"']],
  ['event with a reserved name', ['42["disconnect"]']],
  ['event for a namespace not joined', ['42/admin,["x"]']],
  ['duplicate CONNECT', ['40']],
  ['CONNECT_ERROR from a client', ['44{"message":"x"}']],
  ['too many attachments', ['4511-["a"]']],
  ['binary without a header', [Buffer.from([1])]],
  ['text while attachments are expected', ['451-["a",{"_placeholder":true,"num":0}]', '42["b"]']],
  ['placeholder out of range', ['451-["a",{"_placeholder":true,"num":5}]', Buffer.from([1])]],
] as [string, (string | Buffer)[]][]) {
  test(`bad packet (${name}) closes that connection with a parse error, others unaffected`, async (t) => {
    const h = await setup(t);
    const reasons: string[] = [];
    h.io.on('connection', (s) => s.on('disconnect', (r) => reasons.push(r)));
    const bystander = h.client();
    const bystanderGot: unknown[] = [];
    bystander.on('news', (n: unknown) => bystanderGot.push(n));
    await once(bystander, 'connect');
    const c = await raw(h, t);
    c.send('40');
    await c.next();
    for (const f of frames) c.send(f);
    await c.closed;
    await until(() => reasons.length === 1);
    assert.deepEqual(reasons, ['parse error']);
    h.io.emit('news', 1);
    await until(() => bystanderGot.length === 1);
    assert.equal(bystander.connected, true);
  });
}

test('prototype pollution attempts are neutralised', async (t) => {
  const h = await setup(t);
  const got: unknown[] = [];
  h.io.on('connection', (s) => s.on('merge', (obj: object) => got.push(Object.assign({}, obj))));
  const c = await raw(h, t);
  c.send('40{"__proto__":{"polluted":1}}');
  await c.next();
  c.send('42["merge",{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"ok":1}]');
  await until(() => got.length === 1);
  assert.deepEqual(got, [{ ok: 1 }]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  const [s] = [...h.io.sockets.sockets.values()];
  assert.deepEqual(Object.keys(s!.handshake.auth), []);
});

test("events named after EventEmitter's own ('error', Object.prototype's names) reach no listener and crash nothing", async (t) => {
  const h = await setup(t);
  const uncaught: unknown[] = [];
  process.setUncaughtExceptionCaptureCallback((err) => uncaught.push(err));
  t.after(() => process.setUncaughtExceptionCaptureCallback(null));
  h.io.on('connection', (s: Socket) => s.on('echo', (v: unknown, ack: (v: unknown) => void) => ack(v)));
  const c = await raw(h, t);
  c.send('40');
  await c.next();
  const [s] = [...h.io.sockets.sockets.values()];
  // As in socket.io: every socket has one 'error' listener of its own, so an 'error' event from the
  // client (with or without an ack) has a listener and EventEmitter does not throw it.
  assert.equal(s!.listenerCount('error'), 1);
  for (const name of ['error', '__defineGetter__', '__proto__', 'constructor', 'hasOwnProperty', 'toString']) {
    c.send(`42${JSON.stringify([name, 'connected'])}`);
    c.send(`421${JSON.stringify([name, 'connected'])}`);
  }
  c.send('422["echo",7]');
  assert.equal(await c.next(), '432[7]');
  assert.deepEqual(uncaught, []);
  assert.equal(s!.connected, true);
  assert.equal(Object.getOwnPropertyDescriptor(s!, 'connected')?.get, undefined);
});

test('acks never answered by a client do not leak past the timeout or the disconnect', async (t) => {
  const h = await setup(t);
  const c = await raw(h, t);
  c.send('40');
  await c.next();
  const [s] = [...h.io.sockets.sockets.values()];
  const errors: string[] = [];
  for (let i = 0; i < 50; i++) s!.timeout(30).emit('q', (err: Error | null) => errors.push(String(err?.message)));
  const pendingWithoutTimeout = new Promise<string>((resolve) => s!.emit('q', () => resolve('answered')));
  await until(() => errors.length === 50);
  assert.ok(errors.every((e) => /timed out/.test(e)));
  const acks = (s as unknown as { acks?: Map<number, unknown> }).acks;
  assert.equal(acks?.size, 1, 'only the ack without timeout is still waiting');
  // a late or forged ACK for an unknown id is ignored
  c.send('3999[]');
  c.send('30["late"]');
  await delay(20);
  assert.equal(c.ws.readyState, WebSocket.OPEN);
  // and a pending ack with a timeout learns about the disconnect
  const failed = new Promise<string>((resolve) => s!.timeout(10_000).emit('q', (err: Error | null) => resolve(String(err?.message))));
  c.ws.terminate();
  assert.match(await failed, /disconnected/);
  void pendingWithoutTimeout;
});

test('connectTimeout closes connections that join no namespace; joined ones stay', async (t) => {
  const h = await setup(t, { connectTimeout: 100 });
  const idle = await raw(h, t);
  const joined = await raw(h, t);
  joined.send('40');
  await joined.next();
  await idle.closed;
  await delay(150);
  assert.equal(joined.ws.readyState, WebSocket.OPEN);
});

test('connect flood: many clients at once, then a refused namespace flood; everyone gets an answer', async (t) => {
  const h = await setup(t, { connectTimeout: 2000 });
  h.io.use((s, next) => (s.handshake.auth.bad ? next(new Error('go away')) : next()));
  const clients = await Promise.all(Array.from({ length: 40 }, () => raw(h, t)));
  clients.forEach((c, i) => c.send(i % 2 ? '40{"bad":true}' : '40'));
  const answers = await Promise.all(clients.map((c) => c.next()));
  answers.forEach((a, i) => assert.match(a as string, i % 2 ? /^44\{"message":"go away"\}$/ : /^40\{"sid"/));
  const flooder = clients[1]!;
  for (let i = 0; i < 200; i++) flooder.send(`40/nope-${i},`);
  for (let i = 0; i < 200; i++) assert.equal(await flooder.next(), `44/nope-${i},{"message":"Invalid namespace"}`);
  assert.equal(h.io.sockets.sockets.size, 20);
  // the flooder never joined: connectTimeout ends it
});

test('a listener that throws does not break the connection or other clients', async (t) => {
  const h = await setup(t);
  const errors: unknown[] = [];
  // the error surfaces as uncaught (as in socket.io), on a clean stack: capture it here
  process.setUncaughtExceptionCaptureCallback((err) => errors.push(err));
  t.after(() => process.setUncaughtExceptionCaptureCallback(null));
  h.io.on('connection', (s: Socket) => {
    s.on('boom', () => {
      throw new Error('app bug');
    });
    s.on('echo', (v: unknown, ack: (v: unknown) => void) => ack(v));
  });
  const c = h.client();
  await once(c, 'connect');
  c.emit('boom');
  assert.equal(await c.emitWithAck('echo', 5), 5);
  await until(() => errors.length === 1);
  assert.match(String(errors[0]), /app bug/);
});

test('an EVENT nested 100,000 levels deep to an echo handler closes that connection only (parse error)', async (t) => {
  const h = await setup(t);
  const reasons: string[] = [];
  h.io.on('connection', (s: Socket) => {
    s.on('echo', (v: unknown, ack: (v: unknown) => void) => ack(v));
    s.on('disconnect', (reason) => reasons.push(reason));
  });
  const bystander = h.client();
  await once(bystander, 'connect');
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);

  // Over WebSocket, as the text frame of a raw client.
  const hostile = await raw(h, t);
  hostile.send('40');
  assert.match((await hostile.next()) as string, /^40/);
  hostile.send(`421["echo",${deep}]`);
  await hostile.closed;
  // Over polling, as the body of a POST.
  const open = await fetch(`${h.url}/socket.io/?EIO=4&transport=polling`).then((r) => r.text());
  const sid = JSON.parse(open.slice(1)).sid as string;
  const post = (body: string) => fetch(`${h.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body }).then((r) => r.status);
  assert.equal(await post('40'), 200);
  await until(() => h.io.sockets.sockets.size === 2);
  assert.equal(await post(`421["echo",${deep}]`), 200);
  await until(() => reasons.length === 2);
  assert.deepEqual(reasons, ['parse error', 'parse error']);

  // Everyone else is fine, and a new client gets in.
  assert.deepEqual(await bystander.emitWithAck('echo', [[['still']]]), [[['still']]]);
  const newcomer = h.client();
  await once(newcomer, 'connect');
  assert.equal(await newcomer.emitWithAck('echo', 'hi'), 'hi');
  // The deepest packet the default allows is echoed as sent.
  const deepest = JSON.parse('['.repeat(99) + '"x"' + ']'.repeat(99));
  assert.deepEqual(await newcomer.emitWithAck('echo', deepest), deepest);
});

test('property: any sequence of packet-shaped frames from a client never throws out of the server', async (t) => {
  const errors: unknown[] = [];
  process.setUncaughtExceptionCaptureCallback((err) => errors.push(err));
  t.after(() => process.setUncaughtExceptionCaptureCallback(null));
  // Recovery on, so broadcasts also go through the packet log; every event is acked with its own
  // arguments and broadcast to a room: decode, dispatch, ack and broadcast encoding all see the data.
  const h = await setup(t, { connectionStateRecovery: {} });
  h.io.on('connection', (s: Socket) => {
    void s.join('r');
    s.onAny((event: unknown, ...args: unknown[]) => {
      const ack = args.at(-1);
      if (typeof ack === 'function') ack(...args.slice(0, -1));
      s.to('r').emit('relay', event, ...args.filter((a) => typeof a !== 'function'));
    });
  });
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const json = fc.oneof(
    fc.json({ maxDepth: 4 }),
    fc.constantFrom(deep(99), deep(100), deep(5000), '{"_placeholder":true,"num":0}', '{"__proto__":{"x":1}}', '[{"constructor":{"prototype":{}}}]'),
  );
  const frame = fc.oneof(
    fc.tuple(fc.constantFrom('2', '3', '5', '6', '0', '1', '4'), fc.constantFrom('', '1-', '2-', '0-', '99-'), fc.constantFrom('', '/', '/x,', '/nope,'), fc.constantFrom('', '0', '7', '123456789012345'), json)
      .map(([type, att, nsp, id, data]) => `4${type}${att}${nsp}${id}${data}`),
    fc.tuple(fc.string({ maxLength: 8 }), json).map(([ev, data]) => `421[${JSON.stringify(ev)},${data}]`),
    fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)),
    fc.string({ maxLength: 20 }),
  );
  const observer = h.client();
  await once(observer, 'connect');
  await fc.assert(
    fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 6 }), async (frames) => {
      const c = await raw(h, t);
      c.send('40');
      await c.next();
      for (const f of frames) c.send(f);
      await delay(5);
      c.ws.terminate();
      assert.deepEqual(errors, []);
    }),
    { numRuns: 60 },
  );
  // The server still serves everyone.
  assert.deepEqual(await observer.emitWithAck('e', [1, [2]]), [1, [2]]);
});
