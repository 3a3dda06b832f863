// createWebSocketStream: a WebSocket as a Duplex, with backpressure both ways and the closing
// handshake on end() (ws's API of the same name).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable, type Duplex, type DuplexOptions } from 'node:stream';
import type { AddressInfo } from 'node:net';
import WS, { WebSocketServer as WSServer, createWebSocketStream as wsCreateWebSocketStream } from 'ws';
import { WebSocket, WebSocketServer, createWebSocketStream } from '../../src/websocket/index.js';
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

// The same scenarios through ws's createWebSocketStream and WebSocket, and through ours: the events
// the Duplex emits, in order, must be the same.
type StreamSide = { name: string; Client: any; create: (ws: any, options?: DuplexOptions) => Duplex; Server: any };
const STREAM_SIDES: StreamSide[] = [
  { name: 'ws', Client: WS, create: wsCreateWebSocketStream as any, Server: WSServer },
  { name: 'switchboard', Client: WebSocket, create: createWebSocketStream, Server: WebSocketServer },
];

async function streamScenario(
  t: TestContext,
  run: (side: StreamSide, url: string, server: Promise<any>, log: (entry: unknown) => void) => Promise<void>,
): Promise<unknown[]> {
  const logs: unknown[][] = [];
  for (const side of STREAM_SIDES) {
    const wss = new side.Server({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    t.after(() => new Promise<void>((resolve) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => resolve());
    }));
    const log: unknown[] = [];
    const server = once(wss, 'connection').then(([ws]) => ws);
    await run(side, `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, server, (entry) => log.push(entry));
    logs.push(log);
  }
  assert.deepEqual(logs[1], logs[0]);
  return logs[0]!;
}

function recordEvents(duplex: Duplex, log: (entry: unknown) => void): Promise<void> {
  for (const event of ['end', 'finish', 'error']) duplex.on(event, (error?: Error) => log(event === 'error' ? `error: ${error!.message}` : event));
  return new Promise((resolve) => duplex.on('close', () => (log(`close destroyed=${duplex.destroyed}`), resolve())));
}

test('as ws: the stream is destroyed once the WebSocket closed and both sides are over (end, finish, close)', async (t) => {
  // The peer closes: the readable side ends; the stream lives on until its writable side ends too.
  const peerCloses = await streamScenario(t, async (side, url, server, log) => {
    const duplex = side.create(new side.Client(url));
    duplex.resume();
    const closed = recordEvents(duplex, log);
    (await server).close();
    await once(duplex, 'end');
    log(`after end: destroyed=${duplex.destroyed}`);
    duplex.end();
    await closed;
  });
  assert.deepEqual(peerCloses, ['end', 'after end: destroyed=false', 'finish', 'close destroyed=true']);
  // We end: the closing handshake runs, then the readable side ends and the stream is released.
  const weEnd = await streamScenario(t, async (side, url, server, log) => {
    const ws = new side.Client(url);
    const duplex = side.create(ws);
    duplex.resume();
    const closed = recordEvents(duplex, log);
    await server;
    duplex.end();
    await closed;
    log(ws.readyState);
  });
  assert.deepEqual(weEnd, ['finish', 'end', 'close destroyed=true', 3]);
});

test('as ws: a write after the WebSocket closed destroys the stream with the send error', async (t) => {
  const log = await streamScenario(t, async (side, url, server, log) => {
    const ws = new side.Client(url);
    const duplex = side.create(ws);
    await once(ws, 'open');
    ws.close();
    await once(ws, 'close');
    const closed = recordEvents(duplex, log);
    duplex.write('too late');
    await closed;
  });
  assert.deepEqual(log, ['error: WebSocket is not open: readyState 3 (CLOSED)', 'close destroyed=true']);
});

test('as ws: options reach the Duplex (but the write side and objectMode stay bytes); text is a string in object mode; writes made while connecting arrive as binary Buffers', async (t) => {
  const log = await streamScenario(t, async (side, url, server, log) => {
    const ws = new side.Client(url);
    const duplex = side.create(ws, { readableObjectMode: true, objectMode: true, writableObjectMode: true, highWaterMark: 7, allowHalfOpen: false, writableHighWaterMark: 99 });
    log([duplex.readableObjectMode, duplex.writableObjectMode, duplex.readableHighWaterMark, duplex.writableHighWaterMark, duplex.allowHalfOpen]);
    duplex.write('written while connecting');
    const peer = await server;
    const [data, isBinary] = await once(peer, 'message');
    log([Buffer.isBuffer(data), isBinary, String(data)]);
    peer.send('text');
    peer.send(Buffer.from('bytes'));
    const chunks: unknown[] = [];
    for await (const chunk of duplex) {
      chunks.push(typeof chunk === 'string' ? chunk : ['buffer', String(chunk)]);
      if (chunks.length === 2) break;
    }
    log(chunks);
  });
  assert.deepEqual(log, [
    [true, false, 7, 7, false],
    [true, true, 'written while connecting'],
    ['text', ['buffer', 'bytes']],
  ]);
});
