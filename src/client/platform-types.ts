/**
 * The contract between the transports and the platform implementations: `platform.ts` (Node) and
 * `platform.browser.ts` (browsers; the browser bundle swaps it in for `platform.ts`), plus the
 * typed error both report.
 */
import type { EngineOptions } from './engine.js';

/** The subset of the WHATWG WebSocket the transport uses (our Node client offers the same). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  onmessage: ((event: { data: any }) => void) | null;
  send(data: string | Uint8Array, ...rest: any[]): void;
  close(code?: number, reason?: string): void;
}

export interface PollRequest {
  method: 'GET' | 'POST';
  url: string;
  body?: string;
}

/** What each platform module exports. */
export interface Platform {
  /** Opens a WebSocket: the browser's own, or our Node client with headers and TLS options. */
  websocket(url: string, opts: EngineOptions): WebSocketLike;
  /** One long-polling request; calls `done` once, returns an abort function (which never calls `done`). */
  request(req: PollRequest, opts: EngineOptions, done: (err: TransportError | null, body?: string) => void): () => void;
  /**
   * Converts received bytes to what applications get: a Buffer in Node (an ArrayBuffer when the
   * Engine's `binaryType` is `arraybuffer`), an ArrayBuffer in browsers.
   */
  binary(bytes: Uint8Array | ArrayBuffer, binaryType: string): unknown;
  /** The Engine's default `binaryType`. */
  binaryType: string;
  /** Base URL for relative `io()` URLs (the page's location in browsers). */
  location: string | undefined;
}

/** A transport failure (HTTP status, network error...): status 0 means no HTTP response. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    message: string,
    readonly status = 0,
    readonly description?: unknown,
  ) {
    super(message);
  }
}
