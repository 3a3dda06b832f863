import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { io as ioc, type Socket as ClientSocket, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import { Server, type ServerOptions } from '../../src/server/index.js';

/** The three ways socket.io-client reaches a server. */
export const TRANSPORT_MODES = {
  websocket: { transports: ['websocket'] },
  polling: { transports: ['polling'] },
  upgrade: { transports: ['polling', 'websocket'] },
} satisfies Record<string, Partial<ManagerOptions>>;
export type TransportMode = keyof typeof TRANSPORT_MODES;

export interface Harness {
  io: Server;
  httpServer: HttpServer;
  url: string;
  port: number;
  /** A socket.io-client connection (closed after the test). */
  client(nsp?: string, opts?: Partial<ManagerOptions & SocketOptions>): ClientSocket;
}

/** Starts a server on a loopback port; everything is closed when the test ends. */
export async function setup(t: TestContext, opts: ServerOptions = {}, mode: TransportMode = 'websocket'): Promise<Harness> {
  const httpServer = createServer();
  const io = new Server(httpServer, { pingInterval: 5000, pingTimeout: 5000, ...opts });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const port = (httpServer.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const clients: ClientSocket[] = [];
  t.after(async () => {
    for (const c of clients) c.disconnect();
    const stuck = setTimeout(() => {
      httpServer.getConnections((_e, n) => console.log('STUCK CLOSE', t.name, 'connections', n, 'sessions', io.engine?.clientsCount));
    }, 3000);
    await io.close();
    clearTimeout(stuck);
  });
  return {
    io,
    httpServer,
    url,
    port,
    client: clientFactory(url, mode, clients),
  };
}

/** Opens socket.io-client connections to `url` over `mode`, without reconnection, listed in `clients` (to close them). */
export function clientFactory(url: string, mode: TransportMode, clients: ClientSocket[]): Harness['client'] {
  return (nsp = '/', clientOpts = {}) => {
    const socket = ioc(url + nsp, { forceNew: true, reconnection: false, ...TRANSPORT_MODES[mode], ...clientOpts });
    clients.push(socket);
    return socket;
  };
}

/** Resolves with the arguments of the next `event` on an emitter (rejects after `ms`, so a test fails instead of hanging). */
export function once<T extends unknown[] = any[]>(emitter: { once(ev: string, fn: (...args: any[]) => void): unknown }, event: string, ms = 8000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' event within ${ms} ms`)), ms);
    emitter.once(event, (...args: any[]) => {
      clearTimeout(timer);
      resolve(args as T);
    });
  });
}

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check` is true (polls every few ms; fails after `ms`). */
export async function until(check: () => boolean, ms = 3000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error('condition not reached in time');
    await delay(5);
  }
}

/** A client that completed the polling→websocket upgrade. */
export function upgraded(socket: ClientSocket): Promise<void> {
  const engine = socket.io.engine;
  if (engine.transport.name === 'websocket') return Promise.resolve();
  return new Promise((resolve) => engine.once('upgrade', () => resolve()));
}
