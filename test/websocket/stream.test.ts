// createWebSocketStream: a WebSocket as a Duplex, with backpressure both ways and the closing
// handshake on end() (ws's API of the same name).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { WebSocket, createWebSocketStream } from '../../src/websocket/index.js';
import { connectedPair, startServer } from './helpers.js';

test('writes go out as messages, messages come back as chunks, end() closes the connection', async (t) => {
  const { wss, url } = await startServer(t);
  const serverClosed = new Promise<number>((resolve) =>
    wss.once('connection', (ws: WebSocket) => {
      ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
      ws.once('close', (code) => resolve(code));
    }),
  );
  // Written before the connection is open: held until it is.
  const client = new WebSocket(url);
  t.after(() => client.terminate());
  const duplex = createWebSocketStream(client);
  const received: Buffer[] = [];
  duplex.on('data', (chunk: Buffer) => received.push(chunk));
  duplex.write('hello ');
  duplex.write(Buffer.from([1, 2, 3]));
  while (Buffer.concat(received).length < 9) await once(duplex, 'data');
  assert.deepEqual(Buffer.concat(received), Buffer.concat([Buffer.from('hello '), Buffer.from([1, 2, 3])]));
  const closedStream = once(duplex, 'close');
  duplex.end();
  assert.equal(await serverClosed, 1005, 'a close frame without status, from close()');
  await closedStream;
  assert.equal(client.readyState, WebSocket.CLOSED);
});

test('a full readable side pauses the WebSocket; reading resumes it and nothing is lost', async (t) => {
  const { client, server } = await connectedPair(t);
  const duplex = createWebSocketStream(client, { highWaterMark: 1024 });
  const chunk = Buffer.alloc(512, 7);
  for (let i = 0; i < 50; i++) server.send(chunk);
  // Nobody reads: after about two chunks the stream is full and the connection paused.
  const deadline = Date.now() + 3000;
  while (!client.isPaused && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(client.isPaused, true);
  let total = 0;
  await pipeline(
    duplex,
    new Writable({
      write(data: Buffer, _encoding, callback) {
        total += data.length;
        if (total === 50 * chunk.length) server.close(1000);
        callback();
      },
    }),
  );
  assert.equal(total, 50 * chunk.length);
});

test('pipeline from a Readable sends every chunk; destroy() terminates the connection', async (t) => {
  const { client, server } = await connectedPair(t);
  const got: string[] = [];
  server.on('message', (data) => got.push(String(data)));
  const duplex = createWebSocketStream(client);
  await pipeline(Readable.from(['a', 'b', 'c']), new Writable({
    write(chunk, encoding, callback) {
      duplex.write(chunk, encoding, callback);
    },
  }));
  while (got.length < 3) await once(server, 'message');
  assert.deepEqual(got, ['a', 'b', 'c']);
  const serverClosed = once(server, 'close');
  const streamClosed = once(duplex, 'close');
  duplex.destroy();
  const [code] = (await serverClosed) as [number];
  assert.equal(code, 1006, 'terminated, no closing handshake');
  await streamClosed;
});

test('a connection error destroys the stream with that error', async () => {
  const client = new WebSocket('ws://127.0.0.1:1'); // nothing listens there
  const duplex = createWebSocketStream(client);
  const events: string[] = [];
  duplex.on('error', () => events.push('error'));
  duplex.on('close', () => events.push('close'));
  const [error] = (await once(duplex, 'error')) as [Error & { code?: string }];
  assert.equal(error.code, 'ECONNREFUSED');
  while (events.length < 2) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(events, ['error', 'close']);
});
