// followRedirects / maxRedirects on our client (as ws has): 3xx answers to the handshake are
// followed only when asked, a bounded number of times; credentials go to their own host only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { WebSocket, WebSocketServer } from '../../src/websocket/index.js';

/**
 * A server whose upgrade requests are answered by path: `/target` accepts the WebSocket, any path in
 * `redirects` gets that status and Location (`{origin}` in it: this server's). Records the headers each WebSocket request arrived with.
 */
async function redirectingServer(t: TestContext, redirects: Record<string, [number, string]>) {
  const wss = new WebSocketServer({ noServer: true });
  const accepted: IncomingHttpHeaders[] = [];
  const hits: string[] = [];
  let origin = '';
  const http: Server = createServer();
  http.on('upgrade', (req, socket: Socket, head) => {
    hits.push(req.url!);
    const redirect = redirects[req.url!];
    if (redirect) {
      const location = redirect[1].replace('{origin}', origin);
      socket.end(`HTTP/1.1 ${redirect[0]} Redirect\r\nLocation: ${location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    } else if (req.url === '/target') {
      wss.handleUpgrade(req, socket, head, (ws) => {
        accepted.push(req.headers);
        t.after(() => ws.terminate());
      });
    } else {
      socket.destroy();
    }
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  t.after(() => {
    http.closeAllConnections();
    http.close();
  });
  origin = `127.0.0.1:${(http.address() as AddressInfo).port}`;
  return { origin, accepted, hits };
}

const credentials = { Authorization: 'Bearer secret', Cookie: 'session=1', 'X-Trace': 'kept' };

test('without followRedirects a 3xx fails the handshake', async (t) => {
  const { origin, accepted } = await redirectingServer(t, { '/go': [302, '/target'] });
  const client = new WebSocket(`ws://${origin}/go`);
  const [error] = (await once(client, 'error')) as [Error];
  assert.match(error.message, /Unexpected server response: 302/);
  assert.equal(accepted.length, 0);
});

test('same host: the redirect is followed with every header; url and the redirect event say where', async (t) => {
  const { origin, accepted } = await redirectingServer(t, { '/go': [302, '/hop'], '/hop': [308, 'http://{origin}/target'] });
  const client = new WebSocket(`ws://${origin}/go`, { followRedirects: true, headers: credentials });
  t.after(() => client.terminate());
  const redirected: string[] = [];
  client.on('redirect', (url) => redirected.push(url));
  await once(client, 'open');
  assert.deepEqual(redirected, [`ws://${origin}/hop`, `ws://${origin}/target`]);
  assert.equal(client.url, `ws://${origin}/target`);
  assert.equal(accepted[0]!.authorization, 'Bearer secret');
  assert.equal(accepted[0]!.cookie, 'session=1');
  assert.equal(accepted[0]!['x-trace'], 'kept');
});

test('another host: Authorization, Cookie and URL credentials are not sent there', async (t) => {
  const target = await redirectingServer(t, {});
  const { origin } = await redirectingServer(t, { '/go': [307, `http://${target.origin}/target`] });
  const client = new WebSocket(`ws://user:pass@${origin}/go`, { followRedirects: true, headers: credentials });
  t.after(() => client.terminate());
  await once(client, 'open');
  assert.equal(client.url, `ws://${target.origin}/target`);
  const headers = target.accepted[0]!;
  assert.equal(headers.authorization, undefined);
  assert.equal(headers.cookie, undefined);
  assert.equal(headers['x-trace'], 'kept');
});

test('maxRedirects bounds a redirect loop; a Location that is not http(s)/ws(s) fails', async (t) => {
  const { origin, hits } = await redirectingServer(t, { '/loop': [302, '/loop'], '/bad': [301, 'ftp://example.com/'] });
  const looping = new WebSocket(`ws://${origin}/loop`, { followRedirects: true, maxRedirects: 3 });
  const [loopError] = (await once(looping, 'error')) as [Error];
  assert.match(loopError.message, /Maximum redirects exceeded/);
  assert.equal(hits.filter((path) => path === '/loop').length, 4, 'the first request and 3 redirects');

  const bad = new WebSocket(`ws://${origin}/bad`, { followRedirects: true });
  const [badError] = (await once(bad, 'error')) as [Error];
  assert.match(badError.message, /protocol must be one of/);
  assert.equal(bad.readyState, WebSocket.CLOSED);
});
