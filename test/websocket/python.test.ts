// Another WebSocket implementation as a peer: aiohttp (Debian's python3-aiohttp 3.8), both as a
// client of our server and as a server for our client, with permessage-deflate negotiated, long
// compressed text and binary messages, pings, and close codes with reasons in both directions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from '../../src/websocket/index.js';
import { pythonSkip, runPython, startPythonServer } from '../shared/python.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/aiohttp_ws.py', import.meta.url));
const skip = pythonSkip('aiohttp');
const TEXT = 'héllo ✓ '.repeat(1000);
const BINARY = Buffer.from(Array.from({ length: 256 * 300 }, (_, i) => i & 0xff));

test('aiohttp client → our server: deflate, echo, ping, close 4001', { skip }, async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: { threshold: 0 } });
  t.after(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  await once(wss, 'listening');
  const seen: { extensions?: string; pings: number; close?: [number, string] } = { pings: 0 };
  wss.on('connection', (ws) => {
    seen.extensions = ws.extensions;
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
    ws.on('ping', () => seen.pings++);
    ws.on('close', (code, reason) => (seen.close = [code, reason.toString()]));
  });
  const steps = await runPython(SCRIPT, ['client', `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`]);
  assert.equal(steps.open!.compress, 15, 'aiohttp sees deflate accepted');
  assert.match(seen.extensions!, /^permessage-deflate/);
  assert.deepEqual(steps.echo, { step: 'echo', text: true, binary: true, types: [1, 2] });
  assert.equal(steps.closed!.code, 4001);
  assert.equal(seen.pings, 1);
  assert.deepEqual(seen.close, [4001, 'bye']);
});

test('our client → aiohttp server: deflate and subprotocol negotiated, echo, clean close', { skip }, async (t) => {
  const server = await startPythonServer(SCRIPT, ['server']);
  t.after(() => server.stop());
  const ws = new WebSocket(server.url.replace('http', 'ws') + '/', ['chat']);
  await once(ws, 'open');
  assert.match(ws.extensions, /^permessage-deflate/);
  assert.equal(ws.protocol, 'chat');
  const replies: Array<[Buffer, boolean]> = [];
  ws.on('message', (data, isBinary) => replies.push([data as Buffer, isBinary]));
  ws.send(TEXT);
  ws.send(BINARY);
  const deadline = Date.now() + 5000;
  while (replies.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(replies[0]![1], false);
  assert.equal(replies[0]![0].toString(), TEXT);
  assert.equal(replies[1]![1], true);
  assert.ok(replies[1]![0].equals(BINARY));
  ws.close(4002, 'done');
  const [code] = (await once(ws, 'close')) as [number, Buffer];
  // aiohttp answers a close with 1000 rather than echoing the code (RFC 6455 section 5.5.1 says
  // "typically echoes"), and closes the TCP connection first, as a server should.
  assert.equal(code, 1000);
  assert.equal(ws.wasClean, true);
  while (server.reports.length === 0 && Date.now() < deadline + 3000) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(server.reports, [{ closed: 4002, compress: 15 }]);
});
