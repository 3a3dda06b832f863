// socket.io-client behaviours our client matches (written from socket.io-client's documentation):
// emitWithAck and a lost connection, autoUnref over WebSocket, binaryType, new Manager(opts), the
// engine's packetCreate/packet events, a custom parser, and the opt-in options module. Each runs
// against the official socket.io server and ours.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Agent, type IncomingMessage } from 'node:http';
import { connect as netConnect } from 'node:net';
import { describe, test } from 'node:test';
import msgpackParser from 'socket.io-msgpack-parser';
import { io, Manager, type Socket } from '../../src/client/index.js';
import '../../src/client/options.js';
import { connected, once, serverKinds, startServer, until } from './helpers.js';

const root = new URL('../..', import.meta.url).pathname;

/** Echo with acknowledgement, a binary emitter, and an event that never acknowledges. */
const setup = (io: any) =>
  io.on('connection', (socket: any) => {
    socket.on('echo', (value: unknown, ack: (v: unknown) => void) => ack(value));
    socket.on('bytes', () => socket.emit('bytes', Buffer.from([1, 2, 3])));
    socket.on('silent', () => {});
    socket.on('transport', (ack: (name: string) => void) => ack(socket.conn.transport.name));
  });

for (const kind of serverKinds) {
  describe(`socket.io-client parity against ${kind}`, () => {
    test('emitWithAck without a timeout rejects with an Error when the connection is lost', async (t) => {
      const server = await startServer(kind, {}, setup);
      t.after(() => server.close());
      const socket = io(server.url, { forceNew: true, transports: ['websocket'], reconnection: false });
      t.after(() => socket.disconnect());
      await connected(socket);
      assert.equal(await socket.emitWithAck('echo', 42), 42);
      const pending = socket.emitWithAck('silent');
      await until(() => server.io.sockets.sockets.size === 1);
      // The server drops the connection while the acknowledgement is outstanding.
      for (const s of server.io.sockets.sockets.values()) s.conn.close();
      await assert.rejects(pending, (err: Error) => err instanceof Error && /disconnected/.test(err.message));
      // A plain callback without a timeout is never called with an error (socket.io-client's rule).
    });

    test('emitWithAck while disconnected waits in the buffer and resolves once connected', async (t) => {
      const server = await startServer(kind, {}, setup);
      t.after(() => server.close());
      const socket = io(server.url, { forceNew: true, transports: ['websocket'], autoConnect: false });
      t.after(() => socket.disconnect());
      const answer = socket.emitWithAck('echo', 'later');
      socket.connect();
      assert.equal(await answer, 'later');
    });

    for (const transports of [['polling'], ['websocket']] as const) {
      test(`engine.binaryType = 'arraybuffer' gives ArrayBuffers (${transports[0]})`, async (t) => {
        const server = await startServer(kind, {}, setup);
        t.after(() => server.close());
        const socket = io(server.url, { forceNew: true, transports: [...transports], reconnection: false });
        t.after(() => socket.disconnect());
        assert.equal(socket.io.engine.binaryType, 'nodebuffer');
        socket.io.engine.binaryType = 'arraybuffer';
        await connected(socket);
        socket.emit('bytes');
        const [bytes] = await once(socket, 'bytes');
        assert.ok(bytes instanceof ArrayBuffer, `got ${Object.prototype.toString.call(bytes)}`);
        assert.deepEqual([...new Uint8Array(bytes)], [1, 2, 3]);
        socket.io.engine.binaryType = 'nodebuffer';
        socket.emit('bytes');
        const [buffer] = await once(socket, 'bytes');
        assert.ok(Buffer.isBuffer(buffer));
      });
    }

    test('new Manager(opts): options only, connects to http://localhost', async (t) => {
      const server = await startServer(kind, {}, setup);
      t.after(() => server.close());
      // Every connection of this agent goes to the test server, whatever host the URL names.
      const agent = new Agent();
      (agent as any).createConnection = () => netConnect(server.port, '127.0.0.1');
      const hosts: string[] = [];
      server.http.prependListener('request', (req: IncomingMessage) => hosts.push(String(req.headers.host)));
      const manager = new Manager({ transports: ['polling'], agent, reconnection: false });
      const socket = manager.socket('/');
      t.after(() => socket.disconnect());
      await connected(socket);
      assert.equal(await socket.emitWithAck('echo', 'hi'), 'hi');
      assert.equal(hosts[0], 'localhost');
    });

    test('the engine emits packetCreate (with options.compress) and packet', async (t) => {
      const server = await startServer(kind, {}, setup);
      t.after(() => server.close());
      const socket = io(server.url, { forceNew: true, transports: ['websocket'], reconnection: false });
      t.after(() => socket.disconnect());
      const created: any[] = [];
      const received: any[] = [];
      socket.io.engine.on('packetCreate', (packet) => created.push(packet));
      socket.io.engine.on('packet', (packet) => received.push(packet));
      await connected(socket);
      socket.compress(false).emit('echo', 'a', () => {});
      socket.emit('echo', 'b', () => {});
      await until(() => created.length >= 3 && received.filter((p) => p.type === 'message').length >= 3);
      assert.equal(received[0].type, 'open');
      const messages = created.filter((p) => p.type === 'message');
      assert.match(messages[0].data, /^0/, 'the namespace CONNECT');
      assert.deepEqual(messages[1].options, { compress: false });
      assert.match(messages[1].data, /"a"/);
      assert.deepEqual(messages[2].options, { compress: true });
      // A server ping is answered: the pong goes through packetCreate too.
      await until(() => created.some((p) => p.type === 'pong'), 3000, 'a pong');
      assert.ok(received.some((p) => p.type === 'ping'));
    });

    test('parser option: socket.io-msgpack-parser on both ends (binary, acks)', async (t) => {
      const server = await startServer(kind, { parser: msgpackParser }, setup);
      t.after(() => server.close());
      for (const transports of [['polling'], ['websocket']] as const) {
        const socket = io(server.url, { forceNew: true, transports: [...transports], reconnection: false, parser: msgpackParser });
        t.after(() => socket.disconnect());
        await connected(socket);
        assert.deepEqual(await socket.emitWithAck('echo', { nested: [1, 'two'] }), { nested: [1, 'two'] });
        socket.emit('bytes');
        const [bytes] = await once(socket, 'bytes');
        assert.deepEqual([...new Uint8Array(bytes)], [1, 2, 3]);
      }
    });

    test('parser mismatch (msgpack client, default server) fails to connect instead of crashing', async (t) => {
      const server = await startServer(kind, {}, setup);
      t.after(() => server.close());
      const socket = io(server.url, { forceNew: true, transports: ['websocket'], reconnection: false, parser: msgpackParser, timeout: 1500 });
      t.after(() => socket.disconnect());
      const closed = new Promise<unknown>((resolve) => {
        socket.io.on('close', resolve);
        socket.on('connect_error', resolve);
      });
      await closed;
      assert.equal(socket.connected, false);
    });

    test('rememberUpgrade: after an upgrade to WebSocket, the next connection starts on it', async (t) => {
      const server = await startServer(kind, {}, setup);
      t.after(() => server.close());
      // Started on polling whatever earlier tests did; its upgrade is what gets remembered.
      const first = io(server.url, { forceNew: true });
      const upgraded = once(first.io.engine, 'upgrade');
      await connected(first);
      await upgraded;
      first.disconnect();
      const firstRequests: string[] = [];
      server.http.prependListener('request', (req: IncomingMessage) => firstRequests.push(req.url!));
      server.http.prependListener('upgrade', (req: IncomingMessage) => firstRequests.push(req.url!));
      const second = io(server.url, { forceNew: true, rememberUpgrade: true });
      t.after(() => second.disconnect());
      await connected(second);
      assert.equal(await second.emitWithAck('transport'), 'websocket');
      assert.match(firstRequests[0]!, /transport=websocket/);
      // Without the option the client starts on polling as usual.
      const plain = io(server.url, { forceNew: true, upgrade: false });
      t.after(() => plain.disconnect());
      await connected(plain);
      assert.equal(await plain.emitWithAck('transport'), 'polling');
    });

    test('timestampRequests / timestampParam decide the cache-busting parameter', async (t) => {
      const server = await startServer(kind, {}, setup);
      t.after(() => server.close());
      const urls: string[] = [];
      server.http.prependListener('request', (req: IncomingMessage) => urls.push(req.url!));
      server.http.prependListener('upgrade', (req: IncomingMessage) => urls.push(req.url!));
      const run = async (opts: Record<string, unknown>) => {
        urls.length = 0;
        const socket = io(server.url, { forceNew: true, ...opts });
        const upgraded = once(socket.io.engine, 'upgrade');
        await connected(socket);
        await upgraded;
        socket.disconnect();
        const polls = urls.filter((u) => u.includes('transport=polling'));
        const ws = urls.find((u) => u.includes('transport=websocket'))!;
        return { polls, ws };
      };
      const defaults = await run({});
      assert.ok(defaults.polls.every((u) => /[?&]t=/.test(u)));
      assert.doesNotMatch(defaults.ws, /[?&]t=/);
      const off = await run({ timestampRequests: false });
      assert.ok(off.polls.every((u) => !/[?&]t=/.test(u)), off.polls.join(' '));
      const on = await run({ timestampRequests: true, timestampParam: 'ts' });
      assert.ok(on.polls.every((u) => /[?&]ts=/.test(u) && !/[?&]t=/.test(u)));
      assert.match(on.ws, /[?&]ts=/);
    });

    test('closeOnBeforeunload: the page going away closes the connection without a disconnect event', async (t) => {
      // Node has no window: stand one in for the duration of the test.
      const target = new EventTarget();
      const g = globalThis as any;
      g.addEventListener = target.addEventListener.bind(target);
      g.removeEventListener = target.removeEventListener.bind(target);
      t.after(() => {
        delete g.addEventListener;
        delete g.removeEventListener;
      });
      const server = await startServer(kind, {}, setup);
      t.after(() => server.close());
      const socket: Socket = io(server.url, { forceNew: true, transports: ['websocket'], closeOnBeforeunload: true, reconnection: false });
      t.after(() => socket.disconnect());
      await connected(socket);
      let disconnects = 0;
      socket.on('disconnect', () => disconnects++);
      const [serverSocket] = server.io.sockets.sockets.values();
      const gone = once(serverSocket, 'disconnect');
      target.dispatchEvent(new Event('beforeunload'));
      const [reason] = await gone;
      assert.equal(reason, 'transport close');
      assert.equal(disconnects, 0);
    });
  });
}

describe('autoUnref', () => {
  for (const transports of [['websocket'], ['polling']]) {
    test(`a connected client with autoUnref lets the process exit (${transports[0]})`, async (t) => {
      const server = await startServer(serverKinds[serverKinds.length - 1]!, { pingInterval: 60_000, pingTimeout: 60_000 }, setup);
      t.after(() => server.close());
      const script = `
        import { io } from ${JSON.stringify(root + 'src/client/index.ts')};
        const socket = io(${JSON.stringify(server.url)}, { transports: ${JSON.stringify(transports)}, autoUnref: true });
        // Kept alive until connected; after that only the connection is left, and it is unref'd.
        const keepAlive = setInterval(() => {}, 1000);
        socket.on('connect', () => {
          console.log('connected');
          clearInterval(keepAlive);
        });
      `;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root });
      let out = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      const killer = setTimeout(() => child.kill(), 20_000);
      const [code] = await once(child, 'exit', 25_000);
      clearTimeout(killer);
      assert.match(out, /connected/);
      assert.equal(code, 0, 'exited by itself (killed after 20 s otherwise)');
    });
  }
});
