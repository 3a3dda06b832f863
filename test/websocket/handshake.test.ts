// Opening handshake, both sides: HTTP answers to bad requests, the accept/reject hook, limits on
// connections and handshake time, and the client's checks of the server response.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import WS from 'ws';
import { WebSocket, WebSocketServer } from '../../src/websocket/index.js';
import { acceptKey } from '../../src/protocol/ws-handshake.js';
import { rawRequest, startServer, upgradeRequest } from './helpers.js';

test('bad upgrade requests get 400 with a reason (405 for a method other than GET); a wrong version lists 13, 8', async (t) => {
  const { port } = await startServer(t);
  const cases: Array<[string, number, RegExp]> = [
    [upgradeRequest(port, {}, '/', 'POST'), 405, /Invalid HTTP method/],
    [upgradeRequest(port, { 'Sec-WebSocket-Key': undefined }), 400, /Sec-WebSocket-Key/],
    [upgradeRequest(port, { 'Sec-WebSocket-Key': 'too-short' }), 400, /Sec-WebSocket-Key/],
    [upgradeRequest(port, { 'Sec-WebSocket-Protocol': 'a, a' }), 400, /Protocol/],
    [upgradeRequest(port, { Connection: 'keep-alive, Upgrade', Upgrade: 'h2c' }), 400, /Upgrade/],
    [upgradeRequest(port, { 'Sec-WebSocket-Version': '7' }), 400, /Sec-WebSocket-Version/],
  ];
  for (const [request, status, reason] of cases) {
    const res = await rawRequest(port, request);
    assert.equal(res.status, status, request);
    assert.match(res.body, reason);
    if (/Version/.test(reason.source)) assert.match(res.head, /Sec-WebSocket-Version: 13, 8(\r\n|$)/);
  }
  // A plain HTTP request to the internal server gets 426 Upgrade Required.
  const plain = await rawRequest(port, `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  assert.equal(plain.status, 426);
});

test('a valid handshake with a multi-token Connection header and mixed-case Upgrade succeeds', async (t) => {
  const { port } = await startServer(t);
  const socket = net.connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  socket.write(upgradeRequest(port, { Connection: 'keep-alive, Upgrade', Upgrade: 'WebSocket' }));
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  assert.match(chunk.toString(), /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.match(chunk.toString(), new RegExp(`Sec-WebSocket-Accept: ${acceptKey('dGhlIHNhbXBsZSBub25jZQ==').replace(/[+/]/g, '\\$&')}`));
});

test('verifyClient accepts, rejects with 401, or answers the status, body and headers it chooses (sync and async)', async (t) => {
  const { wss, url, port } = await startServer(t, {
    verifyClient: ({ origin }) => {
      if (origin === 'https://good.example') return true;
      if (origin === 'https://async.example') return new Promise((resolve) => setTimeout(() => resolve(true), 10));
      if (origin === 'https://teapot.example') return { status: 418, body: 'no tea', headers: { 'X-Reason': 'teapot' } };
      if (origin === 'https://throws.example') throw new Error('boom');
      if (origin === 'https://rejects.example') return Promise.reject(new Error('boom'));
      return false;
    },
  });
  wss.on('connection', (ws) => ws.send('welcome'));
  for (const origin of ['https://good.example', 'https://async.example']) {
    const client = new WebSocket(url, { origin });
    t.after(() => client.terminate());
    const [data] = (await once(client, 'message')) as [Buffer];
    assert.equal(data.toString(), 'welcome');
  }
  const teapot = await rawRequest(port, upgradeRequest(port, { Origin: 'https://teapot.example' }));
  assert.equal(teapot.status, 418);
  assert.equal(teapot.body, 'no tea');
  assert.match(teapot.head, /X-Reason: teapot/);
  assert.equal((await rawRequest(port, upgradeRequest(port, { Origin: 'https://evil.example' }))).status, 401);
  assert.equal((await rawRequest(port, upgradeRequest(port, { Origin: 'https://throws.example' }))).status, 500);
  assert.equal((await rawRequest(port, upgradeRequest(port, { Origin: 'https://rejects.example' }))).status, 500);

  // Our client reports the refusal: 'unexpected-response' when listened to, else an error.
  const refused = new WebSocket(url, { origin: 'https://teapot.example' });
  const [error] = (await once(refused, 'error')) as [Error];
  assert.match(error.message, /Unexpected server response: 418/);
  const inspected = new WebSocket(url, { origin: 'https://teapot.example' });
  const [, res] = (await once(inspected, 'unexpected-response')) as [http.ClientRequest, http.IncomingMessage];
  assert.equal(res.statusCode, 418);
  res.resume();
});

test('an async verifyClient slower than handshakeTimeout is refused with 503', async (t) => {
  const { port } = await startServer(t, { handshakeTimeout: 50, verifyClient: () => new Promise(() => {}) });
  const res = await rawRequest(port, upgradeRequest(port));
  assert.equal(res.status, 503);
});

test('maxConnections refuses extra upgrades with 503', async (t) => {
  const { url, port } = await startServer(t, { maxConnections: 2 });
  const clients = [new WebSocket(url), new WebSocket(url)];
  t.after(() => clients.forEach((c) => c.terminate()));
  await Promise.all(clients.map((c) => once(c, 'open')));
  const res = await rawRequest(port, upgradeRequest(port));
  assert.equal(res.status, 503);
  clients[0]!.close();
  await once(clients[0]!, 'close');
  const again = new WebSocket(url);
  t.after(() => again.terminate());
  await once(again, 'open');
});

test('path filter: other paths get 400 when nobody else handles them', async (t) => {
  const { port } = await startServer(t, { path: '/ws' });
  assert.equal((await rawRequest(port, upgradeRequest(port, {}, '/other'))).status, 400);
  const ok = new WebSocket(`ws://127.0.0.1:${port}/ws?token=1`);
  t.after(() => ok.terminate());
  await once(ok, 'open');
});

test('handleUpgrade twice on one socket throws; handleProtocols picks the subprotocol', async (t) => {
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has('b') ? 'b' : false) });
  const server = http.createServer();
  const thrown: unknown[] = [];
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => ws.send(ws.protocol));
    try {
      wss.handleUpgrade(req, socket, head, () => {});
    } catch (error) {
      thrown.push(error);
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => {
    wss.close();
    server.close(() => resolve());
  }));
  const client = new WS(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, ['a', 'b']);
  t.after(() => client.terminate());
  const [data] = (await once(client, 'message')) as [Buffer];
  assert.equal(data.toString(), 'b');
  assert.equal(client.protocol, 'b');
  assert.equal(thrown.length, 1);
  assert.match(String(thrown[0]), /more than once/);
});

test('constructor validation: exactly one of port, server, noServer', () => {
  assert.throws(() => new WebSocketServer({}), TypeError);
  assert.throws(() => new WebSocketServer({ noServer: true, port: 0 }), TypeError);
  assert.throws(() => new WebSocketServer({ noServer: true, perMessageDeflate: { serverMaxWindowBits: 8 } }), RangeError);
});

/** A fake server that answers upgrades with whatever `respond` writes. */
async function fakeServer(t: any, respond: (req: http.IncomingMessage, socket: net.Socket) => void): Promise<string> {
  const server = http.createServer();
  server.on('upgrade', (req, socket) => respond(req, socket as net.Socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function expectClientFailure(client: WebSocket): Promise<Error> {
  return new Promise((resolve, reject) => {
    let error: Error | undefined;
    client.on('error', (e) => (error = e));
    client.on('open', () => reject(new Error('should not open')));
    client.on('close', (code) => {
      assert.equal(code, 1006);
      resolve(error!);
    });
  });
}

test('client rejects a wrong Sec-WebSocket-Accept, missing Upgrade, or an unrequested subprotocol', async (t) => {
  let mode = 'accept';
  const url = await fakeServer(t, (req, socket) => {
    const accept = mode === 'accept' ? 'wrong=' : acceptKey(String(req.headers['sec-websocket-key']));
    const upgrade = mode === 'upgrade' ? 'Upgrade: nope\r\n' : 'Upgrade: websocket\r\n';
    const protocol = mode === 'protocol' ? 'Sec-WebSocket-Protocol: zzz\r\n' : '';
    socket.end(`HTTP/1.1 101 Switching Protocols\r\n${upgrade}Connection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n${protocol}\r\n`);
  });
  for (const [m, pattern] of [['accept', /Accept/], ['upgrade', /Upgrade/], ['protocol', /subprotocol/]] as const) {
    mode = m;
    const error = await expectClientFailure(new WebSocket(url, ['chat']));
    assert.match(error.message, pattern);
  }
});

test('client handshake timeout', async (t) => {
  const url = await fakeServer(t, () => {}); // never answers
  const error = await expectClientFailure(new WebSocket(url, { handshakeTimeout: 50 }));
  assert.match(error.message, /timed out/);
});

test('client sends custom headers, origin and a fresh 16-byte key; validates its arguments', async (t) => {
  const seen: http.IncomingHttpHeaders[] = [];
  const url = await fakeServer(t, (req, socket) => {
    seen.push(req.headers);
    socket.destroy();
  });
  for (let i = 0; i < 2; i++) {
    await expectClientFailure(new WebSocket(url, { headers: { 'X-Token': 'secret' }, origin: 'https://me.example' }));
  }
  assert.equal(seen[0]!['x-token'], 'secret');
  assert.equal(seen[0]!.origin, 'https://me.example');
  assert.equal(Buffer.from(String(seen[0]!['sec-websocket-key']), 'base64').length, 16);
  assert.notEqual(seen[0]!['sec-websocket-key'], seen[1]!['sec-websocket-key']);
  assert.equal(seen[0]!['sec-websocket-version'], '13');
  assert.throws(() => new WebSocket('ftp://x'), SyntaxError);
  assert.throws(() => new WebSocket('ws://x/#frag'), SyntaxError);
  assert.throws(() => new WebSocket('ws://x', ['a', 'a']), SyntaxError);
  assert.throws(() => new WebSocket('ws://x', ['bad protocol']), SyntaxError);
});

test('client close() while connecting aborts with an error and 1006', async (t) => {
  const url = await fakeServer(t, () => {});
  const client = new WebSocket(url);
  const failure = expectClientFailure(client);
  client.close();
  assert.match((await failure).message, /closed before the connection was established/);
});

test('bytes sent by the server right after the 101 are delivered', async (t) => {
  const url = await fakeServer(t, (req, socket) => {
    socket.write(Buffer.from(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(String(req.headers['sec-websocket-key']))}\r\n\r\n` +
        '\x81\x05hello\x81\x05world',
      'latin1',
    ));
  });
  const client = new WebSocket(url);
  t.after(() => client.terminate());
  const got: string[] = [];
  await new Promise<void>((resolve) => client.on('message', (d) => got.push(String(d)) === 2 && resolve()));
  assert.deepEqual(got, ['hello', 'world']);
});
