// The Node client against ws 8's documented surface: constructor checks, the shape of the class
// (property descriptors), handshake failures, bufferedAmount and send/ping/pong while closing, and
// the close paths. Where a peer or a reference is needed it is the real `ws` package: the same
// scenario runs against both and the observations must be equal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WS, { WebSocketServer as WSServer } from 'ws';
import { WebSocket, WebSocketServer } from '../../src/websocket/index.js';

type AnyWebSocket = WebSocket | WS;
type ClientClass = new (address: string, protocols?: unknown, options?: object) => AnyWebSocket;
const clients: Array<[string, ClientClass]> = [
  ['ws', WS as unknown as ClientClass],
  ['switchboard', WebSocket as unknown as ClientClass],
];

/** What a thrown error looks like, for comparing ours with ws's. */
function thrown(fn: () => unknown): string {
  try {
    const ws = fn() as AnyWebSocket;
    ws.on('error', () => {});
    ws.terminate();
    return 'no error';
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

test('constructor: URL, subprotocol and protocolVersion errors are the same as ws (type and message)', () => {
  const cases: Array<[string, unknown, object?]> = [
    ['foo', undefined],
    ['bad-scheme://h.test', undefined],
    ['ws+unix:', undefined],
    ['wss://h.test/#frag', undefined],
    ['ws://127.0.0.1:1', null],
    ['ws://127.0.0.1:1', ''],
    ['ws://127.0.0.1:1', 'a,b'],
    ['ws://127.0.0.1:1', ['a', 'a']],
    ['ws://127.0.0.1:1', [42]],
    ['ws://127.0.0.1:1', { protocolVersion: 1000 }],
    ['ws://127.0.0.1:1', undefined, { protocolVersion: 12 }],
  ];
  for (const [url, protocols, options] of cases) {
    const expected = thrown(() => new WS(url, protocols as string, options));
    assert.notEqual(expected, 'no error', `ws accepts ${url} ${JSON.stringify(protocols)}`);
    assert.equal(thrown(() => new WebSocket(url, protocols as string, options)), expected, `${url} ${JSON.stringify(protocols)}`);
  }
});

test('protocolVersion 8 sends Sec-WebSocket-Version: 8 and the origin as Sec-WebSocket-Origin; 13 sends Origin', async (t) => {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const seen: http.IncomingHttpHeaders[] = [];
  const wss = new WSServer({ server, verifyClient: ({ req }: { req: http.IncomingMessage }) => (seen.push(req.headers), true) });
  t.after(() => wss.close());
  const url = `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  for (const protocolVersion of [8, 13]) {
    const ws = new WebSocket(url, { protocolVersion, origin: 'https://o.test' });
    await once(ws, 'open');
    ws.close();
    await once(ws, 'close');
  }
  assert.equal(seen[0]!['sec-websocket-version'], '8');
  assert.equal(seen[0]!['sec-websocket-origin'], 'https://o.test');
  assert.equal(seen[0]!.origin, undefined);
  assert.equal(seen[1]!['sec-websocket-version'], '13');
  assert.equal(seen[1]!.origin, 'https://o.test');
  assert.equal(seen[1]!['sec-websocket-origin'], undefined);
});

test('ws+unix: URLs reach a server listening on a Unix socket (our client to ws, ws to ours)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-ipc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ipcServer = async (name: string): Promise<{ path: string; server: http.Server }> => {
    const path = join(dir, name);
    const server = http.createServer();
    server.listen(path);
    await once(server, 'listening');
    t.after(() => server.close());
    return { path, server };
  };
  const theirs = await ipcServer('ws.sock');
  const wss = new WSServer({ server: theirs.server });
  t.after(() => wss.close());
  const ours = await ipcServer('ours.sock');
  const sbs = new WebSocketServer({ server: ours.server });
  t.after(() => sbs.close());
  assert.equal(sbs.address(), ours.path);
  for (const server of [wss, sbs] as Array<WSServer | WebSocketServer>) {
    server.on('connection', (ws: { send(data: string): unknown }, req: http.IncomingMessage) => ws.send(req.url!));
  }
  const paths = async (Client: ClientClass, socketPath: string): Promise<string[]> => {
    const out: string[] = [];
    for (const suffix of [':/chat?room=1', '']) {
      const ws = new Client(`ws+unix:${socketPath}${suffix}`);
      const [data] = await once(ws, 'message');
      out.push(String(data));
      ws.close();
      await once(ws, 'close');
    }
    return out;
  };
  // ws requests '' when the URL has no request path; Node sends it as '/'.
  assert.deepEqual(await paths(WebSocket as unknown as ClientClass, theirs.path), ['/chat?room=1', '/']);
  assert.deepEqual(await paths(WS as unknown as ClientClass, ours.path), ['/chat?room=1', '/']);
});

test('descriptors: constants, attributes and on<event> handlers have the same shape as on ws', () => {
  const shape = (d: PropertyDescriptor | undefined): string =>
    d === undefined
      ? 'missing'
      : 'value' in d
        ? `value ${typeof d.value === 'function' ? 'function' : JSON.stringify(d.value)} w=${d.writable} e=${d.enumerable} c=${d.configurable}`
        : `get=${d.get !== undefined} set=${d.set !== undefined} e=${d.enumerable} c=${d.configurable}`;
  const internal = new Set(['setSocket', 'emitClose']);
  let compared = 0;
  for (const key of Reflect.ownKeys(WS.prototype)) {
    if (typeof key !== 'string' || internal.has(key)) continue;
    assert.equal(shape(Object.getOwnPropertyDescriptor(WebSocket.prototype, key)), shape(Object.getOwnPropertyDescriptor(WS.prototype, key)), key);
    compared++;
  }
  assert.ok(compared >= 25, `compared ${compared} properties`);
  for (const key of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) {
    assert.deepEqual(Object.getOwnPropertyDescriptor(WebSocket, key), Object.getOwnPropertyDescriptor(WS, key), key);
  }
  // Read-only for real: assignment throws in strict mode (ES modules are strict).
  assert.throws(() => {
    (WebSocket as unknown as { OPEN: number }).OPEN = 5;
  }, TypeError);
  assert.equal(WebSocket.OPEN, 1);
});

/** A TCP server answering every upgrade request with `respond(key)`: a hand-made handshake response. */
async function craftedServer(t: { after(fn: () => unknown): void }): Promise<{ port: number; respond: (fn: (key: string) => string) => void }> {
  let responder: (key: string) => string = () => 'HTTP/1.1 500 No\r\nContent-Length: 0\r\n\r\n';
  const server = net.createServer((socket) => {
    let head = '';
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const key = /sec-websocket-key: *(\S+)/i.exec(head)?.[1] ?? '';
      socket.write(responder(key));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, respond: (fn) => (responder = fn) };
}

/** The client's events up to 'close', with the readyState each one saw. */
function observe(ws: AnyWebSocket): Promise<string[]> {
  const events: string[] = [];
  ws.on('open', () => events.push(`open ${ws.readyState}`));
  ws.on('error', (error: Error) => events.push(`error ${ws.readyState} ${error.message}`));
  return new Promise((resolve) => ws.on('close', (code: number) => resolve([...events, `close ${ws.readyState} ${code}`])));
}

test('handshake failures: the same errors, in the same order of checks, with the same events as ws', async (t) => {
  const { port, respond } = await craftedServer(t);
  const accept = (key: string): string => createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  const ok = (key: string, extra = ''): string =>
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept(key)}\r\n${extra}\r\n`;
  const cases: Array<[string, (key: string) => string, unknown[], object]> = [
    ['Upgrade checked before the accept key', () => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: nope\r\n\r\n', [], {}],
    ['wrong accept key', () => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: nope\r\n\r\n', [], {}],
    ['no Connection header', (key) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: ${accept(key)}\r\n\r\n`, [], { perMessageDeflate: false }],
    ['subprotocol not offered', (key) => ok(key, 'Sec-WebSocket-Protocol: other\r\n'), ['chat'], {}],
    ['subprotocol when none offered', (key) => ok(key, 'Sec-WebSocket-Protocol: chat\r\n'), [], {}],
    ['no subprotocol chosen', (key) => ok(key), ['chat'], {}],
    ['extensions not offered', (key) => ok(key, 'Sec-WebSocket-Extensions: permessage-deflate\r\n'), [], { perMessageDeflate: false }],
    ['unknown extension', (key) => ok(key, 'Sec-WebSocket-Extensions: x-foo\r\n'), [], {}],
    ['malformed extensions', (key) => ok(key, 'Sec-WebSocket-Extensions: permessage-deflate;;\r\n'), [], {}],
    ['bad deflate parameter', (key) => ok(key, 'Sec-WebSocket-Extensions: permessage-deflate; foo=1\r\n'), [], {}],
    ['client_max_window_bits without a value in an answer', (key) => ok(key, 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n'), [], {}],
    ['not 101', () => 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n', [], {}],
  ];
  for (const [name, response, protocols, options] of cases) {
    respond(response);
    const seen: string[][] = [];
    for (const [, Client] of clients) seen.push(await observe(new Client(`ws://127.0.0.1:${port}`, protocols, options)));
    assert.match(seen[0]!.join('|'), /^error 2 .*\|close 3 1006$/, `${name}: ws fails`);
    assert.deepEqual(seen[1], seen[0], name);
  }
});

test('close() while connecting, also inside unexpected-response: error (CLOSING) then close (CLOSED, 1006), as ws', async (t) => {
  const { port, respond } = await craftedServer(t);
  respond(() => 'HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope');
  for (const scenario of ['right away', 'in unexpected-response', 'terminate in unexpected-response']) {
    const seen: string[][] = [];
    for (const [, Client] of clients) {
      const ws = new Client(`ws://127.0.0.1:${port}`);
      const events = observe(ws);
      if (scenario === 'right away') ws.close();
      else {
        ws.on('unexpected-response', (_req: http.ClientRequest, res: http.IncomingMessage) => {
          assert.equal(res.statusCode, 401);
          if (scenario.startsWith('terminate')) ws.terminate();
          else ws.close();
        });
      }
      seen.push(await events);
    }
    assert.deepEqual(seen[0], ['error 2 WebSocket was closed before the connection was established', 'close 3 1006'], `ws, ${scenario}`);
    assert.deepEqual(seen[1], seen[0], scenario);
  }
});

test('lifecycle: every public property reads the same as on ws at each step (connecting, open, binaryType set, paused, closing, closed)', async (t) => {
  // Our server and ws's, each choosing a subprotocol and accepting permessage-deflate.
  const observed: Record<string, string[]> = {};
  for (const [name, Client] of clients) {
    const server = new WSServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true, handleProtocols: (set) => [...set][1] ?? false });
    await once(server, 'listening');
    t.after(() => new Promise((resolve) => server.close(resolve)));
    server.on('connection', (peer) => peer.on('message', (data, isBinary) => peer.send(data, { binary: isBinary })));
    const port = (server.address() as net.AddressInfo).port;
    const keys = Object.entries(Object.getOwnPropertyDescriptors(WS.prototype))
      .filter(([key, d]) => d.get !== undefined && !key.startsWith('_'))
      .map(([key]) => key)
      .sort();
    const steps: string[] = [];
    const snapshot = (ws: AnyWebSocket, step: string): void => {
      const values = keys.map((key) => {
        const value = (ws as unknown as Record<string, unknown>)[key];
        return `${key}=${typeof value === 'function' ? 'function' : JSON.stringify(value)}`;
      });
      steps.push(`${step}: ${values.join(' ').replaceAll(String(port), 'PORT')}`);
    };
    const ws = new Client(`ws://127.0.0.1:${port}/path?q=1`, ['one', 'two'], { perMessageDeflate: true });
    snapshot(ws, 'constructed');
    ws.onmessage = () => {};
    snapshot(ws, 'onmessage set');
    await once(ws, 'open');
    snapshot(ws, 'open');
    for (const type of ['arraybuffer', 'fragments', 'blob', 'not a type', 'nodebuffer']) {
      (ws as { binaryType: string }).binaryType = type;
      snapshot(ws, `binaryType ${type}`);
    }
    const echoed = once(ws, 'message');
    (ws as WS).send(Buffer.from([1, 2, 3]));
    const [data, isBinary] = await echoed;
    steps.push(`message ${Buffer.isBuffer(data)} ${isBinary}`);
    ws.pause();
    snapshot(ws, 'paused');
    ws.resume();
    snapshot(ws, 'resumed');
    const closed = new Promise<string>((resolve) => ws.on('close', (code: number, reason: Buffer) => {
      snapshot(ws, 'in close');
      resolve(`close ${code} ${Buffer.isBuffer(reason)} ${reason.toString()}`);
    }));
    ws.close(4001, 'bye now');
    snapshot(ws, 'closing');
    (ws as WS).send('after close', () => {});
    snapshot(ws, 'sent while closing');
    steps.push(await closed);
    snapshot(ws, 'closed');
    observed[name] = steps;
  }
  assert.deepEqual(observed.switchboard, observed.ws);
});
