// Type tests: checked by `npx tsc -p tsconfig.test.json`. Each `@ts-expect-error` line must fail to
// compile (a user's mistake); the other lines must compile. The runtime part only builds the values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, type Socket, type RemoteSocket } from '../../src/server/index.js';

interface ClientToServer {
  chat(text: string, ack: (ok: boolean) => void): void;
  ping(): void;
}
interface ServerToClient {
  news(title: string, count: number): void;
  ask(question: string, cb: (answer: number) => void): void;
  noArgs(): void;
}
interface InterServer {
  sync(version: number): void;
  count(cb: (n: number) => void): void;
}
interface SocketData {
  user: string;
}

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const expectType = <T extends true>(_value?: T) => {};

function typed(io: Server<ClientToServer, ServerToClient, InterServer, SocketData>) {
  io.on('connection', (socket) => {
    expectType<Equal<typeof socket, Socket<ClientToServer, ServerToClient, InterServer, SocketData>>>();
    socket.emit('news', 'title', 1);
    socket.emit('noArgs');
    // @ts-expect-error unknown event
    socket.emit('unknown');
    // @ts-expect-error wrong argument type
    socket.emit('news', 1, 1);
    // @ts-expect-error missing argument
    socket.emit('news', 'title');
    socket.emit('ask', 'q', (answer) => expectType<Equal<typeof answer, number>>());
    // with a timeout the ack receives an error first
    socket.timeout(100).emit('ask', 'q', (err, answer) => {
      expectType<Equal<typeof err, Error | null>>();
      expectType<Equal<typeof answer, number>>();
    });
    // @ts-expect-error without timeout there is no error argument
    socket.emit('ask', 'q', (err: Error, answer: number) => {});
    void socket.emitWithAck('ask', 'q').then((answer) => expectType<Equal<typeof answer, number>>());
    // @ts-expect-error emitWithAck needs an event with an ack
    void socket.emitWithAck('news', 'a', 1);
    socket.on('chat', (text, ack) => {
      expectType<Equal<typeof text, string>>();
      ack(true);
      // @ts-expect-error ack takes a boolean
      ack('yes');
    });
    // @ts-expect-error listener signature does not match the event map
    socket.on('chat', (text: number) => {});
    socket.on('disconnect', (reason) => expectType<Equal<typeof reason, import('../../src/server/index.js').DisconnectReason>>());
    // @ts-expect-error reserved events keep their signature
    socket.on('disconnect', (reason: number) => {});
    expectType<Equal<typeof socket.data, SocketData>>();
    // @ts-expect-error socket data is typed
    socket.data.user = 1;
    socket.to('room').emit('news', 'x', 2);
    // @ts-expect-error broadcast emits are checked too
    socket.broadcast.emit('news', 'x');
  });
  io.emit('news', 'hello', 1);
  // @ts-expect-error broadcasts take no ack without a timeout
  io.emit('ask', 'q', () => {});
  io.timeout(100).emit('ask', 'q', (err, answers) => {
    expectType<Equal<typeof err, Error | null>>();
    expectType<Equal<typeof answers, number[]>>();
  });
  io.serverSideEmit('sync', 3);
  // @ts-expect-error wrong inter-server argument
  io.serverSideEmit('sync', 'three');
  io.serverSideEmit('count', (err, counts) => expectType<Equal<typeof counts, number[]>>());
  io.on('sync', (version) => expectType<Equal<typeof version, number>>());
  void io.fetchSockets().then((sockets) => {
    expectType<Equal<typeof sockets, RemoteSocket<ServerToClient, SocketData>[]>>();
    sockets[0]?.emit('news', 'a', 1);
    // @ts-expect-error remote emits are checked
    sockets[0]?.emit('news', 1);
  });
  io.of('/admin').use((socket, next) => {
    expectType<Equal<typeof socket.data, SocketData>>();
    next(new Error('no'));
  });
}

function untyped(io: Server) {
  io.on('connection', (socket) => {
    socket.emit('anything', 1, { a: 2 }, () => {});
    socket.on('whatever', (...args: unknown[]) => args);
  });
  io.to('r').emit('x', 1);
}

test('type tests compile (see tsc)', () => {
  assert.equal(typeof typed, 'function');
  assert.equal(typeof untyped, 'function');
});
