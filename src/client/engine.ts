/**
 * Engine.IO v4 client session: handshake, heartbeat, write buffer, polling → WebSocket upgrade.
 * Knows nothing about events or namespaces (that is the Manager's and Socket's job).
 */
import { parseOpenData, PROTOCOL } from '../protocol/engineio.js';
import { Emitter } from './emitter.js';
import { TransportError } from './platform-types.js';
import * as platform from './platform.js';
import {
  Polling,
  WebSocketTransport,
  type CloseDetails,
  type IncomingPacket,
  type OutgoingPacket,
  type Transport,
  type TransportConstructor,
  type TransportSink,
} from './transports.js';

/** The transports of Engine.IO: HTTP long-polling and WebSocket. */
export type TransportName = 'polling' | 'websocket';

/** Engine.IO client options (socket.io-client's names). */
export interface EngineOptions {
  /** Endpoint path (default `/socket.io`). */
  path?: string;
  /** Extra query parameters sent with every request. */
  query?: Record<string, string | number | boolean> | string;
  /** Extra HTTP headers: every request in Node, polling requests only in browsers. */
  extraHeaders?: Record<string, string>;
  /** Send cookies on cross-origin polling requests (browser); keep cookies between requests (Node). */
  withCredentials?: boolean;
  /**
   * Transports in order of preference (default `['polling', 'websocket']`): names, or transport
   * classes such as `XHR` from `switchboard/client/xhr`.
   */
  transports?: (TransportName | TransportConstructor)[];
  /** Try the next transport when the first one fails to connect (default false). */
  tryAllTransports?: boolean;
  /** Upgrade from polling to WebSocket when the server offers it (default true). */
  upgrade?: boolean;
  /** Append `/` to the path (default true). */
  addTrailingSlash?: boolean;
  /** Node: don't keep the process alive for this connection's timers and sockets (default false). */
  autoUnref?: boolean;
  /**
   * Browsers: close the connection silently on `beforeunload` (default false; no `disconnect`
   * event when the page goes away). Needs `import 'switchboard/client/options'`.
   */
  closeOnBeforeunload?: boolean;
  /**
   * Start with WebSocket when a previous connection's upgrade to it succeeded (default false).
   * Needs `import 'switchboard/client/options'`.
   */
  rememberUpgrade?: boolean;
  /**
   * Cache-busting query parameter: `false` leaves it off polling requests, `true` adds it to the
   * WebSocket handshake too (default: polling only). Needs `import 'switchboard/client/options'`
   * to change.
   */
  timestampRequests?: boolean;
  /** Name of the cache-busting parameter (default `t`). Needs `import 'switchboard/client/options'`. */
  timestampParam?: string;
  /** WebSocket sub-protocols. */
  protocols?: string | string[];
  /** Node: permessage-deflate for the WebSocket transport (default false). */
  perMessageDeflate?: boolean | Record<string, unknown>;
  /**
   * Node: largest polling response body or WebSocket message accepted from the server, in bytes
   * (default 100 MB); beyond it the connection fails with a TransportError. Browsers apply their own.
   */
  maxHttpBufferSize?: number;
  /** Node: an `http.Agent` for polling requests and the WebSocket handshake. */
  agent?: unknown;
  /** Node TLS options, passed to https/our WebSocket client. */
  ca?: unknown;
  cert?: unknown;
  key?: unknown;
  pfx?: unknown;
  passphrase?: string;
  rejectUnauthorized?: boolean;
}

/** A packet as `packetCreate` reports it (engine.io-client's shape). */
export type CreatedPacket = OutgoingPacket;

interface EngineEvents {
  open: () => void;
  /** Every packet received, before it is handled. */
  packet: (packet: IncomingPacket) => void;
  /** Every packet queued for the server; `options.compress` is false when compression is off. */
  packetCreate: (packet: CreatedPacket) => void;
  message: (data: any) => void;
  ping: () => void;
  drain: () => void;
  error: (err: Error) => void;
  close: (reason: string, description?: unknown) => void;
  upgrading: (transport: Transport) => void;
  upgrade: (transport: Transport) => void;
  upgradeError: (err: Error) => void;
}

/**
 * One Engine.IO connection. Events: `open`, `message`, `ping`, `upgrade`, `error`,
 * `close(reason, description)` with reasons `transport close`, `transport error`,
 * `ping timeout`, `forced close`.
 *
 * @example
 * ```ts
 * const engine = new Engine('http://localhost:3000', { path: '/engine.io' }); // origin only
 * engine.on('open', () => engine.write('hello'));
 * engine.on('message', (data) => console.log(data));
 * ```
 */
export class Engine extends Emitter<{}, {}, EngineEvents> implements TransportSink {
  /**
   * Set up by opt-in modules (`switchboard/client/options`): each runs on every new Engine before
   * its first transport opens, so the core carries none of their code.
   */
  static _hooks: ((engine: Engine) => void)[] = [];
  id: string | null = null;
  /** How received binary data is handed over: `nodebuffer` (Node's default) or `arraybuffer` (browsers). */
  binaryType: string = platform.binaryType;
  transport!: Transport;
  readyState: 'opening' | 'open' | 'closing' | 'closed' = 'opening';
  upgrading = false;
  upgrades: string[] = [];
  pingInterval = 0;
  pingTimeout = 0;
  /** Largest polling payload the server accepts (from the handshake; 0 = no limit). */
  maxPayload = 0;
  writeBuffer: OutgoingPacket[] = [];
  readonly opts: EngineOptions;
  /** @internal `http(s)://host/path/` */ _base: string;
  /** @internal The application's query parameters plus `EIO`. */ _query: Record<string, string> = {};
  /** @internal Transports still to try, in order of preference. */ _transports: TransportConstructor[];
  #sentCount = 0;
  #lastSeen = 0;
  #heartbeat?: ReturnType<typeof setTimeout>;
  #offline = () => this.#onClose('transport close', { description: 'network connection lost' });

  constructor(uri?: string, opts: EngineOptions = {}) {
    super();
    this.opts = opts;
    // `ws(s)://` and `http(s)://` origins both work; requests use http(s) and switch for WebSocket.
    // Without one: the page's origin in browsers, `http://localhost` in Node.
    this._base =
      new URL(uri ?? platform.location ?? 'http://localhost').origin.replace(/^ws/, 'http') +
      (opts.path ?? '/socket.io').replace(/\/$/, '') +
      (opts.addTrailingSlash === false ? '' : '/');
    const query = typeof opts.query === 'string' ? Object.fromEntries(new URLSearchParams(opts.query)) : opts.query;
    for (const key in query) this._query[key] = String(query[key]);
    this._query.EIO = `${PROTOCOL}`;
    const known = { polling: Polling, websocket: WebSocketTransport } as Record<string, TransportConstructor>;
    this._transports = (opts.transports ?? ['polling', 'websocket'])
      .map((t) => (typeof t === 'string' ? known[t]! : t))
      .filter(Boolean);
    for (const hook of Engine._hooks) hook(this);
    this.#open();
    // Browsers: a lost network closes at once rather than after the heartbeat window.
    globalThis.addEventListener?.('offline', this.#offline);
  }

  #open(): void {
    const first = this._transports[0];
    if (first) this.transport = new first(this, this)._open();
    else setTimeout(() => this._onError(new TransportError('no transport')));
  }

  /** @internal */
  _onPacket(packet: IncomingPacket): void {
    if (this.readyState === 'closed') return;
    this.#lastSeen = Date.now();
    this._emit('packet', packet);
    const { type, data } = packet;
    if (type === 'open') {
      if (this.id) return; // one handshake per connection, whatever the server sends
      let open;
      try {
        open = parseOpenData(data);
      } catch (err) {
        return this._onError(new TransportError('handshake error', 0, err));
      }
      ({ sid: this.id, pingInterval: this.pingInterval, pingTimeout: this.pingTimeout, maxPayload: this.maxPayload } = open);
      this.readyState = 'open';
      this.upgrades = open.upgrades.filter((u) => this.#transportNamed(u));
      this._emit('open');
      this.flush();
      if (this.readyState !== 'open') return;
      this.#armHeartbeat();
      if (this.opts.upgrade !== false && this.transport.name === 'polling') {
        for (const name of this.upgrades) this.#probe(this.#transportNamed(name)!);
      }
    } else if (type === 'ping') {
      // Engine.IO v4 "heartbeat": the server pings, the client answers.
      this.#push('pong');
      this._emit('ping');
    } else if (type === 'message') this._emit('message', data);
    else if (type === 'close') this._onClose();
  }

  /**
   * One timer per connection, re-armed only when it fires: packets just stamp `#lastSeen`, so a
   * busy connection costs no timer churn. Any packet from the server counts as a sign of life.
   */
  #armHeartbeat(delay = this.pingInterval + this.pingTimeout): void {
    // Clamped: a longer delay overflows setTimeout, which would then fire at once, again and again.
    this.#heartbeat = setTimeout(() => {
      const idle = Date.now() - this.#lastSeen;
      const window = this.pingInterval + this.pingTimeout;
      if (idle >= window) this.#onClose('ping timeout');
      else this.#armHeartbeat(window - idle);
    }, Math.min(delay, 2 ** 31 - 1));
    if (this.opts.autoUnref) (this.#heartbeat as { unref?: () => void }).unref?.();
  }

  /**
   * @internal True (and closing the connection) when the server has been silent past the heartbeat
   * window: timers in background tabs can fire late, this catches it on the next emit.
   */
  _hasPingExpired(): boolean {
    const expired = this.readyState === 'open' && Date.now() - this.#lastSeen > this.pingInterval + this.pingTimeout;
    if (expired) queueMicrotask(() => this.#onClose('ping timeout'));
    return expired;
  }

  #transportNamed(name: string): TransportConstructor | undefined {
    return this._transports.find((t) => t.prototype.name === name);
  }

  /** Engine.IO v4 upgrade: probe with `2probe`/`3probe`, pause polling, then `5` on the new transport. */
  #probe(transport: TransportConstructor): void {
    const fail = () => {
      if (!probe) return;
      probe.close();
      probe = undefined;
      this.off('close', fail);
      if (this.upgrading && this.readyState === 'open') {
        // The probe died after the server answered it, while polling pauses: the session stays on
        // polling (so does the server's), so poll on instead of waiting for an upgrade.
        (this.transport as Polling)._resume();
        this.upgrading = false;
        this.flush();
      }
      this._emit('upgradeError', new TransportError('probe error'));
    };
    this.on('close', fail);
    let probe: Transport | undefined = new transport({
      _onTransportOpen: () => probe!.send([{ type: 'ping', data: 'probe' }]),
      _onPacket: ({ type, data }) => {
        if (type !== 'pong' || data !== 'probe') return fail();
        this.upgrading = true;
        this._emit('upgrading', probe!);
        (this.transport as Polling).pause(() => {
          const next = probe;
          if (!next || this.readyState === 'closed') return;
          probe = undefined;
          this.off('close', fail);
          next._sink = this;
          this.transport = next;
          next.send([{ type: 'upgrade' }]);
          this._emit('upgrade', next);
          this.upgrading = false;
          this.flush();
        });
      },
      _onError: fail,
      _onClose: fail,
      _onDrain() {},
    }, this)._open();
  }

  /** Queues one message (string or bytes) for the server. */
  write(data: string | Uint8Array, options?: { compress?: boolean }): this {
    this.#push('message', data, options?.compress);
    return this;
  }

  #push(type: OutgoingPacket['type'], data?: string | Uint8Array, compress?: boolean): void {
    if (this.readyState === 'closing' || this.readyState === 'closed') return;
    const packet = { type, data, options: { compress: compress !== false } } as OutgoingPacket;
    this._emit('packetCreate', packet);
    this.writeBuffer.push(packet);
    this.flush();
  }

  /** Sends what is buffered, if the transport can take it now. */
  flush(): void {
    const buffer = this.writeBuffer;
    if (this.readyState === 'closed' || !this.transport.writable || this.upgrading || !buffer.length) return;
    // Polling: each POST stays within the server's maxPayload (at least one packet per POST). The
    // size counted is an upper bound: 3 bytes per UTF-16 unit, base64 for bytes, 1 for the separator.
    let count = 0;
    for (let size = 0; count < buffer.length; count++) {
      const data = buffer[count]!.data ?? '';
      size += (typeof data === 'string' ? data.length * 3 : data.byteLength * 1.34 + 4) + 2;
      if (count && this.maxPayload && size > this.maxPayload && this.transport.name === 'polling') break;
    }
    this.#sentCount = count;
    this.transport.send(buffer.slice(0, count));
  }

  /** @internal */
  _onDrain(): void {
    this.writeBuffer.splice(0, this.#sentCount);
    this.#sentCount = 0;
    if (this.writeBuffer.length) this.flush();
    else this._emit('drain');
  }

  /** Closes the connection once queued packets are written (reason `forced close`). */
  close(): this {
    // (During an upgrade this closes the paused polling transport, which tells the server, and
    // the probe fails with it.)
    const close = () => this.#onClose('forced close');
    if (this.readyState === 'opening' || this.readyState === 'open') {
      this.readyState = 'closing';
      if (this.writeBuffer.length) this.once('drain', close);
      else close();
    }
    return this;
  }

  /** @internal */
  _onError(err: Error): void {
    if (this.opts.tryAllTransports && this._transports[1] && this.readyState === 'opening') {
      this.transport.close();
      this._transports.shift();
      return this.#open();
    }
    this._emit('error', err);
    this.#onClose('transport error', err);
  }

  /** @internal */
  _onClose(details: CloseDetails = { description: 'closed by the server' }): void {
    this.#onClose('transport close', details);
  }

  #onClose(reason: string, description?: CloseDetails | Error): void {
    if (this.readyState === 'closed') return;
    clearTimeout(this.#heartbeat);
    this.transport?.close();
    globalThis.removeEventListener?.('offline', this.#offline);
    this.readyState = 'closed';
    this.id = null;
    this.writeBuffer = [];
    this.#sentCount = 0;
    this._emit('close', reason, description);
  }
}
