// The engine's session routing over real loopback sockets: two engines, A and B, and a router
// that knows where each answers. Requests for A's sessions sent to B reach A; B never passes on
// what it cannot place, and no bytes in a sid make it throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import fc from 'fast-check';
import WebSocket from 'ws';
import { FORWARDED_HEADER, type EngineSocket, type SessionRouter } from '../../src/engine/index.js';
import { foreignOwner } from '../../src/engine/session-router.js';
import { json, request, startEngine, type Harness } from './helpers.js';

/** A router with a fixed table of node addresses; records what it was asked. */
class TableRouter implements SessionRouter {
  readonly located: string[] = [];
  readonly forgotten: string[] = [];
  registered = 0;
  closed = false;
  constructor(
    readonly nodeId: string,
    readonly table: Map<string, string>,
  ) {}
  register(): void {
    this.registered++;
  }
  async locate(nodeId: string): Promise<string | undefined> {
    this.located.push(nodeId);
    return this.table.get(nodeId);
  }
  forget(nodeId: string, address: string): void {
    this.forgotten.push(nodeId);
    if (this.table.get(nodeId) === address) this.table.delete(nodeId);
  }
  close(): void {
    this.closed = true;
  }
}

async function twoNodes(t: import('node:test').TestContext, options: { maxHttpBufferSize?: number } = {}) {
  const table = new Map<string, string>();
  const routerA = new TableRouter('nodeA', table);
  const routerB = new TableRouter('nodeB', table);
  const a = await startEngine(t, { sessionRouter: routerA, pingInterval: 60_000, ...options });
  const b = await startEngine(t, { sessionRouter: routerB, pingInterval: 60_000, ...options });
  table.set('nodeA', `http://127.0.0.1:${a.port}`);
  table.set('nodeB', `http://127.0.0.1:${b.port}`);
  return { a, b, routerA, routerB, table };
}

async function handshake(h: Harness): Promise<{ sid: string; session: EngineSocket }> {
  const connection = h.nextConnection();
  const reply = await request(h.port, 'GET', h.url('EIO=4&transport=polling'));
  assert.equal(reply.status, 200);
  const open = JSON.parse(reply.body.slice(1)) as { sid: string };
  return { sid: open.sid, session: await connection };
}

test('session ids start with the node id; polling requests sent to another node reach the owner', async (t) => {
  const { a, b, routerA } = await twoNodes(t);
  const { sid, session } = await handshake(a);
  assert.match(sid, /^nodeA\.[A-Za-z0-9_-]{24}$/);
  assert.equal(routerA.registered, 1, 'registered before the first id');

  const received: string[] = [];
  session.on('message', (m) => received.push(String(m)));
  const post = await request(b.port, 'POST', b.url(`EIO=4&transport=polling&sid=${sid}`), { body: '4hello\x1e4there' });
  assert.equal(post.status, 200);
  assert.equal(post.body, 'ok');
  assert.deepEqual(received, ['hello', 'there']);

  const poll = request(b.port, 'GET', b.url(`EIO=4&transport=polling&sid=${sid}`));
  await new Promise((r) => setTimeout(r, 50));
  session.send('from A');
  const answer = await poll;
  assert.equal(answer.status, 200);
  assert.equal(answer.body, '4from A');
  assert.equal(b.engine.clientsCount, 0, 'B holds no session');
});

test('a WebSocket upgrade sent to another node is spliced to the owner, which carries the session', async (t) => {
  const { a, b } = await twoNodes(t);
  const { sid, session } = await handshake(a);
  const ws = new WebSocket(`ws://127.0.0.1:${b.port}${b.url(`EIO=4&transport=websocket&sid=${sid}`)}`);
  await once(ws, 'open');
  ws.send('2probe');
  const [probe] = await once(ws, 'message');
  assert.equal(String(probe), '3probe');
  // The held GET that an upgrade ends (a noop) is not needed here: nothing was waiting.
  ws.send('5');
  await new Promise<void>((resolve) => session.once('upgrade', () => resolve()));
  assert.equal(session.transport.name, 'websocket');
  const inbound = once(session, 'message');
  ws.send('4over the splice');
  assert.equal(String((await inbound)[0]), 'over the splice');
  const outbound = once(ws, 'message');
  session.send('back');
  assert.equal(String((await outbound)[0]), '4back');
  const closed = once(session, 'close');
  ws.close();
  await closed;
});

test('a request already passed on once, for an unknown node, or for a node that is gone gets "Session ID unknown"', async (t) => {
  const { a, b, routerB, table } = await twoNodes(t);
  const { sid } = await handshake(a);
  const loop = await request(b.port, 'GET', b.url(`EIO=4&transport=polling&sid=${sid}`), { headers: { [FORWARDED_HEADER]: 'nodeC' } });
  assert.equal(loop.status, 400);
  assert.deepEqual(json(loop), { code: 1, message: 'Session ID unknown' });

  const unknown = await request(b.port, 'GET', b.url('EIO=4&transport=polling&sid=nodeZ.abc'));
  assert.equal(unknown.status, 400);
  assert.deepEqual(json(unknown), { code: 1, message: 'Session ID unknown' });

  // A node that stopped listening: its sessions are gone, its address is forgotten.
  table.set('nodeGone', 'http://127.0.0.1:1');
  const gone = await request(b.port, 'GET', b.url('EIO=4&transport=polling&sid=nodeGone.abc'));
  assert.equal(gone.status, 400);
  assert.deepEqual(json(gone), { code: 1, message: 'Session ID unknown' });
  assert.deepEqual(routerB.forgotten, ['nodeGone']);
  assert.equal(table.has('nodeGone'), false);
  const upgrade = new WebSocket(`ws://127.0.0.1:${b.port}${b.url('EIO=4&transport=websocket&sid=nodeZ.abc')}`);
  const [, response] = await once(upgrade, 'unexpected-response');
  assert.equal(response.statusCode, 400);
  upgrade.on('error', () => {});
  response.resume();
});

test('a request sent on a kept-alive connection the owner closed at that moment is sent again on a new one, once', async (t) => {
  const { b, table } = await twoNodes(t);
  // An owner that answers the first request of each connection and resets the connection at the
  // second one without answering it: what a keep-alive timeout racing a reuse looks like.
  const bodies: string[] = [];
  const owner = net.createServer((conn) => {
    let served = 0;
    let buffered = '';
    conn.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      const headEnd = buffered.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(buffered.slice(0, headEnd))?.[1] ?? 0);
      if (buffered.length < headEnd + 4 + length) return;
      if (served++ > 0) return conn.resetAndDestroy();
      bodies.push(buffered.slice(headEnd + 4, headEnd + 4 + length));
      buffered = '';
      conn.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=60\r\n\r\nok');
    });
  });
  owner.listen(0, '127.0.0.1');
  await once(owner, 'listening');
  t.after(() => owner.close());
  table.set('nodeX', `http://127.0.0.1:${(owner.address() as net.AddressInfo).port}`);
  for (const body of ['4first', '4second', '4third']) {
    const reply = await request(b.port, 'POST', b.url('EIO=4&transport=polling&sid=nodeX.abc'), { body });
    assert.equal(reply.status, 200, `${body}: ${reply.body}`);
    assert.equal(reply.body, 'ok');
  }
  assert.deepEqual(bodies, ['4first', '4second', '4third'], 'each body reached the owner once');
});

test('a body over maxHttpBufferSize is streamed on, and the owner refuses it and ends the session', async (t) => {
  const { a, b } = await twoNodes(t, { maxHttpBufferSize: 1000 });
  const { sid, session } = await handshake(a);
  const closed = once(session, 'close');
  const reply = await request(b.port, 'POST', b.url(`EIO=4&transport=polling&sid=${sid}`), { body: '4' + 'x'.repeat(50_000) });
  assert.equal(reply.status, 413);
  assert.equal((await closed)[0], 'transport error');
});

test('hostile sids: never thrown, always answered, and only well-formed node ids are looked up', async (t) => {
  const { b, routerB } = await twoNodes(t);
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 40 }).map((s) => `${s}.${s}`)), async (sid) => {
      const reply = await request(b.port, 'GET', b.url(`EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`));
      assert.ok([200, 400].includes(reply.status), `status ${reply.status}`);
    }),
    { numRuns: 150 },
  );
  for (const id of routerB.located) assert.match(id, /^[A-Za-z0-9_-]{1,64}$/);
  assert.ok(!routerB.located.includes('nodeB'), 'its own sessions are never looked up');
});

test('the router is closed with the engine; without a router ids have no node prefix and nothing is passed on', async (t) => {
  const { a, routerA } = await twoNodes(t);
  a.engine.close();
  assert.equal(routerA.closed, true);

  const plain = await startEngine(t);
  const { sid } = await handshake(plain);
  assert.equal(foreignOwner(sid, ''), undefined, 'a default id names no node');
  const reply = await request(plain.port, 'GET', plain.url('EIO=4&transport=polling&sid=nodeA.abc'));
  assert.equal(reply.status, 400);
  assert.deepEqual(json(reply), { code: 1, message: 'Session ID unknown' });
});
