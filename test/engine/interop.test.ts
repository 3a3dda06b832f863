// The official engine.io-client against our EngineServer: polling, websocket and upgrade.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Socket as ClientSocket } from 'engine.io-client';
import { startEngine, until, delay, type Harness } from './helpers.js';
import type { EngineSocket } from '../../src/engine/index.js';

/** engine.io-client has its own emitter type, so node:events `once` does not fit it. */
const next = (client: ClientSocket, event: 'open' | 'close' | 'upgrade'): Promise<unknown[]> =>
  new Promise((resolve) => client.once(event, (...args: unknown[]) => resolve(args)));

function connect(h: Harness, options: Record<string, unknown>): ClientSocket {
  const client = new ClientSocket(h.origin, { path: '/engine.io/', ...options });
  return client;
}

/** Client sends text + binary, server echoes both back; checks both directions and types. */
async function echoRoundTrip(client: ClientSocket, session: EngineSocket): Promise<void> {
  const serverGot: Array<string | Buffer> = [];
  const echo = (data: string | Buffer) => {
    serverGot.push(data);
    session.send(data);
  };
  session.on('message', echo);
  const clientGot: unknown[] = [];
  const record = (data: unknown) => clientGot.push(data);
  client.on('message', record);
  client.send('héllo ✓');
  client.send(Buffer.from([0, 1, 2, 255]));
  try {
    await until(() => clientGot.length >= 2, 3000, 'echo');
  } finally {
    session.off('message', echo);
    client.off('message', record);
  }
  assert.equal(clientGot.length, 2);
  assert.equal(serverGot[0], 'héllo ✓');
  assert.ok(Buffer.isBuffer(serverGot[1]));
  assert.deepEqual([...(serverGot[1] as Buffer)], [0, 1, 2, 255]);
  assert.equal(clientGot[0], 'héllo ✓');
  assert.deepEqual([...new Uint8Array(clientGot[1] as ArrayBufferLike)], [0, 1, 2, 255]);
}

for (const transports of [['polling'], ['websocket']]) {
  test(`engine.io-client over ${transports[0]}: text + binary both ways, heartbeat survival`, async (t) => {
    const h = await startEngine(t, { pingInterval: 40, pingTimeout: 1000 });
    const connection = h.nextConnection();
    const client = connect(h, { transports, upgrade: false });
    t.after(() => client.close());
    const session = await connection;
    await next(client, 'open');
    assert.equal(session.transport.name, transports[0]);
    assert.equal(client.id, session.id);
    await echoRoundTrip(client, session);

    let heartbeats = 0;
    session.on('heartbeat', () => heartbeats++);
    await until(() => heartbeats >= 4, 3000, 'four heartbeats');
    assert.equal(session.readyState, 'open');
    assert.equal(client.readyState, 'open');
    await echoRoundTrip(client, session); // still usable after several ping rounds
  });
}

test('engine.io-client upgrades polling → websocket; messages keep order across the switch', async (t) => {
  const h = await startEngine(t, { pingInterval: 60, pingTimeout: 1000 });
  const connection = h.nextConnection();
  const client = connect(h, { transports: ['polling', 'websocket'] });
  t.after(() => client.close());
  const session = await connection;
  const received: string[] = [];
  client.on('message', (data) => received.push(String(data)));
  // Stream messages while the upgrade happens.
  let sent = 0;
  const timer = setInterval(() => session.send(`m${sent++}`), 2);
  const events: string[] = [];
  session.on('upgrading', (tr) => events.push(`upgrading:${tr.name}`));
  await once(session, 'upgrade');
  events.push(`upgrade:${session.transport.name}`);
  await delay(50);
  clearInterval(timer);
  await until(() => received.length === sent, 3000, 'all messages');
  assert.deepEqual(received, Array.from({ length: sent }, (_, i) => `m${i}`), 'each once, in order');
  assert.deepEqual(events, ['upgrading:websocket', 'upgrade:websocket']);
  assert.equal(session.upgraded, true);
  assert.equal(client.transport.name, 'websocket');
  await echoRoundTrip(client, session);
});

test('engine.io-client: server close reaches the client; client close reaches the server', async (t) => {
  const h = await startEngine(t);
  for (const transports of [['polling'], ['websocket']]) {
    const connection = h.nextConnection();
    const client = connect(h, { transports, upgrade: false });
    const session = await connection;
    await next(client, 'open');
    const clientClosed = next(client, 'close');
    const serverReason = once(session, 'close');
    session.close();
    const [reason] = await clientClosed;
    assert.match(String(reason), /transport close|forced close/);
    assert.deepEqual((await serverReason)[0], 'forced close');

    const connection2 = h.nextConnection();
    const client2 = connect(h, { transports, upgrade: false });
    const session2 = await connection2;
    await next(client2, 'open');
    const closed = once(session2, 'close');
    client2.close();
    assert.equal((await closed)[0], 'transport close', transports[0]!);
    await until(() => h.engine.clientsCount === 0, 2000, 'sessions removed');
  }
});

test('engine.io-client notices a dead server through the missing pings (and we through the pong)', async (t) => {
  const h = await startEngine(t, { pingInterval: 30, pingTimeout: 60 });
  const connection = h.nextConnection();
  const client = connect(h, { transports: ['websocket'] });
  t.after(() => client.close());
  const session = await connection;
  await next(client, 'open');
  // Stop the client from answering pings: the server must close with 'ping timeout'.
  const transport = client.transport as unknown as { write: (packets: unknown[]) => void };
  transport.write = () => {};
  const [reason] = await once(session, 'close');
  assert.equal(reason, 'ping timeout');
});
