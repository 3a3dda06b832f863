// Sending as ws 8 does it: bufferedAmount (payload bytes, and what is sent while CLOSING or
// CLOSED), send() with no data, ping/pong signatures, Blob read failures, the callbacks of sends cut
// off by a close, messages still delivered while closing, and the client's maxPayload. Each
// scenario runs against the real `ws` and against ours; the observations must be equal.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openAsBlob } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WS, { WebSocketServer as WSServer } from 'ws';
import { WebSocket, WebSocketServer } from '../../src/websocket/index.js';

type Peer = any; // a ws or a switchboard connection: the scenarios use their common API
type Side = { name: string; Client: new (url: string, options?: object) => Peer; Server: new (options: object) => Peer };
const WS_SIDE: Side = { name: 'ws', Client: WS as any, Server: WSServer as any };
const OUR_SIDE: Side = { name: 'switchboard', Client: WebSocket as any, Server: WebSocketServer as any };

async function listen(t: TestContext, side: Side, options: object = {}): Promise<{ wss: Peer; url: string }> {
  const wss = new side.Server({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  t.after(() => new Promise<void>((resolve) => {
    for (const ws of wss.clients ?? []) ws.terminate();
    wss.close(() => resolve());
  }));
  return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` };
}

/** Runs `scenario` with ws on both ends, then with ours on both ends, and compares what it recorded. */
async function sameAsWs(t: TestContext, scenario: (side: Side, log: (entry: unknown) => void) => Promise<void>): Promise<unknown[]> {
  const results: unknown[][] = [];
  for (const side of [WS_SIDE, OUR_SIDE]) {
    const log: unknown[] = [];
    await scenario(side, (entry) => log.push(entry));
    results.push(log);
  }
  assert.deepEqual(results[1], results[0]);
  return results[0]!;
}

const errorOf = (error: Error | undefined | null): string => (error ? `${error.name}: ${error.message}` : 'ok');

test('bufferedAmount: 0 on open, counts data waiting for compression, 0 again once written', async (t) => {
  const log = await sameAsWs(t, async (side, log) => {
    const { url } = await listen(t, side, { perMessageDeflate: true });
    const ws = new side.Client(url, { perMessageDeflate: { threshold: 0 } });
    await once(ws, 'open');
    log(ws.bufferedAmount);
    ws.send('foo');
    log(ws.bufferedAmount);
    const sent = new Promise<void>((resolve) => ws.send('bar', (error?: Error) => (log(errorOf(error)), log(ws.bufferedAmount), resolve())));
    log(ws.bufferedAmount);
    await sent;
    ws.close();
    await once(ws, 'close');
  });
  assert.deepEqual(log, [0, 3, 6, 'ok', 0]);
});

test('bufferedAmount and callbacks of sends, pings and pongs while CLOSING and CLOSED (server side)', async (t) => {
  const log = await sameAsWs(t, async (side, log) => {
    const { wss, url } = await listen(t, side);
    const client = new side.Client(url);
    const [ws] = await once(wss, 'connection');
    ws.close();
    log(ws.bufferedAmount); // the close frame is not data
    const step = (call: (cb: (error?: Error) => void) => void): Promise<void> =>
      new Promise((resolve) => call((error) => (log(errorOf(error)), log(ws.bufferedAmount), resolve())));
    await step((cb) => ws.send('hi', cb));
    await step((cb) => ws.ping('abc', cb));
    await step((cb) => ws.pong(cb));
    await once(ws, 'close');
    await step((cb) => ws.send('hey', cb));
    await step((cb) => ws.ping(7, true, cb));
    client.terminate();
  });
  assert.deepEqual(log, [
    0,
    'Error: WebSocket is not open: readyState 2 (CLOSING)', 2,
    'Error: WebSocket is not open: readyState 2 (CLOSING)', 5,
    'Error: WebSocket is not open: readyState 2 (CLOSING)', 5,
    'Error: WebSocket is not open: readyState 3 (CLOSED)', 8,
    'Error: WebSocket is not open: readyState 3 (CLOSED)', 9,
  ]);
});

test('a client closed while connecting: error while CLOSING, then close; what is sent meanwhile is counted', async (t) => {
  const log = await sameAsWs(t, async (side, log) => {
    const ws = new side.Client('ws://127.0.0.1:9', { lookup() {} });
    const done = new Promise<void>((resolve) => {
      ws.on('error', (error: Error) => {
        log([errorOf(error), ws.readyState, ws.bufferedAmount]);
        ws.send('hi');
        ws.send();
        ws.ping('hi');
        log(ws.bufferedAmount);
        ws.on('close', (code: number) => {
          ws.pong(new Blob(['abc']));
          ws.send(Buffer.alloc(5));
          log([code, ws.readyState, ws.bufferedAmount]);
          resolve();
        });
      });
    });
    ws.close();
    await done;
  });
  assert.deepEqual(log, [['Error: WebSocket was closed before the connection was established', 2, 0], 4, [1006, 3, 12]]);
});

test('send() with no data sends an empty binary message; ping/pong take (cb), (data, cb) and (data, mask, cb)', async (t) => {
  const log = await sameAsWs(t, async (side, log) => {
    const { wss, url } = await listen(t, side);
    const ws = new side.Client(url);
    const [server] = await once(wss, 'connection');
    const received: unknown[] = [];
    server.on('message', (data: Buffer, isBinary: boolean) => received.push(['message', isBinary, data.length]));
    server.on('ping', (data: Buffer) => received.push(['ping', String(data)]));
    server.on('pong', (data: Buffer) => received.push(['pong', String(data)]));
    await once(ws, 'open');
    const callbacks: string[] = [];
    const call = (fn: (cb: (error?: Error) => void) => void): Promise<void> => new Promise((resolve) => fn((error) => (callbacks.push(errorOf(error)), resolve())));
    ws.send();
    ws.send('');
    await call((cb) => ws.ping(cb));
    await call((cb) => ws.ping('a', cb));
    await call((cb) => ws.ping('b', true, cb));
    await call((cb) => ws.pong(cb));
    await call((cb) => ws.pong(42, undefined, cb));
    ws.close();
    await once(server, 'close');
    log(callbacks);
    log(received);
  });
  assert.deepEqual(log, [
    ['ok', 'ok', 'ok', 'ok', 'ok'],
    [['message', true, 0], ['message', false, 0], ['ping', ''], ['ping', 'a'], ['ping', 'b'], ['pong', ''], ['pong', '42']],
  ]);
});

test('a Blob whose file changed: NotReadableError to the callback and as an error event, then the connection ends', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-blob-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'data.bin');
  const log = await sameAsWs(t, async (side, log) => {
    const { url } = await listen(t, side);
    writeFileSync(file, 'first version');
    const blob = await openAsBlob(file);
    writeFileSync(file, 'second, longer version');
    const ws = new side.Client(url);
    await once(ws, 'open');
    ws.on('error', (error: Error) => log(['error event', error.name, error instanceof DOMException]));
    const closed = new Promise<void>((resolve) => ws.on('close', (code: number) => (log(['close', code]), resolve())));
    ws.send(blob, (error?: Error) => log(['callback', error?.name]));
    await closed;
  });
  assert.deepEqual(log, [['callback', 'NotReadableError'], ['error event', 'NotReadableError', true], ['close', 1006]]);
});

test('sends cut off by a closed socket get ws\'s messages: while compressing, while reading a Blob', async (t) => {
  for (const kind of ['compress', 'blob'] as const) {
    const log = await sameAsWs(t, async (side, log) => {
      const { url } = await listen(t, side, { perMessageDeflate: true });
      const ws = new side.Client(url, { perMessageDeflate: { threshold: 0 } });
      await once(ws, 'open');
      const callbacks: Array<Promise<void>> = [];
      const send = (data: unknown): void => {
        callbacks.push(new Promise((resolve) => ws.send(data, (error?: Error) => (log(errorOf(error)), resolve()))));
      };
      send(kind === 'blob' ? new Blob(['first']) : 'first');
      send('second');
      ws.terminate();
      await Promise.all(callbacks);
    });
    const message = kind === 'blob' ? 'The socket was closed while the blob was being read' : 'The socket was closed while data was being compressed';
    assert.deepEqual(log, [`Error: ${message}`, `Error: ${message}`], kind);
  }
});

test('a compressed message that arrives after close() is still delivered, then the close code', async (t) => {
  for (const [serverSide, clientSide] of [[WS_SIDE, OUR_SIDE], [OUR_SIDE, WS_SIDE], [WS_SIDE, WS_SIDE]]) {
    const { wss, url } = await listen(t, serverSide, { perMessageDeflate: true });
    wss.on('connection', (ws: Peer) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
    const ws = new clientSide.Client(url, { perMessageDeflate: { threshold: 0 } });
    await once(ws, 'open');
    const events: unknown[] = [];
    ws.on('message', (data: Buffer) => events.push(['message', data.length, ws.readyState]));
    const closed = new Promise<void>((resolve) => ws.on('close', (code: number) => (events.push(['close', code]), resolve())));
    ws.send('x'.repeat(100_000));
    ws.close(1000);
    await closed;
    assert.deepEqual(events, [['message', 100_000, 2], ['close', 1000]], `${clientSide.name} client, ${serverSide.name} server`);
  }
});

test('the client\'s default maxPayload (1 MiB, lower than ws\'s 100 MiB) names the option in its error; raising it works', async (t) => {
  const { wss, url } = await listen(t, WS_SIDE);
  wss.on('connection', (ws: Peer) => ws.send(Buffer.alloc(4 * 1024 * 1024)));
  const ws = new WebSocket(url);
  const [error] = (await once(ws, 'error')) as [Error & { code: string }];
  assert.equal(error.code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
  assert.match(error.message, /^Max payload size exceeded: .*raise the maxPayload option/);
  const [code] = await once(ws, 'close');
  assert.equal(code, 1009);
  const big = new WebSocket(url, { maxPayload: 8 * 1024 * 1024 });
  const [data] = (await once(big, 'message')) as [Buffer];
  assert.equal(data.length, 4 * 1024 * 1024);
  big.close();
});

test('perMessageDeflate: { clientMaxWindowBits: true } offers the parameter without a value', async (t) => {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const offers: string[] = [];
  server.on('upgrade', (req) => offers.push(String(req.headers['sec-websocket-extensions'])));
  const wss = new WSServer({ server, perMessageDeflate: true });
  t.after(() => wss.close());
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const Client of [WS, WebSocket] as any[]) {
    const ws = new Client(url, { perMessageDeflate: { clientMaxWindowBits: true } });
    await once(ws, 'open');
    assert.equal(ws.extensions, 'permessage-deflate');
    ws.close();
    await once(ws, 'close');
  }
  assert.deepEqual(offers, ['permessage-deflate; client_max_window_bits', 'permessage-deflate; client_max_window_bits']);
});
