// Reconnection (server killed and restarted), offline buffering, connection state recovery and
// `retries`, against the official socket.io@4 server and ours.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { io, type Socket } from '../../src/client/index.js';
import { connected, once, serverKinds, sleep, startServer, transportMatrix, until } from './helpers.js';

const fast = { reconnectionDelay: 20, reconnectionDelayMax: 60, randomizationFactor: 0.2 };

for (const kind of serverKinds) {
  for (const { name, transports } of transportMatrix) {
    describe(`reconnection with ${kind} server (${name})`, () => {
      test('server killed and restarted: reconnect events, buffered emits delivered once, volatile dropped', async (t) => {
        const received: unknown[] = [];
        const server = await startServer(kind, {}, (io) => {
          io.on('connection', (socket: any) => socket.on('note', (value: unknown) => received.push(value)));
        });
        const socket = io(server.url, { forceNew: true, transports, ...fast });
        t.after(async () => {
          socket.disconnect();
          await server.close();
        });
        await connected(socket);
        const firstId = socket.id;
        const events: string[] = [];
        socket.io.on('reconnect_attempt', (n) => events.push(`attempt ${n}`));
        socket.io.on('reconnect_error', () => events.push('error'));
        socket.io.on('reconnect', (n) => events.push(`reconnect ${n}`));

        const disconnected = once(socket, 'disconnect');
        await server.stop();
        const [reason] = await disconnected;
        assert.ok(['transport close', 'transport error', 'ping timeout'].includes(reason), reason);
        assert.equal(socket.connected, false);
        assert.equal(socket.active, true, 'still trying to reconnect');

        socket.emit('note', 'offline 1');
        socket.volatile.emit('note', 'volatile');
        socket.emit('note', 'offline 2');
        await until(() => events.includes('error'), 3000, 'a failed reconnection attempt');

        await server.start();
        await once(socket, 'connect', 5000);
        assert.notEqual(socket.id, firstId);
        await until(() => received.length === 2, 3000, 'buffered emits');
        await sleep(50);
        assert.deepEqual(received, ['offline 1', 'offline 2']);
        assert.match(events[0]!, /^attempt 1$/);
        assert.match(events[events.length - 1]!, /^reconnect \d+$/);
        assert.ok(Number(events[events.length - 1]!.split(' ')[1]) >= 2);
      });

      test('reconnectionAttempts exhausted → reconnect_failed; connect timeout', async (t) => {
        const server = await startServer(kind);
        const url = server.url;
        await server.stop();
        const socket = io(url, { forceNew: true, transports, ...fast, reconnectionAttempts: 2 });
        t.after(() => void socket.disconnect());
        const errors: Error[] = [];
        socket.on('connect_error', (err) => errors.push(err));
        await once(socket.io, 'reconnect_failed', 5000);
        assert.equal(errors.length, 3, 'first attempt + 2 reconnection attempts');
        assert.equal(socket.connected, false);
      });

      test('reconnection: false — no retry after the server goes away', async (t) => {
        const server = await startServer(kind);
        const socket = io(server.url, { forceNew: true, transports, reconnection: false });
        t.after(async () => {
          socket.disconnect();
          await server.close();
        });
        await connected(socket);
        let attempts = 0;
        socket.io.on('reconnect_attempt', () => attempts++);
        const gone = once(socket, 'disconnect');
        await server.stop();
        await gone;
        await sleep(100);
        assert.equal(attempts, 0);
      });

      test('connection state recovery: missed packets arrive, the id is kept', async (t) => {
        const server = await startServer(kind, { connectionStateRecovery: { maxDisconnectionDuration: 5000 } }, (io) => {
          io.on('connection', (socket: any) => {
            socket.join('news');
            socket.on('drop', () => socket.conn.close());
            socket.on('recovered?', (ack: (r: boolean) => void) => ack(socket.recovered));
          });
        });
        const socket = io(server.url, { forceNew: true, transports, ...fast, reconnectionDelay: 100, reconnectionDelayMax: 100 });
        t.after(async () => {
          socket.disconnect();
          await server.close();
        });
        const got: string[] = [];
        socket.on('news', (text: string) => got.push(text));
        await connected(socket);
        // Recovery needs an offset: receive one event first.
        server.io.to('news').emit('news', 'before');
        await until(() => got.length === 1);
        const id = socket.id;
        const gone = once(socket, 'disconnect');
        socket.emit('drop');
        await gone;
        server.io.to('news').emit('news', 'missed 1');
        server.io.to('news').emit('news', 'missed 2');
        await once(socket, 'connect', 5000);
        assert.equal(socket.recovered, true);
        assert.equal(socket.id, id);
        await until(() => got.length === 3);
        assert.deepEqual(got, ['before', 'missed 1', 'missed 2']);
        assert.equal(await socket.timeout(1000).emitWithAck('recovered?'), true);
      });

      test('retries + ackTimeout: re-sent until acknowledged, in order, callback once', async (t) => {
        const seen: { value: string; count: number }[] = [];
        const server = await startServer(kind, {}, (io) => {
          io.on('connection', (socket: any) => {
            socket.on('flaky', (value: string, ack: (reply: string) => void) => {
              let entry = seen.find((e) => e.value === value);
              if (!entry) seen.push((entry = { value, count: 0 }));
              // The first run answers after the client's ackTimeout, so the client re-sends.
              if (++entry.count === 1) setTimeout(() => ack(`ok ${value}`), 110);
              else ack(`ok ${value}`);
            });
            socket.on('never', () => {});
          });
        });
        const socket: Socket<any, any> = io(server.url, { forceNew: true, transports, retries: 2, ackTimeout: 80 });
        t.after(async () => {
          socket.disconnect();
          await server.close();
        });
        const replies: unknown[][] = [];
        socket.emit('flaky', 'a', (...args: unknown[]) => replies.push(['a', ...args]));
        socket.emit('flaky', 'b', (...args: unknown[]) => replies.push(['b', ...args]));
        const c = socket.emitWithAck('flaky', 'c');
        assert.equal(await c, 'ok c');
        assert.deepEqual(replies, [['a', null, 'ok a'], ['b', null, 'ok b']]);
        // Order: a is answered before b is sent at all.
        assert.deepEqual(seen.map((e) => e.value), ['a', 'b', 'c']);
        // Official server: every re-sent attempt runs the handler again (at-least-once). Ours
        // recognises the repeated ack id and runs it once (at-most-once).
        for (const { value, count } of seen) {
          if (kind === 'switchboard') assert.equal(count, 1, value);
          else assert.ok(count >= 2, `${value} ran ${count} times`);
        }
        await sleep(200);
        assert.equal(replies.length, 2, 'each callback exactly once');
        const started = Date.now();
        await assert.rejects(socket.emitWithAck('never'), /timed out/);
        assert.ok(Date.now() - started >= 3 * 80 - 10, 'three attempts before giving up');
      });

      test('retries: a queued emit survives a server restart and is delivered after reconnection', async (t) => {
        const got: string[] = [];
        const server = await startServer(kind, {}, (io) => {
          io.on('connection', (socket: any) => {
            socket.on('save', (value: string, ack: () => void) => {
              got.push(value);
              ack();
            });
          });
        });
        const socket = io(server.url, { forceNew: true, transports, retries: 1, ackTimeout: 2000, ...fast });
        t.after(async () => {
          socket.disconnect();
          await server.close();
        });
        await connected(socket);
        const gone = once(socket, 'disconnect');
        await server.stop();
        await gone;
        const saved = socket.emitWithAck('save', 'while offline');
        await sleep(50);
        await server.start();
        await saved;
        assert.deepEqual(got, ['while offline']);
      });
    });
  }
}
