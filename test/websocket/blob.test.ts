// Sending a Blob, as browser code does (WHATWG WebSocket.send(Blob)): it goes as one binary message
// with the Blob's bytes, in the order of the sends around it, with and without permessage-deflate,
// from our client to our server and to ws, and from our server to the ws client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Blob } from 'node:buffer';
import type { AddressInfo } from 'node:net';
import WS, { WebSocketServer as WSServer } from 'ws';
import { WebSocket } from '../../src/websocket/index.js';
import { connectedPair, startServer } from './helpers.js';

const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 255));

/** Collects `count` messages as [text-or-hex, isBinary]. */
function collect(ws: { on(event: 'message', fn: (data: Buffer, isBinary: boolean) => void): unknown }, count: number) {
  return new Promise<Array<[string, boolean]>>((resolve) => {
    const got: Array<[string, boolean]> = [];
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      got.push([isBinary ? Buffer.from(data).toString('hex') : data.toString(), isBinary]);
      if (got.length === count) resolve(got);
    });
  });
}

/** Sends text, a Blob, a Buffer and text in one tick; returns what the peer must receive. */
function sendMixed(ws: WebSocket): Array<[string, boolean]> {
  const big = bytes(5000, 1); // above the deflate threshold (1 KiB)
  const small = bytes(10, 2);
  assert.equal(ws.send('first'), true);
  assert.equal(ws.send(new Blob([big.subarray(0, 2000), big.subarray(2000)])), true);
  assert.ok(ws.bufferedAmount >= big.length, 'the Blob counts in bufferedAmount while it is read');
  ws.send(small);
  ws.send('last');
  return [['first', false], [big.toString('hex'), true], [small.toString('hex'), true], ['last', false]];
}

for (const deflate of [false, true]) {
  test(`our client sends a Blob to our server in order (permessage-deflate ${deflate ? 'on' : 'off'})`, async (t) => {
    const { wss, url } = await startServer(t, { perMessageDeflate: deflate });
    const received = new Promise<Array<[string, boolean]>>((resolve) => wss.once('connection', (ws) => resolve(collect(ws, 4))));
    const client = new WebSocket(url, { perMessageDeflate: deflate });
    t.after(() => client.terminate());
    await once(client, 'open');
    assert.equal(client.extensions.includes('permessage-deflate'), deflate);
    const expected = sendMixed(client);
    assert.deepEqual(await received, expected);
  });

  test(`our client sends a Blob to a ws server in order (permessage-deflate ${deflate ? 'on' : 'off'})`, async (t) => {
    const wss = new WSServer({ port: 0, host: '127.0.0.1', perMessageDeflate: deflate ? { threshold: 0 } : false });
    await once(wss, 'listening');
    t.after(() => new Promise<void>((resolve) => {
      for (const ws of wss.clients) ws.terminate();
      wss.close(() => resolve());
    }));
    const received = new Promise<Array<[string, boolean]>>((resolve) => wss.once('connection', (ws) => resolve(collect(ws, 4))));
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: deflate });
    t.after(() => client.terminate());
    await once(client, 'open');
    const expected = sendMixed(client);
    assert.deepEqual(await received, expected);
  });
}

test('our server sends a Blob to the ws client; a Blob sent after close fails its callback', async (t) => {
  const { wss, url } = await startServer(t);
  const connected = once(wss, 'connection');
  const client = new WS(url);
  t.after(() => client.terminate());
  const received = collect(client, 4);
  const [server] = (await connected) as [WebSocket];
  const expected = sendMixed(server);
  assert.deepEqual(await received, expected);

  const closed = once(client, 'close');
  server.close(1000);
  await closed;
  const error = await new Promise<Error | undefined>((resolve) => {
    assert.equal(server.send(new Blob(['late']), resolve), false);
  });
  assert.ok(error instanceof Error);
});

test('a Blob still being read when the connection closes fails its callback, nothing is written after', async (t) => {
  const { client, server } = await connectedPair(t);
  const outcome = new Promise<Error | undefined>((resolve) => client.send(new Blob([bytes(100, 3)]), resolve));
  client.terminate(); // before the Blob's bytes are read (that takes at least a tick)
  const error = await outcome;
  assert.ok(error instanceof Error);
  const [code] = (await once(server, 'close')) as [number];
  assert.equal(code, 1006);
});
