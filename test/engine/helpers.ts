import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import WebSocket from 'ws';
import { EngineServer, type EngineOptions, type EngineSocket } from '../../src/engine/index.js';

export interface Harness {
  engine: EngineServer;
  http: Server;
  port: number;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Engine path with query, e.g. `/engine.io/?EIO=4&transport=polling` */
  url(query: string): string;
  /** Resolves with the next session the engine opens. */
  nextConnection(): Promise<EngineSocket>;
}

/** An http server on a random loopback port with an attached engine; closed after the test. */
export async function startEngine(t: TestContext, options: EngineOptions = {}, path = '/engine.io/'): Promise<Harness> {
  const http = createServer((_req, res) => {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('app route');
  });
  const engine = new EngineServer({ path, ...options });
  engine.attach(http);
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const port = (http.address() as AddressInfo).port;
  t.after(async () => {
    engine.close();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });
  return {
    engine,
    http,
    port,
    origin: `http://127.0.0.1:${port}`,
    url: (query) => `${path}?${query}`,
    nextConnection: async () => (await once(engine, 'connection'))[0] as EngineSocket,
  };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One raw HTTP request (fresh connection each time, so concurrent polls are independent). */
export function request(
  port: number,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export const json = (reply: Reply): unknown => JSON.parse(reply.body);

/** Sends a polling GET and waits until the session holds it; `reply` settles when the server answers it. */
export async function heldGet(h: Harness, sid: string, session: EngineSocket): Promise<{ reply: Promise<Reply> }> {
  const reply = request(h.port, 'GET', h.url(`EIO=4&transport=polling&sid=${sid}`));
  await until(() => session.transport.writable, 2000, 'GET pending');
  return { reply };
}

/** Opens a polling session by hand; returns the sid and the open packet's data. */
export async function pollingHandshake(h: Harness): Promise<{ sid: string; open: Record<string, unknown>; reply: Reply }> {
  const reply = await request(h.port, 'GET', h.url('EIO=4&transport=polling'));
  if (reply.status !== 200 || !reply.body.startsWith('0')) throw new Error(`handshake failed: ${reply.status} ${reply.body}`);
  const open = JSON.parse(reply.body.slice(1).split('\x1e')[0]!) as Record<string, unknown>;
  return { sid: open.sid as string, open, reply };
}

/** A `ws` client that records every message as the engine sees it on the wire. */
export class WireClient {
  readonly messages: Array<string | Buffer> = [];
  private waiters: Array<() => void> = [];
  closed: Promise<[number, string]>;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary) => {
      this.messages.push(isBinary ? data : data.toString());
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve([code, reason.toString()])));
    ws.on('error', () => {});
  }

  static async connect(url: string): Promise<WireClient> {
    const ws = new WebSocket(url);
    const client = new WireClient(ws);
    await once(ws, 'open');
    return client;
  }

  /** Resolves with message number `index` (0-based) once it has arrived. */
  async nth(index: number, timeoutMs = 2000): Promise<string | Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length <= index) {
      if (Date.now() > deadline) throw new Error(`no message #${index}; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.messages[index]!;
  }

  send(data: string | Buffer): void {
    this.ws.send(data);
  }
}

/**
 * Sends a raw upgrade request and returns the HTTP response text: all of it once the server closes
 * the connection, or (`untilHead`) the head alone, leaving the connection open (a 101).
 */
export async function rawUpgrade(
  h: Harness,
  query: string,
  options: { headers?: Record<string, string>; untilHead?: boolean } = {},
): Promise<string> {
  const socket = netConnect(h.port, '127.0.0.1');
  await once(socket, 'connect');
  const extra = Object.entries(options.headers ?? {}).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.write(
    `GET ${h.url(query)} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
  );
  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  socket.on('error', () => {});
  let closed = false;
  socket.once('close', () => (closed = true));
  if (options.untilHead) {
    while (!text.includes('\r\n\r\n') && !closed) await Promise.race([once(socket, 'data'), once(socket, 'close')]);
    socket.destroy();
    return text.slice(0, text.indexOf('\r\n\r\n'));
  }
  if (!closed) await once(socket, 'close');
  return text;
}

/** Polls `predicate` until true (deterministic waits without fixed sleeps). */
export async function until(predicate: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
