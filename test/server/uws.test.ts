// Server.attachApp: the Socket.IO endpoint served by a real uWebSockets.js app (the native
// build in @trufflesuite/uws-js-unofficial), reached by socket.io-client over websocket, polling
// and polling upgraded to websocket, and by raw peers for refusals and hostile input.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import net from 'node:net';
import type { Socket as ClientSocket, ManagerOptions, SocketOptions } from 'socket.io-client';
import { Server, type ServerOptions, type Socket } from '../../src/server/index.js';
import type { UwsApp } from '../../src/engine/index.js';
import { clientFactory, once, until, upgraded, TRANSPORT_MODES, type TransportMode } from './helpers.js';

interface Uws {
  App(): UwsApp & {
    listen(host: string, port: number, cb: (listenSocket: unknown) => void): unknown;
    get(pattern: string, handler: (res: { end(body: string): void }, req: unknown) => void): unknown;
  };
  us_listen_socket_close(listenSocket: unknown): void;
  us_socket_local_port(listenSocket: unknown): number;
  SHARED_COMPRESSOR?: number;
}

/** The native uWS.js module, or why it cannot run here (the package falls back to a JavaScript imitation silently). */
function loadUws(): Uws | string {
  try {
    const uws = createRequire(import.meta.url)('@trufflesuite/uws-js-unofficial') as Uws;
    if (typeof uws.SHARED_COMPRESSOR !== 'number') return `uWebSockets.js has no native build for node ${process.version} (ABI ${process.versions.modules})`;
    return uws;
  } catch (err) {
    return `uWebSockets.js is not installed: ${(err as Error).message}`;
  }
}

const uws = loadUws();
const skip = typeof uws === 'string' ? uws : false;

interface UwsHarness {
  io: Server;
  app: ReturnType<Uws['App']>;
  port: number;
  url: string;
  client(nsp?: string, opts?: Partial<ManagerOptions & SocketOptions>): ClientSocket;
}

async function setup(t: TestContext, opts: ServerOptions = {}, mode: TransportMode = 'websocket', routes?: (app: UwsHarness['app']) => void): Promise<UwsHarness> {
  const lib = uws as Uws;
  const app = lib.App();
  routes?.(app);
  const io = new Server({ pingInterval: 5000, pingTimeout: 5000, ...opts });
  io.attachApp(app);
  const listenSocket = await new Promise<unknown>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (s) => (s ? resolve(s) : reject(new Error('uWS.js could not listen')))));
  const port = lib.us_socket_local_port(listenSocket);
  const url = `http://127.0.0.1:${port}`;
  const clients: ClientSocket[] = [];
  t.after(async () => {
    for (const c of clients) c.disconnect();
    await io.close();
    lib.us_listen_socket_close(listenSocket);
  });
  return {
    io,
    app,
    port,
    url,
    client: clientFactory(url, mode, clients),
  };
}

/** One raw HTTP/1.1 exchange: the status line, headers and body as text, once the server closes or the body is complete. */
function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let text = '';
    const done = () => {
      socket.destroy();
      resolve(text);
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\r\n\r\n');
      const length = /content-length: *(\d+)/i.exec(text);
      if (end !== -1 && (text.startsWith('HTTP/1.1 101') || (length && text.length >= end + 4 + Number(length[1])))) done();
    });
    socket.on('end', done);
    socket.on('error', reject);
    setTimeout(() => reject(new Error('no answer: ' + JSON.stringify(text))), 5000).unref();
  });
}

/** The rest of a WebSocket upgrade request (RFC 6455 §1.3's sample key). */
const UPGRADE_HEADERS = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

describe('attachApp on uWebSockets.js', { skip }, () => {
  for (const mode of Object.keys(TRANSPORT_MODES) as TransportMode[]) {
    describe(`socket.io-client over ${mode}`, () => {
      test('connects, with the handshake of the request uWS.js carried', async (t) => {
        const h = await setup(t, {}, mode);
        const connected = once<[Socket]>(h.io, 'connection');
        const c = h.client('/', { auth: { token: 'abc' }, query: { q: '1' }, extraHeaders: { 'x-test': 'yes' } });
        const [socket] = await connected;
        await once(c, 'connect');
        assert.equal(c.id, socket.id);
        assert.deepEqual(socket.handshake.auth, { token: 'abc' });
        assert.equal(socket.handshake.query.q, '1');
        assert.equal(socket.handshake.headers['x-test'], 'yes');
        assert.match(socket.handshake.address, /^(::ffff:)?127\.0\.0\.1$/);
        assert.equal(socket.handshake.secure, false);
        assert.match(socket.handshake.url, /^\/socket\.io\/\?/);
        if (mode === 'upgrade') {
          await upgraded(c);
          await until(() => socket.conn.transport.name === 'websocket');
        } else {
          assert.equal(socket.conn.transport.name, mode);
        }
      });

      test('events and acks both ways, with binary', async (t) => {
        const h = await setup(t, {}, mode);
        h.io.on('connection', (socket) => {
          socket.on('echo', (...args: unknown[]) => {
            const ack = args.pop() as (...a: unknown[]) => void;
            ack(...args);
          });
          // Kept past the message callback: uWS.js lends message bytes only for the call.
          socket.on('later', (a: Buffer, b: Buffer, ack: (...v: unknown[]) => void) => setImmediate(() => ack(a, b)));
          socket.on('ask-client', async (ack: (v: unknown) => void) => ack(await socket.emitWithAck('question', { n: 41, bin: Buffer.from([7]) })));
        });
        const c = h.client();
        c.on('question', (q: { n: number; bin: ArrayBuffer }, ack: (v: unknown) => void) => ack({ n: q.n + 1, bin: q.bin }));
        await once(c, 'connect');
        if (mode === 'upgrade') await upgraded(c);
        const all = await new Promise<unknown[]>((resolve) =>
          c.emit('echo', 'text', 42, { bin: Buffer.from('deep') }, 'é🎉'.repeat(2000), (...a: unknown[]) => resolve(a)));
        assert.equal(all[0], 'text');
        assert.equal(all[1], 42);
        assert.equal(Buffer.from((all[2] as { bin: ArrayBuffer }).bin).toString(), 'deep');
        assert.equal(all[3], 'é🎉'.repeat(2000));
        const [a, b] = await new Promise<ArrayBuffer[]>((resolve) =>
          c.emit('later', Buffer.from('first'), Buffer.alloc(3000, 7), (...v: ArrayBuffer[]) => resolve(v)));
        assert.equal(Buffer.from(a!).toString(), 'first');
        assert.deepEqual(Buffer.from(b!), Buffer.alloc(3000, 7));
        const fromClient = (await c.emitWithAck('ask-client')) as { n: number; bin: ArrayBuffer };
        assert.equal(fromClient.n, 42);
        assert.deepEqual([...new Uint8Array(fromClient.bin)], [7]);
      });

      test('a broadcast reaches every client of a room, once', async (t) => {
        const h = await setup(t, {}, mode);
        h.io.on('connection', (socket) => {
          socket.join('room');
          socket.on('shout', (text: string) => h.io.to('room').emit('heard', text, Buffer.from([1, 2])));
        });
        const clients = [h.client(), h.client(), h.client()];
        await Promise.all(clients.map((c) => once(c, 'connect')));
        if (mode === 'upgrade') await Promise.all(clients.map((c) => upgraded(c)));
        const heard = clients.map((c) => once<[string, ArrayBuffer]>(c, 'heard'));
        clients[0]!.emit('shout', 'hello');
        for (const [text, bin] of await Promise.all(heard)) {
          assert.equal(text, 'hello');
          assert.deepEqual([...new Uint8Array(bin)], [1, 2]);
        }
      });

      test('disconnects from either side with the reasons socket.io gives', async (t) => {
        const h = await setup(t, {}, mode);
        const connect = async (): Promise<[ClientSocket, Socket]> => {
          const c = h.client();
          const [s] = await once<[Socket]>(h.io, 'connection');
          await once(c, 'connect');
          return [c, s];
        };
        const [c1, s1] = await connect();
        const clientSide = once<[string]>(c1, 'disconnect');
        s1.disconnect();
        assert.equal((await clientSide)[0], 'io server disconnect');

        const [c2, s2] = await connect();
        const serverSide = once<[string]>(s2, 'disconnect');
        c2.disconnect();
        assert.equal((await serverSide)[0], 'client namespace disconnect');
        await until(() => h.io.engine!.clientsCount === 0);
      });
    });
  }

  test('refusals: unknown transport, unknown session, and a WebSocket from another site (origins closed)', async (t) => {
    const h = await setup(t);
    const transport = await rawRequest(h.port, 'GET /socket.io/?EIO=4&transport=carrier-pigeon HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(transport, /^HTTP\/1\.1 400 /);
    assert.match(transport, /\{"code":0,"message":"Transport unknown"\}$/);
    const sid = await rawRequest(h.port, 'GET /socket.io/?EIO=4&transport=polling&sid=nope HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(sid, /\{"code":1,"message":"Session ID unknown"\}$/);
    const crossSite = await rawRequest(h.port,
      'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://evil.example\r\n' +
      UPGRADE_HEADERS);
    assert.match(crossSite, /^HTTP\/1\.1 403 /);
    assert.equal(h.io.engine!.clientsCount, 0);
  });

  test('headers from `headers` listeners and middlewares reach polling answers and the 101', async (t) => {
    const h = await setup(t);
    h.io.engine!.on('headers', (headers) => {
      headers['X-From-Listener'] = 'yes';
    });
    h.io.engine!.use((_req, res, next) => {
      res.setHeader('X-From-Middleware', 'yes');
      next();
    });
    const polling = await rawRequest(h.port, 'GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(polling, /^HTTP\/1\.1 200 /);
    assert.match(polling, /x-from-listener: yes/i);
    assert.match(polling, /x-from-middleware: yes/i);
    assert.match(polling, /\r\n\r\n0\{"sid":"/);
    const upgrade = await rawRequest(h.port,
      'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
      UPGRADE_HEADERS);
    assert.match(upgrade, /^HTTP\/1\.1 101 /);
    assert.match(upgrade, /sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
    assert.match(upgrade, /x-from-listener: yes/i);
    assert.match(upgrade, /x-from-middleware: yes/i);
  });

  test('other routes of the app keep working beside the endpoint', async (t) => {
    const h = await setup(t, {}, 'websocket', (app) => app.get('/health', (res) => res.end('ok')));
    assert.match(await rawRequest(h.port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n'), /\r\n\r\nok$/);
    const c = h.client();
    await once(c, 'connect');
  });

  test('a polling body over maxHttpBufferSize is refused (413) and ends the session', async (t) => {
    const h = await setup(t, { maxHttpBufferSize: 1000 }, 'polling');
    const c = h.client();
    const [socket] = await once<[Socket]>(h.io, 'connection');
    await once(c, 'connect');
    const gone = once<[string]>(socket, 'disconnect');
    c.emit('big', 'x'.repeat(5000));
    assert.equal((await gone)[0], 'transport error');
  });

  test('hostile bytes from a WebSocket peer end its session, never the server', async (t) => {
    const h = await setup(t);
    const errors: unknown[] = [];
    const onError = (err: unknown) => errors.push(err);
    process.on('uncaughtException', onError);
    t.after(() => process.off('uncaughtException', onError));
    for (const payload of ['', 'zzz', '4', '42[', '40{"__proto__":1}', '\u0000\uffff', '9'.repeat(5000)]) {
      const socket = net.connect(h.port, '127.0.0.1');
      await once(socket, 'connect');
      socket.write('GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
        UPGRADE_HEADERS);
      await once(socket, 'data');
      const body = Buffer.from(payload);
      const mask = Buffer.from([1, 2, 3, 4]);
      const header = body.length < 126 ? Buffer.from([0x81, 0x80 | body.length]) : Buffer.from([0x81, 0x80 | 126, body.length >> 8, body.length & 255]);
      socket.write(Buffer.concat([header, mask, body.map((b, i) => b ^ mask[i & 3]!)]));
      // Then a frame no RFC 6455 peer may send: RSV bits without an extension, reserved opcode 0xF.
      socket.write(Buffer.from([0xff, 0x80, 1, 2, 3, 4]));
      await new Promise((resolve) => socket.on('close', resolve));
    }
    await until(() => h.io.engine!.clientsCount === 0);
    assert.deepEqual(errors, []);
    const c = h.client();
    await once(c, 'connect');
  });
});
