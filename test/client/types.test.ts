// Typed events: the event maps of socket.io-client v4 (and of our server) check emit/on/acks at
// compile time (`npx tsc -p tsconfig.test.json` fails on a wrong line); the runtime part only
// makes sure the typed calls are the real API.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { io, Manager, type Socket } from '../../src/client/index.js';

interface ServerToClient {
  news: (title: string, priority: number) => void;
  question: (text: string, answer: (reply: boolean) => void) => void;
}
interface ClientToServer {
  hello: (name: string) => void;
  add: (a: number, b: number, ack: (sum: number) => void) => void;
}

test('typed sockets check events, arguments and acknowledgements', async () => {
  const socket: Socket<ServerToClient, ClientToServer> = io('http://127.0.0.1:9', { autoConnect: false });
  socket.on('news', (title, priority) => {
    const t: string = title;
    const p: number = priority;
    void t, p;
  });
  socket.on('question', (_text, answer) => answer(true));
  socket.on('connect', () => {});
  socket.on('disconnect', (reason) => {
    const r: string = reason;
    void r;
  });
  socket.on('connect_error', (err) => void err.message);
  socket.emit('hello', 'ada');
  socket.emit('add', 1, 2, (sum) => {
    const s: number = sum;
    void s;
  });
  socket.timeout(10).emit('add', 1, 2, (err, sum) => {
    const e: Error = err;
    const s: number = sum;
    void e, s;
  });
  const sum: Promise<number> = socket.timeout(10).emitWithAck('add', 1, 2);
  sum.catch(() => {});

  // @ts-expect-error unknown event
  socket.emit('goodbye');
  // @ts-expect-error wrong argument type
  socket.emit('hello', 42);
  // @ts-expect-error wrong listener signature
  socket.on('news', (title: number) => void title);
  // @ts-expect-error timeout() callbacks get the error first
  socket.timeout(10).emit('add', 1, 2, (sum: number) => void sum);

  const manager = new Manager('http://127.0.0.1:9', { autoConnect: false, reconnectionDelay: 10 });
  manager.on('reconnect_attempt', (attempt) => {
    const n: number = attempt;
    void n;
  });
  // @ts-expect-error not a manager event
  manager.on('news', () => {});
  assert.equal(manager.reconnectionDelay(), 10);
  socket.disconnect();
});
