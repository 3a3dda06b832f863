// Interop across implementations: our client ↔ our server, the `ws` client → our server, and our
// client → a `ws` server. The same scenarios run on every pairing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import WS, { WebSocketServer as WSServer } from 'ws';
import { WebSocket, WebSocketServer } from '../../src/websocket/index.js';
import { connectedPair, startServer } from './helpers.js';

// Both client classes share the ws API; `any` spares union overload friction in the tests.
type AnyClient = any;
interface Pairing {
  name: string;
  /** Starts an echo server that also reports server-side events, returns its URL. */
  server(t: TestContext, onConnection?: (ws: any) => void): Promise<string>;
  client(url: string, protocols?: string[]): AnyClient;
}

const echo = (ws: any): void => {
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary && data.toString() === 'close-me') ws.close(4001, 'as you wish');
    else ws.send(data, { binary: isBinary });
  });
};

async function ourServer(t: TestContext, onConnection?: (ws: any) => void): Promise<string> {
  const { wss, url } = await startServer(t, { maxPayload: 4 << 20, handleProtocols: (p) => (p.has('chat') ? 'chat' : false) });
  wss.on('connection', (ws) => {
    echo(ws);
    onConnection?.(ws);
  });
  return url;
}

async function wsServer(t: TestContext, onConnection?: (ws: any) => void): Promise<string> {
  const wss = new WSServer({ port: 0, host: '127.0.0.1', maxPayload: 4 << 20, handleProtocols: (p) => (p.has('chat') ? 'chat' : false) });
  await once(wss, 'listening');
  t.after(() => new Promise<void>((resolve) => {
    for (const ws of wss.clients) ws.terminate();
    wss.close(() => resolve());
  }));
  wss.on('connection', (ws) => {
    echo(ws);
    onConnection?.(ws);
  });
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

const pairings: Pairing[] = [
  { name: 'our client → our server', server: ourServer, client: (url, p) => new WebSocket(url, p, { maxPayload: 4 << 20 }) },
  { name: 'ws client → our server', server: ourServer, client: (url, p) => new WS(url, p, { maxPayload: 4 << 20 }) },
  { name: 'our client → ws server', server: wsServer, client: (url, p) => new WebSocket(url, p, { maxPayload: 4 << 20 }) },
];

async function open(client: AnyClient, t: TestContext): Promise<void> {
  t.after(() => client.terminate());
  await once(client as any, 'open');
}

function nextMessage(client: AnyClient): Promise<[Buffer, boolean]> {
  return once(client as any, 'message') as Promise<[Buffer, boolean]>;
}

for (const pairing of pairings) {
  test(`${pairing.name}: text and binary echo across length boundaries`, async (t) => {
    const url = await pairing.server(t);
    const client = pairing.client(url);
    await open(client, t);
    for (const n of [0, 1, 125, 126, 65535, 65536, 200_000, 1 << 20]) {
      const text = 'é'.repeat(Math.floor(n / 2)) + (n % 2 ? 'x' : '');
      client.send(text);
      const [data, isBinary] = await nextMessage(client);
      assert.equal(isBinary, false);
      assert.equal(data.toString(), text);
      const bin = Buffer.alloc(n, n & 0xff);
      client.send(bin);
      const [back, isBinary2] = await nextMessage(client);
      assert.equal(isBinary2, true);
      assert.ok(Buffer.compare(back, bin) === 0, `binary ${n}`);
    }
  });

  test(`${pairing.name}: fragmented sends, ping/pong and many messages in one tick stay ordered`, async (t) => {
    const url = await pairing.server(t);
    const client = pairing.client(url);
    await open(client, t);
    client.send('frag-', { fin: false });
    client.send('ment-', { fin: false });
    client.send('ed', { fin: true });
    assert.equal((await nextMessage(client))[0].toString(), 'frag-ment-ed');
    client.ping(Buffer.from('are you there'));
    const [pong] = (await once(client as any, 'pong')) as [Buffer];
    assert.equal(Buffer.from(pong).toString(), 'are you there');
    const received: string[] = [];
    const all = new Promise<void>((resolve) => {
      const onMessage = (data: Buffer): void => {
        received.push(data.toString());
        if (received.length === 500) {
          client.off('message', onMessage);
          resolve();
        }
      };
      client.on('message', onMessage);
    });
    for (let i = 0; i < 500; i++) client.send(`m${i}`);
    await all;
    assert.deepEqual(received, Array.from({ length: 500 }, (_, i) => `m${i}`));
  });

  test(`${pairing.name}: subprotocol negotiation`, async (t) => {
    const url = await pairing.server(t);
    const a = pairing.client(url, ['superchat', 'chat']);
    await open(a, t);
    assert.equal(a.protocol, 'chat');
    const b = pairing.client(url);
    await open(b, t);
    assert.equal(b.protocol, '');
    // A server that picked none of the offered protocols fails the handshake, with ws's message.
    const c = pairing.client(url, ['other']);
    t.after(() => c.terminate());
    const [error] = (await once(c, 'error')) as [Error];
    assert.equal(error.message, 'Server sent no subprotocol');
  });

  test(`${pairing.name}: close codes and reasons travel both ways`, async (t) => {
    let serverSide: any;
    const serverClosed = new Promise<[number, string]>((resolve) => {
      void pairing.server(t, (ws) => {
        serverSide = ws;
        ws.on('close', (code: number, reason: Buffer) => resolve([code, reason.toString()]));
      }).then((url) => {
        const client = pairing.client(url);
        t.after(() => client.terminate());
        client.on('open', () => client.close(4321, 'client says bye'));
        client.on('close', (code: number) => clientCode.push(code));
      });
    });
    const clientCode: number[] = [];
    assert.deepEqual(await serverClosed, [4321, 'client says bye']);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(clientCode, [4321]);
    assert.ok(serverSide);

    // Server-initiated close.
    const url = await pairing.server(t);
    const client = pairing.client(url);
    await open(client, t);
    const closed = once(client as any, 'close') as Promise<[number, Buffer]>;
    client.send('close-me');
    const [code, reason] = await closed;
    assert.equal(code, 4001);
    assert.equal(reason.toString(), 'as you wish');
    assert.equal(client.readyState, 3);
  });
}

test('our server: wss.clients tracks connections; terminate reports 1006', async (t) => {
  const { wss, client, server: serverWs } = await connectedPair(t);
  assert.equal(wss.clients.size, 1);
  const closed = once(serverWs, 'close');
  client.terminate();
  const [code] = (await closed) as [number];
  assert.equal(code, 1006);
  assert.equal(wss.clients.size, 0);
});

test('our client: WHATWG surface (onopen/onmessage/addEventListener, binaryType, events)', async (t) => {
  const { wss, url } = await startServer(t);
  wss.on('connection', echo);
  const client = new WebSocket(url);
  t.after(() => client.terminate());
  const seen: string[] = [];
  client.onopen = (e) => seen.push(`open:${e.type}`);
  const listener = (e: any): void => void seen.push(`listener:${typeof e.data === 'string' ? e.data : 'binary'}`);
  client.addEventListener('message', listener);
  client.addEventListener('message', listener); // duplicate registrations are ignored
  client.addEventListener('message', { handleEvent: (e: any) => seen.push(`handleEvent:${e.type}`) }, { once: true });
  await once(client, 'open');
  assert.equal(client.readyState, WebSocket.OPEN);
  assert.equal(client.OPEN, 1);
  assert.equal(client.url, `${url}/`);

  const firstText = new Promise<any>((resolve) => (client.onmessage = resolve));
  client.send('hello');
  const event = await firstText;
  assert.equal(event.data, 'hello');
  assert.equal(event.target, client);

  client.binaryType = 'arraybuffer';
  const ab = new Promise<any>((resolve) => (client.onmessage = resolve));
  client.send(new Uint8Array([1, 2, 3]));
  const abEvent = await ab;
  assert.ok(abEvent.data instanceof ArrayBuffer);
  assert.deepEqual([...new Uint8Array(abEvent.data)], [1, 2, 3]);

  client.binaryType = 'blob';
  const blob = new Promise<any>((resolve) => (client.onmessage = resolve));
  client.send(Buffer.from([9]));
  assert.deepEqual([...new Uint8Array(await (await blob).data.arrayBuffer())], [9]);

  client.binaryType = 'fragments';
  const frags = new Promise<any>((resolve) => (client.onmessage = resolve));
  client.send(Buffer.from([7]));
  const fragData = (await frags).data;
  assert.ok(Array.isArray(fragData));
  assert.deepEqual([...Buffer.concat(fragData)], [7]);

  client.removeEventListener('message', listener);
  client.onmessage = null;
  assert.equal(client.onmessage, null);
  const closeEvent = new Promise<any>((resolve) => (client.onclose = resolve));
  client.close(1000, 'done');
  const ce = await closeEvent;
  assert.equal(ce.code, 1000);
  assert.equal(ce.wasClean, true);
  assert.deepEqual(seen, ['open:open', 'listener:hello', 'handleEvent:message', 'listener:binary', 'listener:binary', 'listener:binary']);
});

test('our client: send before open throws; send after close reports an error', async (t) => {
  const { url } = await startServer(t);
  const client = new WebSocket(url);
  t.after(() => client.terminate());
  assert.throws(() => client.send('too early'), /CONNECTING/);
  await once(client, 'open');
  client.close();
  const error = await new Promise<Error | undefined>((resolve) => client.send('late', resolve));
  assert.match(String(error), /not open/);
  await once(client, 'close');
});

test('prepareMessage frames once and delivers to every kind of client', async (t) => {
  const { wss, url } = await startServer(t);
  const ours = new WebSocket(url);
  const theirs = new WS(url);
  t.after(() => { ours.terminate(); theirs.terminate(); });
  await Promise.all([once(ours, 'open'), once(theirs, 'open')]);
  while (wss.clients.size < 2) await new Promise((r) => setTimeout(r, 5));
  const { prepareMessage } = await import('../../src/websocket/index.js');
  const msg = prepareMessage('broadcast!');
  const binary = prepareMessage(Buffer.from([1, 2]));
  const got = Promise.all([once(ours, 'message'), once(theirs, 'message')]);
  for (const ws of wss.clients) assert.equal(ws.sendPrepared(msg), true);
  for (const [data, isBinary] of (await got) as unknown as Array<[Buffer, boolean]>) {
    assert.equal(data.toString(), 'broadcast!');
    assert.equal(isBinary, false);
  }
  const got2 = Promise.all([once(ours, 'message'), once(theirs, 'message')]);
  for (const ws of wss.clients) ws.sendPrepared(binary);
  for (const [data2, isBinary2] of (await got2) as unknown as Array<[Buffer, boolean]>) {
    assert.deepEqual([...data2], [1, 2]);
    assert.equal(isBinary2, true);
  }
  // Prepared and plain sends in one tick leave in the order they were made, on every connection.
  const four = (client: any) =>
    new Promise<string[]>((resolve) => {
      const got: string[] = [];
      const onMessage = (d: Buffer) => {
        got.push(String(d));
        if (got.length === 4) {
          client.off('message', onMessage);
          resolve(got);
        }
      };
      client.on('message', onMessage);
    });
  const bursts = Promise.all([four(ours), four(theirs)]);
  const [a, b, c] = ['a', 'b', 'c'].map((text) => prepareMessage(text));
  for (const ws of wss.clients) {
    ws.sendPrepared(a!);
    ws.send('x');
    ws.sendPrepared(b!);
    ws.sendPrepared(c!);
  }
  assert.deepEqual(await bursts, [['a', 'x', 'b', 'c'], ['a', 'x', 'b', 'c']]);
  // A client connection can send prepared messages too (it re-frames with a mask).
  const echoed = new Promise<string>((resolve) => {
    for (const ws of wss.clients) ws.once('message', (d) => resolve(String(d)));
  });
  ours.sendPrepared(msg);
  assert.equal(await echoed, 'broadcast!');
});

test('our server attached to an existing http server, and noServer + handleUpgrade with paths', async (t) => {
  const http = await import('node:http');
  const server = http.createServer();
  const a = new WebSocketServer({ server, path: '/a' });
  const b = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (req.url === '/b') b.handleUpgrade(req, socket, head, (ws) => b.emit('connection', ws, req));
  });
  a.on('connection', (ws) => ws.send('from a'));
  b.on('connection', (ws) => ws.send('from b'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => {
    a.close();
    b.close();
    server.close(() => resolve());
  }));
  const port = (server.address() as AddressInfo).port;
  for (const path of ['a', 'b']) {
    const client = new WebSocket(`ws://127.0.0.1:${port}/${path}`);
    t.after(() => client.terminate());
    const [data] = (await once(client, 'message')) as [Buffer];
    assert.equal(data.toString(), `from ${path}`);
    client.close();
    await once(client, 'close');
  }
});

test('wss:// — our client and the ws client over TLS to our server on an https server', async (t) => {
  const https = await import('node:https');
  const { readFileSync } = await import('node:fs');
  const cert = readFileSync(new URL('./fixtures/cert.pem', import.meta.url));
  const key = readFileSync(new URL('./fixtures/key.pem', import.meta.url));
  const server = https.createServer({ cert, key });
  const wss = new WebSocketServer({ server });
  wss.on('connection', echo);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    server.close(() => resolve());
  }));
  const port = (server.address() as AddressInfo).port;
  for (const make of [() => new WebSocket(`wss://localhost:${port}`, { ca: cert }), () => new WS(`wss://localhost:${port}`, { ca: cert })]) {
    const client: any = make();
    t.after(() => client.terminate());
    await once(client, 'open');
    client.send('secure hello');
    const [data] = (await once(client, 'message')) as [Buffer];
    assert.equal(data.toString(), 'secure hello');
    client.close();
  }
  // Certificates are verified by default.
  const untrusted = new WebSocket(`wss://localhost:${port}`);
  const error = await new Promise<Error>((resolve) => untrusted.on('error', resolve));
  assert.match(error.message, /self[- ]signed|certificate/i);
});
