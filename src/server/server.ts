import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Http2SecureServer } from 'node:http2';
import { DEFAULT_MAX_ATTACHMENTS, DEFAULT_MAX_DEPTH, RESERVED_EVENTS } from '../protocol/socketio.js';
import { DEFAULT_RETRY_WINDOW_AGE, DEFAULT_RETRY_WINDOW_BYTES, RecentAcks, type RetryWindowOptions } from './recent-acks.js';
import { Adapter, type Room, type SocketId } from './adapter.js';
import type { BroadcastOperator, RemoteSocket } from './broadcast.js';
import { Client } from './client.js';
import { createCodec, type PacketCodec, type ParserModule } from '../protocol/codec.js';
import { TypedEmitter } from './emitter.js';
import { attachEngineToApp, createEngine, prepareMessage, type Engine, type EngineOptions, type PreparedMessage, type UwsApp, type UwsAttachOptions } from './engine.js';
import { Namespace, ParentNamespace, type Middleware, type ServerSideEmitArgs } from './namespace.js';
import type { Socket } from './socket.js';
import { Timeouts } from './timeouts.js';
import { createClientBundleHandler } from '../client/serve.js';
import type {
  AckResult,
  ArgsWithoutAck,
  DecorateAcknowledgementsWithMultipleResponses,
  DefaultEventsMap,
  EventNames,
  EventNamesWithAck,
  EventParams,
  EventsMap,
  RemoveAcknowledgements,
  ReservedOrUserEventNames,
  ReservedOrUserListener,
} from './typed-events.js';

export type AdapterConstructor = new (nsp: Namespace<any, any, any, any>) => Adapter;

export interface ConnectionStateRecoveryOptions {
  /** How long a disconnected client may come back and recover (ms, default 120000). */
  maxDisconnectionDuration?: number;
  /** Skip namespace middlewares for a recovered socket (default true). */
  skipMiddlewares?: boolean;
}

export interface ServerOptions extends EngineOptions {
  /** HTTP path of the endpoint (default `/socket.io/`). */
  path?: string;
  /**
   * Serve the browser client at `/switchboard/client.js` (and `.esm.js`, `.msgpack.js`, `.map`) and
   * at socket.io-client's URLs under `path` (`/socket.io/socket.io.js` with the global `io`,
   * `socket.io.min.js`, `socket.io.esm.min.js`, `socket.io.msgpack.min.js`); default true.
   * `{ path }` moves the `/switchboard/client.js` family elsewhere.
   */
  serveClient?: boolean | { path?: string };
  /** Adapter class, one instance per namespace (default: in-memory {@link Adapter}). */
  adapter?: AdapterConstructor;
  /** Close connections that joined no namespace within this many ms (default 45000). */
  connectTimeout?: number;
  /** Let clients that lost their connection recover id, rooms, data and missed events. */
  connectionStateRecovery?: ConnectionStateRecoveryOptions;
  /** Remove a dynamic namespace's child once its last socket left (default false). */
  cleanupEmptyChildNamespaces?: boolean;
  /** Most binary attachments one packet may announce (default 10). */
  maxAttachments?: number;
  /**
   * Deepest nesting of arrays and objects a received packet may carry, the packet's own argument
   * array counting 1 (default 100). A deeper packet closes the connection with reason `parse error`.
   */
  maxDepth?: number;
  /**
   * At-most-once processing of EVENTs a client re-sends (`retries`): how long and how many bytes
   * of encoded answers per socket the server keeps, to answer a repeat again instead of running
   * the handler twice. Default `{ maxAge: 10000, maxBytes: 16384 }`; while a session waits for
   * connection state recovery its answers do not age.
   */
  retryWindow?: RetryWindowOptions;
  /**
   * A socket.io-compatible packet parser (`{ Encoder, Decoder }`, e.g. `socket.io-msgpack-parser`);
   * clients must use the same one. Default: the Socket.IO v5 text format.
   */
  parser?: ParserModule;
}

export interface ServerReservedEvents<L extends EventsMap, E extends EventsMap, S extends EventsMap, D> {
  /** A socket connected to the main namespace (an alias of `connection`). */
  connect: (socket: Socket<L, E, S, D>) => void;
  /** A socket connected to the main namespace. */
  connection: (socket: Socket<L, E, S, D>) => void;
  /** A namespace was created, by `of()` or by a client reaching a dynamic namespace. */
  new_namespace: (namespace: Namespace<L, E, S, D>) => void;
}

/** Decides whether a dynamic namespace name is accepted: `next(null, true)` creates it. */
export type NamespaceMatcher = (name: string, auth: Record<string, unknown>, next: (err: Error | null, success: boolean) => void) => void;

interface ResolvedRecovery {
  maxDisconnectionDuration: number;
  skipMiddlewares: boolean;
}

/**
 * The Socket.IO v5 server: the official `socket.io-client` connects unchanged.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { Server } from 'switchboard';
 *
 * const httpServer = createServer();
 * const io = new Server(httpServer, { cors: { origin: 'https://example.com' } });
 * io.on('connection', (socket) => {
 *   socket.on('chat', (text: string, ack: (ok: boolean) => void) => {
 *     socket.broadcast.emit('chat', text);
 *     ack(true);
 *   });
 * });
 * httpServer.listen(3000);
 * ```
 */
export class Server<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = DefaultEventsMap,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends TypedEmitter<ServerSideEvents, ServerReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>> {
  /** The main namespace (`/`). */
  readonly sockets: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  /** The Engine.IO server, once attached. */
  engine: Engine | undefined;
  /** The HTTP server, once attached. */
  httpServer: HttpServer | undefined;
  readonly opts: ServerOptions;

  /** @internal */ readonly _timeouts = new Timeouts();
  /** @internal */ readonly _recovery: ResolvedRecovery | undefined;
  /** @internal */ readonly _connectTimeout: number;
  /** @internal */ readonly _codec: PacketCodec;
  /** @internal */ readonly _cleanupEmptyChildNamespaces: boolean;
  /** @internal */ _adapterConstructor: AdapterConstructor;

  private readonly nsps = new Map<string, Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>();
  private readonly parentNsps = new Map<NamespaceMatcher, ParentNamespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>();
  private readonly parentsByRegExp = new Map<string, ParentNamespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>();
  private readonly detachers: (() => void)[] = [];

  /** @internal The per-socket memory of answered ack ids (created on a socket's first acked EVENT). */
  _newRecentAcks(): RecentAcks {
    const { maxAge = DEFAULT_RETRY_WINDOW_AGE, maxBytes = DEFAULT_RETRY_WINDOW_BYTES } = this.opts.retryWindow ?? {};
    return new RecentAcks(maxAge, maxBytes, (ms, fn) => this._timeouts.schedule(ms, fn));
  }

  constructor(opts?: ServerOptions);
  constructor(srv: HttpServer | Http2SecureServer | number | undefined, opts?: ServerOptions);
  constructor(srv?: HttpServer | Http2SecureServer | number | ServerOptions, opts: ServerOptions = {}) {
    super();
    if (srv && typeof srv === 'object' && !isHttpServer(srv)) {
      opts = srv as ServerOptions;
      srv = undefined;
    }
    this.opts = { path: '/socket.io/', serveClient: true, ...opts };
    this._connectTimeout = opts.connectTimeout ?? 45_000;
    this._codec = createCodec(opts.parser, {
      maxAttachments: opts.maxAttachments ?? DEFAULT_MAX_ATTACHMENTS,
      maxDepth: opts.maxDepth ?? DEFAULT_MAX_DEPTH,
    });
    this._cleanupEmptyChildNamespaces = opts.cleanupEmptyChildNamespaces ?? false;
    this._adapterConstructor = opts.adapter ?? Adapter;
    if (opts.connectionStateRecovery) {
      this._recovery = {
        maxDisconnectionDuration: opts.connectionStateRecovery.maxDisconnectionDuration ?? 120_000,
        skipMiddlewares: opts.connectionStateRecovery.skipMiddlewares ?? true,
      };
    }
    this.sockets = this.of('/');
    if (srv !== undefined) this.attach(srv as HttpServer | number);
  }

  /** Attaches to an HTTP server, or creates one listening on `port`. */
  attach(srv: HttpServer | Http2SecureServer | number, opts: ServerOptions = {}): this {
    Object.assign(this.opts, opts);
    if (typeof srv === 'number') {
      const port = srv;
      srv = createServer((_req, res) => {
        res.writeHead(404).end();
      });
      srv.listen(port);
    }
    const httpServer = srv as HttpServer;
    const engine = createEngine({ ...this.opts, path: this.opts.path });
    this.bind(engine);
    engine.attach(httpServer);
    if (this.opts.serveClient) this.serveClientBundle(httpServer);
    this.httpServer = httpServer;
    return this;
  }

  /** Answers the client bundle URLs before any other route of the HTTP server. */
  private serveClientBundle(httpServer: HttpServer): void {
    const serve = createClientBundleHandler({
      ...(typeof this.opts.serveClient === 'object' ? this.opts.serveClient : {}),
      socketioPath: this.opts.path,
      cors: this.opts.cors,
    });
    const previous = httpServer.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
    httpServer.removeAllListeners('request');
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      if (!serve(req, res)) for (const listener of previous) listener.call(httpServer, req, res);
    };
    httpServer.on('request', onRequest);
    this.detachers.push(() => {
      httpServer.off('request', onRequest);
      for (const listener of previous) httpServer.on('request', listener);
    });
  }

  /**
   * Serves the endpoint from a uWebSockets.js app (`uWS.App()` or `uWS.SSLApp()`), as socket.io's
   * `attachApp`: polling and WebSocket at the server's path; uWS.js carries the connections and
   * the WebSocket framing, everything else is this server's. Listen on the app yourself. The
   * client bundle is not served from the app.
   *
   * @example
   * ```ts
   * import uWS from 'uWebSockets.js';
   * import { Server } from 'switchboard';
   * const app = uWS.App();
   * const io = new Server();
   * io.attachApp(app);
   * io.on('connection', (socket) => socket.emit('hello'));
   * app.listen(3000, () => {});
   * ```
   */
  attachApp(app: UwsApp, opts: ServerOptions & UwsAttachOptions = {}): this {
    Object.assign(this.opts, opts);
    const engine = createEngine({ ...this.opts, path: this.opts.path });
    this.bind(engine);
    attachEngineToApp(engine, app, opts);
    return this;
  }

  /** Alias of {@link attach}. */
  listen(srv: HttpServer | Http2SecureServer | number, opts: ServerOptions = {}): this {
    return this.attach(srv, opts);
  }

  /** Uses an existing engine (e.g. one routed by your own HTTP framework). */
  bind(engine: Engine): this {
    this.engine = engine;
    engine.on('connection', (conn) => void new Client(this, conn));
    return this;
  }

  /** Answers an HTTP request for the endpoint yourself (frameworks without `attach`). */
  handleRequest(req: IncomingMessage, res: ServerResponse): void {
    if (!this.engine) this.bind(createEngine({ ...this.opts }));
    this.engine!.handleRequest(req, res);
  }

  /**
   * Replaces the adapter class (returns the current one without an argument). Existing
   * namespaces get an instance of it too, as with socket.io; their connected sockets keep their
   * rooms.
   */
  adapter(): AdapterConstructor;
  adapter(adapter: AdapterConstructor): this;
  adapter(adapter?: AdapterConstructor): AdapterConstructor | this {
    if (!adapter) return this._adapterConstructor;
    this._adapterConstructor = adapter;
    for (const nsp of this.nsps.values()) nsp._replaceAdapter();
    return this;
  }

  /** The endpoint path. */
  path(): string {
    return this.opts.path!;
  }

  // --- namespaces ---------------------------------------------------------------------------------

  /**
   * A namespace by name, created on first use; or a dynamic namespace family for a RegExp or a
   * matcher function.
   *
   * @example
   * ```ts
   * io.of('/admin').on('connection', (socket) => {});
   * io.of(/^\/team-\d+$/).on('connection', (socket) => socket.nsp.name); // '/team-42'
   * ```
   */
  of(
    name: string | RegExp | NamespaceMatcher,
    fn?: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void,
  ): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
    if (typeof name === 'function' || name instanceof RegExp) {
      let parent = name instanceof RegExp ? this.parentsByRegExp.get(String(name)) : undefined;
      if (!parent) {
        parent = new ParentNamespace(this);
        const pattern = name;
        const matcher: NamespaceMatcher =
          pattern instanceof RegExp
            ? (nsp, _auth, next) => {
                pattern.lastIndex = 0;
                next(null, pattern.test(nsp));
              }
            : pattern;
        this.parentNsps.set(matcher, parent);
        if (name instanceof RegExp) this.parentsByRegExp.set(String(name), parent);
      }
      if (fn) parent.on('connect', fn);
      return parent;
    }
    if (name[0] !== '/') name = '/' + name;
    let nsp = this.nsps.get(name);
    if (!nsp) {
      nsp = new Namespace(this, name);
      this.nsps.set(name, nsp);
      if (name !== '/') this.emitReserved('new_namespace', nsp);
    }
    if (fn) nsp.on('connect', fn);
    return nsp;
  }

  /** @internal Finds or creates (through a dynamic matcher) the namespace a client asked for. */
  _resolveNamespace(
    name: string,
    auth: Record<string, unknown>,
    done: (nsp: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> | null) => void,
  ): void {
    const existing = this.nsps.get(name);
    if (existing) return done(existing);
    const parents = [...this.parentNsps];
    const tryNext = (index: number): void => {
      const entry = parents[index];
      if (!entry) return done(null);
      const [matcher, parent] = entry;
      let answered = false;
      const next = (err: Error | null, allow: boolean) => {
        if (answered) return;
        answered = true;
        if (err || !allow) return tryNext(index + 1);
        let nsp = this.nsps.get(name); // created meanwhile by another client
        if (!nsp) {
          nsp = parent._createChild(name);
          this.nsps.set(name, nsp);
          this.emitReserved('new_namespace', nsp);
        }
        done(nsp);
      };
      try {
        matcher(name, auth, next);
      } catch (err) {
        next(err instanceof Error ? err : new Error(String(err)), false);
      }
    };
    tryNext(0);
  }

  /** @internal */
  _forgetNamespace(nsp: Namespace<any, any, any, any>): void {
    if (this.nsps.get(nsp.name) === nsp) this.nsps.delete(nsp.name);
  }

  /** @internal */
  _prepare(parts: (string | Uint8Array)[]): PreparedMessage[] {
    const engine = this.engine;
    if (!engine) throw new Error('server is not attached');
    const prepared = new Array<PreparedMessage>(parts.length);
    for (let i = 0; i < parts.length; i++) prepared[i] = prepareMessage(engine, parts[i]!);
    return prepared;
  }

  // --- listeners: connection events and server-side events live on the main namespace -------------

  /**
   * Listens to `connection` (or `connect`) and `new_namespace`, or to events other servers send
   * with `serverSideEmit`.
   */
  override on<Ev extends ReservedOrUserEventNames<ServerReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ServerReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents, Ev>,
  ): this {
    if (ev === 'new_namespace') super.on(ev, listener as never);
    else this.sockets.on(ev as never, listener as never);
    return this;
  }

  /** Same as `on`. */
  override addListener<Ev extends ReservedOrUserEventNames<ServerReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ServerReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents, Ev>,
  ): this {
    return this.on(ev, listener);
  }

  /** Like `on`, for the next time only. */
  override once<Ev extends ReservedOrUserEventNames<ServerReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ServerReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents, Ev>,
  ): this {
    if (ev === 'new_namespace') super.once(ev, listener as never);
    else this.sockets.once(ev as never, listener as never);
    return this;
  }

  /** Removes a listener added with `on`, `addListener` or `once`. */
  override off<Ev extends ReservedOrUserEventNames<ServerReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ServerReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents, Ev>,
  ): this {
    if (ev === 'new_namespace') super.off(ev, listener as never);
    else this.sockets.off(ev as never, listener as never);
    return this;
  }

  /** Same as `off`. */
  override removeListener<Ev extends ReservedOrUserEventNames<ServerReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ServerReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents, Ev>,
  ): this {
    return this.off(ev, listener);
  }

  // --- main namespace shortcuts -------------------------------------------------------------------

  /** Connection middleware of the main namespace. */
  use(fn: Middleware<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): this {
    this.sockets.use(fn);
    return this;
  }

  /**
   * Targets the sockets of the main namespace in `room` (or any of several) for the broadcast that
   * follows: `server.to('lobby').emit('news', text)`.
   */
  to(room: Room | Room[]): BroadcastOperator<RemoveAcknowledgements<EmitEvents>, SocketData> {
    return this.sockets.to(room);
  }

  /** Same as `to`. */
  in(room: Room | Room[]): BroadcastOperator<RemoveAcknowledgements<EmitEvents>, SocketData> {
    return this.sockets.in(room);
  }

  /** Leaves out the sockets in `room` (or any of several) from the broadcast that follows. */
  except(room: Room | Room[]): BroadcastOperator<RemoveAcknowledgements<EmitEvents>, SocketData> {
    return this.sockets.except(room);
  }

  /**
   * Sets whether the broadcast that follows may be compressed (permessage-deflate, when the
   * connection negotiated it).
   */
  compress(compress: boolean): BroadcastOperator<RemoveAcknowledgements<EmitEvents>, SocketData> {
    return this.sockets.compress(compress);
  }

  /**
   * The broadcast that follows may be dropped for clients that cannot take it now (not connected,
   * or the transport is busy).
   */
  get volatile(): BroadcastOperator<RemoveAcknowledgements<EmitEvents>, SocketData> {
    return this.sockets.volatile;
  }

  /**
   * The broadcast that follows reaches the sockets of this server only, not those of other servers
   * sharing the adapter.
   */
  get local(): BroadcastOperator<RemoveAcknowledgements<EmitEvents>, SocketData> {
    return this.sockets.local;
  }

  /**
   * Waits `timeout` ms for every client's acknowledgement: the callback (or `emitWithAck`) gets an
   * error, if some did not answer in time, and the answers.
   */
  timeout(timeout: number): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.sockets.timeout(timeout);
  }

  /** Emits to every socket of the main namespace. */
  override emit<Ev extends EventNames<RemoveAcknowledgements<EmitEvents>>>(ev: Ev, ...args: EventParams<RemoveAcknowledgements<EmitEvents>, Ev>): boolean {
    return this.sockets.emit(ev, ...args);
  }

  /** Emits a `message` event to every socket of the main namespace. */
  send(...args: EventParams<EmitEvents, 'message'>): this {
    this.sockets.send(...args);
    return this;
  }

  /** Same as `send`. */
  write(...args: EventParams<EmitEvents, 'message'>): this {
    this.sockets.write(...args);
    return this;
  }

  /**
   * Emits an event to the other servers of the cluster (through the adapter), not to clients. A
   * last argument that is a function receives their answers.
   */
  serverSideEmit<Ev extends EventNames<ServerSideEvents>>(ev: Ev, ...args: ServerSideEmitArgs<ServerSideEvents, Ev>): boolean {
    if (RESERVED_EVENTS.has(ev as string)) throw new Error(`"${String(ev)}" is a reserved event name`);
    return (this.sockets.serverSideEmit as (ev: Ev, ...args: unknown[]) => boolean)(ev, ...args);
  }

  /** Like `serverSideEmit`, resolving with the answer of every other server. */
  serverSideEmitWithAck<Ev extends EventNamesWithAck<ServerSideEvents>>(ev: Ev, ...args: ArgsWithoutAck<ServerSideEvents, Ev>): Promise<AckResult<ServerSideEvents, Ev>[]> {
    return this.sockets.serverSideEmitWithAck(ev, ...args);
  }

  /**
   * The sockets of the main namespace, on every server sharing the adapter (chain `in(room)` first
   * to select).
   */
  fetchSockets(): Promise<RemoteSocket<EmitEvents, SocketData>[]> {
    return this.sockets.fetchSockets();
  }

  /** Makes every socket of the main namespace (or those selected with `in` first) join `room`. */
  socketsJoin(room: Room | Room[]): void {
    this.sockets.socketsJoin(room);
  }

  /** Makes every socket of the main namespace (or those selected with `in` first) leave `room`. */
  socketsLeave(room: Room | Room[]): void {
    this.sockets.socketsLeave(room);
  }

  /** Disconnects every socket of the main namespace; with `close`, closes their connections too. */
  disconnectSockets(close = false): void {
    this.sockets.disconnectSockets(close);
  }

  /** @deprecated use fetchSockets() */
  allSockets(): Promise<Set<SocketId>> {
    return this.sockets.allSockets();
  }

  // --- shutdown -----------------------------------------------------------------------------------

  /**
   * Disconnects every client (`server shutting down`), closes adapters and the engine, and the
   * HTTP server (also one you passed in, as socket.io does).
   */
  async close(fn?: (err?: Error) => void): Promise<void> {
    for (const nsp of this.nsps.values()) {
      for (const socket of [...nsp.sockets.values()]) socket._onclose('server shutting down');
    }
    for (const parent of this.parentNsps.values()) await parent.adapter.close();
    for (const nsp of this.nsps.values()) await nsp.adapter.close();
    for (const detach of this.detachers.splice(0)) detach(); // before the engine restores what it took over
    this.engine?.close();
    this._timeouts.clear();
    const httpServer = this.httpServer;
    if (httpServer) {
      // Also when it is not listening: the callback then gets Node's ERR_SERVER_NOT_RUNNING, as
      // with socket.io; the Promise resolves either way.
      await new Promise<void>((resolve) =>
        httpServer.close((err) => {
          fn?.(err);
          resolve();
        }),
      );
    } else {
      fn?.();
    }
  }
}

function isHttpServer(value: object): boolean {
  return typeof (value as { listen?: unknown }).listen === 'function';
}
