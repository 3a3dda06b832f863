/**
 * Engine.IO client transports: HTTP long-polling and WebSocket. Platform-neutral: HTTP requests
 * and WebSocket objects come from `platform` (fetch/WebSocket in browsers, node:http and our
 * WebSocket client in Node). A transport reports to one `TransportSink` (the Engine, or the
 * upgrade probe while it is being tested) — no event emitter needed.
 */
import { decodePacket, decodePayload, encodePacket, encodePayload, type EnginePacket, type PacketType } from '../protocol/engineio.js';
import type { Engine } from './engine.js';
import * as platform from './platform.js';
import { TransportError, type PollRequest, type WebSocketLike } from './platform-types.js';

/** A packet as handed to the Engine: binary data already in the platform's form (Buffer/ArrayBuffer). */
export interface IncomingPacket {
  type: PacketType;
  data?: any;
}

/**
 * A packet waiting to be written (engine.io-client's shape); `options.compress` is honoured where
 * the transport can (Node WebSocket).
 */
export type OutgoingPacket = EnginePacket & { options?: { compress: boolean } };

export interface CloseDetails {
  description: string;
  context?: unknown;
}

export interface TransportSink {
  /** The transport is up (the Engine waits for the open packet instead). */
  _onTransportOpen?(): void;
  _onPacket(packet: IncomingPacket): void;
  _onError(err: TransportError): void;
  _onClose(details?: CloseDetails): void;
  _onDrain(): void;
}

let stamps = 0;
/** A value for the cache-busting parameter: unique per request, so no HTTP cache answers it. */
export const stamp = (): string => Date.now().toString(36) + (stamps++).toString(36);

/** A transport class, as the `transports` option takes it (`transports: [XHR, 'websocket']`). */
export type TransportConstructor = (new (sink: TransportSink, engine: Engine) => Transport) & { prototype: Transport };

export abstract class Transport {
  abstract readonly name: 'polling' | 'websocket';
  readyState: 'opening' | 'open' | 'pausing' | 'paused' | 'closed' = 'opening';
  writable = false;
  _sink: TransportSink;
  /** @internal */ _engine: Engine;

  constructor(sink: TransportSink, engine: Engine) {
    this._sink = sink;
    this._engine = engine;
  }

  abstract send(packets: OutgoingPacket[]): void;
  abstract _open(): this;
  protected abstract _stop(): void;

  /** Closes without reporting back (the owner asked for it). */
  close(): void {
    if (this.readyState !== 'closed') this._stop();
    this.readyState = 'closed';
  }

  /** Engine.IO v4 request URL: path + `EIO`, `transport`, `sid` once known, `t` cache buster on polling. */
  _url(): string {
    const { id, _base, _query } = this._engine;
    const polling = this.name === 'polling';
    const query: Record<string, string> = { ..._query, transport: this.name };
    if (id) query.sid = id;
    if (polling) query.t = stamp();
    return (polling ? _base : _base.replace('http', 'ws')) + '?' + new URLSearchParams(query);
  }

  /** A received binary message, in the form the Engine's `binaryType` asks for. */
  protected _binary(bytes: Uint8Array | ArrayBuffer): IncomingPacket {
    return { type: 'message', data: platform.binary(bytes, this._engine.binaryType) };
  }

  protected _opened(): void {
    this.readyState = 'open';
    this.writable = true;
    this._sink._onTransportOpen?.();
  }

  protected _failed(message: string, cause?: unknown): void {
    this._sink._onError(cause instanceof TransportError ? cause : new TransportError(message, 0, cause));
  }

  protected _closed(details?: CloseDetails): void {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    this._sink._onClose(details);
  }
}

/** HTTP long-polling: one GET in flight to receive, one POST at a time to send. */
export class Polling extends Transport {
  declare readonly name: 'polling';
  #abortPoll?: () => void;
  #onPaused?: () => void;

  _open(): this {
    this.#poll();
    return this;
  }

  /** One HTTP request (`fetch` in browsers, http in Node); a subclass may use another API. */
  _request(req: PollRequest, done: (err: TransportError | null, body?: string) => void): () => void {
    return platform.request(req, this._engine.opts, done);
  }

  #poll(): void {
    this.#abortPoll = this._request({ method: 'GET', url: this._url() }, (err, body) => {
      this.#abortPoll = undefined;
      if (err) return this._failed('http error', err);
      let packets: EnginePacket[];
      try {
        packets = decodePayload(body!);
      } catch (err) {
        return this._failed('parse error', err);
      }
      for (const packet of packets) {
        if (this.readyState === 'opening' && packet.type === 'open') this._opened();
        if (packet.type === 'close') return this._closed({ description: 'closed by the server' });
        this._sink._onPacket(
          packet.type === 'message' && typeof packet.data !== 'string' ? this._binary(packet.data) : packet,
        );
        if (this.readyState === 'closed') return;
      }
      if (this.readyState === 'open') this.#poll();
      else this.#checkPaused();
    });
  }

  send(packets: OutgoingPacket[]): void {
    this.writable = false;
    this._request({ method: 'POST', url: this._url(), body: encodePayload(packets) }, (err) => {
      if (err) return this._failed('http error', err);
      this.writable = true;
      this._sink._onDrain();
      this.#checkPaused();
    });
  }

  /** Stops polling once the in-flight GET and POST are done (before switching to WebSocket). */
  pause(onPaused: () => void): void {
    this.readyState = 'pausing';
    this.#onPaused = onPaused;
    this.#checkPaused();
  }

  /** Cancels a pause in progress (its upgrade failed); the GET in flight, if any, polls on. */
  _resume(): void {
    this.#onPaused = undefined;
    this.readyState = 'open';
    if (!this.#abortPoll) this.#poll();
  }

  #checkPaused(): void {
    if (this.#onPaused && !this.#abortPoll && this.writable) {
      this.readyState = 'paused';
      this.#onPaused();
      this.#onPaused = undefined;
    }
  }

  protected _stop(): void {
    // Tell the server (Engine.IO v4 "close" packet), then stop the long poll once it has been told.
    // Also while pausing for an upgrade: the session is still on polling until the probe's `5`.
    const abort = () => this.#abortPoll?.();
    if (this.readyState !== 'opening') this._request({ method: 'POST', url: this._url(), body: '1' }, abort);
    else abort();
  }
}

/** One Engine.IO packet per WebSocket message; binary messages are raw bytes. */
export class WebSocketTransport extends Transport {
  declare readonly name: 'websocket';
  #ws?: WebSocketLike;

  _open(): this {
    try {
      const ws = (this.#ws = platform.websocket(this._url(), this._engine.opts));
      ws.onopen = () => this._opened();
      ws.onclose = (event) => this._closed({ description: 'websocket closed', context: event });
      ws.onerror = (event) => this._failed('websocket error', event);
      ws.onmessage = ({ data }) => {
        let packet: IncomingPacket;
        try {
          packet = typeof data === 'string' ? decodePacket(data) : this._binary(data);
        } catch (err) {
          return this._failed('parse error', err);
        }
        this._sink._onPacket(packet);
      };
    } catch (err) {
      queueMicrotask(() => this._failed('websocket error', err));
    }
    return this;
  }

  send(packets: OutgoingPacket[]): void {
    this.writable = false;
    for (const packet of packets) {
      try {
        this.#ws!.send(encodePacket(packet), packet.options);
      } catch {
        // The socket is closing; its close event reports the failure.
      }
    }
    // Async like a real write, so the Engine's flush bookkeeping is the same for both transports.
    queueMicrotask(() => {
      if (this.readyState === 'closed') return;
      this.writable = true;
      this._sink._onDrain();
    });
  }

  protected _stop(): void {
    const ws = this.#ws;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.onerror = () => {};
    ws.close();
  }
}

// On the prototypes: no per-instance field, no subclass constructors.
(Polling.prototype as { name: string }).name = 'polling';
(WebSocketTransport.prototype as { name: string }).name = 'websocket';
