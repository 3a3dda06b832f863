// Shared helpers for the client tests: a server factory parametrised over the official socket.io
// server and ours, able to stop and restart on the same port (reconnection tests).
import { existsSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as SocketIOServer } from 'socket.io';
import type { Socket as ClientSocket } from '../../src/client/index.js';

export type ServerKind = 'socket.io' | 'switchboard';

/** The servers to run every client test against: socket.io always, ours once it exists. */
export const serverKinds: ServerKind[] = existsSync(new URL('../../src/server/index.ts', import.meta.url))
  ? ['socket.io', 'switchboard']
  : ['socket.io'];

export interface TestServer {
  kind: ServerKind;
  port: number;
  url: string;
  /** The current Socket.IO server (replaced by restart()). */
  io: any;
  http: HttpServer;
  /** Kills the server: closes every connection and the listening socket. */
  stop(): Promise<void>;
  /** Starts again on the same port, with the same options and setup. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Short heartbeats so the tests notice dead peers fast. */
export const FAST = { pingInterval: 100, pingTimeout: 200 };

async function createIo(kind: ServerKind, http: HttpServer, opts: Record<string, unknown>): Promise<any> {
  if (kind === 'socket.io') return new SocketIOServer(http, { serveClient: false, ...opts });
  const { Server } = await import('../../src/server/index.js');
  return new (Server as any)(http, { serveClient: false, ...opts });
}

export async function startServer(
  kind: ServerKind,
  opts: Record<string, unknown> = {},
  setup: (io: any) => void = () => {},
  beforeIo?: (http: HttpServer) => void,
): Promise<TestServer> {
  let port = 0;
  const server: TestServer = {
    kind,
    port: 0,
    url: '',
    io: undefined,
    http: undefined as unknown as HttpServer,
    async start() {
      const http = createServer();
      beforeIo?.(http);
      const io = await createIo(kind, http, { ...FAST, ...opts });
      setup(io);
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, '127.0.0.1', () => resolve());
      });
      port = (http.address() as AddressInfo).port;
      Object.assign(server, { http, io, port, url: `http://127.0.0.1:${port}` });
    },
    async stop() {
      const { io, http } = server;
      if (!http.listening) return;
      await new Promise<void>((resolve) => {
        io.close(() => resolve());
        http.closeAllConnections?.();
      });
      if (http.listening) await new Promise<void>((resolve) => http.close(() => resolve()));
    },
    close() {
      return server.stop();
    },
  };
  await server.start();
  return server;
}

/** Resolves with the arguments of the next `event` (rejects after `ms`). */
export function once(emitter: { once(event: string, fn: (...args: any[]) => void): unknown }, event: string, ms = 3000): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for "${event}"`)), ms);
    emitter.once(event, (...args: any[]) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

export function connected(socket: ClientSocket<any, any>, ms = 3000): Promise<void> {
  if (socket.connected) return Promise.resolve();
  return once(socket, 'connect', ms).then(() => undefined);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `predicate` until true (fails after `ms`). */
export async function until(predicate: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Transport configurations every behaviour is checked with. */
export const transportMatrix: { name: string; transports: ('polling' | 'websocket')[]; upgrade?: boolean }[] = [
  { name: 'polling→websocket', transports: ['polling', 'websocket'] },
  { name: 'websocket only', transports: ['websocket'] },
  { name: 'polling only', transports: ['polling'] },
];
