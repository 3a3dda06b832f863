/**
 * A namespace connection (socket.io-client's `Socket`): events, acknowledgements, the offline
 * buffer, `retries`, and connection state recovery. Many sockets share one Manager (one
 * Engine.IO connection).
 */
import { PacketType, RESERVED_EVENTS, type Packet } from '../protocol/socketio.js';
import {
  Emitter,
  on,
  type AckResult,
  type AllButLast,
  type DecorateAcknowledgements,
  type DefaultEventsMap,
  type EventNames,
  type EventParams,
  type EventsMap,
  type Last,
} from './emitter.js';
import type { Manager } from './manager.js';

/** Options of one namespace's socket (`io(url, options)` takes them with the Manager's). */
export interface SocketOptions {
  /** Sent with the namespace CONNECT packet: an object, or a function called on every (re)connection. */
  auth?: Record<string, unknown> | ((cb: (data: Record<string, unknown>) => void) => void);
  /**
   * Re-send emits that expect an acknowledgement, at most this many extra times (default 0: off).
   *
   * What is guaranteed, with `retries: n` (use it with `ackTimeout`):
   * - every emit goes through an in-memory queue and is sent one at a time, in emit order; the next
   *   one waits until the previous is acknowledged or has failed;
   * - an attempt that gets no acknowledgement within `ackTimeout` (or `.timeout(ms)`) is re-sent,
   *   up to `n` times; a connection loss does not use up a retry: the packet is re-sent after the
   *   reconnection;
   * - every attempt carries the same acknowledgement id, so a late acknowledgement of an earlier
   *   attempt still completes the emit;
   * - with a switchboard server: at-least-once transmission, at-most-once processing. The server
   *   remembers the ack ids of each socket's latest 128 EVENTs (answers for its `retryWindow`: 10 s
   *   and 16 KiB per socket by default, not counting time spent disconnected) and never runs a handler twice for the same id: a re-sent
   *   packet is answered with the first run's acknowledgement, or dropped while that run is still
   *   going (its acknowledgement then answers) or when the answer was too large to keep. This holds on one connection
   *   and across a connection state recovery with the in-memory adapter; a reconnection that starts
   *   a new session (or recovers on another node) forgets it, and the handler may run again. An emit
   *   that fails after all its attempts may or may not have been processed (once);
   * - with an official socket.io server: at-least-once. The server does not recognise re-sent
   *   packets, so every attempt that arrives may run the handler;
   * - the callback/promise settles exactly once: with the acknowledgement, or with an Error after
   *   `n + 1` unanswered attempts. Volatile emits are never queued. The queue lives in memory: it
   *   does not survive a page reload or process exit.
   */
  retries?: number;
  /** Default acknowledgement timeout in ms for emits with a callback (none by default). */
  ackTimeout?: number;
}

/** The events a client socket emits itself. */
export interface SocketReservedEvents {
  /** Connected to the namespace (again, after a reconnection). */
  connect: () => void;
  /**
   * The connection or the namespace refused: a middleware's `next(err)` arrives with its message
   * and `data`.
   */
  connect_error: (err: Error & { data?: unknown }) => void;
  /** Disconnected; `reason` says why, and whether the client will reconnect by itself. */
  disconnect: (reason: DisconnectReason, description?: unknown) => void;
}

/** Why a client socket disconnected. */
export type DisconnectReason =
  | 'io server disconnect'
  | 'io client disconnect'
  | 'ping timeout'
  | 'transport close'
  | 'transport error'
  | 'parse error'
  | 'forced close';

interface Flags {
  compress?: boolean;
  volatile?: boolean;
  timeout?: number;
  /** The callback is error-first even without a timeout (`emitWithAck`). */
  withError?: boolean;
}

/** An outgoing packet plus its per-emit compression flag. */
export type OutgoingPacket = Packet & { compress?: boolean };

/** Settles an acknowledgement once: the answer, or an Error (timeout; `lost`: connection lost). */
type AckDone = (err: Error | null, response: unknown[], lost?: boolean) => void;

interface QueuedEmit {
  id: number;
  args: unknown[];
  flags: Flags;
  ack?: (err: Error | null, ...response: any[]) => void;
  timeouts: number;
  pending?: boolean;
}

type AnyListener = (event: string, ...args: any[]) => void;

/**
 * @example
 * ```ts
 * interface ServerToClient { news: (text: string) => void }
 * interface ClientToServer { hello: (name: string, ack: (reply: string) => void) => void }
 * const socket: Socket<ServerToClient, ClientToServer> = io('https://example.com/chat');
 * socket.on('news', (text) => console.log(text));
 * const reply = await socket.timeout(5000).emitWithAck('hello', 'ada');
 * ```
 */
export class Socket<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
> extends Emitter<ListenEvents, EmitEvents, SocketReservedEvents> {
  readonly io: Manager<ListenEvents, EmitEvents>;
  readonly nsp: string;
  /** Session id of this namespace connection (given by the server; not the Engine.IO id). */
  id: string | undefined;
  connected = false;
  /** True when the last connection restored the previous session (connection state recovery). */
  recovered = false;
  /**
   * The credentials sent with every CONNECT (the `auth` option); may be changed before a
   * reconnection.
   */
  auth: SocketOptions['auth'];
  /** Events received before the namespace CONNECT reply, replayed right after it. */
  receiveBuffer: unknown[][] = [];
  /** Packets emitted while disconnected, sent once connected (volatile ones are dropped instead). */
  sendBuffer: OutgoingPacket[] = [];
  #opts: SocketOptions;
  #ids = 0;
  #acks = new Map<number, AckDone>();
  #queue: QueuedEmit[] = [];
  #flags: Flags = {};
  #subs?: (() => void)[];
  /** @internal catch-all listeners: incoming (`onAny`) and outgoing (`onAnyOutgoing`) */
  anyIn: AnyListener[] = [];
  /** @internal */
  anyOut: AnyListener[] = [];
  #pid?: string;
  #lastOffset?: string;

  constructor(io: Manager<any, any>, nsp: string, opts: SocketOptions = {}) {
    super();
    this.io = io;
    this.nsp = nsp;
    this.auth = opts.auth;
    this.#opts = opts;
    if (io._autoConnect) this.open();
  }

  get disconnected(): boolean {
    return !this.connected;
  }

  /** True while the socket is connected or trying to (it follows the Manager's reconnections). */
  get active(): boolean {
    return !!this.#subs;
  }

  /** Connects (or re-connects after `disconnect()`). */
  connect(): this {
    if (this.connected) return this;
    if (!this.#subs) {
      const io = this.io;
      this.#subs = [
        on(io, 'open', () => this.#onOpen()),
        on(io, 'packet', (packet: Packet) => this.#onPacket(packet)),
        on(io, 'error', (err: Error) => {
          if (!this.connected) this._emit('connect_error', err);
        }),
        on(io, 'close', (reason: DisconnectReason, description?: unknown) => this.#onClose(reason, description)),
      ];
    }
    if (!this.io._reconnecting) this.io.open();
    if (this.io._readyState === 'open') this.#onOpen();
    return this;
  }

  /** Sends a `message` event. */
  send(...args: any[]): this {
    return (this.emit as any)('message', ...args);
  }

  /**
   * Emits an event to the server. A function as last argument asks for an acknowledgement.
   * While disconnected the packet waits in `sendBuffer` (unless `volatile`).
   */
  override emit<Ev extends EventNames<EmitEvents>>(event: Ev, ...args: EventParams<EmitEvents, Ev>): this {
    if (RESERVED_EVENTS.has(event)) throw new Error(`"${event}" is a reserved event name`);
    const data: unknown[] = [event, ...args];
    const flags = this.#flags;
    this.#flags = {};
    if (this.#opts.retries && !flags.volatile) {
      this.#enqueue(data, flags);
      return this;
    }
    const packet: OutgoingPacket = { type: PacketType.EVENT, nsp: this.nsp, data, compress: flags.compress };
    const ack = data[data.length - 1];
    if (typeof ack === 'function') {
      data.pop();
      const timeout = flags.timeout ?? this.#opts.ackTimeout;
      // With a timeout (or from emitWithAck) the callback is error-first, and also hears of a lost
      // connection; a plain callback only ever gets the answer.
      const withError = timeout !== undefined || flags.withError;
      this.#awaitAck((packet.id = this.#ids++), timeout, (err, response) =>
        withError ? ack.call(this, err, ...response) : err || ack.apply(this, response),
      );
    }
    const engine = this.io.engine;
    const ready = this.connected && !engine._hasPingExpired();
    if (ready && (!flags.volatile || engine.transport.writable)) this.#send(packet);
    else if (!flags.volatile) this.sendBuffer.push(packet);
    return this;
  }

  /**
   * Emits and resolves with the acknowledgement. Rejects with an Error when the connection is lost
   * after the packet was sent, or when no acknowledgement comes in time (`timeout()`, `ackTimeout`,
   * after the `retries`).
   */
  emitWithAck<Ev extends EventNames<EmitEvents>>(
    event: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<AckResult<Last<EventParams<EmitEvents, Ev>>>> {
    this.#flags.withError = true;
    return new Promise((resolve, reject) => {
      (this.emit as any)(event, ...args, (err: Error | null, value: unknown) => (err ? reject(err) : resolve(value as any)));
    });
  }

  /** The next emit fails its acknowledgement callback with an Error after `ms` without answer. */
  timeout(ms: number): Socket<ListenEvents, DecorateAcknowledgements<EmitEvents>> {
    this.#flags.timeout = ms;
    return this as any;
  }

  /** The next emit is dropped rather than buffered when it cannot be written right now. */
  get volatile(): this {
    this.#flags.volatile = true;
    return this;
  }

  /** Whether the next emit may be compressed (permessage-deflate, when negotiated). */
  compress(compress: boolean): this {
    this.#flags.compress = compress;
    return this;
  }

  /** Disconnects this namespace (no automatic reconnection); closes the connection if it was the last. */
  disconnect(): this {
    if (this.connected) this.io._packet({ type: PacketType.DISCONNECT, nsp: this.nsp });
    this.#destroy();
    if (this.connected) this.#onClose('io client disconnect');
    return this;
  }

  // ---- outgoing ----

  #send(packet: OutgoingPacket): void {
    for (const listener of this.anyOut.slice()) listener.apply(this, packet.data as [string]);
    this.io._packet(packet);
  }

  /** Waits for the acknowledgement `id`; see {@link AckDone}. */
  #awaitAck(id: number, timeout: number | undefined, done: AckDone): void {
    const timer = timeout !== undefined && setTimeout(() => settle(new Error('operation has timed out'), []), timeout);
    const settle: AckDone = (err, response, lost) => {
      clearTimeout(timer as ReturnType<typeof setTimeout>);
      this.#acks.delete(id);
      if (err) this.sendBuffer = this.sendBuffer.filter((packet) => packet.id !== id);
      done(err, response, lost);
    };
    this.#acks.set(id, settle);
  }

  #enqueue(args: unknown[], flags: Flags): void {
    const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as QueuedEmit['ack']) : undefined;
    this.#queue.push({ id: this.#ids++, args, flags, ack, timeouts: 0 });
    this.#drainQueue();
  }

  /** Sends the head of the retry queue if nothing is in flight (see `SocketOptions.retries`). */
  #drainQueue(): void {
    const entry = this.#queue[0];
    if (!entry || entry.pending || !this.connected) return;
    entry.pending = true;
    this.#awaitAck(entry.id, entry.flags.timeout ?? this.#opts.ackTimeout, (err, response, lost) => {
      entry.pending = false;
      // A lost connection costs no retry: the packet goes again after the reconnection.
      if (!err || (!lost && ++entry.timeouts > this.#opts.retries!)) {
        this.#queue.shift();
        entry.ack?.call(this, err, ...response);
      }
      this.#drainQueue();
    });
    this.#send({ type: PacketType.EVENT, nsp: this.nsp, id: entry.id, data: entry.args.slice(), compress: entry.flags.compress });
  }

  // ---- incoming ----

  #onOpen(): void {
    const send = (data?: Record<string, unknown>) =>
      this.io._packet({
        type: PacketType.CONNECT,
        nsp: this.nsp,
        // Connection state recovery (Socket.IO v5 §CSR): ask for the missed packets.
        data: this.#pid ? { pid: this.#pid, offset: this.#lastOffset, ...data } : data,
      });
    if (typeof this.auth === 'function') this.auth(send);
    else send(this.auth);
  }

  #onPacket(packet: Packet): void {
    if (packet.nsp !== this.nsp) return;
    const data = packet.data as any;
    switch (packet.type) {
      case PacketType.CONNECT:
        if (data && typeof data.sid === 'string') this.#onConnect(data.sid, typeof data.pid === 'string' ? data.pid : undefined);
        else this._emit('connect_error', new Error('bad CONNECT reply'));
        return;
      case PacketType.EVENT:
      case PacketType.BINARY_EVENT: {
        const args = data as unknown[];
        if (packet.id !== undefined) args.push(this.#ackFor(packet.id));
        if (this.connected) this.#emitEvent(args);
        else this.receiveBuffer.push(args);
        return;
      }
      case PacketType.ACK:
      case PacketType.BINARY_ACK:
        this.#acks.get(packet.id!)?.(null, data);
        return;
      case PacketType.DISCONNECT:
        this.#destroy();
        this.#onClose('io server disconnect');
        return;
      case PacketType.CONNECT_ERROR:
        this.#destroy();
        // Socket.IO v5: `{message, data}`; older servers send a string.
        this._emit('connect_error', Object.assign(new Error(data.message ?? data), { data: data.data }));
    }
  }

  #emitEvent(args: unknown[]): void {
    for (const listener of this.anyIn.slice()) listener.apply(this, args as [string]);
    (this._emit as (...all: unknown[]) => this)(...args);
    // Connection state recovery: the server appends the packet's offset as last argument.
    const last = args[args.length - 1];
    if (this.#pid && typeof last === 'string') this.#lastOffset = last;
  }

  #ackFor(id: number): (...args: unknown[]) => void {
    let sent = false;
    return (...args) => {
      if (sent) return;
      sent = true;
      this.io._packet({ type: PacketType.ACK, nsp: this.nsp, id, data: args });
    };
  }

  #onConnect(id: string, pid: string | undefined): void {
    this.id = id;
    this.recovered = !!pid && this.#pid === pid;
    this.#pid = pid;
    this.connected = true;
    for (const args of this.receiveBuffer) this.#emitEvent(args);
    this.receiveBuffer = [];
    const buffered = this.sendBuffer;
    this.sendBuffer = [];
    for (const packet of buffered) this.#send(packet);
    this._emit('connect');
    this.#drainQueue();
  }

  #onClose(reason: DisconnectReason, description?: unknown): void {
    const wasConnected = this.connected;
    this.connected = false;
    this.id = undefined;
    // Acknowledgements of sent packets can no longer arrive (those still buffered will be sent).
    for (const [id, settle] of this.#acks) {
      if (!this.sendBuffer.some((packet) => packet.id === id)) settle(new Error('socket has been disconnected'), [], true);
    }
    if (wasConnected) this._emit('disconnect', reason, description);
  }

  #destroy(): void {
    if (this.#subs) {
      for (const unsubscribe of this.#subs) unsubscribe();
      this.#subs = undefined;
    }
    this.io._destroy();
  }
}

// Catch-all listeners (socket.io-client API), defined once for both directions:
// onAny, prependAny, offAny, listenersAny and the same with `Outgoing`.
export interface Socket<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents> {
  /** Listens to every incoming event: `listener(event, ...args)`. */
  onAny(listener: AnyListener): this;
  /** Like `onAny`, placed before the catch-all listeners already added. */
  prependAny(listener: AnyListener): this;
  /** Removes a catch-all listener, or all of them without an argument. */
  offAny(listener?: AnyListener): this;
  /** The catch-all listeners of incoming events. */
  listenersAny(): AnyListener[];
  /** Listens to every outgoing event (acknowledgement callbacks excluded). */
  onAnyOutgoing(listener: AnyListener): this;
  /** Like `onAnyOutgoing`, placed before the catch-all listeners already added. */
  prependAnyOutgoing(listener: AnyListener): this;
  /** Removes a catch-all listener of outgoing events, or all of them without an argument. */
  offAnyOutgoing(listener?: AnyListener): this;
  /** The catch-all listeners of outgoing events. */
  listenersAnyOutgoing(): AnyListener[];
}
for (const [suffix, key] of [['', 'anyIn'], ['Outgoing', 'anyOut']] as const) {
  Object.assign(Socket.prototype, {
    ['onAny' + suffix](this: Socket, listener: AnyListener) {
      this[key].push(listener);
      return this;
    },
    ['prependAny' + suffix](this: Socket, listener: AnyListener) {
      this[key].unshift(listener);
      return this;
    },
    ['offAny' + suffix](this: Socket, listener?: AnyListener) {
      this[key] = listener ? this[key].filter((l) => l !== listener) : [];
      return this;
    },
    ['listenersAny' + suffix](this: Socket) {
      return this[key].slice();
    },
  });
}

export interface Socket<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents> {
  /** Same as `connect()`. */
  open(): this;
  /** Same as `disconnect()`. */
  close(): this;
}
Socket.prototype.open = Socket.prototype.connect;
Socket.prototype.close = Socket.prototype.disconnect;
