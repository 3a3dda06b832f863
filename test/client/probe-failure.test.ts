// The WebSocket probe dies after the server answered `3probe`, while the client is pausing polling.
// Engine.IO v4 leaves the session on polling then, so the client must resume polling instead of
// waiting for an upgrade that will never come (before the fix it stalled until the heartbeat
// expired). socket.io's server releases the pending GET only on its 100 ms upgrade check, so against
// it the probe's close always arrives mid-pause; ours releases the GET at once, so either order can
// happen there, and the client must keep working whichever does.
import assert from 'node:assert/strict';
import type { Server as HttpServer } from 'node:http';
import type { Socket as NetSocket } from 'node:net';
import { describe, test } from 'node:test';
import { io } from '../../src/client/index.js';
import { connected, once, serverKinds, startServer } from './helpers.js';

for (const kind of serverKinds) {
  describe(`probe lost mid-upgrade (${kind} server)`, () => {
    test('the client goes on over polling (or reconnects), and emits with acks get through', async (t) => {
      const webSockets = new Set<NetSocket>();
      // A long heartbeat: a stalled client would not be rescued by a ping timeout within the test.
      const server = await startServer(
        kind,
        { pingInterval: 20000, pingTimeout: 20000 },
        (srv) => srv.on('connection', (s: any) => s.on('echo', (data: unknown, ack: (v: unknown) => void) => ack(data))),
        (http: HttpServer) =>
          http.prependListener('upgrade', (_req, socket: NetSocket) => {
            webSockets.add(socket);
            socket.once('close', () => webSockets.delete(socket));
          }),
      );
      t.after(() => server.close());

      const socket = io(server.url, { forceNew: true, reconnectionDelay: 50, reconnectionDelayMax: 50 });
      t.after(() => socket.disconnect());
      const engine = socket.io.engine;
      let failedMidUpgrade = false;
      engine.once('upgradeError', () => (failedMidUpgrade = engine.transport.name === 'polling'));
      // The probe has been answered: cut its TCP connection before the client switches to it.
      const upgrading = once(engine, 'upgrading');
      engine.once('upgrading', () => webSockets.forEach((s) => s.destroy()));
      await upgrading;
      const firstId = engine.id;
      // Either the probe's failure is seen mid-pause (upgradeError), or the switch happened first and
      // the dead WebSocket then closes the session (the client reconnects).
      await Promise.race([once(engine, 'upgradeError'), once(engine, 'close')]);
      await connected(socket);

      const reply = await socket.timeout(3000).emitWithAck('echo', 'after the lost probe');
      assert.equal(reply, 'after the lost probe');
      assert.ok(socket.connected);
      if (kind === 'socket.io') {
        // The path under test: the probe failed while polling was pausing; the same session goes on.
        assert.ok(failedMidUpgrade, 'upgradeError reported');
        assert.equal(socket.io.engine, engine, 'no reconnection');
        assert.equal(engine.id, firstId);
        assert.equal(engine.transport.name, 'polling');
        assert.equal(engine.upgrading, false);
      }
    });
  });
}
