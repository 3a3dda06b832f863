// Issue 12, item 5: `trustProxy` passed to the Socket.IO Server gives `socket.handshake.address`
// the real client behind a trusted proxy; without it the TCP peer, whatever the headers say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, once } from './helpers.js';
import type { Socket } from '../../src/server/index.js';

for (const mode of ['websocket', 'polling'] as const) {
  test(`socket.handshake.address honours trustProxy (${mode})`, async (t) => {
    const headers = { 'X-Forwarded-For': '6.6.6.6, 198.51.100.7' };
    const behind = await setup(t, { trustProxy: 1 }, mode);
    let connected = once<[Socket]>(behind.io, 'connection');
    behind.client('/', { extraHeaders: headers });
    assert.equal((await connected)[0].handshake.address, '198.51.100.7');
    assert.equal((await connected)[0].conn.remoteAddress, '198.51.100.7');

    const direct = await setup(t, {}, mode);
    connected = once<[Socket]>(direct.io, 'connection');
    direct.client('/', { extraHeaders: headers });
    assert.equal((await connected)[0].handshake.address, '127.0.0.1');
  });
}
