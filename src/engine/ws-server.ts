/**
 * The one seam between the engine and a WebSocket implementation. Everything the engine needs
 * from WebSocket goes through the small interfaces below.
 */
import { Buffer } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { extraUpgradeHeaders, type UpgradeResponse } from './middleware.js';
import type { Refusal } from './errors.js';
import { WebSocketServer, prepareMessage, type PreparedMessage } from '../websocket/index.js';

/** The part of a ws-compatible connection the engine uses. */
export interface EngineWebSocket {
  readonly bufferedAmount: number;
  send(data: string | Uint8Array, options: { binary?: boolean; compress?: boolean }, cb?: (err?: Error) => void): unknown;
  close(code?: number, reason?: string): void;
  terminate(): void;
  sendPrepared(frame: PreparedFrame, cb?: (err?: Error) => void): unknown;
  /**
   * `sendPrepared` under the session's cap, in one read of the buffered count (our WebSocket's):
   * -1 without sending when `bufferedAmount` is above zero and `size` more would pass `cap`, else
   * `bufferedAmount` after the send.
   */
  _sendPreparedWithin?(frame: PreparedFrame, size: number, cap: number): number;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): this;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  removeAllListeners(event?: string): this;
}

/** A message framed once and written to many connections. */
export type PreparedFrame = PreparedMessage;

export interface WebSocketServerOptions {
  maxPayload: number;
  perMessageDeflate: false | Record<string, unknown>;
  /** The engine enforces its own send-buffer cap; the WebSocket's is set above it as a backstop. */
  maxBufferedAmount: number;
}

/**
 * How one upgrade request is answered: on a Node socket by our WebSocket server, or by another
 * server that carries the connection (uWebSockets.js, see `attachApp`). The engine decides; the
 * link does the I/O.
 */
export interface UpgradeLink {
  /** The stand-in response of the request: middlewares and header listeners write the 101's headers to it. */
  response(): UpgradeResponse;
  /** Answers with the refusal and closes the connection. */
  refuse(error: Refusal): void;
  /** Completes the WebSocket handshake (with the stand-in's headers) and hands the connection over. */
  accept(cb: (ws: EngineWebSocket) => void): void;
}

export interface EngineWebSocketServer {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: EngineWebSocket) => void): void;
  close(): void;
}

export function createWebSocketServer(options: WebSocketServerOptions): EngineWebSocketServer {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayload,
    perMessageDeflate: options.perMessageDeflate,
    maxBufferedAmount: options.maxBufferedAmount,
    clientTracking: false,
  });
  // Headers that `engine.use` middlewares set on an upgrade go into the 101 answer.
  wss.on('headers', (lines, req) => lines.push(...extraUpgradeHeaders(req)));
  return {
    handleUpgrade: (req, socket, head, cb) => wss.handleUpgrade(req, socket, head, (ws) => cb(ws)),
    close: () => wss.close(),
  };
}

export function prepareFrame(data: string | Uint8Array, binary: boolean): PreparedFrame {
  return prepareMessage(data, { binary });
}

/**
 * A frame an application built already (engine.io's `wsPreEncodedFrame`: buffers that together
 * are one complete, unmasked frame). Only the server role writes it, so the payload is located,
 * not copied.
 */
export function preEncodedFrame(buffers: readonly Uint8Array[]): PreparedFrame {
  const frame = buffers.length === 1 && Buffer.isBuffer(buffers[0]) ? buffers[0] : Buffer.concat(buffers);
  const shortLength = frame.length > 1 ? frame[1]! & 0x7f : 0;
  const headerLength = shortLength === 127 ? 10 : shortLength === 126 ? 4 : 2; // RFC 6455 §5.2
  return { frame, payload: frame.subarray(Math.min(headerLength, frame.length)), binary: (frame[0]! & 0x0f) === 2 };
}

export function sendPrepared(ws: EngineWebSocket, frame: PreparedFrame, cb?: (err?: Error) => void): void {
  ws.sendPrepared(frame, cb);
}

/** {@link EngineWebSocket._sendPreparedWithin}, with two reads of `bufferedAmount` where a connection has no such method. */
export function sendPreparedWithin(ws: EngineWebSocket, frame: PreparedFrame, size: number, cap: number): number {
  if (ws._sendPreparedWithin !== undefined) return ws._sendPreparedWithin(frame, size, cap);
  const buffered = ws.bufferedAmount;
  if (buffered !== 0 && buffered + size > cap) return -1;
  ws.sendPrepared(frame);
  return ws.bufferedAmount;
}
