// The engine checks a few events on every message (packet, packetCreate, flush, drain) through
// bits set when a listener is added; listeners added in every EventEmitter way must still run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEngine, until, WireClient } from './helpers.js';

test('packet, packetCreate, flush and drain listeners added with once, prependListener and prependOnceListener run over WebSocket', async (t) => {
  const h = await startEngine(t, { allowUpgrades: false });
  const connection = h.nextConnection();
  const peer = await WireClient.connect(`ws://127.0.0.1:${h.port}${h.url('EIO=4&transport=websocket')}`);
  t.after(() => peer.ws.terminate());
  const session = await connection;
  await peer.nth(0); // the open packet

  const events: string[] = [];
  session.prependOnceListener('packet', (packet) => events.push(`packet ${packet.type} ${String(packet.data)}`));
  session.once('packetCreate', (packet) => events.push(`packetCreate ${String(packet.data)}`));
  session.prependListener('flush', (packets) => events.push(`flush ${packets.length}`));
  h.engine.once('drain', () => events.push('server drain'));
  const received = new Promise<string>((resolve) => session.once('message', (data) => resolve(String(data))));

  peer.send('4hi');
  assert.equal(await received, 'hi');
  session.send('a');
  assert.equal(await peer.nth(1), '4a');
  session.send('b');
  assert.equal(await peer.nth(2), '4b');
  await until(() => events.length === 5, 2000, 'every listener');
  // The once listeners ran once; the prepended flush listener ran for both sends.
  assert.deepEqual(events, ['packet message hi', 'packetCreate a', 'flush 1', 'server drain', 'flush 1']);
});
