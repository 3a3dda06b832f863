// WebSocketServer against ws 8's: constructor errors, clientTracking, verifyClient (both forms),
// HTTP answers to bad upgrades, the WebSocket option, handleUpgrade twice, what handleProtocols
// picks, 'wsClientError', and the exported subprotocol parser. Where a reference is needed the
// same scenario runs against the real `ws` and the observations must be equal.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import * as wsModule from 'ws';
import WS, { WebSocketServer as WSServer } from 'ws';
import { WebSocket, WebSocketServer, subprotocol } from '../../src/websocket/index.js';
import { rawRequest, upgradeRequest } from './helpers.js';

type Server = any; // a ws or a switchboard server: the scenarios use their common API
const SERVERS: Array<[string, new (options?: object, cb?: () => void) => Server]> = [
  ['ws', WSServer as any],
  ['switchboard', WebSocketServer as any],
];

async function listen(t: TestContext, Server: new (options: object) => Server, options: object = {}): Promise<{ wss: Server; port: number; url: string }> {
  const wss = new Server({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  t.after(() => new Promise<void>((resolve) => {
    for (const ws of wss.clients ?? []) ws.terminate();
    wss.close(() => resolve());
  }));
  const port = (wss.address() as AddressInfo).port;
  return { wss, port, url: `ws://127.0.0.1:${port}` };
}

/** Runs `scenario` against ws's server and ours and compares what it returns. */
async function sameAsWs<T>(scenario: (Server: new (options?: object) => Server) => Promise<T>): Promise<T> {
  const theirs = await scenario(SERVERS[0]![1]);
  const ours = await scenario(SERVERS[1]![1]);
  assert.deepEqual(ours, theirs);
  return theirs;
}

test('new WebSocketServer() without options: ws\'s TypeError; clientTracking: false leaves clients undefined', async (t) => {
  const thrown = (fn: () => unknown): string => {
    try {
      fn();
      return 'no error';
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message}`;
    }
  };
  for (const options of [undefined, {}, { port: 0, noServer: true }]) {
    const expected = thrown(() => new WSServer(options as never));
    assert.match(expected, /^TypeError: One and only one of the "port", "server", or "noServer" options must be specified$/);
    assert.equal(thrown(() => new WebSocketServer(options as never)), expected, JSON.stringify(options));
  }
  await sameAsWs(async (Server) => {
    const untracked = new Server({ noServer: true, clientTracking: false });
    const tracked = new Server({ noServer: true });
    return [untracked.clients, tracked.clients instanceof Set];
  });
  // Connections of an untracked server still work and are closed by terminate/close as usual.
  const { wss, url } = await listen(t, WebSocketServer, { clientTracking: false });
  const client = new WebSocket(url);
  const [server] = (await once(wss, 'connection')) as [WebSocket];
  server.close(1000);
  assert.equal((await once(client, 'close'))[0], 1000);
});

test('HTTP answers to bad upgrades: same statuses, messages and Sec-WebSocket-Version as ws; version 8 is accepted', async (t) => {
  const requests = (port: number): string[] => [
    upgradeRequest(port, {}, '/', 'POST'),
    upgradeRequest(port, { Upgrade: 'h2c' }),
    upgradeRequest(port, { 'Sec-WebSocket-Key': 'short' }),
    upgradeRequest(port, { 'Sec-WebSocket-Version': '7' }),
    upgradeRequest(port, { 'Sec-WebSocket-Version': undefined }),
    upgradeRequest(port, { 'Sec-WebSocket-Protocol': 'a,,b' }),
    upgradeRequest(port, { 'Sec-WebSocket-Extensions': 'permessage-deflate;;' }),
    upgradeRequest(port, { 'Sec-WebSocket-Version': '8' }),
  ];
  await sameAsWs(async (Server) => {
    const { port } = await listen(t, Server, { perMessageDeflate: true });
    const answers: unknown[] = [];
    for (const request of requests(port)) {
      const res = await rawRequest(port, request);
      answers.push([res.status, res.status === 101 ? '' : res.body, /^sec-websocket-version: (.*)$/im.exec(res.head)?.[1] ?? null]);
    }
    return answers;
  });
});

test('a well-formed offer with an invalid deflate parameter is declined (RFC 7692 §5), where ws answers 400', async (t) => {
  const { port } = await listen(t, WebSocketServer, { perMessageDeflate: true });
  const ours = await rawRequest(port, upgradeRequest(port, { 'Sec-WebSocket-Extensions': 'permessage-deflate; server_max_window_bits=99' }));
  assert.equal(ours.status, 101);
  assert.doesNotMatch(ours.head, /Sec-WebSocket-Extensions/i);
  const theirs = await listen(t, WSServer as any, { perMessageDeflate: true });
  assert.equal((await rawRequest(theirs.port, upgradeRequest(theirs.port, { 'Sec-WebSocket-Extensions': 'permessage-deflate; server_max_window_bits=99' }))).status, 400);
});

test('wsClientError replaces the HTTP answer when listened to, as ws', async (t) => {
  await sameAsWs(async (Server) => {
    const { wss, port } = await listen(t, Server);
    const seen: unknown[] = [];
    wss.on('wsClientError', (error: Error, socket: net.Socket, req: http.IncomingMessage) => {
      seen.push([error.message, req.method]);
      socket.end('HTTP/1.1 418 Teapot\r\nContent-Length: 0\r\n\r\n');
    });
    const res = await rawRequest(port, upgradeRequest(port, { 'Sec-WebSocket-Key': 'short' }));
    return [res.status, seen];
  });
});

test('verifyClient(info) and verifyClient(info, cb): origin, secure, req; sync and async; status, message, headers', async (t) => {
  const log = await sameAsWs(async (Server) => {
    const infos: unknown[] = [];
    const decide = (info: { origin?: string; secure: boolean; req: http.IncomingMessage }): [boolean, number?, string?, Record<string, string>?] => {
      infos.push([info.origin, info.secure, info.req instanceof http.IncomingMessage, info.req.url]);
      if (info.origin === 'https://ok.test') return [true];
      if (info.origin === 'https://teapot.test') return [false, 418, 'Short and stout', { 'X-Why': 'tea' }];
      return [false];
    };
    const sync = await listen(t, Server, { verifyClient: (info: any) => decide(info)[0] });
    const async = await listen(t, Server, { verifyClient: (info: any, cb: (...args: unknown[]) => void) => setImmediate(() => cb(...decide(info))) });
    const answers: unknown[] = [];
    for (const { port } of [sync, async]) {
      for (const origin of ['https://ok.test', 'https://teapot.test', 'https://evil.test']) {
        const res = await rawRequest(port, upgradeRequest(port, { Origin: origin }, '/path?q=1'));
        answers.push([res.status, res.status === 101 ? '' : res.body, /^x-why: (.*)$/im.exec(res.head)?.[1] ?? null]);
      }
    }
    // protocolVersion 8 clients send their origin as Sec-WebSocket-Origin.
    await rawRequest(sync.port, upgradeRequest(sync.port, { 'Sec-WebSocket-Version': '8', 'Sec-WebSocket-Origin': 'https://ok.test' }));
    return [answers, infos];
  });
  assert.deepEqual((log as unknown[][])[0]!.slice(0, 3), [[101, '', null], [401, 'Unauthorized', null], [401, 'Unauthorized', null]]);
  assert.deepEqual((log as unknown[][])[0]!.slice(3), [[101, '', null], [418, 'Short and stout', 'tea'], [401, 'Unauthorized', null]]);
});

test('no connection event when the client went away while an async verifyClient was deciding', async (t) => {
  await sameAsWs(async (Server) => {
    let decide!: (ok: boolean) => void;
    const asked = new Promise<void>((resolve) => {
      void listen(t, Server, {
        verifyClient: (_info: unknown, cb: (ok: boolean) => void) => {
          decide = cb;
          resolve();
        },
      }).then(({ wss, port }) => {
        wss.on('connection', () => events.push('connection'));
        const socket = net.connect(port, '127.0.0.1');
        socket.on('error', () => {});
        socket.write(upgradeRequest(port));
        sockets.push(socket);
      });
    });
    const events: string[] = [];
    const sockets: net.Socket[] = [];
    await asked;
    const socket = sockets[0]!;
    socket.destroy();
    await once(socket, 'close');
    await new Promise((resolve) => setTimeout(resolve, 20)); // the server sees the FIN/RST
    decide(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    return events;
  });
});

test('the WebSocket option: server-side connections are instances of the given class', async (t) => {
  class Tagged extends WebSocket {
    readonly tag = 'mine';
  }
  const { wss, url } = await listen(t, WebSocketServer, { WebSocket: Tagged });
  const client = new WS(url);
  t.after(() => client.terminate());
  const [server] = (await once(wss, 'connection')) as [Tagged];
  assert.ok(server instanceof Tagged);
  assert.equal(server.tag, 'mine');
  server.send('hi');
  assert.equal(String((await once(client, 'message'))[0]), 'hi');
});

test('handleUpgrade twice on one socket throws ws\'s error; handleProtocols may answer a protocol the client then refuses', async (t) => {
  await sameAsWs(async (Server) => {
    const wss = new Server({ noServer: true, handleProtocols: () => 'not-offered' });
    const server = http.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => server.close());
    const thrown: string[] = [];
    server.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, () => {});
      try {
        wss.handleUpgrade(req, socket, head, () => {});
      } catch (error) {
        thrown.push((error as Error).message);
      }
    });
    const client = new WS(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, ['a', 'b']);
    const [error] = (await once(client, 'error')) as [Error];
    return [thrown, error.message];
  });
});

test('subprotocol.parse is exported and agrees with ws\'s on any input (same set or same error)', () => {
  const theirs = (wsModule as unknown as { subprotocol: { parse(header: string): Set<string> } }).subprotocol;
  const outcome = (parse: (header: string) => Set<string>, header: string): unknown => {
    try {
      return [...parse(header)];
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message}`;
    }
  };
  for (const header of ['chat', 'a, b', 'a ,\tb', ' a', 'a,', ',a', 'a,,b', 'a, a', 'a b', 'ä', '']) {
    assert.deepEqual(outcome(subprotocol.parse, header), outcome(theirs.parse, header), JSON.stringify(header));
  }
  const alphabet = fc.constantFrom('a', 'b', 'c', ',', ' ', '\t', ';', '"', 'é', '1');
  fc.assert(fc.property(fc.array(alphabet, { maxLength: 12 }).map((chars) => chars.join('')), (header) => {
    assert.deepEqual(outcome(subprotocol.parse, header), outcome(theirs.parse, header));
  }), { numRuns: 2000 });
  fc.assert(fc.property(fc.string({ maxLength: 40 }), (header) => {
    assert.deepEqual(outcome(subprotocol.parse, header), outcome(theirs.parse, header));
  }));
});

test('close(cb) on a server that is already closed calls back with ws\'s error', async () => {
  await sameAsWs(async (Server) => {
    const wss = new Server({ noServer: true });
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    return new Promise((resolve) => wss.close((error?: Error) => resolve(error?.message ?? 'no error')));
  });
});
