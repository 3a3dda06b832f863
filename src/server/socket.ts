import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { nextTick } from 'node:process';
import { PacketType, RESERVED_EVENTS, type Packet } from '../protocol/socketio.js';
import type { Adapter, BroadcastFlags, Room, Session, SessionToPersist, SocketId } from './adapter.js';
import { BroadcastOperator } from './broadcast.js';
import { NO_AUTH, type Client } from './client.js';
import { TypedEmitter } from './emitter.js';
import { RecentAcks } from './recent-acks.js';
import type { EngineSocket, PreparedMessage } from './engine.js';
import type { Namespace } from './namespace.js';
import type { Server } from './server.js';
import type {
  AckResult,
  ArgsWithoutAck,
  DecorateAcknowledgements,
  DefaultEventsMap,
  EventNames,
  EventNamesWithAck,
  EventParams,
  EventsMap,
} from './typed-events.js';

/** Why a socket left its namespace. */
export type DisconnectReason =
  | 'transport error'
  | 'transport close'
  | 'forced close'
  | 'ping timeout'
  | 'parse error'
  /** The client read too slowly: what was queued for it passed `maxBufferedBytes`. */
  | 'transport buffer full'
  | 'server shutting down'
  | 'forced server close'
  | 'client namespace disconnect'
  | 'server namespace disconnect';

/** Reasons after which a connection state recovery is possible (the client did not choose to leave). */
export const RECOVERABLE_DISCONNECT_REASONS: ReadonlySet<DisconnectReason> = new Set<DisconnectReason>([
  'transport error',
  'transport close',
  'transport buffer full',
  'forced close',
  'ping timeout',
  'server shutting down',
  'forced server close',
]);

/** Details of the connection, as socket.io exposes them. */
export interface Handshake {
  headers: IncomingHttpHeaders;
  /** Creation date, as a string. */
  time: string;
  address: string;
  /** Whether the request was cross-domain (has an Origin header). */
  xdomain: boolean;
  secure: boolean;
  /** Creation date, as a Unix timestamp in ms. */
  issued: number;
  url: string;
  query: Record<string, string | undefined>;
  /** The CONNECT payload of the client (`auth` option of socket.io-client). */
  auth: Record<string, unknown>;
}

/** The events a server-side socket emits itself. */
export interface SocketReservedEvents {
  /** The socket disconnected; `reason` says why (see {@link DisconnectReason}). */
  disconnect: (reason: DisconnectReason, description?: unknown) => void;
  /** The socket is about to disconnect: `socket.rooms` still holds its rooms. */
  disconnecting: (reason: DisconnectReason, description?: unknown) => void;
  /** An error passed to `next(err)` by a `socket.use` middleware, or one the client caused. */
  error: (err: Error) => void;
}

type AnyListener = (event: any, ...args: any[]) => void;
type AckEntry = ((...args: unknown[]) => void) & { fail?: (err: Error) => void };
type EventMiddleware = (event: unknown[], next: (err?: Error) => void) => void;

/** What most sockets never use or use late, in one object made on first need (smaller idle sockets). */
interface RareState {
  pid?: string | undefined;
  recovered?: boolean;
  data?: unknown;
  handshake?: Handshake | undefined;
  auth?: Record<string, unknown> | undefined;
  acks?: Map<number, AckEntry> | undefined;
  recentAcks?: RecentAcks | undefined;
  fns?: EventMiddleware[] | undefined;
  anyListeners?: AnyListener[] | undefined;
  anyOutgoingListeners?: AnyListener[] | undefined;
}

const NO_FLAGS: BroadcastFlags = Object.freeze({});

/**
 * Sockets keep their creation time relative to this one: a small integer rather than a 16-byte
 * heap number per socket, for the first 2^31 ms (about 24 days) of the process.
 */
const ISSUED_EPOCH = Date.now();

/** A 20-character random id (base64url of 15 random bytes). */
export function randomId(): string {
  return randomBytes(15).toString('base64url');
}

function parseQuery(url: string | undefined): Record<string, string | undefined> {
  const query: Record<string, string | undefined> = Object.create(null);
  const q = url?.indexOf('?') ?? -1;
  if (q === -1) return query;
  // From the '?' on: URLSearchParams drops one leading '?', so a second one stays part of the first name (as engine.io).
  for (const [key, value] of new URLSearchParams(url!.slice(q))) query[key] = value;
  return query;
}

/**
 * One client in one namespace.
 *
 * @example
 * ```ts
 * io.on('connection', (socket) => {
 *   socket.join('room1');
 *   socket.on('chat', (text, ack) => { socket.to('room1').emit('chat', text); ack('ok'); });
 *   socket.on('disconnect', (reason) => console.log(socket.id, 'left:', reason));
 * });
 * ```
 */
export class Socket<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = DefaultEventsMap,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends TypedEmitter<ListenEvents, SocketReservedEvents> {
  /** Public id, also the name of the socket's own room. */
  readonly id: SocketId;
  /** Private session id for connection state recovery (never shared with other clients). */
  get pid(): string | undefined {
    return this.rare?.pid;
  }
  /** Free-form data, shared with other nodes by `fetchSockets()`. */
  get data(): SocketData {
    return (this.more().data ??= {}) as SocketData;
  }
  set data(data: SocketData) {
    this.more().data = data;
  }
  private rare: RareState | undefined;
  /** When the socket was created, in ms since {@link ISSUED_EPOCH}. */
  private readonly issuedAfter: number;
  connected = false;
  /** True when this socket was restored by connection state recovery. */
  get recovered(): boolean {
    return this.rare?.recovered ?? false;
  }
  /** With recovery: where the adapter's packet log stood when this socket connected (only set then). */
  declare private readonly connectedAt: string | undefined;

  readonly server: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  /** The namespace's adapter (read through, as `io.adapter()` may replace it). */
  get adapter(): Adapter {
    return this.nsp.adapter;
  }

  private flags: BroadcastFlags = NO_FLAGS;
  private closed = false;

  private more(): RareState {
    return (this.rare ??= {});
  }
  // The rare state read and written as fields; writing undefined makes no object.
  private get acks(): Map<number, AckEntry> | undefined {
    return this.rare?.acks;
  }
  private set acks(acks: Map<number, AckEntry> | undefined) {
    if (acks !== undefined || this.rare !== undefined) this.more().acks = acks;
  }
  /** Created on the first EVENT that asks for an ack; carried over by connection state recovery. */
  private get recentAcks(): RecentAcks | undefined {
    return this.rare?.recentAcks;
  }
  private set recentAcks(recentAcks: RecentAcks | undefined) {
    if (recentAcks !== undefined || this.rare !== undefined) this.more().recentAcks = recentAcks;
  }
  private get fns(): EventMiddleware[] | undefined {
    return this.rare?.fns;
  }
  private set fns(fns: EventMiddleware[] | undefined) {
    if (fns !== undefined || this.rare !== undefined) this.more().fns = fns;
  }
  private get anyListeners(): AnyListener[] | undefined {
    return this.rare?.anyListeners;
  }
  private set anyListeners(listeners: AnyListener[] | undefined) {
    if (listeners !== undefined || this.rare !== undefined) this.more().anyListeners = listeners;
  }
  private get anyOutgoingListeners(): AnyListener[] | undefined {
    return this.rare?.anyOutgoingListeners;
  }
  private set anyOutgoingListeners(listeners: AnyListener[] | undefined) {
    if (listeners !== undefined || this.rare !== undefined) this.more().anyOutgoingListeners = listeners;
  }

  /** @internal */
  constructor(
    readonly nsp: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>,
    readonly client: Client,
    auth: Record<string, unknown>,
    previousSession?: Session,
  ) {
    super();
    this.server = nsp.server;
    const recovery = this.server._recovery;
    if (previousSession) {
      this.id = previousSession.sid;
      this.more().pid = previousSession.pid;
      void this.join(previousSession.rooms);
      this.data = previousSession.data as SocketData;
      const { recentAcks } = previousSession as Session & { recentAcks?: unknown };
      if (recentAcks instanceof RecentAcks) {
        this.recentAcks = recentAcks;
        recentAcks.resume();
      }
      // Missed packets go out before the CONNECT reply; the client buffers them (notes §0.12).
      for (const data of previousSession.missedPackets) this.writePacket({ type: PacketType.EVENT, nsp: nsp.name, data }, NO_FLAGS);
      this.more().recovered = true;
    } else {
      this.id = randomId();
      if (recovery) this.more().pid = randomId();
    }
    if (recovery) this.connectedAt = this.adapter.recoveryPosition();
    // The handshake details are built on first use (most apps never read them) from `auth` and `issued`.
    if (auth !== NO_AUTH) this.more().auth = auth;
    this.issuedAfter = Date.now() - ISSUED_EPOCH;
    // A client may emit an event named 'error'; with no listener EventEmitter would throw it out
    // of the tick and end the process. socket.io registers the same listener for that reason.
    this.on('error', ignoreError);
  }

  /** When the socket was created (`Date.now()` then). */
  private get issued(): number {
    return ISSUED_EPOCH + this.issuedAfter;
  }

  /** Details of the connection: headers, query, address, `auth` payload, time. */
  get handshake(): Handshake {
    const rare = this.more();
    if (rare.handshake !== undefined) return rare.handshake;
    // An engine session may not hold its request (an app dropped it to save memory, or a
    // transport without one): empty headers and query then, and `secure` as socket.io reports it.
    // Read through the session, which does not build a request it kept in its small form.
    const req = this.client.conn.openingRequest ?? undefined;
    return (rare.handshake = {
      headers: req?.headers ?? {},
      time: new Date(this.issued).toString(),
      // The engine session computed it once at the handshake (trusted proxies included) and keeps it.
      address: this.client.conn.remoteAddress,
      xdomain: !!req?.headers.origin,
      secure: req ? !!(req.socket as { encrypted?: boolean } | undefined)?.encrypted : true,
      issued: this.issued,
      url: req?.url ?? '',
      query: parseQuery(req?.url),
      auth: rare.auth ?? {},
    });
  }

  /** The Engine.IO session under this socket. */
  get conn(): EngineSocket {
    return this.client.conn;
  }

  /** The first HTTP request of the session. */
  get request(): IncomingMessage {
    return this.client.request;
  }

  get disconnected(): boolean {
    return !this.connected;
  }

  /** Rooms this socket is in (its own id included). */
  get rooms(): Set<Room> {
    return this.adapter.socketRooms(this.id) ?? new Set();
  }

  // --- emitting ---------------------------------------------------------------------------------

  /**
   * Sends an event to this client. A function as last argument receives the client's answer.
   *
   * @example
   * ```ts
   * socket.emit('hello', 'world', { binary: Buffer.from([1]) });
   * socket.timeout(5000).emit('question', (err, answer) => {});
   * ```
   */
  override emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean {
    if (RESERVED_EVENTS.has(ev as string)) throw new Error(`"${String(ev)}" is a reserved event name`);
    const flags = this.takeFlags();
    const data: unknown[] = [ev, ...args];
    const packet: Packet = { type: PacketType.EVENT, nsp: this.nsp.name, data };
    if (typeof data[data.length - 1] === 'function') {
      const ack = data.pop() as (...args: unknown[]) => void;
      packet.id = this.nsp._nextAckId();
      this.addAck(packet.id, ack, flags.timeout);
    }
    if (this.server._recovery && packet.id === undefined && !flags.volatile) {
      // Routed through the adapter so the packet gets an offset and is kept for recovery.
      this.adapter.broadcast(packet, { rooms: new Set([this.id]), except: new Set(), flags });
    } else {
      this._notifyOutgoing(packet);
      this.writePacket(packet, flags);
    }
    return true;
  }

  /**
   * Emits and resolves with the client's acknowledgement (rejects on timeout when `.timeout()` was set).
   *
   * @example
   * ```ts
   * const answer = await socket.timeout(1000).emitWithAck('question', 42);
   * ```
   */
  emitWithAck<Ev extends EventNamesWithAck<EmitEvents>>(ev: Ev, ...args: ArgsWithoutAck<EmitEvents, Ev>): Promise<AckResult<EmitEvents, Ev>> {
    const withTimeout = this.flags.timeout !== undefined;
    return new Promise((resolve, reject) => {
      const ack = withTimeout
        ? (err: Error | null, value: AckResult<EmitEvents, Ev>) => (err ? reject(err) : resolve(value))
        : (value: AckResult<EmitEvents, Ev>) => resolve(value);
      (this.emit as (ev: Ev, ...args: unknown[]) => boolean)(ev, ...(args as unknown[]), ack);
    });
  }

  /** Emits a `message` event. */
  send(...args: EventParams<EmitEvents, 'message'>): this {
    (this.emit as (ev: string, ...args: unknown[]) => boolean)('message', ...args);
    return this;
  }

  /** Alias of {@link send}. */
  write(...args: EventParams<EmitEvents, 'message'>): this {
    return this.send(...args);
  }

  /** Sets the compression flag for the next emit. */
  compress(compress: boolean): this {
    this.flags = { ...this.flags, compress };
    return this;
  }

  /** The next emit may be dropped if the transport is not ready to write. */
  get volatile(): this {
    this.flags = { ...this.flags, volatile: true };
    return this;
  }

  /** The ack of the next emit fails with an Error after `timeout` ms. */
  timeout(timeout: number): Socket<ListenEvents, DecorateAcknowledgements<EmitEvents>, ServerSideEvents, SocketData> {
    this.flags = { ...this.flags, timeout };
    return this as unknown as Socket<ListenEvents, DecorateAcknowledgements<EmitEvents>, ServerSideEvents, SocketData>;
  }

  // --- broadcasting from this socket (everyone but the sender) ----------------------------------

  /** Targets a room (or rooms), excluding this socket. */
  to(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData> {
    return this.broadcastOperator().to(room);
  }

  /** Alias of {@link to}. */
  in(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData> {
    return this.to(room);
  }

  /**
   * Broadcasts to every socket of the namespace but this one and those in `room` (or any of
   * several).
   */
  except(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData> {
    return this.broadcastOperator().except(room);
  }

  /** Every socket of the namespace except this one. */
  get broadcast(): BroadcastOperator<EmitEvents, SocketData> {
    return this.broadcastOperator();
  }

  /** Like {@link broadcast}, on this node only. */
  get local(): BroadcastOperator<EmitEvents, SocketData> {
    return this.broadcastOperator().local;
  }

  private broadcastOperator(): BroadcastOperator<EmitEvents, SocketData> {
    const flags = this.takeFlags();
    return new BroadcastOperator(this.adapter, new Set(), new Set([this.id]), flags === NO_FLAGS ? {} : flags);
  }

  // --- rooms ------------------------------------------------------------------------------------

  /** Joins rooms; does nothing once the socket disconnected (as socket.io). */
  join(rooms: Room | Room[]): Promise<void> | void {
    if (this.closed) return;
    return this.adapter.addAll(this.id, new Set(Array.isArray(rooms) ? rooms : [rooms]));
  }

  /** Leaves `room`. */
  leave(room: Room): Promise<void> | void {
    return this.adapter.del(this.id, room);
  }

  // --- middleware and catch-all -----------------------------------------------------------------

  /**
   * Runs for each incoming event before listeners; `next(err)` drops the event and emits `error`.
   *
   * @example
   * ```ts
   * socket.use(([event, ...args], next) => (event === 'admin' ? next(new Error('denied')) : next()));
   * ```
   */
  use(fn: EventMiddleware): this {
    (this.fns ??= []).push(fn);
    return this;
  }

  /**
   * Calls `listener(event, ...args)` for every incoming event, before the event's own listeners.
   */
  onAny(listener: AnyListener): this {
    (this.anyListeners ??= []).push(listener);
    return this;
  }

  /** Like `onAny`, placed before the catch-all listeners already added. */
  prependAny(listener: AnyListener): this {
    (this.anyListeners ??= []).unshift(listener);
    return this;
  }

  /** Removes a catch-all listener, or all of them without an argument. */
  offAny(listener?: AnyListener): this {
    this.anyListeners = removeListener(this.anyListeners, listener);
    return this;
  }

  /** The catch-all listeners of incoming events. */
  listenersAny(): AnyListener[] {
    return this.anyListeners?.slice() ?? [];
  }

  /** Calls `listener(event, ...args)` for every event this socket emits to its client. */
  onAnyOutgoing(listener: AnyListener): this {
    (this.anyOutgoingListeners ??= []).push(listener);
    return this;
  }

  /** Like `onAnyOutgoing`, placed before the catch-all listeners already added. */
  prependAnyOutgoing(listener: AnyListener): this {
    (this.anyOutgoingListeners ??= []).unshift(listener);
    return this;
  }

  /** Removes a catch-all listener of outgoing events, or all of them without an argument. */
  offAnyOutgoing(listener?: AnyListener): this {
    this.anyOutgoingListeners = removeListener(this.anyOutgoingListeners, listener);
    return this;
  }

  /** The catch-all listeners of outgoing events. */
  listenersAnyOutgoing(): AnyListener[] {
    return this.anyOutgoingListeners?.slice() ?? [];
  }

  // --- disconnecting ----------------------------------------------------------------------------

  /**
   * Leaves the namespace (the client is told, and does not reconnect). With `close`, closes the
   * whole underlying connection (all namespaces).
   */
  disconnect(close = false): this {
    if (!this.connected) return this;
    if (close) {
      this.client._disconnectAll();
    } else {
      this.writePacket({ type: PacketType.DISCONNECT, nsp: this.nsp.name }, NO_FLAGS);
      this._onclose('server namespace disconnect');
    }
    return this;
  }

  // --- internals (used by Client, Namespace, Adapter) -------------------------------------------

  /** @internal Completes the namespace connection: own room, then the CONNECT reply. */
  _onconnect(): void {
    this.connected = true;
    void this.join(this.id);
    // Socket.IO v4 (v2 clients): a CONNECT without payload; the client knows no server-side sid.
    if (this.client.conn.protocol === 3) return this.writePacket({ type: PacketType.CONNECT, nsp: this.nsp.name }, NO_FLAGS);
    const data = this.pid ? { sid: this.id, pid: this.pid } : { sid: this.id };
    this.writePacket({ type: PacketType.CONNECT, nsp: this.nsp.name, data }, NO_FLAGS);
  }

  /** @internal */
  _onpacket(packet: Packet): void {
    switch (packet.type) {
      case PacketType.EVENT:
      case PacketType.BINARY_EVENT:
        nextTick(oneventLater, this, packet);
        break;
      case PacketType.ACK:
      case PacketType.BINARY_ACK:
        this.onack(packet);
        break;
      case PacketType.DISCONNECT:
        this._onclose('client namespace disconnect');
        break;
    }
  }

  /** @internal Called for an error the client caused (parse error) or middleware errors. */
  _onerror(err: Error): void {
    if (this.listenerCount('error') > 0) this.emitReserved('error', err);
  }

  /** @internal */
  _onclose(reason: DisconnectReason, description?: unknown): void {
    if (!this.connected) return;
    this.emitReserved('disconnecting', reason, description);
    if (this.server._recovery && this.pid && RECOVERABLE_DISCONNECT_REASONS.has(reason)) {
      // `recentAcks` travels only with adapters that keep the session object (the in-memory one).
      const session: SessionToPersist & { recentAcks?: RecentAcks } = {
        sid: this.id,
        pid: this.pid,
        rooms: [...this.rooms],
        data: this.data,
        connectedAt: this.connectedAt,
        recentAcks: this.recentAcks,
      };
      this.recentAcks?.suspend();
      void this.adapter.persistSession(session);
    } else {
      this.recentAcks?.clear();
    }
    this._cleanup();
    this.client._remove(this);
    this.connected = false;
    this.failAcks();
    this.emitReserved('disconnect', reason, description);
  }

  /** @internal Forgets the socket everywhere (also for a socket whose connection failed). */
  _cleanup(): void {
    this.closed = true;
    this.adapter.delAll(this.id);
    this.nsp._remove(this);
  }

  /** @internal */
  _registerAck(id: number, ack: (...args: unknown[]) => void): void {
    (this.acks ??= new Map()).set(id, ack);
  }

  /** @internal Drops a broadcast ack that timed out. */
  _dropAck(id: number, ack: (...args: unknown[]) => void): void {
    if (this.acks?.get(id) === ack) this.acks.delete(id);
  }

  /** @internal */
  _notifyOutgoing(packet: Packet): void {
    const listeners = this.anyOutgoingListeners;
    if (!listeners?.length) return;
    const args = packet.data as unknown[];
    for (const listener of listeners.slice()) listener.apply(this, args as [unknown, ...unknown[]]);
  }

  /** @internal Writes bytes prepared once for a broadcast. */
  _writePrepared(prepared: PreparedMessage[], flags: BroadcastFlags): void {
    this.client._writePrepared(prepared, flags);
  }

  private writePacket(packet: Packet, flags: BroadcastFlags): void {
    if (this.closed) return;
    this.client._write(this.server._codec.encode(packet), flags);
  }

  private takeFlags(): BroadcastFlags {
    const flags = this.flags;
    this.flags = NO_FLAGS;
    return flags;
  }

  private addAck(id: number, ack: (...args: unknown[]) => void, timeout: number | undefined): void {
    if (timeout === undefined) {
      this._registerAck(id, ack);
      return;
    }
    const timer = this.server._timeouts.schedule(timeout, () => {
      this.acks?.delete(id);
      ack.call(this, new Error('operation has timed out'));
    });
    const entry: AckEntry = (...args: unknown[]) => {
      timer.cancel();
      ack.call(this, null, ...args);
    };
    entry.fail = (err) => {
      timer.cancel();
      ack.call(this, err);
    };
    this._registerAck(id, entry);
  }

  /** Acks that expect an error argument learn that the socket is gone. */
  private failAcks(): void {
    const acks = this.acks;
    if (!acks) return;
    this.acks = undefined;
    for (const entry of acks.values()) entry.fail?.(new Error('socket has been disconnected'));
  }

  /** @internal */
  _onevent(packet: Packet): void {
    if (!this.connected) return; // packets received after disconnection are ignored
    const args = packet.data as unknown[];
    const id = packet.id;
    let ack: ((...args: unknown[]) => void) | undefined;
    if (id !== undefined) {
      const recent = (this.recentAcks ??= this.server._newRecentAcks());
      const repeat = recent.receive(id);
      if (repeat.kind !== 'new') {
        // A re-sent EVENT (client `retries`): at most once to the handler. Answered: answer again;
        // still running (or the answer was too large to keep): drop it.
        if (repeat.kind === 'answer' && !this.closed) this.client._write(repeat.answer, NO_FLAGS);
        return;
      }
      ack = this.ackFor(id, recent);
    }
    const rare = this.rare;
    if (rare === undefined || (!rare.anyListeners?.length && !rare.fns?.length)) {
      // No catch-all listener or middleware sees the array: the ack goes straight to the listener.
      this.emitEvent(args, ack);
      return;
    }
    if (ack !== undefined) args.push(ack);
    if (this.anyListeners?.length) {
      for (const listener of this.anyListeners.slice()) listener.apply(this, args as [unknown, ...unknown[]]);
    }
    if (this.fns?.length) this.runMiddlewares(args, 0, id);
    else this.emitUntyped(args[0] as string, ...args.slice(1));
  }

  private runMiddlewares(args: unknown[], index: number, id: number | undefined): void {
    const fn = this.fns![index];
    if (!fn) {
      if (this.connected) this.emitUntyped(args[0] as string, ...args.slice(1));
      else if (id !== undefined) this.recentAcks?.notRun(id); // left during a middleware: a retry after recovery runs it
      return;
    }
    let called = false;
    fn(args, (err) => {
      if (called) return;
      called = true;
      if (err) this._onerror(err);
      else this.runMiddlewares(args, index + 1, id);
    });
  }

  /** The callback handed to listeners when the client asked for an ack; answers once, remembered in `recent`. */
  private ackFor(id: number, recent: RecentAcks): (...args: unknown[]) => void {
    let sent = false;
    return (...args: unknown[]) => {
      if (sent) return;
      sent = true;
      const encoded = this.server._codec.encode({ type: PacketType.ACK, nsp: this.nsp.name, id, data: args });
      if (!this.closed) this.client._write(encoded, NO_FLAGS);
      recent.answered(id, encoded);
    };
  }

  private onack(packet: Packet): void {
    const ack = this.acks?.get(packet.id!);
    if (!ack) return; // unknown or already answered: ignore
    this.acks!.delete(packet.id!);
    ack.apply(this, packet.data as unknown[]);
  }
}

/**
 * EVENTs reach `onAny`, middlewares and listeners a tick after they were decoded, as with
 * socket.io: a DISCONNECT decoded in the same batch wins, and the event is dropped.
 */
/** The default 'error' listener of every socket (see the constructor). */
function ignoreError(): void {}

function oneventLater(socket: Socket<any, any, any, any>, packet: Packet): void {
  socket._onevent(packet);
}

function removeListener(list: AnyListener[] | undefined, listener: AnyListener | undefined): AnyListener[] | undefined {
  if (!list || !listener) return undefined;
  const index = list.indexOf(listener);
  if (index !== -1) list.splice(index, 1);
  return list;
}
