// Closing the client while the polling → WebSocket upgrade is in flight must release everything at
// once: the probe WebSocket, the polling requests and the server's session. Nothing may wait for
// the server's connectTimeout or heartbeat. The trigger is a namespace `connect_error` racing the
// upgrade, then `disconnect()` (what `switchboard connect` does when a token is refused).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { Server as HttpServer } from 'node:http';
import type { Socket as NetSocket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { io } from '../../src/client/index.js';
import { once, serverKinds, startServer, until } from './helpers.js';

/** When the namespace middleware refuses, relative to the upgrade. */
type Phase = 'before the probe' | 'probe connecting' | 'probe sent' | 'probe answered' | 'after the upgrade';
const phases: Phase[] = ['before the probe', 'probe connecting', 'probe sent', 'probe answered', 'after the upgrade'];

/** A server whose `/dashboard` middleware refuses once `refuse()` is called; tracks sessions and WebSocket sockets. */
async function refusingServer(kind: (typeof serverKinds)[number]) {
  let refuse!: () => void;
  const refused = new Promise<void>((resolve) => (refuse = resolve));
  const webSockets = new Set<NetSocket>();
  const server = await startServer(
    kind,
    // Long heartbeat and connectTimeout: a session left open would stay for many seconds.
    { pingInterval: 20000, pingTimeout: 20000, connectTimeout: 45000 },
    (srv) =>
      srv.of('/dashboard').use((_socket: unknown, next: (err?: Error) => void) => {
        void refused.then(() => next(new Error('invalid token')));
      }),
    (http: HttpServer) =>
      http.prependListener('upgrade', (_req, socket: NetSocket) => {
        webSockets.add(socket);
        socket.once('close', () => webSockets.delete(socket));
      }),
  );
  const sessions = new Set<unknown>();
  server.io.engine.on('connection', (session: any) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  /** Everything the client opened is closed, on the server's side too. */
  const released = async () => {
    await until(() => sessions.size === 0, 2000, 'the server session to close');
    await until(() => webSockets.size === 0, 2000, 'the WebSocket connections to close');
  };
  return { server, refuse, sessions, released };
}

for (const kind of serverKinds) {
  describe(`close during the upgrade (${kind} server)`, () => {
    for (const phase of phases) {
      test(`connect_error ${phase}, then disconnect(): probe, polling and session all close`, async (t) => {
        const { server, refuse, released } = await refusingServer(kind);
        t.after(() => server.close());
        const http = server.http;
        if (phase === 'probe connecting') {
          // Hold the WebSocket handshake back until the refusal has gone out.
          const handlers = http.listeners('upgrade').slice(1) as ((...args: unknown[]) => void)[];
          for (const handler of handlers) http.off('upgrade', handler);
          http.on('upgrade', (...args: unknown[]) => {
            refuse();
            setTimeout(() => handlers.forEach((handler) => handler.apply(http, args)), 50);
          });
        }
        if (phase === 'probe sent') server.io.engine.on('connection', (s: any) => s.once('upgrading', () => setTimeout(refuse)));
        if (phase === 'before the probe') refuse();

        const socket = io(server.url + '/dashboard', { forceNew: true, auth: { token: 'x' }, reconnection: false });
        const engine = socket.io.engine;
        if (phase === 'probe answered') engine.once('upgrading', refuse);
        if (phase === 'after the upgrade') engine.once('upgrade', refuse);
        const [err] = await once(socket, 'connect_error');
        assert.equal(err.message, 'invalid token');
        if (phase === 'probe answered') assert.equal(engine.upgrading, true, 'refused mid-upgrade');
        socket.disconnect();
        await released();
        assert.equal(engine.readyState, 'closed');
      });
    }

    test('a Node process that disconnects on a mid-upgrade connect_error exits at once', async (t) => {
      const { server, refuse, released } = await refusingServer(kind);
      t.after(() => server.close());
      server.io.engine.on('connection', (s: any) => s.once('upgrading', () => setTimeout(refuse)));
      const fixture = fileURLToPath(new URL('./fixtures/refused-client.ts', import.meta.url));
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, server.url + '/dashboard'], { stdio: 'pipe' });
      t.after(() => child.kill('SIGKILL'));
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      // Startup (tsx) takes a moment; a leak would keep the process for the server's 45 s.
      const [code] = await once(child, 'exit', 8000);
      assert.equal(code, 0, output);
      assert.equal(JSON.parse(output).message, 'invalid token');
      await released();
    });
  });
}
