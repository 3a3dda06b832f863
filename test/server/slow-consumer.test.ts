// Issue 12, item 7: a client that stops reading is disconnected with its own reason,
// `transport buffer full`, and its WebSocket gets a 1008 close frame behind the unread data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket as NetSocket } from 'node:net';
import { setup, once } from './helpers.js';
import { RECOVERABLE_DISCONNECT_REASONS, type Socket } from '../../src/server/index.js';

test('a Socket.IO client that stops reading is disconnected with reason "transport buffer full"', async (t) => {
  const h = await setup(t, { maxBufferedBytes: 256 * 1024 });
  const connected = once<[Socket]>(h.io, 'connection');
  const client = h.client();
  await once(client, 'connect');
  const [socket] = await connected;
  const tcp = (client.io.engine.transport as unknown as { ws: { _socket: NetSocket } }).ws._socket;
  tcp.pause();

  const disconnect = once<[string]>(socket, 'disconnect');
  const clientDisconnect = once<[string]>(client, 'disconnect');
  const payload = 'x'.repeat(16 * 1024);
  for (let i = 0; socket.connected; i++) {
    socket.emit('data', payload);
    if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
  }
  const [reason] = await disconnect;
  assert.equal(reason, 'transport buffer full');
  assert.ok(RECOVERABLE_DISCONNECT_REASONS.has('transport buffer full'), 'the client did not choose to leave');
  assert.equal(h.io.engine?.clientsCount, 0);
  tcp.resume();
  await clientDisconnect; // the close frame reaches the client after the backlog
});
