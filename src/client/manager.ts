/**
 * The Manager owns one Engine.IO connection, multiplexes namespace sockets over it, and
 * reconnects with exponential backoff (socket.io-client's `Manager`).
 */
import type { PacketCodec, PacketDecoder, ParserModule } from '../protocol/codec.js';
import { defaultCodec, encodePacketAsync } from './default-codec.js';
import {
  SocketIOEncodeError,
  type DecoderOptions,
  type Packet,
} from '../protocol/socketio.js';
import { Backoff } from './backoff.js';
import { Emitter, on, type DefaultEventsMap, type EventsMap } from './emitter.js';
import { Engine, type EngineOptions } from './engine.js';
import { Socket, type OutgoingPacket, type SocketOptions } from './socket.js';

export interface ManagerOptions extends EngineOptions, DecoderOptions {
  /** Reconnect automatically after a connection loss (default true). */
  reconnection?: boolean;
  /** Give up after this many failed attempts (default Infinity). */
  reconnectionAttempts?: number;
  /** First delay in ms (default 1000), doubled on every attempt... */
  reconnectionDelay?: number;
  /** ...up to this many ms (default 5000). */
  reconnectionDelayMax?: number;
  /** Spread of each delay, 0..1 (default 0.5: ±50%). */
  randomizationFactor?: number;
  /** Connection timeout in ms, or false (default 20000). */
  timeout?: number | false;
  /** Connect as soon as created (default true). */
  autoConnect?: boolean;
  /**
   * A socket.io-compatible parser (socket.io-parser's shape: `Encoder` and `Decoder` classes), for
   * example `socket.io-msgpack-parser`; the server must use the same one. Default: ours. In browser
   * bundles it needs `import 'switchboard/client/parser'` (the Node entry imports it itself).
   */
  parser?: ParserModule;
}

/** The events a Manager (one connection shared by the sockets of its namespaces) emits. */
export interface ManagerReservedEvents {
  /** The connection opened. */
  open: () => void;
  /** A connection attempt failed. */
  error: (err: Error) => void;
  /** The server's heartbeat arrived. */
  ping: () => void;
  /** A Socket.IO packet arrived, for any namespace. */
  packet: (packet: Packet) => void;
  /** The connection closed; reconnection follows unless it was closed on purpose. */
  close: (reason: string, description?: unknown) => void;
  /** Every reconnection attempt (`reconnectionAttempts`) failed; no more will be made. */
  reconnect_failed: () => void;
  /** A reconnection attempt starts (counting from 1). */
  reconnect_attempt: (attempt: number) => void;
  /** A reconnection attempt failed. */
  reconnect_error: (err: Error) => void;
  /** The connection is back, after `attempt` attempts. */
  reconnect: (attempt: number) => void;
}

/**
 * @example
 * ```ts
 * const manager = new Manager('https://example.com', { reconnectionDelayMax: 10000 });
 * const chat = manager.socket('/chat', { auth: { token: 'abc' } });
 * const admin = manager.socket('/admin'); // same connection
 * manager.on('reconnect', (attempt) => console.log('back after', attempt, 'attempts'));
 * ```
 */
export class Manager<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
> extends Emitter<{}, {}, ManagerReservedEvents> {
  /** The current Engine.IO connection (replaced on every reconnection). */
  engine!: Engine;
  readonly uri: string;
  readonly opts: ManagerOptions;
  /** Namespace sockets by name (names start with `/`, so no clash with Object.prototype). */
  readonly nsps: Record<string, Socket<any, any>> = {};
  readonly backoff: Backoff;
  /**
   * @internal Set by `switchboard/client/parser`: makes a codec of the `parser` option, so bundles
   * that do not use the option carry none of that code.
   */
  static _parser?: (parser: ParserModule) => PacketCodec;
  /** @internal */ _readyState: 'opening' | 'open' | 'closed' = 'closed';
  /** @internal */ _reconnecting = false;
  /** @internal */ _autoConnect: boolean;
  #skipReconnect = false;
  #subs: (() => void)[] = [];
  #codec: PacketCodec;
  #decoder: PacketDecoder;
  /** Serialises writes while a Blob is being read, so packets keep their order. */
  #blobChain?: Promise<void>;

  /** `new Manager(opts)` connects to the page's origin (browsers) or `http://localhost` (Node). */
  constructor(opts?: ManagerOptions);
  constructor(uri: string | undefined, opts?: ManagerOptions);
  constructor(uri?: string | ManagerOptions, opts: ManagerOptions = {}) {
    super();
    if (typeof uri === 'object') {
      opts = uri;
      uri = undefined;
    }
    this.uri = uri!;
    this.opts = opts;
    this.backoff = new Backoff(opts);
    this.#codec = opts.parser ? (Manager._parser ?? parserNotImported)(opts.parser) : defaultCodec(opts);
    this.#decoder = this.#codec.createDecoder();
    if ((this._autoConnect = opts.autoConnect !== false)) this.open();
  }

  /** Opens the connection; `callback(err?)` is told how the attempt ended. */
  open(callback?: (err?: Error) => void): this {
    if (this._readyState !== 'closed') return this;
    const engine = (this.engine = new Engine(this.uri, this.opts));
    this._readyState = 'opening';
    this.#skipReconnect = false;
    const fail = (err: Error) => {
      this.#cleanup();
      this._readyState = 'closed';
      this._emit('error', err);
      if (callback) callback(err);
      // First connection failed: start the reconnection loop unless already in it.
      else if (!this._reconnecting && this.backoff.attempts === 0) this.#reconnect();
    };
    const unsubscribeOpen = on(engine, 'open', () => {
      this.#cleanup();
      this._readyState = 'open';
      this._emit('open');
      this.#subs.push(
        on(engine, 'ping', () => this._emit('ping')),
        on(engine, 'message', (data) => this.#onData(data)),
        on(engine, 'error', (err) => this._emit('error', err)),
        on(engine, 'close', (reason, description) => this.#onClose(reason, description)),
      );
      callback?.();
    });
    this.#subs.push(unsubscribeOpen, on(engine, 'error', fail));
    const timeout = this.timeout();
    if (timeout !== false) {
      this.#timer(() => {
        unsubscribeOpen();
        fail(new Error('timeout'));
        engine.close();
      }, timeout);
    }
    return this;
  }

  /** The socket for a namespace, created on first use (one per namespace per Manager). */
  socket(nsp: string, opts?: SocketOptions): Socket<ListenEvents, EmitEvents> {
    let socket = this.nsps[nsp];
    if (!socket) this.nsps[nsp] = socket = new Socket(this, nsp, opts);
    else if (this._autoConnect && !socket.active) socket.connect();
    return socket;
  }

  #onData(data: string | Uint8Array | ArrayBuffer): void {
    let packet: Packet | null;
    try {
      packet = this.#decoder.add(data as string | Uint8Array);
    } catch (err) {
      // Only the decoder runs here, and it only throws SocketIODecodeError.
      return this.#onClose('parse error', err);
    }
    if (packet) this._emit('packet', packet);
  }

  /** @internal Encodes and writes a packet (Blob data is read first, keeping packet order). */
  _packet(packet: OutgoingPacket): void {
    const write = (parts: (string | Uint8Array)[]) => {
      if (this._readyState === 'open') for (const part of parts) this.engine.write(part, packet);
    };
    if (!this.#blobChain) {
      try {
        return write(this.#codec.encode(packet));
      } catch (err) {
        // A Blob somewhere in the data: read it asynchronously, queue what follows behind it.
        if (!(err instanceof SocketIOEncodeError && err.code === 'BLOB')) throw err;
      }
    }
    const chain: Promise<void> = (this.#blobChain ?? Promise.resolve())
      .then(() => encodePacketAsync(packet))
      .then(write, (err) => void this._emit('error', err))
      .finally(() => {
        if (this.#blobChain === chain) this.#blobChain = undefined;
      });
    this.#blobChain = chain;
  }

  /** @internal A socket went inactive; close the connection when none is left. */
  _destroy(): void {
    for (const nsp in this.nsps) if (this.nsps[nsp]!.active) return;
    this._close();
  }

  /** Closes the connection and stops reconnecting. */
  _close(): void {
    this.#skipReconnect = true;
    this._reconnecting = false;
    this.#onClose('forced close');
  }

  #timer(fn: () => void, ms: number): void {
    const timer = setTimeout(fn, ms);
    if (this.opts.autoUnref) (timer as { unref?: () => void }).unref?.();
    this.#subs.push(() => clearTimeout(timer));
  }

  #cleanup(): void {
    for (const unsubscribe of this.#subs) unsubscribe();
    this.#subs = [];
    this.#decoder.reset();
  }

  #onClose(reason: string, description?: unknown): void {
    this.#cleanup();
    this.engine?.close();
    this.backoff.reset();
    this._readyState = 'closed';
    this._emit('close', reason, description);
    if (!this.#skipReconnect) this.#reconnect();
  }

  #reconnect(): void {
    if (this._reconnecting || this.#skipReconnect || this.reconnection() === false) return;
    if (this.backoff.attempts >= this.reconnectionAttempts()) {
      this.backoff.reset();
      this._emit('reconnect_failed');
      return;
    }
    this._reconnecting = true;
    this.#timer(() => {
      if (this.reconnection() === false) return void (this._reconnecting = false);
      this._emit('reconnect_attempt', this.backoff.attempts);
      if (this.#skipReconnect) return; // a listener may have closed the manager
      this.open((err) => {
        const attempts = this.backoff.attempts;
        this._reconnecting = false;
        if (err) {
          this.#reconnect();
          this._emit('reconnect_error', err);
        } else {
          this.backoff.reset();
          this._emit('reconnect', attempts);
        }
      });
    }, this.backoff.duration());
  }
}

const parserNotImported = (): never => {
  throw new Error('parser: import "switchboard/client/parser"');
};

/** socket.io-client's live option accessors: `manager.reconnectionDelay(500)` sets, `manager.reconnectionDelay()` gets. */
type Accessor<T> = { (): T; (value: T): Manager<any, any> };
export interface Manager<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents> {
  /** Same as `open()`. */
  connect(callback?: (err?: Error) => void): this;
  /** Closes the connection and stops reconnecting (same as `close()`). */
  disconnect(): void;
  /** Same as `disconnect()`. */
  close(): void;
  reconnection: Accessor<boolean>;
  reconnectionAttempts: Accessor<number>;
  reconnectionDelay: Accessor<number>;
  reconnectionDelayMax: Accessor<number>;
  randomizationFactor: Accessor<number>;
  timeout: Accessor<number | false>;
}
Manager.prototype.connect = Manager.prototype.open;
Manager.prototype.disconnect = Manager.prototype.close = Manager.prototype._close;
// Each accessor's value when the option is not set; the Manager reads its options through them.
const DEFAULTS = { reconnection: true, reconnectionAttempts: Infinity, reconnectionDelay: 1000, reconnectionDelayMax: 5000, randomizationFactor: 0.5, timeout: 20000 };
for (const [key, fallback] of Object.entries(DEFAULTS)) {
  (Manager.prototype as any)[key] = function (this: Manager, value?: unknown) {
    if (value === undefined) return this.opts[key as keyof typeof DEFAULTS] ?? fallback;
    (this.opts as Record<string, unknown>)[key] = value;
    return this;
  };
}
