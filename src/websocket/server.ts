/**
 * WebSocketServer: accepts RFC 6455 upgrades on its own port, on an existing `http`/`https` server,
 * or through {@link WebSocketServer.handleUpgrade} for frameworks (`noServer`).
 */
import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import type * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  acceptKey,
  buildErrorResponse,
  checkUpgradeRequest,
  headerValue,
} from '../protocol/ws-handshake.js';
import { negotiateDeflate, parseExtensions, type DeflateParams } from '../protocol/ws-extensions.js';
import type { PerMessageDeflateOptions } from './deflate.js';
import { Heartbeat, type HeartbeatOptions } from './heartbeat.js';
import { addDeadline, cancelDeadline, type Deadline, type DeadlineTarget } from './timers.js';
import { WebSocket, resolveSettings, type AttachOptions, type ConnectionOptions, type ConnectionSettings, type ConnectionTracker } from './websocket.js';

/** A handshake refusal chosen by `verifyClient`. */
export interface HandshakeRejection {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

/** What `verifyClient` may return: true to accept, false for 401, or a rejection with status and body. */
export type VerifyClientResult = boolean | HandshakeRejection | undefined;

/** What `verifyClient` is given, as in ws. */
export interface VerifyClientInfo {
  /** `Origin` (`Sec-WebSocket-Origin` for protocol version 8). */
  origin: string | undefined;
  /** Whether the connection is TLS. */
  secure: boolean;
  req: http.IncomingMessage;
}

/** The callback of the two-argument `verifyClient`: accept, or refuse with a status (default 401), message and headers. */
export type VerifyClientCallback = (result: boolean, code?: number, message?: string, headers?: Record<string, string>) => void;

/** Options of {@link WebSocketServer}. Exactly one of `port`, `server` or `noServer` is required. */
export interface ServerOptions extends ConnectionOptions {
  /** Listen on this port with an internal HTTP server (0 picks a free port). */
  port?: number;
  /** Host for `port`. */
  host?: string;
  /** Listen backlog for `port`. */
  backlog?: number;
  /** Attach to the `upgrade` event of an existing HTTP(S) server. */
  server?: http.Server | https.Server;
  /** No HTTP server: call {@link WebSocketServer.handleUpgrade} yourself. */
  noServer?: boolean;
  /** Only accept upgrades for this path (query string ignored). */
  path?: string;
  /** Accept permessage-deflate offers. Default false (compression costs memory; see README). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Picks a subprotocol from the client's list; false for none. Default: the first offered. */
  handleProtocols?: (protocols: Set<string>, req: http.IncomingMessage) => string | false;
  /**
   * Accepts or rejects a handshake (origin, auth, ...), as in ws: `(info) => boolean`, or
   * `(info, callback)` to decide asynchronously. May also return a Promise or a
   * {@link HandshakeRejection}. Default: accept.
   */
  verifyClient?: (info: VerifyClientInfo, callback: VerifyClientCallback) => VerifyClientResult | Promise<VerifyClientResult> | void;
  /** Ping every `interval` ms and terminate peers that do not answer within `timeout`. Default off. */
  heartbeat?: HeartbeatOptions | false;
  /** Refuse upgrades with 503 beyond this many open connections. Default unlimited. */
  maxConnections?: number;
  /** Milliseconds an asynchronous `verifyClient` may take before the upgrade is refused with 503. Default 10000. */
  handshakeTimeout?: number;
  /** Keep connections in {@link WebSocketServer.clients} (otherwise `clients` is undefined). Default true. */
  clientTracking?: boolean;
  /** The class of server-side connections: {@link WebSocket} or a subclass of it. */
  WebSocket?: typeof WebSocket;
}

const RUNNING = 0;
const CLOSING = 1;
const CLOSED = 2;

type UpgradedSocket = Duplex & { _switchboardUpgrade?: boolean };

function onHandshakeSocketError(this: Duplex): void {
  this.destroy();
}

/** Ends a handshake with an HTTP error response (the body defaults to the status text, as ws). */
function abortHandshake(socket: Duplex, status: number, body?: string, headers?: Record<string, string>): void {
  body ||= http.STATUS_CODES[status] ?? '';
  socket.removeListener('error', onHandshakeSocketError);
  socket.on('error', onHandshakeSocketError);
  if (socket.writable) {
    socket.once('finish', () => socket.destroy());
    socket.end(buildErrorResponse(status, body, headers));
  } else {
    socket.destroy();
  }
}

function isPromiseLike<T>(value: unknown): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === 'function';
}

/** A pending asynchronous `verifyClient`, refused when the handshake timeout passes. */
class PendingHandshake implements DeadlineTarget {
  deadline: Deadline | null = null;
  done = false;
  constructor(readonly socket: Duplex) {}
  onDeadline(): void {
    this.deadline = null;
    if (this.done) return;
    this.done = true;
    abortHandshake(this.socket, 503, 'Handshake timed out');
  }
}

/** Typed EventEmitter events of {@link WebSocketServer}. */
export interface WebSocketServer {
  /** A client completed the handshake: its WebSocket and the upgrade request. */
  on(event: 'connection', listener: (ws: WebSocket, req: http.IncomingMessage) => void): this;
  /** The 101 response's header lines, before they are written: push to add headers. */
  on(event: 'headers', listener: (headers: string[], req: http.IncomingMessage) => void): this;
  /** The server listens (with `port`), or has closed. */
  on(event: 'listening' | 'close', listener: () => void): this;
  /** An error of the underlying HTTP server. */
  on(event: 'error', listener: (error: Error) => void): this;
  /** Any other event, as on an EventEmitter. */
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  /** Like `on('connection')`, for the next time only. */
  once(event: 'connection', listener: (ws: WebSocket, req: http.IncomingMessage) => void): this;
  /** Like `on('headers')`, for the next time only. */
  once(event: 'headers', listener: (headers: string[], req: http.IncomingMessage) => void): this;
  /** Like `on('listening')` / `on('close')`, for the next time only. */
  once(event: 'listening' | 'close', listener: () => void): this;
  /** Like `on('error')`, for the next time only. */
  once(event: 'error', listener: (error: Error) => void): this;
  /** Like `on`, for the next time only. */
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

/**
 * A WebSocket server, API-compatible with `ws`'s `WebSocketServer`.
 *
 * @example
 * const wss = new WebSocketServer({ port: 8080 });
 * wss.on('connection', (ws, req) => {
 *   ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
 * });
 *
 * @example noServer, sharing one HTTP server
 * const wss = new WebSocketServer({ noServer: true });
 * server.on('upgrade', (req, socket, head) => {
 *   wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
 * });
 */
export class WebSocketServer extends EventEmitter implements ConnectionTracker {
  /** Open connections; undefined with `clientTracking: false` (as ws). */
  readonly clients!: Set<WebSocket>;
  readonly options: Readonly<ServerOptions>;
  private readonly _server: http.Server | https.Server | null;
  private readonly _ownsServer: boolean;
  private readonly _deflateOptions: PerMessageDeflateOptions | null;
  private readonly _heartbeat: Heartbeat | null;
  private readonly _settings: ConnectionSettings;
  private _state = RUNNING;
  private _connections = 0;
  private _pending = 0;
  private readonly _onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!this.shouldHandle(req) && this._server!.listenerCount('upgrade') > 1) return; // someone else's path
    this.handleUpgrade(req, socket, head, (ws) => this.emit('connection', ws, req));
  };
  private readonly _onListening = (): void => {
    this.emit('listening');
  };
  private readonly _onError = (error: Error): void => {
    this.emit('error', error);
  };

  constructor(options: ServerOptions = {}, callback?: () => void) {
    super();
    const modes = Number(options.port != null) + Number(options.server != null) + Number(options.noServer === true);
    if (modes !== 1) throw new TypeError('One and only one of the "port", "server", or "noServer" options must be specified');
    this.options = { ...options };
    if (options.clientTracking !== false) (this as { clients: Set<WebSocket> }).clients = new Set();
    this._settings = resolveSettings(options);
    this._deflateOptions = options.perMessageDeflate ? (options.perMessageDeflate === true ? {} : options.perMessageDeflate) : null;
    if (this._deflateOptions !== null) negotiateDeflate([], this._deflateOptions); // validates the window bits now
    if (options.port != null) {
      const server = http.createServer((_req, res) => {
        const body = 'Upgrade Required';
        res.writeHead(426, { 'Content-Length': body.length, 'Content-Type': 'text/plain' });
        res.end(body);
      });
      this._server = server;
      this._ownsServer = true;
      server.listen(options.port, options.host, options.backlog, callback);
    } else {
      this._server = options.server ?? null;
      this._ownsServer = false;
    }
    if (this._server !== null) {
      this._server.on('listening', this._onListening);
      this._server.on('error', this._onError);
      this._server.on('upgrade', this._onUpgrade);
    }
    this._heartbeat = options.heartbeat ? new Heartbeat(options.heartbeat, () => this.clients) : null;
    if (this._heartbeat !== null) {
      if (options.clientTracking === false) throw new TypeError('heartbeat needs clientTracking');
      this._heartbeat.start();
    }
  }

  /** The address of the underlying server (not available with `noServer`). */
  address(): AddressInfo | string | null {
    if (this._server === null) throw new Error('The server is operating in "noServer" mode');
    return this._server.address();
  }

  /** Whether `req` targets this server's `path` (always true without a path). */
  shouldHandle(req: http.IncomingMessage): boolean {
    const path = this.options.path;
    if (path === undefined) return true;
    const url = req.url ?? '';
    const query = url.indexOf('?');
    return (query === -1 ? url : url.slice(0, query)) === path;
  }

  /**
   * Completes (or refuses, with 400/426/401/503 or the status `verifyClient` chose) the upgrade of
   * an HTTP request. `cb` receives the open connection.
   */
  handleUpgrade(
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    cb: (ws: WebSocket, req: http.IncomingMessage) => void,
  ): void {
    socket.on('error', onHandshakeSocketError);
    const upgraded = socket as UpgradedSocket;
    if (upgraded._switchboardUpgrade) {
      throw new Error('server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration');
    }
    upgraded._switchboardUpgrade = true;

    if (this._state !== RUNNING) return abortHandshake(socket, 503);
    const check = checkUpgradeRequest(req);
    if (!check.ok) return this._clientError(req, socket, check.status, check.reason, check.headers);
    if (!this.shouldHandle(req)) return abortHandshake(socket, 400);
    const max = this.options.maxConnections;
    if (max !== undefined && this._connections + this._pending >= max) {
      return abortHandshake(socket, 503, 'Too many connections');
    }

    let deflate: { params: DeflateParams; response: string } | null = null;
    if (this._deflateOptions !== null && check.extensions !== undefined) {
      try {
        deflate = negotiateDeflate(parseExtensions(check.extensions), this._deflateOptions);
      } catch {
        return this._clientError(req, socket, 400, 'Invalid or unacceptable Sec-WebSocket-Extensions header');
      }
    }

    const complete = (): void => {
      if (!socket.readable || !socket.writable) {
        socket.destroy();
        return;
      }
      let protocol: string | undefined;
      if (check.protocols.size > 0) {
        const chosen = this.options.handleProtocols
          ? this.options.handleProtocols(check.protocols, req)
          : check.protocols.values().next().value;
        // As ws, what handleProtocols returns is sent even if not offered (the client then fails).
        if (typeof chosen === 'string' && chosen !== '') protocol = chosen;
      }
      const lines = [
        'HTTP/1.1 101 Switching Protocols',
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Accept: ${acceptKey(check.key)}`,
      ];
      if (protocol !== undefined) lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
      if (deflate !== null) lines.push(`Sec-WebSocket-Extensions: ${deflate.response}`);
      this.emit('headers', lines, req);
      socket.write(lines.join('\r\n') + '\r\n\r\n');
      socket.removeListener('error', onHandshakeSocketError);

      const ws = new (this.options.WebSocket ?? WebSocket)(null, undefined, this.options as never);
      const attach: AttachOptions = {
        isServer: true,
        settings: this._settings,
        tracker: this,
        deflate: deflate !== null ? { params: deflate.params, options: this._deflateOptions! } : undefined,
      };
      if (protocol !== undefined) attach.protocol = protocol;
      ws._setSocket(socket, head, attach);
      this._connections++;
      this.clients?.add(ws);
      cb(ws, req);
    };

    const verify = this.options.verifyClient;
    if (verify === undefined) return complete();
    const decide = (result: VerifyClientResult): void => {
      if (result === true || result === undefined) complete();
      else if (result === false) abortHandshake(socket, 401);
      else abortHandshake(socket, result.status, result.body, result.headers);
    };
    const info: VerifyClientInfo = {
      origin: headerValue(req.headers, check.version === 8 ? 'sec-websocket-origin' : 'origin'),
      secure: Boolean((req.socket as { authorized?: boolean; encrypted?: boolean }).authorized || (req.socket as { encrypted?: boolean }).encrypted),
      req,
    };
    let result: VerifyClientResult | Promise<VerifyClientResult>;
    try {
      if (verify.length === 2) {
        // ws's asynchronous form: the callback decides.
        result = new Promise<VerifyClientResult>((resolve) => {
          verify(info, (verified, code, message, headers) => {
            resolve(verified ? true : { status: code || 401, body: message ?? '', ...(headers ? { headers } : {}) });
          });
        });
      } else {
        result = (verify as (info: VerifyClientInfo) => VerifyClientResult | Promise<VerifyClientResult>)(info);
      }
    } catch {
      return abortHandshake(socket, 500);
    }
    if (!isPromiseLike<VerifyClientResult>(result)) return decide(result);
    const pending = new PendingHandshake(socket);
    pending.deadline = addDeadline(this.options.handshakeTimeout ?? 10_000, pending, 0);
    this._pending++;
    const settle = (outcome: () => void): void => {
      this._pending--;
      cancelDeadline(pending.deadline);
      if (pending.done) return;
      pending.done = true;
      if (this._state !== RUNNING) return abortHandshake(socket, 503);
      outcome();
    };
    result.then(
      (value) => settle(() => decide(value)),
      () => settle(() => abortHandshake(socket, 500)),
    );
  }

  /** A request that is not a valid upgrade: 'wsClientError' when listened to (as ws), else the HTTP answer. */
  private _clientError(req: http.IncomingMessage, socket: Duplex, status: number, reason: string, headers?: Record<string, string>): void {
    if (this.listenerCount('wsClientError') === 0) return abortHandshake(socket, status, reason, headers);
    this.emit('wsClientError', new Error(reason), socket, req);
  }

  /**
   * Stops accepting connections, closes open ones with 1001 (going away), and calls `cb` once
   * everything is closed. The internal HTTP server (port mode) is closed too; an external one is not.
   */
  close(cb?: (error?: Error) => void): void {
    // As ws: closing a server that is already closed calls back with an error.
    const notRunning = this._state === CLOSED;
    if (cb) this.once('close', () => (notRunning ? cb(new Error('The server is not running')) : cb()));
    if (this._state !== RUNNING) {
      if (this._state === CLOSED) process.nextTick(() => this.emit('close'));
      return;
    }
    this._state = CLOSING;
    this._heartbeat?.stop();
    if (this._server !== null) {
      this._server.off('listening', this._onListening);
      this._server.off('error', this._onError);
      this._server.off('upgrade', this._onUpgrade);
    }
    if (this.clients !== undefined) for (const ws of this.clients) ws.close(1001);
    if (this._ownsServer) {
      this._server!.close(() => this._maybeClosed());
      (this._server as http.Server).closeIdleConnections?.();
    }
    process.nextTick(() => this._maybeClosed());
  }

  /** @internal */
  _connectionClosed(ws: WebSocket): void {
    this._connections--;
    this.clients?.delete(ws);
    if (this._state === CLOSING) this._maybeClosed();
  }

  private _maybeClosed(): void {
    if (this._state !== CLOSING || this._connections > 0) return;
    if (this._ownsServer && this._server!.listening) return;
    this._state = CLOSED;
    this.emit('close');
  }
}
