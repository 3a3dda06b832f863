// The peer's FIN without a close frame: the server connection ends its side and reports 1006, and
// Node's own 'end' handling of the socket (it refuses writes after the FIN) still runs beside ours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type * as net from 'node:net';
import { WebSocket } from '../../src/websocket/index.js';
import { RawClient, startServer } from './helpers.js';

test('a FIN without a close frame ends our side too and reports 1006', async (t) => {
  const { wss, port } = await startServer(t);
  const connected = once(wss, 'connection');
  const client = await RawClient.connect(port);
  t.after(() => client.socket.destroy());
  const [ws] = (await connected) as [WebSocket];
  const socket = (ws as unknown as { _socket: net.Socket })._socket;
  // With half-open sockets off, Node itself refuses writes after the peer's FIN.
  socket.allowHalfOpen = false;
  const closed = once(ws, 'close');
  const ended = once(socket, 'end');
  client.socket.end();
  await ended;
  assert.notEqual(socket.write, Object.getPrototypeOf(socket).write, "Node's own 'end' listener ran");
  const [code] = (await closed) as [number];
  assert.equal(code, 1006);
  await client.until(() => client.ended, 'our FIN');
});
