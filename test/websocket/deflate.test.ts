// permessage-deflate (RFC 7692): round trips for every parameter combination across implementations,
// threshold, fragmented compressed messages, and the compression bomb.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import WS, { WebSocketServer as WSServer } from 'ws';
import { WebSocket, WebSocketServer, type PerMessageDeflateOptions } from '../../src/websocket/index.js';
import { OPCODE_BINARY, OPCODE_TEXT } from '../../src/protocol/ws-frame.js';
import { RawClient, startServer } from './helpers.js';

const combos: PerMessageDeflateOptions[] = [];
for (const serverNoContextTakeover of [false, true]) {
  for (const clientNoContextTakeover of [false, true]) {
    for (const serverMaxWindowBits of [undefined, 9, 15]) {
      for (const clientMaxWindowBits of [undefined, 9, 15]) {
        const o: PerMessageDeflateOptions = { serverNoContextTakeover, clientNoContextTakeover, threshold: 0 };
        if (serverMaxWindowBits !== undefined) o.serverMaxWindowBits = serverMaxWindowBits;
        if (clientMaxWindowBits !== undefined) o.clientMaxWindowBits = clientMaxWindowBits;
        combos.push(o);
      }
    }
  }
}

const messages: Array<string | Buffer> = [
  '',
  'a',
  'hello hello hello hello',
  JSON.stringify({ items: Array.from({ length: 300 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ['x', 'y'] })) }),
  Buffer.alloc(70_000, 'abc'),
  Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) & 0xff)),
  'ü'.repeat(40_000),
];

async function roundTrip(client: any): Promise<void> {
  for (const m of messages) {
    for (let repeat = 0; repeat < 2; repeat++) { // twice: context takeover must carry over correctly
      client.send(m);
      const [data, isBinary] = (await once(client as any, 'message')) as [Buffer, boolean];
      assert.equal(isBinary, typeof m !== 'string');
      assert.ok(Buffer.compare(Buffer.from(data), Buffer.from(m)) === 0);
    }
  }
  // A fragmented compressed message (RSV1 on the first frame only).
  client.send('part one, ', { fin: false });
  client.send('part two', { fin: true });
  const [data] = (await once(client as any, 'message')) as [Buffer];
  assert.equal(data.toString(), 'part one, part two');
}

const echo = (ws: any): void => ws.on('message', (d: Buffer, isBinary: boolean) => ws.send(d, { binary: isBinary }));

test('our client ↔ our server: every parameter combination round trips', async (t) => {
  for (const serverOptions of [{ threshold: 0 }, { threshold: 0, serverNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 11 }]) {
    const { wss, url } = await startServer(t, { perMessageDeflate: serverOptions });
    wss.on('connection', echo);
    for (const clientOptions of combos) {
      const client = new WebSocket(url, { perMessageDeflate: clientOptions });
      t.after(() => client.terminate());
      await once(client, 'open');
      assert.match(client.extensions, /^permessage-deflate/, JSON.stringify(clientOptions));
      await roundTrip(client);
      client.close();
      await once(client, 'close');
    }
  }
});

test('ws client → our server: every parameter combination round trips', async (t) => {
  const { wss, url } = await startServer(t, { perMessageDeflate: { threshold: 0 } });
  wss.on('connection', echo);
  for (const clientOptions of combos) {
    const { threshold, ...offer } = clientOptions;
    const client = new WS(url, { perMessageDeflate: { ...offer, threshold } as WS.PerMessageDeflateOptions });
    t.after(() => client.terminate());
    await once(client, 'open');
    assert.match(client.extensions, /^permessage-deflate/);
    await roundTrip(client);
    client.close();
    await once(client, 'close');
  }
});

test('our client → ws server: every parameter combination round trips', async (t) => {
  const wss = new WSServer({ port: 0, host: '127.0.0.1', perMessageDeflate: { threshold: 0 } });
  await once(wss, 'listening');
  t.after(() => new Promise<void>((r) => wss.close(() => r())));
  wss.on('connection', echo);
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  for (const clientOptions of combos) {
    const client = new WebSocket(url, { perMessageDeflate: clientOptions });
    t.after(() => client.terminate());
    await once(client, 'open');
    assert.match(client.extensions, /^permessage-deflate/);
    await roundTrip(client);
    client.close();
    await once(client, 'close');
  }
});

test('deflate is off by default on the server and messages below the threshold go uncompressed', async (t) => {
  const plain = await startServer(t);
  const c1 = new WebSocket(plain.url);
  t.after(() => c1.terminate());
  await once(c1, 'open');
  assert.equal(c1.extensions, '');

  const { wss, port } = await startServer(t, { perMessageDeflate: { threshold: 100 } });
  wss.on('connection', (ws) => {
    ws.on('message', () => {
      ws.send('small');
      ws.send('x'.repeat(1000));
    });
  });
  const raw = await RawClient.connect(port, '/', 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
  t.after(() => raw.destroy());
  const frames: Buffer[] = [];
  raw.socket.on('data', (chunk: Buffer) => frames.push(chunk));
  raw.sendFrame(OPCODE_TEXT, 'go');
  await raw.until(() => Buffer.concat(frames).length >= 7 + 2, 'frames');
  const wire = Buffer.concat(frames);
  assert.equal(wire[0], 0x81, 'small message: FIN + text, RSV1 clear');
  assert.equal(wire[7], 0xc1, 'large message: FIN + RSV1 + text');
});

test('compression bomb: closes 1009 without inflating the whole thing', async (t) => {
  const maxPayload = 64 * 1024;
  const { wss, port } = await startServer(t, { perMessageDeflate: true, maxPayload });
  let messages = 0;
  const serverError = new Promise<any>((resolve) => wss.on('connection', (ws) => {
    ws.on('message', () => messages++);
    ws.on('error', resolve);
  }));
  const raw = await RawClient.connect(port, '/', 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
  t.after(() => raw.destroy());
  // 256 MiB of zeros compresses to about 256 KiB.
  const bomb = zlib.deflateRawSync(Buffer.alloc(256 << 20), { level: 9, flush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
  assert.ok(bomb.length < maxPayload * 8);
  const rssBefore = process.memoryUsage().rss;
  const compressed = bomb.subarray(0, 60 * 1024); // within maxPayload as compressed bytes
  raw.sendFrame(OPCODE_BINARY, compressed, { rsv: 4 });
  await raw.until(() => raw.events.some((e) => e[0] === 'close'), 'close');
  assert.deepEqual(raw.events, [['close', 1009, '']]);
  const error = await serverError;
  assert.equal(error.code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
  assert.equal(error.closeCode, 1009);
  assert.equal(messages, 0);
  // Inflating 60 KiB of this bomb fully would produce ~60 MiB; the cap stops near 64 KiB.
  assert.ok(process.memoryUsage().rss - rssBefore < 40 << 20, 'no inflated-size allocation');
  await raw.untilClosed();
});

test('invalid compressed data fails with 1007; RSV1 without negotiation fails with 1002', async (t) => {
  const { port } = await startServer(t, { perMessageDeflate: true });
  const raw = await RawClient.connect(port, '/', 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
  t.after(() => raw.destroy());
  raw.sendFrame(OPCODE_TEXT, Buffer.from([0xff, 0xff, 0xff, 0xff]), { rsv: 4 });
  await raw.until(() => raw.events.length > 0, 'close');
  assert.deepEqual(raw.events, [['close', 1007, '']]);

  const plain = await RawClient.connect(port);
  t.after(() => plain.destroy());
  plain.sendFrame(OPCODE_TEXT, zlib.deflateRawSync('hi'), { rsv: 4 });
  await plain.until(() => plain.events.length > 0, 'close');
  assert.deepEqual(plain.events, [['close', 1002, '']]);
});

test('compressed text with invalid UTF-8 fails with 1007', async (t) => {
  const { port } = await startServer(t, { perMessageDeflate: true });
  const raw = await RawClient.connect(port, '/', 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
  t.after(() => raw.destroy());
  const payload = zlib.deflateRawSync(Buffer.from('cebae1bdb9cf83cebcceb5eda080656469746564', 'hex'), { flush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
  raw.sendFrame(OPCODE_TEXT, payload, { rsv: 4 });
  await raw.until(() => raw.events.length > 0, 'close');
  assert.deepEqual(raw.events, [['close', 1007, '']]);
});

test('client fails the handshake on an extension it did not offer or cannot honour', async (t) => {
  const http = await import('node:http');
  const { acceptKey } = await import('../../src/protocol/ws-handshake.js');
  let extension = 'x-unknown';
  const server = http.createServer();
  server.on('upgrade', (req, socket) => {
    socket.end(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${acceptKey(String(req.headers['sec-websocket-key']))}\r\nSec-WebSocket-Extensions: ${extension}\r\n\r\n`,
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const [ext, options] of [
    ['x-unknown', {}],
    ['permessage-deflate; client_max_window_bits=8', {}],
    ['permessage-deflate; foo=1', {}],
    ['permessage-deflate', { perMessageDeflate: false }],
  ] as const) {
    extension = ext;
    const client = new WebSocket(url, options);
    const errored = once(client, 'error');
    const closed = new Promise<[number]>((resolve) => client.on('close', (code) => resolve([code])));
    const [error] = (await errored) as [Error];
    assert.ok(error instanceof Error, ext);
    assert.deepEqual((await closed)[0], 1006);
    assert.equal(client.readyState, WebSocket.CLOSED);
  }
});

test('connections dropped mid-compression never leak zlib concurrency slots', async (t) => {
  const { wss, url } = await startServer(t, { perMessageDeflate: { threshold: 0 }, maxPayload: 8 << 20 });
  wss.on('connection', (ws) => ws.on('message', (d) => {
    for (let i = 0; i < 5; i++) ws.send(d);
    ws.terminate(); // dies with compressions in flight
  }));
  const big = Buffer.alloc(2 << 20, 'compress me please ');
  for (let round = 0; round < 3; round++) {
    const clients = Array.from({ length: 12 }, () => new WebSocket(url, { maxPayload: 8 << 20 }));
    await Promise.all(clients.map(async (c) => {
      await once(c, 'open');
      c.send(big);
      c.terminate(); // and the client side too
      await new Promise((r) => c.on('close', r));
    }));
  }
  await new Promise((r) => setTimeout(r, 50));
  // Slots are all free again: a fresh pair still compresses both ways.
  const { wss: echoWss, url: echoUrl } = await startServer(t, { perMessageDeflate: { threshold: 0 } });
  echoWss.on('connection', echo);
  const client = new WebSocket(echoUrl);
  t.after(() => client.terminate());
  await once(client, 'open');
  await roundTrip(client);
});

// RFC 7692 §7.2.3.3: a sender may end each message's DEFLATE data with a final block (BFINAL=1)
// instead of a sync flush; zlib's deflateRawSync does exactly that. (Issue 12, item 3.)
const finalBlock = (text: string, dictionary?: Buffer): Buffer =>
  zlib.deflateRawSync(text, dictionary ? { dictionary } : {});
/** RFC 7692 §7.2.3.3's own example: "Hello" in a final block, then the 0x00 of an empty stored block. */
const RFC_HELLO = Buffer.from([0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00]);
const texts = ['first message', 'second message', 'third, longer: ' + 'abc'.repeat(50), 'fourth', 'fifth'];

async function echoOf(raw: RawClient, payload: Buffer, count: number): Promise<void> {
  raw.sendFrame(OPCODE_TEXT, payload, { rsv: 4 });
  await raw.until(() => raw.events.length >= count, `reply ${count}`);
}

test('BFINAL=1 messages with client_no_context_takeover: every message is inflated by a fresh stream (server)', async (t) => {
  const { wss, port } = await startServer(t, { perMessageDeflate: { threshold: 4096 } });
  wss.on('connection', echo);
  const raw = await RawClient.connect(port, '/', 'Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n');
  t.after(() => raw.destroy());
  let count = 0;
  for (const text of texts) await echoOf(raw, finalBlock(text), ++count);
  await echoOf(raw, RFC_HELLO, ++count);
  // A sync-flushed message after them still works, then BFINAL again.
  await echoOf(raw, zlib.deflateRawSync('flushed', { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4), ++count);
  await echoOf(raw, finalBlock('last'), ++count);
  assert.deepEqual(raw.events, [...texts, 'Hello', 'flushed', 'last'].map((x) => ['message', false, x]));
});

test('BFINAL=1 messages with context takeover: the next stream is inflated with the window of the last (server)', async (t) => {
  const { wss, port } = await startServer(t, { perMessageDeflate: { threshold: 4096 } });
  wss.on('connection', echo);
  const raw = await RawClient.connect(port, '/', 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
  t.after(() => raw.destroy());
  // Each message refers back to the ones before (a preset dictionary of the history), as RFC 7692
  // §7.2.2 allows when context takeover is on.
  let history = Buffer.alloc(0);
  let count = 0;
  for (const text of [...texts, ...texts]) {
    const payload = finalBlock(text, history.length ? history : undefined);
    if (history.includes(text)) assert.ok(payload.length < text.length / 2 + 4, 'the sender used a back-reference');
    await echoOf(raw, payload, ++count);
    history = Buffer.concat([history, Buffer.from(text)]);
  }
  assert.deepEqual(raw.events, [...texts, ...texts].map((x) => ['message', false, x]));
});

test('data after the end of a DEFLATE stream in the same message fails with 1007', async (t) => {
  const { wss, port } = await startServer(t, { perMessageDeflate: { threshold: 4096 } });
  wss.on('connection', echo);
  const raw = await RawClient.connect(port, '/', 'Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n');
  t.after(() => raw.destroy());
  await echoOf(raw, finalBlock('ok'), 1);
  raw.sendFrame(OPCODE_TEXT, Buffer.concat([finalBlock('two'), finalBlock('streams')]), { rsv: 4 });
  await raw.until(() => raw.events.length >= 2, 'close');
  assert.deepEqual(raw.events, [['message', false, 'ok'], ['close', 1007, '']]);
});

for (const takeover of [false, true]) {
  test(`our client inflates BFINAL=1 messages from a server${takeover ? ' with context takeover' : ' with server_no_context_takeover'}`, async (t) => {
    const http = await import('node:http');
    const { acceptKey } = await import('../../src/protocol/ws-handshake.js');
    const { encodeFrame } = await import('../../src/protocol/ws-frame.js');
    const server = http.createServer();
    server.on('upgrade', (req, socket) => {
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${acceptKey(String(req.headers['sec-websocket-key']))}\r\n` +
          `Sec-WebSocket-Extensions: permessage-deflate${takeover ? '' : '; server_no_context_takeover'}\r\n\r\n`,
      );
      // All messages in one write: each ends its stream with a final block.
      let history = Buffer.alloc(0);
      const frames = [...texts, ...texts].map((text) => {
        const payload = finalBlock(text, takeover && history.length ? history : undefined);
        history = Buffer.concat([history, Buffer.from(text)]);
        const frame = Buffer.from(encodeFrame(OPCODE_TEXT, payload));
        frame[0]! |= 0x40; // RSV1
        return frame;
      });
      socket.write(Buffer.concat(frames));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => server.close());
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, { perMessageDeflate: true });
    t.after(() => client.terminate());
    const received: string[] = [];
    let closed: number | null = null;
    client.on('close', (code) => { closed = code; });
    await new Promise<void>((resolve, reject) => {
      client.on('message', (data: Buffer) => {
        received.push(data.toString());
        if (received.length === 2 * texts.length) resolve();
      });
      client.on('close', () => reject(new Error(`closed ${closed} after ${JSON.stringify(received)}`)));
    });
    assert.deepEqual(received, [...texts, ...texts]);
  });
}

test('pause() and resume() while a message is inflated: the message after it still comes after it (as ws)', async (t) => {
  const { wss, port } = await startServer(t, { perMessageDeflate: true });
  const received: string[] = [];
  wss.on('connection', (ws) => {
    ws.on('message', (data) => received.push(String(data).slice(0, 5)));
    // Runs right after the chunk was parsed, while the first message is still being inflated.
    (ws as unknown as { _socket: NodeJS.EventEmitter })._socket.on('data', () => {
      ws.pause();
      ws.resume();
    });
  });
  const raw = await RawClient.connect(port, '/', 'Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n');
  t.after(() => raw.destroy());
  const first = zlib.deflateRawSync('first'.padEnd(1 << 20, '.'), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
  raw.send(Buffer.concat([raw.frame(OPCODE_TEXT, first, { rsv: 4 }), raw.frame(OPCODE_TEXT, 'second')]));
  const deadline = Date.now() + 5000;
  while (received.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(received, ['first', 'secon']);
});

test('a compressed message that fails (bad UTF-8, bad data) closes the server side at once, not after the close timeout', async (t) => {
  const { wss, port } = await startServer(t, { perMessageDeflate: true, maxPayload: 64 << 20 });
  // Long enough to take some milliseconds to inflate.
  const long = Buffer.alloc(16 << 20, 0x61);
  const badUtf8 = zlib.deflateRawSync(Buffer.concat([long, Buffer.from([0xff])]), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
  const badData = Buffer.concat([zlib.deflateRawSync(long, { finishFlush: zlib.constants.Z_SYNC_FLUSH }), Buffer.from([0xff, 0xff, 0xff])]);
  for (const [payload, code] of [[badUtf8, 1007], [badData, 1007]] as const) {
    const closed = new Promise<number>((resolve) => wss.once('connection', (ws) => {
      ws.on('error', () => {});
      ws.on('close', resolve);
    }));
    const raw = await RawClient.connect(port, '/', 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
    t.after(() => raw.destroy());
    raw.sendFrame(OPCODE_TEXT, payload, { rsv: 4 });
    // Bytes behind it reach the socket while the message is inflated (paused): never parsed.
    await new Promise((resolve) => setTimeout(resolve, 2));
    raw.sendFrame(OPCODE_TEXT, 'behind it');
    // And bytes after the connection failed.
    await new Promise((resolve) => setTimeout(resolve, 100));
    raw.sendFrame(OPCODE_TEXT, 'after the failure');
    // The server ends TCP after its close frame; the peer's FIN must be read, not left behind a paused socket.
    const timeout = new Promise<string>((resolve) => setTimeout(resolve, 2000, 'still open after 2 s'));
    assert.equal(await Promise.race([closed, timeout]), code);
  }
});
