// The upgrade request of a WebSocket session, kept small until read: the rebuilt IncomingMessage
// equals the one node:http parsed, field by field; the original is kept whenever application code
// saw it; `session.request = null` frees it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, IncomingMessage, type ServerOptions } from 'node:http';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import WebSocket from 'ws';
import fc from 'fast-check';
import { Server as SocketIOServer, type Socket as SocketIOSocket } from '../../src/server/index.js';
import { encodeFrame, OPCODE_TEXT } from '../../src/protocol/ws-frame.js';
import { keepSmall, kClientAddress, KeptRequest } from '../../src/engine/kept-request.js';
import { EngineServer, type EngineSocket } from '../../src/engine/index.js';
import { startEngine, pollingHandshake, type Harness } from './helpers.js';

const WEBSOCKET = 'EIO=4&transport=websocket';

/** What the session holds: the request, its small form, or null. */
const held = (session: EngineSocket): unknown => (session as unknown as { openedBy: unknown }).openedBy;

const immediate = () => new Promise((resolve) => setImmediate(resolve));

type Options = ServerOptions & { maxHeadersCount?: number };

/**
 * Sends `head` (an upgrade request without its final CRLF) to a fresh server and resolves with
 * what node:http parsed, given to `onUpgrade` in the tick it was parsed, as the engine gets it.
 */
async function parsed<T>(
  t: { after(fn: () => unknown): void },
  head: string,
  onUpgrade: (req: IncomingMessage) => T,
  options: Options = {},
): Promise<{ req: IncomingMessage; result: T }> {
  const { maxHeadersCount, ...serverOptions } = options;
  const http = createServer(serverOptions);
  if (maxHeadersCount !== undefined) http.maxHeadersCount = maxHeadersCount;
  const got = new Promise<{ req: IncomingMessage; result: T }>((resolve) => {
    http.on('upgrade', (req: IncomingMessage) => resolve({ req, result: onUpgrade(req) }));
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const socket = netConnect((http.address() as AddressInfo).port, '127.0.0.1');
  t.after(() => {
    socket.destroy();
    http.closeAllConnections();
    http.close();
  });
  socket.on('error', () => {});
  socket.write(Buffer.from(head + '\r\n', 'latin1'));
  return got;
}

/** The engine's steps before a session keeps a request: headers read, client address stored. */
function asTheEngine(req: IncomingMessage): KeptRequest | null {
  void req.headers;
  (req as IncomingMessage & { [kClientAddress]?: string })[kClientAddress] = req.socket.remoteAddress ?? '';
  return keepSmall(req);
}

type Fields = Record<string | symbol, unknown>;

/** Every field of `rebuilt` equals the original's: own keys in order, values, stream state, behaviour. */
async function assertSameRequest(rebuilt: IncomingMessage, original: IncomingMessage, sameSocket = true): Promise<void> {
  await immediate(); // both past the tick in which node:http ended the original
  assert.ok(rebuilt instanceof IncomingMessage);
  assert.equal(Object.getPrototypeOf(rebuilt), Object.getPrototypeOf(original));
  assert.deepEqual(Reflect.ownKeys(rebuilt), Reflect.ownKeys(original));
  for (const key of Reflect.ownKeys(original)) {
    const a = (rebuilt as unknown as Fields)[key];
    const b = (original as unknown as Fields)[key];
    if (key === 'socket' || key === 'client') assert.equal(sameSocket ? a : (a as Socket).remoteAddress, sameSocket ? b : (b as Socket).remoteAddress, String(key));
    else if (key === '_readableState') {
      assert.deepEqual(Reflect.ownKeys(a as object), Reflect.ownKeys(b as object));
      for (const k of Reflect.ownKeys(b as object)) assert.deepEqual((a as Fields)[k], (b as Fields)[k], `state ${String(k)}`);
    } else assert.deepEqual(a, b, String(key));
  }
  assert.deepEqual(rebuilt.headers, original.headers);
  assert.deepEqual(rebuilt.headersDistinct, original.headersDistinct);
  assert.deepEqual(rebuilt.rawHeaders, original.rawHeaders);
  assert.deepEqual(rebuilt.trailers, original.trailers);
  for (const name of ['url', 'method', 'httpVersion', 'httpVersionMajor', 'httpVersionMinor', 'complete', 'upgrade', 'aborted',
    'readable', 'readableEnded', 'readableFlowing', 'readableLength', 'destroyed', 'closed'] as const) {
    assert.equal((rebuilt as unknown as Fields)[name], (original as unknown as Fields)[name], name);
  }
  if (sameSocket) {
    assert.equal(rebuilt.socket, original.socket);
    assert.equal(rebuilt.connection, original.connection);
  }
  assert.equal(rebuilt.socket.remoteAddress, original.socket.remoteAddress);
  assert.equal(rebuilt.isPaused(), original.isPaused());
  // Read to the end: neither has a body.
  const read = async (req: IncomingMessage) => {
    const chunks: unknown[] = [];
    for await (const chunk of req) chunks.push(chunk);
    return chunks;
  };
  assert.deepEqual(await read(rebuilt), await read(original));
}

const HEAD =
  'GET /engine.io/?EIO=4&transport=websocket&token=a%20b HTTP/1.1\r\n' +
  'Host: example.com:8080\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
  'Origin: https://app.example.com\r\nCookie: a=1\r\nCookie: b=2\r\nX-Forwarded-For: 10.0.0.1\r\nx-forwarded-for: 10.0.0.2\r\n' +
  'Host: other.example\r\nSet-Cookie: c=3\r\nSet-Cookie: d=4\r\nX-Empty: \r\nX-Latin: caf\xe9\r\n' +
  'User-Agent: test\r\nAccept-Language: en\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n';

test('the request rebuilt from its small form equals the one node:http parsed, field by field', async (t) => {
  const { req, result: kept } = await parsed(t, HEAD, asTheEngine);
  assert.ok(kept instanceof KeptRequest, 'a plain upgrade request is kept small');
  const rebuilt = kept.rebuild(req.socket.remoteAddress ?? '');
  await assertSameRequest(rebuilt, req);
  assert.equal(rebuilt.headers.cookie, 'a=1; b=2');
  assert.deepEqual(rebuilt.headers['set-cookie'], ['c=3', 'd=4']);
  assert.equal(rebuilt.headers.host, 'example.com:8080');
  assert.equal(rebuilt.headers['x-latin'], 'caf\xe9');
});

test('HTTP/1.0 and a request without headers rebuild the same too', async (t) => {
  for (const head of ['GET /x HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n', 'GET /?a=b HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: x\r\n']) {
    const { req, result: kept } = await parsed(t, head, asTheEngine);
    assert.ok(kept instanceof KeptRequest);
    await assertSameRequest(kept.rebuild(req.socket.remoteAddress ?? ''), req);
  }
});

test('server options that change parsing: the request is kept as it is, or rebuilt the same', async (t) => {
  for (const options of [{ maxHeadersCount: 3 }, { joinDuplicateHeaders: true }] as Options[]) {
    const { req, result: kept } = await parsed(t, HEAD, asTheEngine, options);
    if (kept !== null) await assertSameRequest(kept.rebuild(req.socket.remoteAddress ?? ''), req);
  }
  const limited = await parsed(t, HEAD, asTheEngine, { maxHeadersCount: 3 });
  assert.equal(limited.result, null, 'headers cut at maxHeadersCount are not rebuilt from all the lines');
});

test('anything node:http did not put on the request keeps the original', async (t) => {
  class AppRequest extends IncomingMessage {}
  const cases: [string, (req: IncomingMessage) => void, Options?][] = [
    ['an own property', (req) => Object.assign(req, { user: 'ada' })],
    ['a listener', (req) => req.on('close', () => {})],
    ['a stream read', (req) => req.resume()],
    ['a custom IncomingMessage class', () => {}, { IncomingMessage: AppRequest }],
  ];
  for (const [what, touch, options] of cases) {
    const { result: kept } = await parsed(t, HEAD, (req) => {
      touch(req);
      return asTheEngine(req);
    }, options);
    assert.equal(kept, null, what);
  }
});

test('the small form reads headers and url without building the request; the request built later shares those headers', async (t) => {
  const { req, result: kept } = await parsed(t, HEAD, asTheEngine);
  assert.ok(kept);
  assert.equal(kept.url, req.url);
  const headers = kept.headers;
  assert.deepEqual(headers, req.headers);
  assert.equal(kept.headers, headers, 'parsed once');
  assert.equal(kept.socket, req.socket);
  assert.equal(kept.rebuild('x').headers, headers);
});

/** A WebSocket session opened by the `ws` client; resolves with the session. */
async function wsSession(h: Harness, headers: Record<string, string> = {}): Promise<EngineSocket> {
  const connection = h.nextConnection();
  const ws = new WebSocket(`ws://127.0.0.1:${h.port}${h.url(WEBSOCKET)}`, { headers });
  ws.on('error', () => {});
  const session = await connection;
  session.on('close', () => ws.terminate());
  return session;
}

test('a WebSocket session keeps the request small; reading it builds one IncomingMessage, the same ever after', async (t) => {
  const h = await startEngine(t);
  const session = await wsSession(h, { 'X-Test': 'yes' });
  assert.ok(held(session) instanceof KeptRequest);
  assert.equal(session.remoteAddress, '127.0.0.1');
  const request = session.request;
  assert.ok(request instanceof IncomingMessage);
  assert.equal(session.request, request);
  assert.equal(held(session), request);
  assert.equal(request.headers['x-test'], 'yes');
  assert.equal(request.url, h.url(WEBSOCKET));
  assert.equal(request.method, 'GET');
  assert.equal(request.socket.remoteAddress, '127.0.0.1');
  assert.equal(h.engine.clientAddress(request), '127.0.0.1');
  session.close();
});

test('set to null, the request is gone, small form or not', async (t) => {
  const h = await startEngine(t);
  h.engine.on('connection', (session: { request: unknown }) => {
    session.request = null;
  });
  const session = await wsSession(h);
  assert.equal(session.request, null);
  assert.equal(session.openingRequest, null);
  assert.equal(held(session), null);
  session.close();
});

test('deleted, the request is gone too, and what the session held is freed', async (t) => {
  const h = await startEngine(t);
  h.engine.on('connection', (session: { request?: unknown }) => {
    delete session.request;
  });
  const session = await wsSession(h);
  assert.equal(session.request, undefined);
  assert.equal('request' in session, false);
  assert.equal(session.openingRequest, null);
  assert.equal(held(session), null);
  session.close();
});

test('replaced by the application, the request is what it put there', async (t) => {
  const h = await startEngine(t);
  const replacement = { headers: { 'x-app': '1' }, url: '/app', socket: null };
  h.engine.on('connection', (session: EngineSocket) => {
    Object.defineProperty(session, 'request', { value: replacement, writable: true, configurable: true, enumerable: true });
  });
  const session = await wsSession(h);
  assert.equal(session.request, replacement);
  assert.equal(session.openingRequest, replacement);
  session.close();
});

test('request is an own enumerable property, as in engine.io', async (t) => {
  const h = await startEngine(t);
  const session = await wsSession(h);
  assert.ok(Object.keys(session).includes('request'));
  assert.ok(held(session) instanceof KeptRequest, 'listing keys does not build it');
  session.close();
});

test('the original is kept when application code was handed the request', async (t) => {
  const cases: [string, (engine: EngineServer, seen: IncomingMessage[]) => void][] = [
    ['engine.use', (engine, seen) => engine.use((req, _res, next) => {
      seen.push(req);
      next();
    })],
    ['allowRequest', (engine, seen) => {
      (engine.options as { allowRequest?: unknown }).allowRequest = (req: IncomingMessage, cb: (e: null, ok: boolean) => void) => {
        seen.push(req);
        cb(null, true);
      };
    }],
    ['headers', (engine, seen) => engine.on('headers', (_headers, req) => seen.push(req))],
    ['initial_headers', (engine, seen) => engine.on('initial_headers', (_headers, req) => seen.push(req))],
  ];
  for (const [what, hook] of cases) {
    const h = await startEngine(t);
    const seen: IncomingMessage[] = [];
    hook(h.engine, seen);
    const session = await wsSession(h);
    assert.equal(seen.length, 1, what);
    assert.equal(held(session), seen[0], what);
    assert.equal(session.request, seen[0], what);
    session.close();
  }
});

test('the original is kept for an application generateId', async (t) => {
  const seen: IncomingMessage[] = [];
  const h = await startEngine(t, {
    generateId: (req) => {
      seen.push(req);
      return 'id' + seen.length;
    },
  });
  const session = await wsSession(h);
  assert.equal(session.request, seen[0]);
  session.close();
});

test('the original is kept when another upgrade listener saw it, or the application routed it itself', async (t) => {
  const h = await startEngine(t);
  const seen: IncomingMessage[] = [];
  h.http.prependListener('upgrade', (req: IncomingMessage) => seen.push(req));
  const first = await wsSession(h);
  assert.equal(first.request, seen[0]);
  first.close();

  // handleUpgrade called by the application: its own upgrade listener had the request.
  const routedBy = await startEngine(t);
  const routed: IncomingMessage[] = [];
  routedBy.http.removeAllListeners('upgrade');
  routedBy.http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    routed.push(req);
    routedBy.engine.handleUpgrade(req, socket, head);
  });
  const ws = new WebSocket(`ws://127.0.0.1:${routedBy.port}${routedBy.url(WEBSOCKET)}`);
  ws.on('error', () => {});
  const session = await routedBy.nextConnection();
  assert.equal(session.request, routed[0]);
  session.close();
  ws.terminate();
});

test('a polling session keeps its handshake request as it is', async (t) => {
  const h = await startEngine(t);
  const connection = h.nextConnection();
  await pollingHandshake(h);
  const session = await connection;
  assert.ok(held(session) instanceof IncomingMessage);
  assert.match(session.request.url!, /transport=polling/);
  session.close(true);
});

// ---------------------------------------------------------------- random header sets, real sockets

/** Names whose value changes what the request is (an upgrade, its body, its host): fixed, not random. */
const FIXED_NAMES = new Set(['host', 'upgrade', 'connection', 'content-length', 'transfer-encoding', 'expect', 'sec-websocket-key',
  'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-protocol', 'origin', 'proxy-connection', 'keep-alive']);
const TOKEN = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const headerName = fc.oneof(
  // node:http joins or drops duplicates of these by its own rules (RFC 9110 §5.3).
  fc.constantFrom('Set-Cookie', 'set-cookie', 'Cookie', 'cookie', 'X-Dup', 'x-dup', 'User-Agent', 'Authorization', 'Accept', 'Referer',
    'X-Forwarded-For', 'If-None-Match', 'Content-Type', 'From', 'Age', 'Location', 'Max-Forwards', 'ETag'),
  fc.string({ unit: fc.constantFrom(...TOKEN), minLength: 1, maxLength: 24 }),
).filter((name) => !FIXED_NAMES.has(name.toLowerCase()));
// RFC 9110 §5.5: field values are visible ASCII, spaces and tabs inside, and obs-text (bytes 0x80-0xff).
const valueChar = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x21, max: 0x7e }) },
  { weight: 1, arbitrary: fc.constantFrom(0x20, 0x09) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
).map((code) => String.fromCharCode(code));
const headerValue = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: valueChar, maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: valueChar, minLength: 1000, maxLength: 6000 }) },
);
const headerSet = fc.oneof(
  { weight: 5, arbitrary: fc.array(fc.tuple(headerName, headerValue), { maxLength: 30 }) },
  // Many short lines: up to what fits node:http's 16 KiB header limit.
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 1200 }).map((n) => Array.from({ length: n }, (_, i) => [`h${i.toString(36)}`, `${i % 7}`] as [string, string])) },
);
// A request target of visible ASCII: percent-encoding well formed or not, repeated names, empty
// names and values, reserved characters, bytes that are not UTF-8 once decoded.
const queryChar = fc.constantFrom(...'abcXYZ019-._~!$\'()*+,;:@/?%=&'.split(''), '%20', '%E2%82%AC', '%FF', '%zz', '%', '%2', '%26', '%3D', '+');
const queryText = fc.string({ unit: queryChar, maxLength: 40 });

/** A Socket.IO server and a plain node:http server that parses the same bytes for comparison. */
async function sockets(t: { after(fn: () => unknown): void }): Promise<{
  io: SocketIOServer; port: number; mirrorPort: number; mirrored: (url: string) => Promise<{ req: IncomingMessage; kept: KeptRequest | null }>;
}> {
  const http = createServer();
  const io = new SocketIOServer(http, { pingInterval: 20000, pingTimeout: 20000 });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const mirror = createServer();
  const waiting = new Map<string, (value: { req: IncomingMessage; kept: KeptRequest | null }) => void>();
  mirror.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    socket.on('error', () => {});
    // In the tick it was parsed, as the engine gets it.
    const kept = asTheEngine(req);
    waiting.get(req.url!)?.({ req, kept });
  });
  mirror.listen(0, '127.0.0.1');
  await once(mirror, 'listening');
  t.after(async () => {
    mirror.closeAllConnections();
    mirror.close();
    await io.close();
  });
  return {
    io,
    port: (http.address() as AddressInfo).port,
    mirrorPort: (mirror.address() as AddressInfo).port,
    mirrored: (url) => new Promise((resolve) => waiting.set(url, resolve)),
  };
}

/** Sends `head` on a new connection; resolves with the socket and the status line of the answer. */
async function sendHead(port: number, head: Buffer): Promise<{ socket: Socket; status: string }> {
  const socket = netConnect(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(head);
  let received = Buffer.alloc(0);
  const deadline = setTimeout(() => socket.destroy(), 3000);
  while (received.indexOf('\r\n\r\n') === -1 && !socket.destroyed) {
    const [chunk] = (await Promise.race([once(socket, 'data'), once(socket, 'close').then(() => [Buffer.alloc(0)])])) as [Buffer];
    received = Buffer.concat([received, chunk]);
  }
  clearTimeout(deadline);
  return { socket, status: received.toString('latin1') };
}

test('property: random valid header sets and URLs over a real socket: socket.request rebuilt equals node:http\'s, the handshake is right', async (t) => {
  const { io, port, mirrorPort, mirrored } = await sockets(t);
  const connections: SocketIOSocket[] = [];
  io.on('connection', (socket: SocketIOSocket) => connections.push(socket));
  let run = 0;
  await fc.assert(
    fc.asyncProperty(headerSet, queryText, queryText, async (headers, before, after) => {
      run++;
      const url = `/socket.io/?${before}&EIO=4&transport=websocket&run=${run}&${after}`;
      const lines = [`GET ${url} HTTP/1.1`, 'Host: example.test', 'Upgrade: websocket', 'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', ...headers.map(([name, value]) => `${name}: ${value}`)];
      const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
      // node:http's parse of the same bytes (twice: a comparison reads the request to its end).
      const parseOnMirror = async (): Promise<{ req: IncomingMessage; kept: KeptRequest | null }> => {
        const original = mirrored(url);
        const mirrorClient = netConnect(mirrorPort, '127.0.0.1');
        mirrorClient.on('error', () => {});
        t.after(() => mirrorClient.destroy());
        mirrorClient.write(head);
        const parsedThere = await Promise.race([original, new Promise<null>((resolve) => setTimeout(resolve, 3000, null))]);
        assert.ok(parsedThere, 'node:http took it as an upgrade');
        return parsedThere;
      };
      const { req: first, kept } = await parseOnMirror();
      // Past 1000 header lines node:http's headers object stops (maxHeadersCount 2000 counts names
      // and values): then the original is kept as it is.
      const small = lines.length - 1 <= 1000;
      if (small) {
        assert.ok(kept instanceof KeptRequest, 'a valid upgrade request is kept small');
        await assertSameRequest(kept.rebuild(first.socket.remoteAddress ?? ''), first);
      } else assert.equal(kept, null);
      const { req } = await parseOnMirror();

      const count = connections.length;
      const client = await sendHead(port, head);
      try {
        assert.match(client.status, /^HTTP\/1.1 101 Switching Protocols\r\n/);
        client.socket.write(encodeFrame(OPCODE_TEXT, Buffer.from('40'), { mask: 0x01020304 }));
        const deadline = Date.now() + 3000;
        while (connections.length === count && Date.now() < deadline) await immediate();
        const socket = connections[count]!;
        assert.ok(socket, 'connected');
        assert.equal(held(socket.conn) instanceof KeptRequest, small, 'the session kept the request small');
        const { handshake } = socket;
        assert.equal(held(socket.conn) instanceof KeptRequest, small, 'reading the handshake did not build the request');
        assert.deepEqual(handshake.headers, req.headers);
        assert.equal(handshake.url, url);
        // As engine.io reads it: the search parameters of the URL, the last of a repeated name.
        assert.deepEqual({ ...handshake.query }, Object.fromEntries(new URL(url, 'https://socket.io').searchParams));
        assert.equal(handshake.address, '127.0.0.1');
        assert.equal(socket.request.socket.remotePort, client.socket.localPort);
        await assertSameRequest(socket.request, req, false);
        assert.equal(socket.request.headers, handshake.headers, 'one headers object');
      } finally {
        client.socket.destroy();
        connections[count]?.disconnect(true);
      }
    }),
    // A failing run may wait out a deadline: report the first one found rather than shrink.
    // The first example: a query that starts with a second '?' (part of the first name, as engine.io reads it).
    { numRuns: 150, endOnFailure: true, examples: [[[['Set-Cookie', 'a=1'], ['set-cookie', 'b=2'], ['X-Dup', ' x '], ['x-dup', 'y']], '?first=1', '%zz=%E2%82%AC']] },
  );
});
