// The connection's listener table is built by us (a fast-mode object, for idle memory) rather than
// by EventEmitter: it must still behave as EventEmitter's own, with no inherited entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connectedPair } from './helpers.js';

test('event names that Object.prototype has are plain events on both ends, before and after listeners come and go', async (t) => {
  const { client, server } = await connectedPair(t);
  for (const ws of [client, server]) {
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      assert.equal(ws.listenerCount(name), 0, name);
      assert.equal(ws.emit(name), false, name);
    }
    const seen: unknown[] = [];
    ws.on('__proto__', (value: unknown) => seen.push(value));
    ws.on('toString', (value: unknown) => seen.push(value));
    assert.equal(ws.emit('__proto__', 1), true);
    assert.equal(ws.emit('toString', 2), true);
    assert.deepEqual(seen, [1, 2]);
    ws.removeAllListeners('__proto__');
    ws.removeAllListeners('toString');
    assert.equal(ws.listenerCount('toString'), 0);
  }
  // Messages still flow after the table was emptied and refilled.
  server.removeAllListeners();
  server.on('message', (data, isBinary) => server.send(data, { binary: isBinary }));
  const echoed = once(client, 'message');
  client.send('ping through');
  const [data] = await echoed;
  assert.equal(String(data), 'ping through');
});
