// Hostile input over real sockets: random bodies, frames, queries and handshake floods leave the
// server answering and other sessions untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fc from 'fast-check';
import { startEngine, request, pollingHandshake, until, WireClient, type Harness } from './helpers.js';
import type { EngineSocket } from '../../src/engine/index.js';

/** A session that must stay healthy through the whole test. */
async function bystander(h: Harness): Promise<{ sid: string; session: EngineSocket; check: () => Promise<void> }> {
  const connection = h.nextConnection();
  const { sid } = await pollingHandshake(h);
  const session = await connection;
  let n = 0;
  return {
    sid,
    session,
    check: async () => {
      const got = once(session, 'message');
      const text = `alive ${n++}`;
      const reply = await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${sid}`), { body: '4' + text });
      assert.equal(reply.status, 200);
      assert.equal((await got)[0], text);
    },
  };
}

test('property: random POST bodies get an HTTP answer and never hurt other sessions', async (t) => {
  const h = await startEngine(t, { maxHttpBufferSize: 300, handshakeRate: false });
  const witness = await bystander(h);
  const body = fc.oneof(
    fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
    fc.string({ unit: fc.constantFrom('0', '1', '2', '3', '4', '5', '6', 'b', '\x1e', 'A', '=', 'é', '\ud83d\ude00'), maxLength: 60 }),
  );
  await fc.assert(
    fc.asyncProperty(body, async (payload) => {
      const { sid } = await pollingHandshake(h);
      const reply = await request(h.port, 'POST', h.url(`EIO=4&transport=polling&sid=${sid}`), { body: payload });
      assert.ok([200, 400, 413].includes(reply.status), `status ${reply.status}`);
    }),
    { numRuns: 150 },
  );
  await witness.check();
  assert.equal(witness.session.readyState, 'open');
});

test('property: random WebSocket frames either decode or close only that session', async (t) => {
  const h = await startEngine(t, { maxHttpBufferSize: 200, handshakeRate: false });
  const witness = await bystander(h);
  const frame = fc.oneof(
    fc.string({ maxLength: 50 }),
    fc.string({ unit: fc.constantFrom('0', '2', '3', '4', '5', '6', '9', 'b', 'A', '=', 'x'), maxLength: 20 }),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 5 }), async (frames) => {
      const connection = h.nextConnection();
      const client = await WireClient.connect(`ws://127.0.0.1:${h.port}${h.url('EIO=4&transport=websocket')}`);
      const session = await connection;
      let ended = false;
      session.on('message', (m) => (ended ||= m === 'end'));
      let reason = '';
      session.on('close', (r) => (reason = r));
      for (const f of frames) client.send(f);
      client.send('4end'); // either it arrives or the session was closed for a reason
      await until(() => ended || session.readyState === 'closed', 2000, 'session settles');
      if (!ended) assert.ok(['parse error', 'transport error', 'transport close'].includes(reason), reason);
      client.ws.terminate();
      await client.closed;
      await until(() => session.readyState === 'closed', 2000, 'closed');
    }),
    { numRuns: 60 },
  );
  await witness.check();
  await until(() => h.engine.clientsCount === 1, 2000, 'only the bystander remains');
});

test('property: random query strings and methods always get an answer', async (t) => {
  const h = await startEngine(t, { handshakeRate: false });
  const param = fc.constantFrom('EIO', 'transport', 'sid', 't', 'j', 'b64', '__proto__', 'constructor');
  const value = fc.oneof(fc.constantFrom('4', '3', 'polling', 'websocket', '', '%', '%zz', 'x'.repeat(300)), fc.string({ maxLength: 10 }));
  const query = fc.array(fc.tuple(param, value), { maxLength: 5 }).map((pairs) =>
    pairs.map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%25/g, '%')}`).join('&'),
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'), query, async (method, q) => {
      const reply = await request(h.port, method, h.url(q), { body: method === 'GET' ? undefined : '4x' });
      if (reply.status !== 200) {
        assert.ok([400, 403].includes(reply.status), `${method} ${q} → ${reply.status}`);
        const body = JSON.parse(reply.body) as { code: number; message: string };
        assert.equal(typeof body.code, 'number');
        assert.equal(typeof body.message, 'string');
      }
    }),
    { numRuns: 200 },
  );
});

test('handshake flood: refused past the rate, the server stays healthy, sessions expire on their own', async (t) => {
  const h = await startEngine(t, { handshakeRate: { max: 50, windowMs: 60_000 }, pingInterval: 30, pingTimeout: 30 });
  const statuses = await Promise.all(
    Array.from({ length: 300 }, () => request(h.port, 'GET', h.url('EIO=4&transport=polling')).then((r) => r.status)),
  );
  assert.equal(statuses.filter((s) => s === 200).length, 50);
  assert.equal(statuses.filter((s) => s === 429).length, 250);
  // Flood sessions never poll: the heartbeat reaps them without any per-session timer.
  await until(() => h.engine.clientsCount === 0, 3000, 'idle sessions reaped');
});

test('slow consumer: a session whose queue passes maxBufferedBytes is dropped, others continue', async (t) => {
  const h = await startEngine(t, { maxBufferedBytes: 10_000 });
  const witness = await bystander(h);
  const connection = h.nextConnection();
  await pollingHandshake(h);
  const slow = await connection;
  const closed = once(slow, 'close');
  for (let i = 0; i < 20; i++) slow.send('x'.repeat(1000)); // never polled
  const [reason, description] = await closed;
  assert.equal(reason, 'transport buffer full');
  assert.match(String(description), /send buffer/);
  await witness.check();
});
