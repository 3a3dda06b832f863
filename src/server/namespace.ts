import { RESERVED_EVENTS } from '../protocol/socketio.js';
import { Adapter, type BroadcastOptions, type Room, type SocketId, type SocketIOPacket } from './adapter.js';
import { BroadcastOperator, type RemoteSocket } from './broadcast.js';
import type { Client } from './client.js';
import { TypedEmitter } from './emitter.js';
import type { PreparedMessage } from './engine.js';
import type { Server } from './server.js';
import { Socket } from './socket.js';
import type {
  AckResult,
  ArgsWithoutAck,
  DecorateAcknowledgementsWithMultipleResponses,
  DefaultEventsMap,
  EventNames,
  EventNamesWithAck,
  EventParams,
  EventsMap,
  Last,
  AllButLast,
  FirstArg,
  RemoveAcknowledgements,
  HasAck,
} from './typed-events.js';

/** Error a middleware passes to `next()`: reaches the client as `connect_error` with `data`. */
export interface ExtendedError extends Error {
  data?: unknown;
}

/** The events a namespace emits itself (`nsp.on('connection', ...)`). */
export interface NamespaceReservedEvents<L extends EventsMap, E extends EventsMap, S extends EventsMap, D> {
  /** A socket connected to this namespace (an alias of `connection`). */
  connect: (socket: Socket<L, E, S, D>) => void;
  /** A socket connected to this namespace, after its middlewares accepted it. */
  connection: (socket: Socket<L, E, S, D>) => void;
}

/**
 * A connection middleware (`nsp.use(fn)`): call `next()` to accept the socket, or `next(error)` to
 * refuse it with a CONNECT_ERROR carrying `error.message` (and `error.data`).
 */
export type Middleware<L extends EventsMap, E extends EventsMap, S extends EventsMap, D> = (
  socket: Socket<L, E, S, D>,
  next: (err?: ExtendedError) => void,
) => void;

/** Server-side events may take an ack: then it receives `(err, responses[])` from the other servers. */
export type ServerSideEmitArgs<S extends EventsMap, Ev extends EventNames<S>> =
  HasAck<EventParams<S, Ev>> extends true
    ? [...AllButLast<EventParams<S, Ev>>, (err: Error | null, responses: FirstArg<Last<EventParams<S, Ev>>>[]) => void]
    : EventParams<S, Ev>;

/**
 * A communication channel multiplexed on the connections (`/` by default; `io.of('/admin')`).
 *
 * @example
 * ```ts
 * const admin = io.of('/admin');
 * admin.use((socket, next) => (socket.handshake.auth.token === 'secret' ? next() : next(new Error('unauthorized'))));
 * admin.on('connection', (socket) => admin.emit('joined', socket.id));
 * ```
 */
export class Namespace<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = DefaultEventsMap,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends TypedEmitter<ServerSideEvents, NamespaceReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>> {
  readonly sockets = new Map<SocketId, Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>();
  /** Decides who receives this namespace's broadcasts; replaced by `io.adapter(Class)`. */
  adapter: Adapter;
  /** @internal connection middlewares */
  _fns: Middleware<ListenEvents, EmitEvents, ServerSideEvents, SocketData>[] = [];
  /** @internal set on children of a dynamic namespace */
  _parent: ParentNamespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> | undefined;
  private ackId = 0;

  /** @internal */
  constructor(
    readonly server: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
    readonly name: string,
  ) {
    super();
    this.adapter = this._newAdapter();
    void this.adapter.init();
  }

  /** @internal */
  protected _newAdapter(): Adapter {
    return new (this.server._adapterConstructor)(this);
  }

  /**
   * @internal `io.adapter(Class)` after this namespace exists (as socket.io allows): a new adapter
   * of that class takes over; connected sockets keep their rooms, and the old adapter is closed.
   */
  _replaceAdapter(): void {
    const previous = this.adapter;
    const next = this._newAdapter();
    this.adapter = next;
    void next.init();
    for (const id of this.sockets.keys()) {
      const rooms = previous.socketRooms(id);
      if (rooms) void next.addAll(id, new Set(rooms));
    }
    void previous.close();
  }

  /**
   * Adds a connection middleware; `next(err)` refuses the client with `connect_error` (`err.data` included).
   */
  use(fn: Middleware<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): this {
    this._fns.push(fn);
    return this;
  }

  // --- targeting --------------------------------------------------------------------------------

  /**
   * Targets the sockets of this namespace in `room` (or any of several) for the broadcast that
   * follows.
   */
  to(room: Room | Room[]): BroadcastOperator<RemoveAcknowledgements<EmitEvents>, SocketData> {
    return this.operator().to(room);
  }

  /** Same as `to`. */
  in(room: Room | Room[]): BroadcastOperator<RemoveAcknowledgements<EmitEvents>, SocketData> {
    return this.operator().in(room);
  }

  /** Leaves out the sockets in `room` (or any of several) from the broadcast that follows. */
  except(room: Room | Room[]): BroadcastOperator<RemoveAcknowledgements<EmitEvents>, SocketData> {
    return this.operator().except(room);
  }

  /**
   * Sets whether the broadcast that follows may be compressed (permessage-deflate, when the
   * connection negotiated it).
   */
  compress(compress: boolean): BroadcastOperator<RemoveAcknowledgements<EmitEvents>, SocketData> {
    return this.operator().compress(compress);
  }

  /** The broadcast that follows may be dropped for clients that cannot take it now. */
  get volatile(): BroadcastOperator<RemoveAcknowledgements<EmitEvents>, SocketData> {
    return this.operator().volatile;
  }

  /** The broadcast that follows reaches the sockets of this server only. */
  get local(): BroadcastOperator<RemoveAcknowledgements<EmitEvents>, SocketData> {
    return this.operator().local;
  }

  /**
   * Waits `timeout` ms for every client's acknowledgement; the callback gets an error if some did
   * not answer in time, and the answers.
   */
  timeout(timeout: number): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return new BroadcastOperator<EmitEvents, SocketData>(this.adapter).timeout(timeout);
  }

  private operator(): BroadcastOperator<RemoveAcknowledgements<EmitEvents>, SocketData> {
    return new BroadcastOperator(this.adapter);
  }

  /** Emits to every socket of the namespace. */
  override emit<Ev extends EventNames<RemoveAcknowledgements<EmitEvents>>>(ev: Ev, ...args: EventParams<RemoveAcknowledgements<EmitEvents>, Ev>): boolean {
    return this.operator().emit(ev, ...args);
  }

  /** Emits a `message` event to every socket. */
  send(...args: EventParams<EmitEvents, 'message'>): this {
    (this.operator().emit as (ev: string, ...args: unknown[]) => boolean)('message', ...args);
    return this;
  }

  /** Same as `send`. */
  write(...args: EventParams<EmitEvents, 'message'>): this {
    return this.send(...args);
  }

  /**
   * The sockets of this namespace on every server sharing the adapter (chain `in(room)` first to
   * select).
   */
  fetchSockets(): Promise<RemoteSocket<EmitEvents, SocketData>[]> {
    return new BroadcastOperator<EmitEvents, SocketData>(this.adapter).fetchSockets();
  }

  /** Makes every socket of this namespace (or those selected with `in` first) join `room`. */
  socketsJoin(room: Room | Room[]): void {
    this.operator().socketsJoin(room);
  }

  /** Makes every socket of this namespace (or those selected with `in` first) leave `room`. */
  socketsLeave(room: Room | Room[]): void {
    this.operator().socketsLeave(room);
  }

  /** Disconnects every socket of this namespace; with `close`, closes their connections too. */
  disconnectSockets(close = false): void {
    this.operator().disconnectSockets(close);
  }

  /** @deprecated use fetchSockets() */
  allSockets(): Promise<Set<SocketId>> {
    return this.operator().allSockets();
  }

  // --- inter-server events ------------------------------------------------------------------------

  /**
   * Sends an event to the same namespace on the other servers (received with `nsp.on(ev)` there).
   * A callback as last argument collects their answers: `(err, responses[])`.
   */
  serverSideEmit<Ev extends EventNames<ServerSideEvents>>(ev: Ev, ...args: ServerSideEmitArgs<ServerSideEvents, Ev>): boolean {
    if (RESERVED_EVENTS.has(ev as string) || ev === 'connection') throw new Error(`"${String(ev)}" is a reserved event name`);
    this.adapter.serverSideEmit([ev, ...args]);
    return true;
  }

  /** Promise form of {@link serverSideEmit} with an ack: resolves with every other server's answer. */
  serverSideEmitWithAck<Ev extends EventNamesWithAck<ServerSideEvents>>(
    ev: Ev,
    ...args: ArgsWithoutAck<ServerSideEvents, Ev>
  ): Promise<AckResult<ServerSideEvents, Ev>[]> {
    return new Promise((resolve, reject) => {
      (this.serverSideEmit as (ev: Ev, ...args: unknown[]) => boolean)(ev, ...(args as unknown[]), (err: Error | null, responses: AckResult<ServerSideEvents, Ev>[]) =>
        err ? reject(err) : resolve(responses),
      );
    });
  }

  /** @internal Called by a cluster adapter with an event from another server. */
  _onServerSideEmit(args: unknown[]): void {
    this.emitUntyped(args[0] as string, ...args.slice(1));
  }

  // --- internals ----------------------------------------------------------------------------------

  /** @internal Per-namespace ack ids, shared by sockets and broadcasts. */
  _nextAckId(): number {
    return this.ackId++;
  }

  /** @internal Frames encoded parts once for many recipients. */
  _prepare(parts: (string | Uint8Array)[]): PreparedMessage[] {
    return this.server._prepare(parts);
  }

  /** @internal Connects a client: recovery or middlewares, then the CONNECT reply. */
  async _add(client: Client, auth: Record<string, unknown>, done: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData> | null) => void): Promise<void> {
    const socket = await this.createSocket(client, auth);
    const recovery = this.server._recovery;
    if (recovery?.skipMiddlewares && socket.recovered) {
      if (client.conn.readyState !== 'open') {
        socket._cleanup();
        return done(null);
      }
      return this.doConnect(socket, done);
    }
    this.runMiddlewares(socket, 0, (err) => {
      if (client.conn.readyState !== 'open') {
        socket._cleanup();
        return done(null);
      }
      if (err) {
        client._refuse(this.name, err);
        socket._cleanup();
        return done(null);
      }
      this.doConnect(socket, done);
    });
  }

  /** @internal */
  _remove(socket: Socket<any, any, any, any>): void {
    if (this.sockets.get(socket.id) !== socket) return;
    this.sockets.delete(socket.id);
    if (this._parent && this.sockets.size === 0 && this.server._cleanupEmptyChildNamespaces) {
      this._parent.children.delete(this);
      this.server._forgetNamespace(this);
      void this.adapter.close();
    }
  }

  private async createSocket(client: Client, auth: Record<string, unknown>): Promise<Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>> {
    const { pid, offset } = auth;
    // A client that received no event has a pid but no offset (socket.io-client omits it).
    if (this.server._recovery && typeof pid === 'string' && (typeof offset === 'string' || offset === undefined)) {
      let session = null;
      try {
        session = await this.adapter.restoreSession(pid, offset);
      } catch {
        session = null; // a failing store means no recovery, not a failed connection
      }
      if (session) return new Socket(this, client, auth, session);
    }
    return new Socket(this, client, auth);
  }

  private runMiddlewares(socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, index: number, done: (err?: ExtendedError) => void): void {
    const fn = this._fns[index];
    if (!fn) return done();
    let called = false;
    try {
      fn(socket, (err) => {
        if (called) return;
        called = true;
        // Next tick, like socket.io: middlewares may call next() synchronously.
        process.nextTick(() => (err ? done(err) : this.runMiddlewares(socket, index + 1, done)));
      });
    } catch (err) {
      if (!called) {
        called = true;
        done(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  private doConnect(socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, done: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void): void {
    this.sockets.set(socket.id, socket);
    socket._onconnect();
    done(socket);
    this.emitReserved('connect', socket);
    this.emitReserved('connection', socket);
  }
}

/**
 * The namespace created for a dynamic matcher (`io.of(/^\/room-\d+$/)`): children are created on
 * demand, share its middlewares and listeners, and an emit on it reaches all children.
 */
export class ParentNamespace<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = DefaultEventsMap,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
  private static count = 0;
  readonly children = new Set<Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>();

  /** @internal */
  constructor(server: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) {
    super(server, '/_' + ParentNamespace.count++);
  }

  override emit<Ev extends EventNames<RemoveAcknowledgements<EmitEvents>>>(ev: Ev, ...args: EventParams<RemoveAcknowledgements<EmitEvents>, Ev>): boolean {
    for (const child of this.children) child.emit(ev, ...args);
    return true;
  }

  /** @internal Operations on the parent (`parent.to(room).emit(...)`) act on every child. */
  protected override _newAdapter(): Adapter {
    return new ChildrenAdapter(this as Namespace<any, any, any, any>);
  }

  /** @internal */
  _createChild(name: string): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
    const child = new Namespace(this.server, name);
    child._fns = this._fns.slice();
    for (const event of ['connect', 'connection'] as const) {
      for (const listener of this.listeners(event)) child.on(event, listener as (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void);
    }
    child._parent = this;
    this.children.add(child);
    return child;
  }

  override fetchSockets(): Promise<RemoteSocket<EmitEvents, SocketData>[]> {
    return Promise.reject(new Error('fetchSockets() is not supported on parent namespaces'));
  }
}

/**
 * The adapter of a parent namespace: it has no sockets of its own and hands each operation to
 * the adapter of every child, so `io.of(/^\/team-\d+$/).to('admins').emit(...)` reaches the
 * members of `admins` in each team namespace.
 */
class ChildrenAdapter extends Adapter {
  private get children(): Iterable<Namespace<any, any, any, any>> {
    return (this.nsp as ParentNamespace<any, any, any, any>).children;
  }

  override broadcast(packet: SocketIOPacket, opts: BroadcastOptions): void {
    // Each child names itself in the packet and may append a recovery offset: one copy each.
    for (const child of this.children) child.adapter.broadcast({ ...packet, data: copyArray(packet.data) }, opts);
  }

  override addSockets(opts: BroadcastOptions, rooms: Room[]): void {
    for (const child of this.children) child.adapter.addSockets(opts, rooms);
  }

  override delSockets(opts: BroadcastOptions, rooms: Room[]): void {
    for (const child of this.children) child.adapter.delSockets(opts, rooms);
  }

  override disconnectSockets(opts: BroadcastOptions, close: boolean): void {
    for (const child of this.children) child.adapter.disconnectSockets(opts, close);
  }
}

const copyArray = (data: unknown): unknown => (Array.isArray(data) ? data.slice() : data);
