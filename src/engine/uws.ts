/**
 * The engine served by a uWebSockets.js app (`attachApp`, as socket.io and engine.io offer).
 *
 * A thin I/O adapter: uWS.js owns the TCP connections, parses HTTP and does the WebSocket
 * handshake bytes and framing (RFC 6455) in C++; everything the engine decides stays ours and is
 * the same code as under `node:http` (request checks, CORS, middlewares, sessions, heartbeats,
 * polling payloads, upgrades, limits). Polling requests reach the engine as an `IncomingMessage`
 * and a response stand-in; a WebSocket reaches it through the `EngineWebSocket` seam, the same
 * interface our own WebSocket implements, so `WebSocketTransport` runs unchanged on both.
 *
 * uWS.js is not a dependency: the app is passed in, and only the methods typed below are used.
 */
import { IncomingMessage, STATUS_CODES, type OutgoingHttpHeader } from 'node:http';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { writeRefusal } from './errors.js';
import { ResponseStandIn, takeUpgradeResponse, upgradeResponse } from './middleware.js';
import { normalizePath, type EngineServer } from './server.js';
import type { EngineWebSocket, PreparedFrame } from './ws-server.js';

/** The part of a uWS.js `HttpRequest` the adapter reads (valid only during the handler). */
export interface UwsHttpRequest {
  /** A request header by its lower-case name ('' when absent). */
  getHeader(lowerCaseKey: string): string;
  /** The request path, without the query. */
  getUrl(): string;
  /** The query string, without the `?`. */
  getQuery(): string | undefined;
  /** The request method. */
  getMethod(): string;
  /** Calls `cb` for every request header. */
  forEach(cb: (key: string, value: string) => void): void;
}

/** The part of a uWS.js `HttpResponse` the adapter uses. */
export interface UwsHttpResponse {
  /** Sets the status line, e.g. `'200 OK'`. */
  writeStatus(status: string): UwsHttpResponse;
  /** Adds a response header. */
  writeHeader(key: string, value: string): UwsHttpResponse;
  /** Sends the body and ends the response. */
  end(body?: string | Uint8Array, closeConnection?: boolean): UwsHttpResponse;
  /** Closes the connection at once. */
  close(): UwsHttpResponse;
  /** Runs `cb` with writes batched into one send. */
  cork(cb: () => void): UwsHttpResponse;
  /** Called if the client goes away before the response ends. */
  onAborted(handler: () => void): UwsHttpResponse;
  /** Receives the request body in chunks. */
  onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): UwsHttpResponse;
  /** The peer's address as text bytes. */
  getRemoteAddressAsText(): ArrayBuffer;
  /** Completes a WebSocket upgrade with the given handshake headers. */
  upgrade<T>(userData: T, key: string, protocol: string, extensions: string, context: unknown): void;
}

/** The part of a uWS.js `WebSocket` the adapter uses. */
export interface UwsWebSocket<T> {
  /** Sends a message; the result says whether it was sent, buffered or dropped. */
  send(message: string | Uint8Array, isBinary?: boolean, compress?: boolean): number;
  /** Closes with a close frame. */
  end(code?: number, shortMessage?: string): void;
  /** Closes at once, without a close frame. */
  close(): void;
  /** Bytes waiting to be sent. */
  getBufferedAmount(): number;
  /** The data given at upgrade. */
  getUserData(): T;
}

/** The uWS.js `WebSocketBehavior` fields the adapter sets. */
export interface UwsWebSocketBehavior<T> {
  maxPayloadLength: number;
  maxBackpressure: number;
  closeOnBackpressureLimit: boolean;
  idleTimeout: number;
  sendPingsAutomatically: boolean;
  compression: number;
  /** Decides whether an HTTP request becomes a WebSocket. */
  upgrade(res: UwsHttpResponse, req: UwsHttpRequest, context: unknown): void;
  /** A WebSocket opened. */
  open(ws: UwsWebSocket<T>): void;
  /** A message arrived. */
  message(ws: UwsWebSocket<T>, message: ArrayBuffer, isBinary: boolean): void;
  /** A WebSocket closed. */
  close(ws: UwsWebSocket<T>, code: number, message: ArrayBuffer): void;
}

/** A uWS.js app (`uWS.App()` or `uWS.SSLApp()`): the two route kinds the engine registers. */
export interface UwsApp {
  /** Handles HTTP requests of every method on `pattern`. */
  any(pattern: string, handler: (res: UwsHttpResponse, req: UwsHttpRequest) => void): unknown;
  /** Handles WebSocket upgrades on `pattern`. */
  ws(pattern: string, behavior: UwsWebSocketBehavior<UwsConnectionData>): unknown;
}

/** Options of {@link attachApp}. */
export interface UwsAttachOptions {
  /**
   * uWS.js's permessage-deflate setting for the WebSocket routes: `uWS.DISABLED` (0, the
   * default), or a compressor/decompressor from uWS.js such as
   * `uWS.SHARED_COMPRESSOR | uWS.SHARED_DECOMPRESSOR`. Messages below the engine's
   * `perMessageDeflate.threshold` (1024 bytes by default) are sent uncompressed.
   */
  compression?: number;
  /**
   * Bytes uWS.js may hold for a slow WebSocket before it drops sends (default twice the engine's
   * `maxBufferedBytes`: the engine closes a slow session first, this is the backstop).
   */
  maxBackpressure?: number;
  /**
   * Seconds without traffic before uWS.js closes a WebSocket (default 0: off, the engine's
   * heartbeat decides when a peer is gone).
   */
  idleTimeout?: number;
  /** Report `socket.handshake.secure` as true (an `SSLApp`; default false). */
  secure?: boolean;
}

/** @internal what uWS.js keeps per WebSocket (its user data). */
export interface UwsConnectionData {
  connection: UwsConnection | null;
  onOpen: ((ws: EngineWebSocket) => void) | null;
}

/** uWS.js `send` result: the message was dropped, over `maxBackpressure`. */
const DROPPED = 2;

/**
 * Serves `engine` from a uWebSockets.js app: polling and WebSocket at the engine's path (and
 * below it, as under `node:http`). Listen on the app yourself.
 *
 * @example
 * ```ts
 * import uWS from 'uWebSockets.js';
 * import { EngineServer, attachApp } from 'switchboard/engine';
 * const app = uWS.App();
 * const engine = attachApp(new EngineServer(), app);
 * engine.on('connection', (socket) => socket.on('message', (m) => socket.send(m)));
 * app.listen(3000, () => {});
 * ```
 */
export function attachApp(engine: EngineServer, app: UwsApp, options: UwsAttachOptions = {}): EngineServer {
  const base = normalizePath(engine.options.path);
  const secure = options.secure ?? false;
  const deflate = engine.options.perMessageDeflate;
  const compression = options.compression ?? 0;
  const threshold = compression !== 0 && deflate ? Number(deflate.threshold ?? 1024) : Infinity;

  const onRequest = (res: UwsHttpResponse, req: UwsHttpRequest): void => {
    const request = incomingMessage(req, res, secure);
    const response = new UwsResponse(res, request);
    if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') {
      endBody(request);
    } else {
      // uWS.js lends each chunk only for the call: copy it.
      res.onData((chunk, isLast) => {
        if (response.destroyed) return;
        if (chunk.byteLength > 0) request.push(Buffer.from(new Uint8Array(chunk)));
        if (isLast) endBody(request);
      });
    }
    engine.handleRequest(request, response as unknown as ServerResponse);
  };

  const behavior: UwsWebSocketBehavior<UwsConnectionData> = {
    maxPayloadLength: engine.options.maxHttpBufferSize,
    maxBackpressure: options.maxBackpressure ?? engine.options.maxBufferedBytes * 2,
    closeOnBackpressureLimit: false,
    idleTimeout: options.idleTimeout ?? 0,
    sendPingsAutomatically: false,
    compression,
    upgrade: (res, req, context) => {
      // The request is readable only now; the engine may decide later (allowRequest, generateId).
      const request = incomingMessage(req, res, secure);
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const response = new UwsResponse(res, request);
      const answer = (status: number, headers: ReadonlyMap<string, OutgoingHttpHeader>, body: Buffer) => {
        response.statusCode = status;
        for (const [name, value] of headers) if (!/^(content-length|connection)$/i.test(name)) response.setHeader(name, value);
        response.setHeader('Connection', 'close');
        response.end(body);
      };
      engine.upgrade(request, {
        response: () => upgradeResponse(request, answer),
        refuse: (error) => {
          response.setHeader('Connection', 'close');
          writeRefusal(response as unknown as ServerResponse, error);
        },
        accept: (onOpen) => {
          const extra = takeUpgradeResponse(request)?.headers;
          if (response.destroyed) return;
          response.writableEnded = response.destroyed = true; // the uWS.js response is the WebSocket's now
          res.cork(() => {
            res.writeStatus('101 Switching Protocols');
            if (extra) writeHeaders(res, extra);
            res.upgrade<UwsConnectionData>({ connection: null, onOpen }, key, protocol, extensions, context);
          });
        },
      });
    },
    open: (ws) => {
      const data = ws.getUserData();
      const connection = new UwsConnection(ws, threshold);
      data.connection = connection;
      const onOpen = data.onOpen!;
      data.onOpen = null;
      onOpen(connection);
    },
    message: (ws, message, isBinary) => {
      // Text is decoded before this returns, so a view will do; binary data outlives the call.
      const bytes = isBinary ? Buffer.from(new Uint8Array(message)) : Buffer.from(message);
      ws.getUserData().connection?.emit('message', bytes, isBinary);
    },
    close: (ws, code, message) => {
      const connection = ws.getUserData().connection;
      if (!connection) return;
      connection.open = false;
      connection.emit('close', code, Buffer.from(new Uint8Array(message)));
    },
  };

  app.ws(base, behavior);
  app.ws(base + '/*', behavior);
  app.any(base, onRequest);
  app.any(base + '/*', onRequest);
  return engine;
}

/**
 * A uWS.js WebSocket as the engine sees a WebSocket. Sends are handed to uWS.js, which frames
 * them and buffers what the kernel does not take; a send callback runs once the message is
 * handed over (uWS.js reports no later point), with an error if uWS.js dropped it.
 */
export class UwsConnection extends EventEmitter implements EngineWebSocket {
  /** @internal false once uWS.js reported the close: the socket must not be touched after. */
  open = true;

  constructor(
    private readonly ws: UwsWebSocket<UwsConnectionData>,
    private readonly compressFrom: number,
  ) {
    super();
  }

  get bufferedAmount(): number {
    return this.open ? this.ws.getBufferedAmount() : 0;
  }

  send(data: string | Uint8Array, options: { binary?: boolean; compress?: boolean }, cb?: (err?: Error) => void): boolean {
    if (!this.open) {
      if (cb) process.nextTick(cb, new Error('WebSocket is not open'));
      return false;
    }
    const binary = options.binary ?? typeof data !== 'string';
    const compress = options.compress !== false && this.compressFrom !== Infinity &&
      (typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength) >= this.compressFrom;
    const status = this.ws.send(data, binary, compress);
    if (cb) process.nextTick(cb, status === DROPPED ? new Error('message dropped: uWS.js maxBackpressure reached') : undefined);
    return status !== DROPPED;
  }

  sendPrepared(frame: PreparedFrame, cb?: (err?: Error) => void): boolean {
    // uWS.js frames every message itself: the prepared payload is sent, not the prepared frame.
    return this.send(frame.payload, { binary: frame.binary, compress: false }, cb);
  }

  close(code?: number, reason?: string): void {
    if (this.open) this.ws.end(code, reason); // uWS.js runs the close handler at once
  }

  terminate(): void {
    if (this.open) this.ws.close();
  }
}

/**
 * The `ServerResponse` the engine writes polling answers and refusals to, for a uWS.js response:
 * headers are kept until `end()`, which writes everything in one corked call. uWS.js sets
 * `Content-Length` itself.
 */
class UwsResponse extends ResponseStandIn {
  destroyed = false;

  constructor(
    private readonly res: UwsHttpResponse,
    private readonly request: IncomingMessage,
  ) {
    super();
    // uWS.js requires an abort handler on every response answered after the handler returns.
    res.onAborted(() => {
      if (this.destroyed) return;
      this.destroyed = true;
      this.abortRequest();
      this.emit('close');
    });
  }

  end(chunk?: string | Uint8Array | (() => void), cb?: () => void): this {
    if (typeof chunk === 'function') {
      cb = chunk;
      chunk = undefined;
    }
    if (this.writableEnded || this.destroyed) return this;
    if (chunk !== undefined) this.write(chunk);
    this.writableEnded = this.headersSent = true;
    const body = this.body.length === 1 ? this.body[0]! : Buffer.concat(this.body);
    this.body = [];
    const closeConnection = String(this.getHeader('connection') ?? '').toLowerCase() === 'close';
    this.res.cork(() => {
      this.res.writeStatus(`${this.statusCode} ${STATUS_CODES[this.statusCode] ?? ''}`);
      writeHeaders(this.res, this.headers);
      this.res.end(body, closeConnection);
    });
    this.destroyed = true; // the uWS.js response is gone: nothing more may touch it
    process.nextTick(() => {
      this.emit('finish');
      this.emit('close');
      cb?.();
    });
    return this;
  }

  /** Closes the connection without an answer. */
  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.abortRequest();
    this.res.close();
    this.emit('close');
    return this;
  }

  /** An upload cut off by the client: its request ends too ('close' without `complete`). */
  private abortRequest(): void {
    if (this.request.complete) return;
    // Marked destroyed first: IncomingMessage then ends itself without waiting on a socket stream.
    (this.request.socket as unknown as RequestSocket).destroyed = true;
    this.request.destroy();
  }
}

/** The socket fields the engine and the event server read from a request. */
interface RequestSocket {
  remoteAddress: string;
  encrypted: boolean;
  readable: boolean;
  destroyed: boolean;
  destroy(): void;
}

/** A uWS.js request as `IncomingMessage`: read now, since uWS.js frees it when the handler returns. */
function incomingMessage(req: UwsHttpRequest, res: UwsHttpResponse, secure: boolean): IncomingMessage {
  const socket: RequestSocket = {
    remoteAddress: remoteAddress(res),
    encrypted: secure,
    readable: false,
    destroyed: false,
    destroy() {},
  };
  const request = new IncomingMessage(socket as never);
  request.method = req.getMethod().toUpperCase();
  const query = req.getQuery();
  request.url = query ? `${req.getUrl()}?${query}` : req.getUrl();
  request.httpVersion = '1.1';
  request.httpVersionMajor = 1;
  request.httpVersionMinor = 1;
  const headers: Record<string, string> = {};
  const raw: string[] = [];
  req.forEach((key, value) => {
    raw.push(key, value);
    // Repeated fields are joined as node:http does (RFC 9110 §5.3; cookies with "; ").
    headers[key] = headers[key] === undefined ? value : headers[key] + (key === 'cookie' ? '; ' : ', ') + value;
  });
  request.headers = headers;
  request.rawHeaders = raw;
  return request;
}

function endBody(request: IncomingMessage): void {
  request.complete = true;
  request.push(null);
}

/** The peer's address as node:http reports it (IPv4 peers of a dual-stack socket as `::ffff:a.b.c.d`). */
function remoteAddress(res: UwsHttpResponse): string {
  const text = Buffer.from(res.getRemoteAddressAsText()).toString('latin1');
  // uWS.js writes IPv4-mapped addresses in full (0000:…:ffff:7f00:0001): shorten them.
  const mapped = /^(?:0{1,4}:){5}ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(text);
  if (!mapped) return text;
  const hi = parseInt(mapped[1]!, 16);
  const lo = parseInt(mapped[2]!, 16);
  return `::ffff:${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

function writeHeaders(res: UwsHttpResponse, headers: ReadonlyMap<string, OutgoingHttpHeader>): void {
  for (const [name, value] of headers) {
    if (/^(content-length|connection)$/i.test(name)) continue; // uWS.js writes these itself
    for (const v of Array.isArray(value) ? value : [value]) res.writeHeader(name, String(v));
  }
}
