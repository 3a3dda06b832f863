// Shared helpers for the WebSocket I/O tests: servers on port 0, a raw TCP peer that speaks frames
// byte by byte (to send what well-behaved libraries never send), and small promise utilities.
import { once } from 'node:events';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { WebSocket, WebSocketServer, type ServerOptions } from '../../src/websocket/index.js';
import { FrameParser, encodeFrame, type FrameHandler } from '../../src/protocol/ws-frame.js';
import { acceptKey } from '../../src/protocol/ws-handshake.js';

export async function startServer(t: TestContext, options: Omit<ServerOptions, 'port'> = {}): Promise<{ wss: WebSocketServer; port: number; url: string }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  const port = (wss.address() as net.AddressInfo).port;
  t.after(() => new Promise<void>((resolve) => {
    for (const ws of wss.clients) ws.terminate();
    wss.close(() => resolve());
  }));
  return { wss, port, url: `ws://127.0.0.1:${port}` };
}

/** A server (see {@link startServer}) with one of our clients connected: both ends of the connection. */
export async function connectedPair(
  t: TestContext,
  options: Omit<ServerOptions, 'port'> = {},
): Promise<{ wss: WebSocketServer; url: string; client: WebSocket; server: WebSocket }> {
  const { wss, url } = await startServer(t, options);
  const connected = once(wss, 'connection');
  const client = new WebSocket(url);
  t.after(() => client.terminate());
  await once(client, 'open');
  const [server] = (await connected) as [WebSocket];
  return { wss, url, client, server };
}

export type RawEvent = ['message', boolean, string] | ['ping' | 'pong', string] | ['close', number, string] | ['error', string];

/** A hand-driven WebSocket client over a raw TCP socket. */
export class RawClient {
  readonly events: RawEvent[] = [];
  ended = false;
  closed = false;
  private readonly parser: FrameParser;
  private waiters: Array<() => void> = [];

  constructor(readonly socket: net.Socket, head: Buffer, maxPayload = 64 << 20) {
    const push = (e: RawEvent): void => {
      this.events.push(e);
      this.notify();
    };
    const handler: FrameHandler = {
      onMessage: (d, b) => push(['message', b, Buffer.from(d).toString(b ? 'hex' : 'utf8')]),
      onPing: (d) => push(['ping', Buffer.from(d).toString()]),
      onPong: (d) => push(['pong', Buffer.from(d).toString()]),
      onClose: (code, reason) => push(['close', code, Buffer.from(reason).toString()]),
      onProtocolError: (e) => push(['error', e.code]),
    };
    this.parser = new FrameParser(handler, { expectMasked: false, maxPayload });
    socket.on('data', (chunk) => this.parser.push(chunk));
    socket.on('end', () => {
      this.ended = true;
      this.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    socket.on('error', () => {});
    if (head.length) this.parser.push(head);
  }

  static async connect(port: number, path = '/', extraHeaders = ''): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`,
    );
    let buffered = Buffer.alloc(0);
    while (buffered.indexOf('\r\n\r\n') === -1) {
      const [chunk] = (await once(socket, 'data')) as [Buffer];
      buffered = Buffer.concat([buffered, chunk]);
    }
    socket.pause();
    const end = buffered.indexOf('\r\n\r\n') + 4;
    const head = buffered.subarray(0, end).toString();
    if (!head.startsWith('HTTP/1.1 101') || !head.includes(`Sec-WebSocket-Accept: ${acceptKey(key)}`)) {
      throw new Error(`handshake failed: ${head}`);
    }
    const client = new RawClient(socket, buffered.subarray(end));
    socket.resume();
    return client;
  }

  /** Sends one frame (masked unless mask is null), optionally in chops of `chop` bytes. */
  frame(opcode: number, payload: string | Uint8Array, opts: { fin?: boolean; rsv?: number; mask?: number | null } = {}): Buffer {
    const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const out = Buffer.from(encodeFrame(opcode, data, {
      fin: opts.fin ?? true,
      mask: opts.mask === null ? undefined : (opts.mask ?? randomBytes(4).readUInt32BE()),
    }));
    out[0]! |= (opts.rsv ?? 0) << 4;
    return out;
  }

  send(bytes: Uint8Array, chop = 0): void {
    if (chop <= 0) {
      this.socket.write(bytes);
      return;
    }
    for (let i = 0; i < bytes.length; i += chop) this.socket.write(bytes.subarray(i, i + chop));
  }

  sendFrame(opcode: number, payload: string | Uint8Array, opts: { fin?: boolean; rsv?: number; mask?: number | null; chop?: number } = {}): void {
    this.send(this.frame(opcode, payload, opts), opts.chop);
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when `predicate` holds (checked after every event). */
  async until(predicate: () => boolean, what = 'condition', ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the server to close the TCP connection. */
  async untilClosed(ms = 5000): Promise<void> {
    await this.until(() => this.ended || this.closed, 'TCP close', ms);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Sends a raw HTTP request and returns the status line, headers and body text the server answered. */
export async function rawRequest(port: number, request: string): Promise<{ status: number; head: string; body: string }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(request);
  const chunks: Buffer[] = [];
  socket.on('data', (c) => chunks.push(c));
  await Promise.race([once(socket, 'close'), new Promise((r) => setTimeout(r, 3000))]);
  socket.destroy();
  const text = Buffer.concat(chunks).toString();
  const split = text.indexOf('\r\n\r\n');
  return { status: Number(text.slice(9, 12)), head: text.slice(0, split), body: text.slice(split + 4) };
}

export function upgradeRequest(port: number, headers: Record<string, string | undefined> = {}, path = '/', method = 'GET', version = '1.1'): string {
  const all: Record<string, string | undefined> = {
    Host: `127.0.0.1:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  let text = `${method} ${path} HTTP/${version}\r\n`;
  for (const [k, v] of Object.entries(all)) if (v !== undefined) text += `${k}: ${v}\r\n`;
  return text + '\r\n';
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
