// At-most-once processing of re-sent emits: a client with `retries` re-sends an EVENT with the same
// ack id; the server runs the handler once and answers every copy (from its per-socket window of
// recent ack ids), also across connection state recovery.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { io as ourClient, type Socket as OurSocket } from '../../src/client/index.js';
import { PacketType, type Packet } from '../../src/protocol/socketio.js';
import type { Socket } from '../../src/server/index.js';
import { delay, once, setup, until } from './helpers.js';

test('our client, retries + short ackTimeout, handler acks late: runs once, the client gets the ack', async (t) => {
  const h = await setup(t);
  const runs: number[] = [];
  h.io.on('connection', (s) => {
    s.on('charge', (amount: number, ack: (receipt: string) => void) => {
      runs.push(amount);
      setTimeout(() => ack(`charged ${amount}`), 150); // later than two ackTimeouts
    });
  });
  const client: OurSocket = ourClient(h.url, { forceNew: true, transports: ['websocket'], retries: 10, ackTimeout: 50 });
  t.after(() => void client.disconnect());
  let attempts = 0;
  client.onAnyOutgoing(() => attempts++);
  assert.equal(await client.emitWithAck('charge', 42), 'charged 42');
  assert.equal(await client.emitWithAck('charge', 7), 'charged 7');
  assert.ok(attempts >= 4, `re-sent while waiting (${attempts} attempts)`);
  await delay(100);
  assert.deepEqual(runs, [42, 7], 'each handler ran exactly once');
});

test('official socket.io-client re-sends with a fresh ack id: each attempt is a new event (at-least-once)', async (t) => {
  const h = await setup(t);
  const ids = new Set<number>();
  h.io.on('connection', (s) => {
    s.conn.on('packet', (packet: { data?: unknown }) => {
      const id = /^2(\d+)\[/.exec(String(packet.data))?.[1];
      if (id) ids.add(Number(id));
    });
    // Answers the second run only: the first attempt times out and is re-sent.
    s.on('charge', (ack: (receipt: string) => void) => void (++runs > 1 && ack('done')));
  });
  let runs = 0;
  const client = h.client('/', { retries: 3, ackTimeout: 50 });
  assert.equal(await client.emitWithAck('charge'), 'done');
  assert.equal(runs, 2, 'the handler ran for both attempts');
  assert.equal(ids.size, 2, 'each attempt had its own ack id');
});

/** Writes raw EVENT packets with chosen ack ids through our client, and collects the ACKs that come back. */
async function rawClient(t: { after(fn: () => void): void }, url: string) {
  const client: OurSocket = ourClient(url, { forceNew: true, transports: ['websocket'] });
  t.after(() => void client.disconnect());
  await once(client, 'connect');
  const acks: Packet[] = [];
  client.io.on('packet', (packet) => {
    if (packet.type === PacketType.ACK || packet.type === PacketType.BINARY_ACK) acks.push(packet);
  });
  const send = (id: number, ...data: unknown[]) => client.io._packet({ type: PacketType.EVENT, nsp: '/', id, data });
  return { client, acks, send };
}

test('a repeat of an answered EVENT is answered again from the cache; a repeat of a running one is dropped', async (t) => {
  const h = await setup(t);
  const runs: string[] = [];
  let release!: () => void;
  h.io.on('connection', (s) => {
    s.on('now', (ack: (v: unknown) => void) => {
      runs.push('now');
      ack({ n: runs.length, bytes: Buffer.from([1, 2]) });
    });
    s.on('later', (ack: (v: string) => void) => {
      runs.push('later');
      release = () => ack('finally');
    });
  });
  const { acks, send } = await rawClient(t, h.url);
  send(1, 'now');
  await until(() => acks.length === 1);
  send(1, 'now');
  send(1, 'now');
  await until(() => acks.length === 3);
  assert.deepEqual(runs, ['now']);
  for (const ack of acks) {
    assert.equal(ack.id, 1);
    const [value] = ack.data as [{ n: number; bytes: Buffer }];
    assert.equal(value.n, 1);
    assert.deepEqual([...value.bytes], [1, 2]);
  }

  send(2, 'later');
  await until(() => runs.length === 2);
  send(2, 'later');
  await delay(50);
  assert.equal(acks.length, 3, 'no answer while the handler runs');
  release();
  await until(() => acks.length === 4);
  await delay(30);
  assert.equal(acks.length, 4, 'one answer for both copies');
  assert.deepEqual(acks[3]!.data, ['finally']);
  assert.deepEqual(runs, ['now', 'later']);
});

test('the window is bounded: after 128 newer ack ids an old id counts as new', async (t) => {
  const h = await setup(t);
  let runs = 0;
  h.io.on('connection', (s) => s.on('e', (ack: () => void) => (runs++, ack())));
  const { acks, send } = await rawClient(t, h.url);
  for (let id = 0; id <= 128; id++) send(id, 'e');
  await until(() => acks.length === 129);
  assert.equal(runs, 129);
  send(1, 'e'); // still in the window (ids 1..128)
  await until(() => acks.length === 130);
  assert.equal(runs, 129);
  send(0, 'e'); // fell out of the window: runs again
  await until(() => acks.length === 131);
  assert.equal(runs, 130);
});

test('sockets that never receive an EVENT with an ack id keep no window', async (t) => {
  const h = await setup(t);
  const sockets: Socket[] = [];
  h.io.on('connection', (s) => {
    sockets.push(s);
    s.on('plain', () => {});
    s.on('asks', (ack: () => void) => ack());
  });
  const quiet = h.client();
  const asking = h.client();
  await Promise.all([once(quiet, 'connect'), once(asking, 'connect')]);
  quiet.emit('plain', 1);
  await asking.emitWithAck('asks');
  await until(() => sockets.length === 2);
  const byId = (id: string | undefined) => sockets.find((s) => s.id === id) as unknown as { recentAcks?: Map<number, unknown> };
  assert.equal(byId(quiet.id).recentAcks, undefined);
  assert.equal(byId(asking.id).recentAcks?.size, 1);
});

test('connection state recovery carries the window: a re-send after reconnecting does not run the handler again', async (t) => {
  const h = await setup(t, { connectionStateRecovery: { maxDisconnectionDuration: 5000 } });
  const runs: string[] = [];
  const sockets: Socket[] = [];
  h.io.on('connection', (s) => {
    sockets.push(s);
    if (!s.recovered) s.emit('welcome'); // recovery needs an offset: one event received
    s.on('save', (value: string, ack: (v: string) => void) => {
      runs.push(value);
      // The connection drops while the handler runs; the answer comes after the reconnection.
      if (runs.length === 1) client.io.engine.close();
      setTimeout(() => ack(`saved ${value}`), 150);
    });
  });
  const client: OurSocket = ourClient(h.url, {
    forceNew: true,
    transports: ['websocket'],
    retries: 10,
    ackTimeout: 60,
    reconnectionDelay: 10,
    reconnectionDelayMax: 20,
  });
  t.after(() => void client.disconnect());
  await once(client, 'welcome');
  assert.equal(await client.emitWithAck('save', 'draft'), 'saved draft');
  assert.equal(client.recovered, true);
  assert.equal(sockets.length, 2);
  assert.equal(sockets[1]!.recovered, true);
  await delay(100);
  assert.deepEqual(runs, ['draft']);
});

test('large replies: the retained answers stay within retryWindow.maxBytes, and expire after maxAge', async (t) => {
  const h = await setup(t, { retryWindow: { maxBytes: 250_000, maxAge: 2000 } });
  const sockets: Socket[] = [];
  const runs: number[] = [];
  h.io.on('connection', (s) => {
    sockets.push(s);
    s.on('big', (n: number, ack: (v: string) => void) => (runs.push(n), ack('x'.repeat(100_000))));
  });
  const { acks, send } = await rawClient(t, h.url);
  for (let id = 0; id < 20; id++) send(id, 'big', id);
  await until(() => acks.length === 20);
  const recent = (sockets[0] as unknown as { recentAcks: { bytes: number; size: number } }).recentAcks;
  assert.ok(recent.bytes <= 250_000, `${recent.bytes} bytes kept (was 20 × 100 kB)`);
  assert.ok(recent.bytes >= 200_000, 'the latest two answers are kept');
  send(19, 'big', 19); // kept: answered again
  await until(() => acks.length === 21);
  send(3, 'big', 3); // answer dropped for room, id still known: not run again, no answer
  await delay(50);
  assert.equal(acks.length, 21);
  assert.equal(runs.length, 20);
  await until(() => recent.bytes === 0, 8000);
  assert.equal(recent.size, 0, 'every answered id expired');
});
