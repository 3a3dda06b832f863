/**
 * EngineServer: a server of raw Engine.IO v4 sessions, like the `engine.io` package. It checks
 * each request, opens sessions (handshake), routes polling requests and WebSocket upgrades to
 * them, and runs the shared heartbeat and timeout queues.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as schedule } from 'node:timers';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, OutgoingHttpHeaders, Server as HttpServer, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { encodeOpenData } from '../protocol/engineio.js';
import { clientAddress, compileTrust, type ProxyHeader, type TrustFunction, type TrustProxy } from './client-address.js';
import { applyCors, isSameOrigin, originAllowed, type CorsOptions } from './cors.js';
import { ErrorCode, refusal, writeRefusal, writeUpgradeRefusal, type Refusal } from './errors.js';
import { keepSmall, kClientAddress } from './kept-request.js';
import { EngineSocket, flushedPacket, PreparedPacket, type FlushedPacket, type OutPacket, type SessionContext } from './socket.js';
import { runMiddlewares, upgradeResponse, type EngineMiddleware, type UpgradeResponse } from './middleware.js';
import { DelayQueue } from './timers.js';
import { routedSessionId, SessionForwarder, type SessionRouter } from './session-router.js';
import { PollingTransport, WebSocketTransport, type PollingContext } from './transports.js';
import { trackListeners, WATCH_FLUSH } from './watched-events.js';
import { createWebSocketServer, type EngineWebSocket, type EngineWebSocketServer, type UpgradeLink } from './ws-server.js';

export type TransportName = 'polling' | 'websocket';

export interface CookieOptions {
  name?: string;
  path?: string;
  httpOnly?: boolean;
  sameSite?: 'lax' | 'strict' | 'none';
  secure?: boolean;
  /** Seconds. */
  maxAge?: number;
}

export interface EngineOptions {
  /** Where the engine answers (default `/engine.io/`; Socket.IO uses `/socket.io/`). */
  path?: string;
  /** Milliseconds between server pings (default 25000). */
  pingInterval?: number;
  /** Milliseconds to wait for the pong before closing with `ping timeout` (default 20000). */
  pingTimeout?: number;
  /** Milliseconds a WebSocket probe may take to complete the upgrade (default 10000). */
  upgradeTimeout?: number;
  /** Largest message or polling POST body in bytes; advertised as `maxPayload` (default 1e6). */
  maxHttpBufferSize?: number;
  /** Enabled transports (default both). */
  transports?: TransportName[];
  /** Offer the polling → WebSocket upgrade (default true). */
  allowUpgrades?: boolean;
  /** CORS for polling; off (no headers) unless set. */
  cors?: CorsOptions;
  /** Called on every handshake (polling and WebSocket); refuse with `cb('reason', false)` → 403. */
  allowRequest?: (req: IncomingMessage, cb: (err: string | null | undefined, ok: boolean) => void) => void;
  /** permessage-deflate for WebSocket (default false: off). */
  perMessageDeflate?: boolean | Record<string, unknown>;
  /** gzip/deflate polling responses of at least `threshold` bytes (default `{ threshold: 1024 }`). */
  httpCompression?: boolean | { threshold?: number };
  /** Set a session cookie on the polling handshake, for cookie-based sticky load balancers (default off). */
  cookie?: boolean | CookieOptions;
  /** A message sent to every new session right after the open packet. */
  initialPacket?: string | Uint8Array;
  /**
   * Most concurrent sessions (default 100000). At the cap, a polling handshake that was never
   * followed by a request (abandoned, or a flood) makes room for a new one, oldest first; with
   * none of those, further handshakes get 503.
   */
  maxSessions?: number;
  /**
   * Handshakes allowed per client address per window; more get 429 (default false: off, as in
   * socket.io). Behind a proxy, set `trustProxy` first, or every client shares the proxy's address.
   */
  handshakeRate?: false | { max: number; windowMs: number };
  /**
   * Which proxies to believe about the client's address (default false: the TCP peer is the
   * client). `true`, a hop count, addresses/CIDR ranges (`loopback`, `linklocal`, `uniquelocal`
   * too) or a function, as Express's `trust proxy`. The address is read from `proxyHeader`.
   */
  trustProxy?: TrustProxy;
  /** The header trusted proxies write the client address to (default `x-forwarded-for`; or `forwarded`, RFC 7239). */
  proxyHeader?: ProxyHeader;
  /** Bytes queued for one client before it is dropped as too slow (default 16 MiB). */
  maxBufferedBytes?: number;
  /** How long a polling session closed by the server waits for a GET to deliver the close (default 30000). */
  closeTimeout?: number;
  /** Session ids; the default has 144 random bits. Must be unguessable. */
  generateId?: (req: IncomingMessage) => string | Promise<string>;
  /**
   * Also serve Engine.IO protocol v3 clients (socket.io-client 2, engine.io-client 3): handshakes
   * whose `EIO` is not `4` (default false: refused with 400, code 5, as in engine.io).
   */
  allowEIO3?: boolean;
  /**
   * Accepted for engine.io compatibility: the engine answers at its path with or without the
   * trailing slash (`/engine.io/?…` and `/engine.io?…`) whatever the value (default true).
   */
  addTrailingSlash?: boolean;
  /**
   * Serve sessions on any node, without sticky load balancing: requests for another node's session
   * are passed on to it over HTTP (see `createSessionRouter` in `switchboard/adapters/redis`).
   * Session ids then start with this node's id. Default: none (every session is local).
   */
  sessionRouter?: SessionRouter;
}

/** Options of {@link EngineServer.attach} (also accepted by the `attach` and `listen` helpers). */
export interface AttachOptions {
  /** Where the engine answers (overrides the constructor's `path`). */
  path?: string;
  /**
   * Upgrade requests for other paths that nothing answers are ended after
   * `destroyUpgradeTimeout` (default true), as engine.io does; false leaves them to other listeners.
   */
  destroyUpgrade?: boolean;
  /** Milliseconds an unhandled upgrade request may wait for another listener to answer it (default 1000). */
  destroyUpgradeTimeout?: number;
}

/** Payload of the `connection_error` event: one refused request. */
export interface ConnectionError {
  req: IncomingMessage;
  code: number;
  message: string;
  context?: Record<string, unknown>;
}

export interface EngineServerEvents {
  connection: [socket: EngineSocket];
  connection_error: [error: ConnectionError];
  /**
   * Response headers, mutable before they are sent: every polling response and every WebSocket
   * upgrade (the 101) of the engine.
   */
  headers: [headers: OutgoingHttpHeaders, req: IncomingMessage];
  /** Response headers of the first response of a session only (its handshake), before `headers`. */
  initial_headers: [headers: OutgoingHttpHeaders, req: IncomingMessage];
  /** A session hands packets from its write buffer to its transport (engine.io's `flush`). */
  flush: [socket: EngineSocket, packets: FlushedPacket[]];
  /** A session's transport took what was buffered (engine.io's `drain`). */
  drain: [socket: EngineSocket];
}

type Resolved = Required<Omit<EngineOptions, 'cors' | 'allowRequest' | 'initialPacket' | 'cookie' | 'httpCompression' | 'perMessageDeflate' | 'addTrailingSlash' | 'sessionRouter'>> & {
  cors?: CorsOptions;
  allowRequest?: EngineOptions['allowRequest'];
  initialPacket?: string | Uint8Array;
  cookie: false | Required<Omit<CookieOptions, 'maxAge'>> & { maxAge?: number };
  compressionThreshold: number | false;
  perMessageDeflate: false | Record<string, unknown>;
};

const middlewareFailure = (): Refusal => refusal(ErrorCode.BAD_REQUEST, { name: 'MIDDLEWARE_FAILURE' });

const defaultId = (): string => randomBytes(18).toString('base64url');

/** Characters allowed in a header value (RFC 9110 §5.5: field-vchar, SP, HTAB, obs-text). */
const INVALID_HEADER_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * A server of raw Engine.IO sessions that exchange text and binary messages.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { EngineServer } from 'switchboard/engine';
 * const http = createServer();
 * const engine = new EngineServer({ path: '/engine.io/' });
 * engine.attach(http);
 * engine.on('connection', (socket) => socket.on('message', (m) => socket.send(m)));
 * http.listen(3000);
 * ```
 */
export class EngineServer extends EventEmitter<EngineServerEvents> implements SessionContext {
  /**
   * Open sessions by id, as engine.io's object: `engine.clients[id]`, `Object.keys(engine.clients)`.
   * Only session ids are its own properties; count them with {@link clientsCount}.
   */
  readonly clients: Record<string, EngineSocket> = {};
  private sessionCount = 0;
  /** The HTTP server given to {@link attach} (or created by `listen`). */
  httpServer: HttpServer | undefined;
  readonly options: Readonly<Resolved>;
  /** @internal */ readonly pingQueue: DelayQueue<EngineSocket>;
  /** @internal */ readonly pongQueue: DelayQueue<EngineSocket>;
  /** @internal */ readonly upgradeQueue: DelayQueue<EngineSocket>;
  /** @internal */ readonly closeQueue: DelayQueue<EngineSocket>;
  /** @internal v3 sessions: the client pings; it has pingInterval + pingTimeout to do it. */
  readonly clientPingQueue: DelayQueue<EngineSocket>;
  private pathBase: string;
  private wss: EngineWebSocketServer | null = null;
  private readonly pollingContext: PollingContext;
  private rateWindow = -1;
  private readonly handshakesByAddress = new Map<string, number>();
  private closed = false;
  private readonly middlewares: EngineMiddleware[] = [];
  private readonly trust: TrustFunction;
  /** Polling sessions with no request after their handshake, oldest first: evicted first at `maxSessions`. */
  private readonly unconfirmed = new Set<EngineSocket>();
  private readonly forwarder: SessionForwarder | undefined;
  /** The application's `generateId`: it is handed each handshake request. */
  private readonly customId: boolean;

  constructor(options: EngineOptions = {}) {
    super();
    const compression = options.httpCompression ?? true;
    const cookie = options.cookie ?? false;
    this.options = {
      path: options.path ?? '/engine.io/',
      pingInterval: options.pingInterval ?? 25000,
      pingTimeout: options.pingTimeout ?? 20000,
      upgradeTimeout: options.upgradeTimeout ?? 10000,
      maxHttpBufferSize: options.maxHttpBufferSize ?? 1e6,
      transports: options.transports ?? ['polling', 'websocket'],
      allowUpgrades: options.allowUpgrades ?? true,
      cors: options.cors,
      allowRequest: options.allowRequest,
      perMessageDeflate:
        options.perMessageDeflate === true ? { threshold: 1024 } : options.perMessageDeflate || false,
      compressionThreshold: compression === false ? false : compression === true ? 1024 : compression.threshold ?? 1024,
      cookie: cookie === false ? false : {
        name: 'io', path: '/', httpOnly: true, sameSite: 'lax', secure: false,
        ...(cookie === true ? {} : cookie),
      },
      initialPacket: options.initialPacket,
      maxSessions: options.maxSessions ?? 100_000,
      handshakeRate: options.handshakeRate ?? false,
      trustProxy: options.trustProxy ?? false,
      proxyHeader: options.proxyHeader ?? 'x-forwarded-for',
      maxBufferedBytes: options.maxBufferedBytes ?? 16 * 1024 * 1024,
      closeTimeout: options.closeTimeout ?? 30000,
      generateId: options.sessionRouter ? routedIds(options.sessionRouter, this, options.generateId ?? defaultId) : options.generateId ?? defaultId,
      allowEIO3: options.allowEIO3 ?? false,
    };
    if (this.options.proxyHeader !== 'x-forwarded-for' && this.options.proxyHeader !== 'forwarded') {
      throw new TypeError('proxyHeader must be "x-forwarded-for" or "forwarded"');
    }
    this.customId = options.generateId !== undefined;
    this.trust = compileTrust(this.options.trustProxy);
    this.forwarder = options.sessionRouter && new SessionForwarder(options.sessionRouter, this.options.maxHttpBufferSize);
    this.pathBase = normalizePath(this.options.path);
    this.pingQueue = new DelayQueue(this.options.pingInterval, (s) => s.pingDue());
    this.pongQueue = new DelayQueue(this.options.pingTimeout, (s) => s.pongMissed());
    this.upgradeQueue = new DelayQueue(this.options.upgradeTimeout, (s) => s.deadlinePassed());
    this.closeQueue = new DelayQueue(this.options.closeTimeout, (s) => s.deadlinePassed());
    this.clientPingQueue = new DelayQueue(this.options.pingInterval + this.options.pingTimeout, (s) => s.pongMissed());
    this.pollingContext = {
      maxHttpBufferSize: this.options.maxHttpBufferSize,
      compressionThreshold: this.options.compressionThreshold,
      decorateHeaders: (headers, req) => this.decorateHeaders(headers, req),
    };
  }

  /** The resolved options (engine.io's name). */
  get opts(): Readonly<Resolved> {
    return this.options;
  }

  /** Number of open sessions. */
  get clientsCount(): number {
    return this.sessionCount;
  }

  /** The open session with this id, if any (own properties only: no prototype names). */
  private session(id: string): EngineSocket | undefined {
    return Object.hasOwn(this.clients, id) ? this.clients[id] : undefined;
  }

  /** `initial_headers` (handshake responses) then `headers`, only when someone listens. */
  private decorateHeaders(headers: OutgoingHttpHeaders, req: IncomingMessage): void {
    if (this.listenerCount('initial_headers') > 0 && parseQuery(req.url).get('sid') === null) {
      this.emit('initial_headers', headers, req);
    }
    if (this.listenerCount('headers') > 0) this.emit('headers', headers, req);
  }

  /** @internal */
  sessionFlushed(socket: EngineSocket, packets: readonly OutPacket[]): void {
    if (this.listenerCount('flush') > 0) this.emit('flush', socket, packets.map(flushedPacket));
  }

  /** @internal */
  sessionDrained(socket: EngineSocket): void {
    if (this.listenerCount('drain') > 0) this.emit('drain', socket);
  }

  /** @internal `WATCH_FLUSH` once anyone listened for the server's `flush` or `drain` (see trackListeners). */
  watched = 0;

  /** @internal whether anyone listens (or listened) for the server's `flush` or `drain`. */
  get watchesFlush(): boolean {
    return this.watched !== 0;
  }

  get maxBufferedBytes(): number {
    return this.options.maxBufferedBytes;
  }

  /** Encodes a message once for many sessions: pass the result to `socket.sendPrepared`. */
  prepare(data: string | Uint8Array): PreparedPacket {
    return new PreparedPacket(data);
  }

  /**
   * The client's address for a request: the TCP peer's, or what trusted proxies report
   * (`trustProxy`). Computed once per request; sessions keep it as `remoteAddress`, and
   * `socket.handshake.address` is that value. Use it in `allowRequest` or middlewares too.
   */
  clientAddress(req: IncomingMessage): string {
    const cached = (req as AddressedRequest)[kClientAddress];
    if (cached !== undefined) return cached;
    const address = clientAddress(req.socket?.remoteAddress, req.headers, this.trust, this.options.proxyHeader);
    (req as AddressedRequest)[kClientAddress] = address;
    return address;
  }

  /**
   * True when the request URL is the engine's path or under it: the path is a prefix, as in
   * engine.io, so `/socket.io/anything/?EIO=4&transport=polling` and its preflights are answered
   * by the engine (a handshake, a CORS answer or a protocol refusal), not left to other routes.
   */
  matches(url: string | undefined): boolean {
    if (!url) return false;
    const query = url.indexOf('?');
    const pathname = query === -1 ? url : url.slice(0, query);
    const base = this.pathBase;
    return pathname === base || pathname.startsWith(base.endsWith('/') ? base : base + '/');
  }

  /**
   * Answers one engine HTTP request (polling or refusal). Does not check the path: route to it
   * yourself, or use {@link attach} / {@link middleware}.
   */
  readonly handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (this.forwarder?.request(req, res)) return; // another node's session
    const query = parseQuery(req.url);
    const verify = () =>
      this.verify(req, query, false, (error, id) => {
        if (error) return this.refuse(req, error, (e) => writeRefusal(res, e));
        const sid = query.get('sid');
        if (sid) {
          const session = this.session(sid)!;
          this.unconfirmed.delete(session);
          (session.transport as PollingTransport).handleRequest(req, res);
        } else {
          this.openPolling(req, res, id!);
        }
      });
    const proceed = () => this.afterMiddlewares(req, res, (e) => writeRefusal(res, e), verify);
    if (!this.options.cors) return proceed();
    applyCors(this.options.cors, req, res, (answered) => {
      if (!answered) proceed();
    });
  };

  /** Handles an HTTP upgrade request for the engine (WebSocket transport). */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.acceptUpgrade(req, socket, head, false);
  };

  /** `unseen`: no code but the engine's has seen `req` (see {@link upgrade}). */
  private acceptUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, unseen: boolean): void {
    // A shared listener: a closure here would keep this whole scope (query, req) alive per connection.
    socket.on('error', destroySocket);
    if (this.forwarder?.upgrade(req, socket, head)) return; // another node's session
    this.upgrade(req, {
      response: () => upgradeResponse(req, socket),
      refuse: (e) => writeUpgradeRefusal(socket, e),
      accept: (cb) => {
        this.wss ??= createWebSocketServer({
          maxPayload: this.options.maxHttpBufferSize,
          perMessageDeflate: this.options.perMessageDeflate,
          maxBufferedAmount: this.options.maxBufferedBytes * 2,
        });
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          // The WebSocket handles the socket's errors now: one listener less per connection.
          socket.off('error', destroySocket);
          cb(ws);
        });
      },
    }, unseen);
  }

  /**
   * @internal An upgrade request, whatever server carries its connection: middlewares, checks,
   * the 101's headers, then the WebSocket from `link` joins a session. `unseen`: no code but the
   * engine's saw `req` before; a session it opens may then keep it in its small form when no
   * application code gets it here either (middlewares, `allowRequest`, `generateId`, header
   * listeners), since nothing outside can tell the rebuilt request from the original.
   */
  upgrade(req: IncomingMessage, link: UpgradeLink, unseen = false): void {
    const query = parseQuery(req.url);
    const unshared = unseen && this.middlewares.length === 0 && !this.options.allowRequest && !this.customId;
    const verify = () =>
      this.verify(req, query, true, (error, id) => {
        if (error) return this.refuse(req, error, link.refuse);
        // A WebSocket-only handshake opens a session here: its cookie goes with the 101.
        const { cookie } = this.options;
        if (cookie && id !== undefined) link.response().setHeader('Set-Cookie', serializeCookie(cookie, id));
        const decorated = this.listenerCount('headers') > 0 || this.listenerCount('initial_headers') > 0;
        if (decorated) this.decorateUpgrade(req, link.response());
        const small = unshared && !decorated;
        link.accept((ws) => this.onWebSocket(req, query.get('sid'), id, ws, small));
      });
    if (this.middlewares.length === 0) return verify(); // no response stand-in needed
    this.afterMiddlewares(req, link.response(), link.refuse, verify);
  }

  /**
   * Lets `initial_headers` / `headers` listeners see and change the headers of a 101 answer, as
   * an object like a polling response's; what they set goes through the same header checks.
   */
  private decorateUpgrade(req: IncomingMessage, response: UpgradeResponse): void {
    const headers: OutgoingHttpHeaders = response.getHeaders();
    this.decorateHeaders(headers, req);
    for (const name of Object.keys(headers)) {
      const value = headers[name];
      if (value === undefined) response.removeHeader(name);
      else response.setHeader(name, typeof value === 'number' ? String(value) : value);
    }
  }

  /** Runs the `use` middlewares, then `verify` unless one failed (400) or answered the request itself. */
  private afterMiddlewares(
    req: IncomingMessage,
    res: ServerResponse | UpgradeResponse,
    answer: (error: Refusal) => void,
    verify: () => void,
  ): void {
    if (this.middlewares.length === 0) return verify();
    runMiddlewares(this.middlewares, req, res as ServerResponse, (err) => {
      if (err !== undefined) return this.refuse(req, middlewareFailure(), answer);
      if (!res.writableEnded) verify();
    });
  }

  /**
   * Adds a Connect/Express-style middleware for the engine's HTTP requests: every polling request
   * and every WebSocket upgrade request, after CORS and before the protocol checks (as engine.io's
   * `use`). `next(err)` refuses the request (400, `MIDDLEWARE_FAILURE`); a middleware may also
   * answer itself. On upgrades `res` is a small stand-in: headers it sets go into the 101 answer.
   *
   * @example
   * ```ts
   * import { EngineServer } from 'switchboard/engine';
   * const engine = new EngineServer();
   * engine.use((req, res, next) => {
   *   res.setHeader('X-Served-By', 'switchboard');
   *   next(req.headers['x-token'] === 'secret' ? undefined : new Error('no token'));
   * });
   * ```
   */
  use(middleware: EngineMiddleware): this {
    this.middlewares.push(middleware);
    return this;
  }

  /**
   * Takes over the engine's path on an `http`/`https` server: its `request` and `upgrade`
   * events for that path; every other route goes to the listeners it already had.
   */
  attach(server: HttpServer, options: AttachOptions = {}): this {
    this.httpServer = server;
    if (options.path) this.pathBase = normalizePath(options.path);
    const destroyUpgrade = options.destroyUpgrade ?? true;
    const destroyUpgradeTimeout = options.destroyUpgradeTimeout ?? 1000;
    const previous = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
    server.removeAllListeners('request');
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      if (this.matches(req.url)) this.handleRequest(req, res);
      else for (const listener of previous) listener.call(server, req, res);
    };
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // With no other `upgrade` listener, no code but the engine's has seen the request.
      if (this.matches(req.url)) this.acceptUpgrade(req, socket, head, server.listenerCount('upgrade') === 1);
      else if (!destroyUpgrade) return;
      else if (server.listenerCount('upgrade') === 1) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      // Another listener may answer it; an upgrade nobody answered in time would hold a socket forever.
      else schedule(() => endUnanswered(socket), destroyUpgradeTimeout).unref();
    };
    server.on('request', onRequest);
    server.on('upgrade', onUpgrade);
    return this;
  }

  /** Express/Connect-style middleware: handles the engine's path, `next()` for anything else. */
  middleware(): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
    return (req, res, next) => {
      if (this.matches(req.url)) this.handleRequest(req, res);
      else next();
    };
  }

  /**
   * Closes every session (`forced close`). Requests that still arrive for the engine's path
   * (clients racing the shutdown) are answered with 503 rather than left hanging.
   */
  close(): void {
    this.closed = true;
    for (const session of Object.values(this.clients)) session.close(true);
    for (const queue of [this.pingQueue, this.pongQueue, this.upgradeQueue, this.closeQueue, this.clientPingQueue]) queue.clear();
    this.wss?.close();
    this.forwarder?.close();
    this.wss = null;
  }

  /** @internal */
  sessionClosed(socket: EngineSocket): void {
    if (this.session(socket.id) === socket) {
      delete this.clients[socket.id];
      this.sessionCount--;
    }
    this.unconfirmed.delete(socket);
  }

  // ---- request checks (order as the reference server: transport, origin, session or handshake) ----

  private verify(
    req: IncomingMessage,
    query: URLSearchParams,
    upgrade: boolean,
    cb: (error: Refusal | null, id?: string) => void,
  ): void {
    if (this.closed) return cb(refusal(ErrorCode.BAD_REQUEST, { name: 'SERVER_CLOSED' }, 'Server is closing', 503));
    const transport = query.get('transport');
    if (transport === null || !(this.options.transports as string[]).includes(transport)) {
      return cb(refusal(ErrorCode.UNKNOWN_TRANSPORT, { transport }));
    }
    const origin = req.headers.origin;
    if (origin !== undefined && INVALID_HEADER_CHAR.test(origin)) {
      return cb(refusal(ErrorCode.BAD_REQUEST, { name: 'INVALID_ORIGIN', origin }));
    }
    // Secure by default: a browser page from another site may not open sessions (WebSocket is not
    // subject to CORS, so the check is ours) until that origin is allowed through `cors.origin`.
    if (origin !== undefined && req.method !== 'OPTIONS' && !isSameOrigin(origin, req)) {
      return originAllowed(this.options.cors, origin, (ok) => {
        if (!ok) return cb(refusal(ErrorCode.FORBIDDEN, { name: 'ORIGIN_NOT_ALLOWED', origin }, 'Origin not allowed'));
        this.verifyRequest(req, query, upgrade, transport, cb);
      });
    }
    this.verifyRequest(req, query, upgrade, transport, cb);
  }

  private verifyRequest(
    req: IncomingMessage,
    query: URLSearchParams,
    upgrade: boolean,
    transport: string,
    cb: (error: Refusal | null, id?: string) => void,
  ): void {
    // The revision is chosen at the handshake; later requests of a session use the session's.
    // As engine.io: any `EIO` other than 4 (or none) means v3, refused unless `allowEIO3`.
    if (query.get('sid') === null && query.get('EIO') !== '4' && !this.options.allowEIO3) {
      return cb(refusal(ErrorCode.UNSUPPORTED_PROTOCOL_VERSION, { protocol: 3 }));
    }
    if (upgrade !== (transport === 'websocket')) {
      return cb(refusal(ErrorCode.BAD_REQUEST, { name: upgrade ? 'UPGRADE_NOT_WEBSOCKET' : 'WEBSOCKET_WITHOUT_UPGRADE' }));
    }
    const sid = query.get('sid');
    if (sid !== null) {
      const session = this.session(sid);
      if (!session) return cb(refusal(ErrorCode.UNKNOWN_SID, { sid }));
      if (!upgrade && session.transport.name !== transport) {
        return cb(refusal(ErrorCode.BAD_REQUEST, { name: 'TRANSPORT_MISMATCH', transport, previousTransport: session.transport.name }));
      }
      // A second WebSocket for a session that is already on (or probing) WebSocket completes its
      // handshake and is closed at once in onWebSocket, the session untouched: what the reference
      // server does and the engine.io-protocol suite expects ("ignores WebSocket connection with
      // same sid after upgrade").
      if (upgrade) this.unconfirmed.delete(session);
      if (upgrade && (session.transport.name !== 'polling' || session.upgrading)) return cb(null);
      if (upgrade && (!this.options.allowUpgrades || session.readyState !== 'open')) {
        return cb(refusal(ErrorCode.BAD_REQUEST, { name: 'UPGRADE_REFUSED', sid }));
      }
      return cb(null);
    }
    if (req.method !== 'GET') return cb(refusal(ErrorCode.BAD_HANDSHAKE_METHOD, { method: req.method }));
    if (this.sessionCount >= this.options.maxSessions && !this.evictUnconfirmed()) {
      return cb(refusal(ErrorCode.BAD_REQUEST, { name: 'TOO_MANY_SESSIONS' }, 'Too many sessions', 503));
    }
    if (!this.admitHandshake(req)) {
      return cb(refusal(ErrorCode.BAD_REQUEST, { name: 'HANDSHAKE_RATE' }, 'Too many handshakes', 429));
    }
    const { allowRequest } = this.options;
    if (!allowRequest) return this.newId(req, cb);
    let settled = false;
    const decided = (err: string | null | undefined, ok: boolean) => {
      if (settled) return;
      settled = true;
      if (!ok) return cb(refusal(ErrorCode.FORBIDDEN, { name: 'REQUEST_REFUSED' }, err ?? undefined));
      this.newId(req, cb);
    };
    try {
      allowRequest(req, decided);
    } catch (error) {
      decided(null, false);
    }
  }

  /**
   * Makes room at `maxSessions` by closing the oldest polling session that never came back after
   * its handshake. Such sessions cost a client nothing to open, so they must not be able to lock
   * out new clients until the heartbeat reaps them (pingInterval + pingTimeout, 45 s by default).
   */
  private evictUnconfirmed(): boolean {
    for (const session of this.unconfirmed) {
      this.unconfirmed.delete(session);
      session.close(true);
      return true;
    }
    return false;
  }

  /** Fixed-window count of handshakes per client address; the map is emptied each window. */
  private admitHandshake(req: IncomingMessage): boolean {
    const rate = this.options.handshakeRate;
    if (!rate) return true;
    const window = Math.floor(performance.now() / rate.windowMs);
    if (window !== this.rateWindow) {
      this.rateWindow = window;
      this.handshakesByAddress.clear();
    }
    const address = this.clientAddress(req);
    const count = (this.handshakesByAddress.get(address) ?? 0) + 1;
    this.handshakesByAddress.set(address, count);
    return count <= rate.max;
  }

  private newId(req: IncomingMessage, cb: (error: Refusal | null, id?: string) => void): void {
    const bad = (error: unknown) => cb(refusal(ErrorCode.BAD_REQUEST, { name: 'ID_GENERATION_ERROR', error }));
    try {
      const id = this.options.generateId(req);
      if (typeof id === 'string') return cb(null, id);
      id.then((value) => cb(null, String(value)), bad);
    } catch (error) {
      bad(error);
    }
  }

  private refuse(req: IncomingMessage, error: Refusal, answer: (error: Refusal) => void): void {
    if (this.listenerCount('connection_error') > 0) {
      this.emit('connection_error', { req, code: error.code, message: error.message, context: error.context });
    }
    answer(error);
  }

  // ---- sessions ----

  /** `small`: the session may keep the request in its small form (see KeptRequest). */
  private openSession(id: string, req: IncomingMessage, transport: PollingTransport | WebSocketTransport, small = false): EngineSocket {
    const address = this.clientAddress(req);
    const session = new EngineSocket(id, (small && keepSmall(req)) || req, this, transport, address, handshakeProtocol(req));
    transport.socket = session;
    // Defined, not assigned: any id (even `__proto__`) stays an own data property.
    Object.defineProperty(this.clients, id, { value: session, enumerable: true, configurable: true, writable: true });
    this.sessionCount++;
    const upgrades =
      transport.name === 'polling' && this.options.allowUpgrades && this.options.transports.includes('websocket')
        ? ['websocket']
        : [];
    session.sendPacket('open', encodeOpenData({
      sid: id,
      upgrades,
      pingInterval: this.options.pingInterval,
      pingTimeout: this.options.pingTimeout,
      maxPayload: this.options.maxHttpBufferSize,
    }));
    if (this.options.initialPacket !== undefined) session.sendPacket('message', this.options.initialPacket);
    return session;
  }

  private openPolling(req: IncomingMessage, res: ServerResponse, id: string): void {
    const transport = new PollingTransport(this.pollingContext);
    const session = this.openSession(id, req, transport);
    this.unconfirmed.add(session);
    const { cookie } = this.options;
    if (cookie) res.setHeader('Set-Cookie', serializeCookie(cookie, id));
    this.emit('connection', session);
    if (session.readyState === 'closed') {
      writeRefusal(res, refusal(ErrorCode.UNKNOWN_SID, { sid: id }));
      return;
    }
    transport.handleRequest(req, res);
  }

  private onWebSocket(req: IncomingMessage, sid: string | null, id: string | undefined, ws: EngineWebSocket, small: boolean): void {
    if (sid === null) {
      this.emit('connection', this.openSession(id!, req, new WebSocketTransport(ws), small));
      return;
    }
    // Re-checked: the session may have changed while the WebSocket handshake ran. The extra
    // connection is only closed; the session and its current transport are left alone.
    const session = this.session(sid);
    if (!session || session.readyState !== 'open' || session.transport.name !== 'polling' || session.upgrading) {
      ws.close(1008, 'upgrade refused'); // RFC 6455 §7.4.1: policy violation, the generic refusal
      return;
    }
    const transport = new WebSocketTransport(ws);
    transport.socket = session;
    session.startProbe(transport);
  }
}

trackListeners(EngineServer.prototype, { flush: WATCH_FLUSH, drain: WATCH_FLUSH });

type AddressedRequest = IncomingMessage & { [kClientAddress]?: string };

function destroySocket(this: Duplex): void {
  this.destroy();
}

/** An upgrade for another path that no listener answered (nothing written to it): end it. */
function endUnanswered(socket: Duplex & { bytesWritten?: number }): void {
  if (socket.writable && !socket.bytesWritten) {
    socket.on('error', destroySocket);
    socket.end();
  }
}



/** Ids minted once the router made this node findable: `<nodeId>.<id from generate>`. */
function routedIds(router: SessionRouter, engine: EngineServer, generate: (req: IncomingMessage) => string | Promise<string>) {
  return async (req: IncomingMessage): Promise<string> => {
    await router.register(engine);
    return routedSessionId(router, String(await generate(req)));
  };
}

/** The Engine.IO revision a handshake asks for: 4 only when `EIO=4`, else 3 (engine.io's rule). */
function handshakeProtocol(req: IncomingMessage): 3 | 4 {
  return parseQuery(req.url).get('EIO') === '4' ? 4 : 3;
}

/** `/socket.io/` → `/socket.io`: the path without its trailing slashes. */
export function normalizePath(path: string): string {
  let base = path.startsWith('/') ? path : '/' + path;
  while (base.length > 1 && base.endsWith('/')) base = base.slice(0, -1);
  return base;
}

function parseQuery(url: string | undefined): URLSearchParams {
  const start = url ? url.indexOf('?') : -1;
  return new URLSearchParams(start === -1 ? '' : url!.slice(start + 1));
}

function serializeCookie(cookie: Exclude<Resolved['cookie'], false>, value: string): string {
  let out = `${cookie.name}=${encodeURIComponent(value)}; Path=${cookie.path}`;
  if (cookie.maxAge !== undefined) out += `; Max-Age=${Math.floor(cookie.maxAge)}`;
  if (cookie.httpOnly) out += '; HttpOnly';
  if (cookie.secure) out += '; Secure';
  out += `; SameSite=${cookie.sameSite[0]!.toUpperCase()}${cookie.sameSite.slice(1)}`;
  return out;
}
