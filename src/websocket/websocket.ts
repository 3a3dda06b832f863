/**
 * The WebSocket connection (RFC 6455), shared by both roles: a server-side connection created by
 * {@link WebSocketServer}, or a Node client created with `new WebSocket(url)`.
 *
 * It owns the socket: it feeds received bytes to the sans-I/O {@link FrameParser}, frames and
 * writes outgoing messages (batched per tick with cork/uncork), runs the close handshake with a
 * shared-timer timeout, enforces the outgoing buffer cap, and exposes both the `ws`-style
 * EventEmitter API and the WHATWG one (`onmessage`, `addEventListener`, `binaryType`, ...).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { Blob, Buffer, isUtf8 } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { randomFillSync } from 'node:crypto';
import { nextTick } from 'node:process';
import type { Duplex } from 'node:stream';
import {
  FrameParser,
  OPCODE_BINARY,
  OPCODE_CLOSE,
  OPCODE_CONTINUATION,
  OPCODE_PING,
  OPCODE_PONG,
  OPCODE_TEXT,
  DEFAULT_MAX_PAYLOAD,
  MAX_CONTROL_PAYLOAD,
  applyMask,
  frameHeaderLength,
  writeFrameHeader,
  type FrameHandler,
  type FrameParserOptions,
} from '../protocol/ws-frame.js';
import { buildClosePayload, CLOSE_ABNORMAL, CLOSE_NO_STATUS } from '../protocol/ws-close.js';
import { WebSocketProtocolError } from '../protocol/ws-errors.js';
import { checkUpgradeResponse, headerValue } from '../protocol/ws-handshake.js';
import { acceptDeflateResponse, parseExtensions, type DeflateParams } from '../protocol/ws-extensions.js';
import { utf8Validate, UTF8_ACCEPT } from '../protocol/utf8.js';
import { PerMessageDeflate, type PerMessageDeflateOptions } from './deflate.js';
import { addDeadline, cancelDeadline, type Deadline, type DeadlineTarget } from './timers.js';
import { WhatwgEventTarget } from './whatwg.js';
import { planHandshake, planRedirect, REDIRECT_STATUSES } from './client-request.js';

/** How binary messages are delivered. */
export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob';
/** What {@link WebSocket.send} accepts (an array of buffers is sent as one message). */
/** What can be framed synchronously: everything `send` takes but a Blob. */
export type BytesLike = string | Buffer | ArrayBuffer | ArrayBufferView | readonly Uint8Array[];
/** What `send` takes; a Blob (as in browsers) is read first, keeping the order of sends. */
export type WebSocketData = BytesLike | Blob;
/**
 * Message payload as delivered to 'message' listeners: a Buffer by default; an ArrayBuffer or a
 * Buffer[] with {@link WebSocket.binaryType} 'arraybuffer' / 'fragments'. (With 'blob', binary
 * messages arrive as a `Blob`, which this type leaves out like `ws` does, so echo code type-checks.)
 */
export type MessageData = Buffer | ArrayBuffer | Buffer[];

/** What happens when a send would push {@link WebSocket.bufferedAmount} over `maxBufferedAmount`. */
export type BackpressurePolicy = 'close' | 'refuse' | 'terminate';

/** Options shared by both roles. */
export interface ConnectionOptions {
  /** Largest message accepted, in bytes (after inflation for compressed ones). Over it: close 1009. Default 1 MiB. */
  maxPayload?: number;
  /**
   * Cap on buffered outgoing bytes. A send that would exceed it while data is still buffered
   * triggers `backpressure`. A single message larger than the cap still goes out on an idle socket.
   * Default 4 MiB.
   */
  maxBufferedAmount?: number;
  /**
   * Policy when `maxBufferedAmount` would be exceeded: `'close'` (default) closes with
   * `backpressureCloseCode`, `'refuse'` drops the message (send returns false, callback gets an
   * error with code `WS_ERR_BUFFERED_AMOUNT_EXCEEDED`), `'terminate'` destroys the socket.
   */
  backpressure?: BackpressurePolicy;
  /** Close code used by the `'close'` backpressure policy: 1008 (policy) or 1013 (try again later). Default 1008. */
  backpressureCloseCode?: number;
  /** Answer pings automatically. Default true. */
  autoPong?: boolean;
  /** Milliseconds to wait for the close handshake to finish before destroying the socket. Default 30000. */
  closeTimeout?: number;
  /** Skip UTF-8 validation of received text and close reasons. Default false. */
  skipUTF8Validation?: boolean;
}

/** Options of the Node client. Any `http.request`/`https.request` (TLS) option is passed through. */
export interface ClientOptions extends ConnectionOptions, Omit<https.RequestOptions, 'timeout' | 'headers'> {
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Milliseconds allowed for the opening handshake. Default 30000; 0 disables. */
  handshakeTimeout?: number;
  /** Offer permessage-deflate. Default true (like browsers and `ws`). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Value of the `Origin` header. */
  origin?: string;
  /** Follow HTTP redirects (301, 302, 303, 307, 308) during the handshake. Default false. */
  followRedirects?: boolean;
  /** Most redirects followed before the handshake fails. Default 10. */
  maxRedirects?: number;
  /** `Sec-WebSocket-Version` sent: 13 (default) or 8 (hybi-08; the origin then goes in `Sec-WebSocket-Origin`). */
  protocolVersion?: number;
  /** Subprotocols, when the second constructor argument is the options object. */
  protocols?: string | string[];
}

/** @internal Resolved connection settings, one object shared by all connections of a server. */
export interface ConnectionSettings {
  readonly maxPayload: number;
  readonly maxBufferedAmount: number;
  readonly backpressure: BackpressurePolicy;
  readonly backpressureCloseCode: number;
  readonly autoPong: boolean;
  readonly closeTimeout: number;
  readonly validateUtf8: boolean;
  /** Idle parsers of these connections, by {@link parserKind}. */
  readonly parserPools: (ParserPool | undefined)[];
}

/** @internal Applies the defaults to {@link ConnectionOptions}. */
export function resolveSettings(options: ConnectionOptions): ConnectionSettings {
  const code = options.backpressureCloseCode ?? 1008;
  if (code !== 1008 && code !== 1013) throw new RangeError('backpressureCloseCode must be 1008 or 1013');
  return {
    maxPayload: options.maxPayload ?? DEFAULT_MAX_PAYLOAD,
    maxBufferedAmount: options.maxBufferedAmount ?? DEFAULT_MAX_BUFFERED,
    backpressure: options.backpressure ?? 'close',
    backpressureCloseCode: code,
    autoPong: options.autoPong ?? true,
    closeTimeout: options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT,
    validateUtf8: !options.skipUTF8Validation,
    parserPools: [],
  };
}

/**
 * Frame parsers of connections with the same options. A connection holds a parser only while bytes
 * are in flight (a frame, a message in pieces, input paused); between frames it gives the parser
 * back here and the next connection alike that receives bytes takes it, so an idle connection
 * holds none.
 */
class ParserPool {
  readonly free: FrameParser[] = [];
  constructor(readonly options: FrameParserOptions) {}
}
/** Idle parsers kept per pool; more are left to the garbage collector. */
const MAX_FREE_PARSERS = 64;
const ignore = (): void => {};
/** The handler of a parser in a pool (it parses nothing there). */
const NO_HANDLER: FrameHandler = { onMessage: ignore, onPing: ignore, onPong: ignore, onClose: ignore, onProtocolError: ignore };

/** @internal Told when a tracked connection closes (the server's bookkeeping, without a listener closure). */
export interface ConnectionTracker {
  _connectionClosed(ws: WebSocket): void;
}

/** @internal Options for attaching a socket. */
export interface AttachOptions {
  isServer: boolean;
  settings: ConnectionSettings;
  tracker?: ConnectionTracker;
  deflate?: { params: DeflateParams; options: PerMessageDeflateOptions } | undefined;
  protocol?: string;
}

const DEFAULT_CLOSE_TIMEOUT = 30_000;
const DEFAULT_MAX_BUFFERED = 4 * 1024 * 1024;
/** Frames up to this size are copied with their header into one buffer (cheaper than two writes). */
const COPY_THRESHOLD = 16 * 1024;

const CONNECTING = 0 as const;
const OPEN = 1 as const;
const CLOSING = 2 as const;
const CLOSED = 3 as const;
const READY_STATES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'] as const;

const DEADLINE_CLOSE = 1;
const DEADLINE_HANDSHAKE = 2;

const EMPTY = Buffer.alloc(0);
const DEFAULT_SETTINGS: ConnectionSettings = resolveSettings({});
const allocUnsafe = (size: number): Buffer => Buffer.allocUnsafe(size);

// Masking keys come from a pooled buffer of cryptographically random bytes (RFC 6455 §5.3).
const maskPool = Buffer.allocUnsafe(8192);
let maskOffset = maskPool.length;
function nextMask(): number {
  if (maskOffset === maskPool.length) {
    randomFillSync(maskPool);
    maskOffset = 0;
  }
  const mask = maskPool.readUInt32BE(maskOffset);
  maskOffset += 4;
  return mask;
}

// Writes are corked on first use in a tick and uncorked together on the next tick, so many sends
// to one connection in a tick leave in one syscall.
let corked: WebSocket[] = [];
let flushScheduled = false;
/** The connection whose received bytes are being handled; it uncorks itself when done. */
let receiving: WebSocket | null = null;
function flushCorked(): void {
  const list = corked;
  corked = [];
  flushScheduled = false;
  for (const ws of list) ws._uncork();
  lastRun = null; // let the tick's frames go
  lastJoined = EMPTY;
}

// Prepared (broadcast) frames sent to a connection in one tick wait in a run and leave as one buffer
// when it uncorks: one plain write instead of a writev of many small chunks. Connections that got
// the same frames in the same order (a burst to a room) share one joined buffer, built once.
let lastRun: Buffer[] | null = null;
let lastJoined: Buffer = EMPTY;
function joinRun(run: Buffer[]): Buffer {
  if (lastRun !== null && lastRun.length === run.length) {
    let i = 0;
    while (i < run.length && lastRun[i] === run[i]) i++;
    if (i === run.length) return lastJoined;
  }
  lastRun = run;
  lastJoined = Buffer.concat(run);
  return lastJoined;
}

// EventEmitter's per-instance captureRejections flag, a symbol Node does not export (undefined if
// a later Node has none: then every message goes through emit()).
const kCapture = Object.getOwnPropertySymbols(new EventEmitter()).find((s) => s.description === 'kCapture');
const emitMethod = EventEmitter.prototype.emit;

/** A message framed once, to be written to many connections with {@link WebSocket.sendPrepared}. */
export interface PreparedMessage {
  /** The complete unmasked frame (header + payload), as a server sends it. */
  readonly frame: Buffer;
  /** The payload alone (used to re-frame with a mask on client connections). */
  readonly payload: Buffer;
  readonly binary: boolean;
}

// Small server frames are written straight into a shared slab (as Buffer.allocUnsafe carves its
// pool) rather than into a buffer each. The frames one connection writes in a row make one region
// of the slab, which joins the connection's run and reaches the socket as one buffer when it
// uncorks: one socket.write per batch of replies instead of one per frame and a writev.
const SLAB_SIZE = 8 * 1024;
/** Frames (header included) up to this size go into the slab. */
const SLAB_FRAME_MAX = 1024;
let slab = Buffer.allocUnsafe(SLAB_SIZE);
let slabUsed = 0;
/** The connection whose open region ends at `slabUsed`, and where that region starts. */
let slabOwner: WebSocket | null = null;
let slabStart = 0;

/**
 * Frames a message once (unmasked, server role) so a broadcast writes the same bytes to every recipient.
 *
 * @example
 * const msg = prepareMessage(JSON.stringify(update));
 * for (const client of wss.clients) client.sendPrepared(msg);
 */
export function prepareMessage(data: BytesLike, options: { binary?: boolean } = {}): PreparedMessage {
  const payload = toBuffer(data);
  const binary = options.binary ?? typeof data !== 'string';
  const headerSize = frameHeaderLength(payload.length, false);
  const frame = Buffer.allocUnsafe(headerSize + payload.length);
  writeFrameHeader(frame, 0, binary ? OPCODE_BINARY : OPCODE_TEXT, payload.length, true, false);
  payload.copy(frame, headerSize);
  return { frame, payload: frame.subarray(headerSize), binary };
}

function toBuffer(data: BytesLike): Buffer {
  if (typeof data === 'string') return Buffer.from(data);
  if (Buffer.isBuffer(data)) return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (Array.isArray(data)) return Buffer.concat(data as readonly Uint8Array[]);
  return Buffer.from(String(data));
}

type OwnedSocket = Duplex & { _switchboardWs?: WebSocket };

const FLAG_PING_PENDING = 1;
const FLAG_SERVER = 2;
const FLAG_CLOSE_SENT = 4;
const FLAG_CLOSE_RECEIVED = 8;
const FLAG_USER_PAUSED = 16;
const FLAG_FRAGMENTING = 32;
const FLAG_COMPRESSING_MESSAGE = 64;
const FLAG_INFLATING = 128;
const FLAG_CLOSE_WHEN_IDLE = 256;
const FLAG_BUSY = 512;

/** A connection's state that most connections never need or need only when closing (see `_rare`). */
class RareState {
  binaryType: BinaryType = 'nodebuffer';
  protocol = '';
  extensions = '';
  url = '';
  closeCode: number = CLOSE_ABNORMAL;
  closeReason: Buffer = EMPTY;
  closeDeadline: Deadline | null = null;
  unsentBytes = 0;
  // permessage-deflate
  deflate: PerMessageDeflate | null = null;
  sendQueue: QueuedStep[] | null = null;
  orphanedQueue: QueuedStep[] | null = null;
  queuedBytes = 0;
  // Client handshake
  request: http.ClientRequest | null = null;
  handshakeDeadline: Deadline | null = null;
}
/** A send step waiting behind an asynchronous one, with the callback to fail if it never runs. */
type QueuedStep = (() => void) & { cb?: ((error?: Error) => void) | undefined };

/** Typed EventEmitter events of {@link WebSocket}. */
export interface WebSocket {
  /** The opening handshake completed: the connection is open. */
  on(event: 'open', listener: () => void): this;
  /** A message arrived: text or binary (`isBinary`), as `binaryType` says. */
  on(event: 'message', listener: (data: MessageData, isBinary: boolean) => void): this;
  /**
   * The connection closed, with the close code and reason (1005 and empty when the peer sent none,
   * 1006 when it closed without a close frame).
   */
  on(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  /**
   * Something went wrong (a protocol violation, a failed handshake, a socket error); `close`
   * follows.
   */
  on(event: 'error', listener: (error: Error & { code?: string; closeCode?: number }) => void): this;
  /** A ping or pong frame arrived, with its payload. Pings are answered automatically. */
  on(event: 'ping' | 'pong', listener: (data: Buffer) => void): this;
  /** What was buffered has been written: `bufferedAmount` fell back. */
  on(event: 'drain', listener: () => void): this;
  /** Client only: the server's 101 response, before `open`. */
  on(event: 'upgrade', listener: (response: http.IncomingMessage) => void): this;
  /**
   * Client only: the server answered the handshake with something other than 101; without a
   * listener this is an `error`.
   */
  on(event: 'unexpected-response', listener: (request: http.ClientRequest, response: http.IncomingMessage) => void): this;
  /** Client only, with `followRedirects`: the handshake is sent again to `url`. */
  on(event: 'redirect', listener: (url: string, request: http.ClientRequest) => void): this;
  /** Any other event, as on an EventEmitter. */
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  /** Like `on('open')`, for the next time only. */
  once(event: 'open', listener: () => void): this;
  /** Like `on('message')`, for the next time only. */
  once(event: 'message', listener: (data: MessageData, isBinary: boolean) => void): this;
  /** Like `on('close')`, for the next time only. */
  once(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  /** Like `on('error')`, for the next time only. */
  once(event: 'error', listener: (error: Error & { code?: string; closeCode?: number }) => void): this;
  /** Like `on('ping')` / `on('pong')`, for the next time only. */
  once(event: 'ping' | 'pong', listener: (data: Buffer) => void): this;
  /** Like `on('drain')`, for the next time only. */
  once(event: 'drain', listener: () => void): this;
  /** Like `on('upgrade')`, for the next time only. */
  once(event: 'upgrade', listener: (response: http.IncomingMessage) => void): this;
  /** Like `on('unexpected-response')`, for the next time only. */
  once(event: 'unexpected-response', listener: (request: http.ClientRequest, response: http.IncomingMessage) => void): this;
  /** Like `on('redirect')`, for the next time only. */
  once(event: 'redirect', listener: (url: string, request: http.ClientRequest) => void): this;
  /** Like `on`, for the next time only. */
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

/**
 * A WebSocket connection.
 *
 * @example
 * const ws = new WebSocket('ws://localhost:8080');
 * ws.on('open', () => ws.send('hello'));
 * ws.on('message', (data, isBinary) => console.log(isBinary ? data : data.toString()));
 *
 * @example WHATWG style (browser code runs unchanged)
 * ws.onmessage = (event) => console.log(event.data);
 */
export class WebSocket extends WhatwgEventTarget implements FrameHandler, DeadlineTarget {
  // Defined below with Object.defineProperty: read-only, enumerable constants, as in ws and browsers.
  declare static readonly CONNECTING: 0;
  declare static readonly OPEN: 1;
  declare static readonly CLOSING: 2;
  declare static readonly CLOSED: 3;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  // Fields most connections never change from their default (client handshake, subprotocol,
  // compression, queued sends, closing state) live in one object made on first need, and the
  // booleans in one bit set: an idle server connection is a small object. The accessors below keep
  // the code reading them as fields; writing a default makes no object.
  private _rare: RareState | null = null;
  private _flags = 0;
  private _readyState: number = CONNECTING;
  private _socket: OwnedSocket | null = null;
  /** Held only while bytes are in flight (see {@link ParserPool}). */
  private _parser: FrameParser | null = null;
  /** 0: nothing pending; 1: output waits in the run until uncork; 2: and the socket is corked. */
  private _corkState = 0;
  /**
   * Frames written this tick, not yet handed to the socket (see `joinRun`): one buffer alone (the
   * usual case, without an array), or several in order.
   */
  private _run: Buffer | Buffer[] | null = null;
  private _runBytes = 0;
  /** Frame headers among `_runBytes` (not counted in bufferedAmount). */
  private _runOverhead = 0;
  /**
   * Bytes written to the socket in this corked tick that are not message payload (frame headers,
   * control frames): bufferedAmount counts payload only, and the cork would otherwise show the
   * close frame of a close() as buffered where ws has already handed it to the OS.
   */
  private _corkedOverhead = 0;
  private _settings: ConnectionSettings = DEFAULT_SETTINGS;
  private _tracker: ConnectionTracker | null = null;

  private _more(): RareState {
    return (this._rare ??= new RareState());
  }
  private _flag(bit: number): boolean {
    return (this._flags & bit) !== 0;
  }
  private _setFlag(bit: number, on: boolean): void {
    this._flags = on ? this._flags | bit : this._flags & ~bit;
  }

  /** @internal set by the server heartbeat while a ping is unanswered. */
  get _pingPending(): boolean {
    return this._flag(FLAG_PING_PENDING);
  }
  set _pingPending(on: boolean) {
    this._setFlag(FLAG_PING_PENDING, on);
  }
  private get _isServer(): boolean {
    return this._flag(FLAG_SERVER);
  }
  private set _isServer(on: boolean) {
    this._setFlag(FLAG_SERVER, on);
  }
  private get _closeFrameSent(): boolean {
    return this._flag(FLAG_CLOSE_SENT);
  }
  private set _closeFrameSent(on: boolean) {
    this._setFlag(FLAG_CLOSE_SENT, on);
  }
  private get _closeFrameReceived(): boolean {
    return this._flag(FLAG_CLOSE_RECEIVED);
  }
  private set _closeFrameReceived(on: boolean) {
    this._setFlag(FLAG_CLOSE_RECEIVED, on);
  }
  private get _userPaused(): boolean {
    return this._flag(FLAG_USER_PAUSED);
  }
  private set _userPaused(on: boolean) {
    this._setFlag(FLAG_USER_PAUSED, on);
  }
  private get _fragmenting(): boolean {
    return this._flag(FLAG_FRAGMENTING);
  }
  private set _fragmenting(on: boolean) {
    this._setFlag(FLAG_FRAGMENTING, on);
  }
  /** The message being sent in fragments is compressed (decided by its first fragment). */
  private get _compressingMessage(): boolean {
    return this._flag(FLAG_COMPRESSING_MESSAGE);
  }
  private set _compressingMessage(on: boolean) {
    this._setFlag(FLAG_COMPRESSING_MESSAGE, on);
  }
  /** A compressed message is being inflated; the close waits for it (its message is delivered). */
  private get _inflating(): boolean {
    return this._flag(FLAG_INFLATING);
  }
  private set _inflating(on: boolean) {
    this._setFlag(FLAG_INFLATING, on);
  }
  private get _closeWhenIdle(): boolean {
    return this._flag(FLAG_CLOSE_WHEN_IDLE);
  }
  private set _closeWhenIdle(on: boolean) {
    this._setFlag(FLAG_CLOSE_WHEN_IDLE, on);
  }
  /** An asynchronous send step (deflate, or reading a Blob) is in flight: later sends queue behind it. */
  private get _busy(): boolean {
    return this._flag(FLAG_BUSY);
  }
  private set _busy(on: boolean) {
    this._setFlag(FLAG_BUSY, on);
  }

  private get _binaryType(): BinaryType {
    return this._rare?.binaryType ?? 'nodebuffer';
  }
  private set _binaryType(type: BinaryType) {
    if (type !== 'nodebuffer' || this._rare !== null) this._more().binaryType = type;
  }
  private get _protocol(): string {
    return this._rare?.protocol ?? '';
  }
  private set _protocol(protocol: string) {
    if (protocol !== '' || this._rare !== null) this._more().protocol = protocol;
  }
  private get _extensions(): string {
    return this._rare?.extensions ?? '';
  }
  private set _extensions(extensions: string) {
    if (extensions !== '' || this._rare !== null) this._more().extensions = extensions;
  }
  private get _url(): string {
    return this._rare?.url ?? '';
  }
  private set _url(url: string) {
    if (url !== '' || this._rare !== null) this._more().url = url;
  }
  private get _closeCode(): number {
    return this._rare?.closeCode ?? CLOSE_ABNORMAL;
  }
  private set _closeCode(code: number) {
    if (code !== CLOSE_ABNORMAL || this._rare !== null) this._more().closeCode = code;
  }
  private get _closeReason(): Buffer {
    return this._rare?.closeReason ?? EMPTY;
  }
  private set _closeReason(reason: Buffer) {
    if (reason !== EMPTY || this._rare !== null) this._more().closeReason = reason;
  }
  private get _closeDeadline(): Deadline | null {
    return this._rare?.closeDeadline ?? null;
  }
  private set _closeDeadline(deadline: Deadline | null) {
    if (deadline !== null || this._rare !== null) this._more().closeDeadline = deadline;
  }
  /** Payload bytes of sends made while CLOSING or CLOSED (WHATWG and ws keep counting them). */
  private get _unsentBytes(): number {
    return this._rare?.unsentBytes ?? 0;
  }
  private set _unsentBytes(bytes: number) {
    if (bytes !== 0 || this._rare !== null) this._more().unsentBytes = bytes;
  }
  private get _deflate(): PerMessageDeflate | null {
    return this._rare?.deflate ?? null;
  }
  private set _deflate(deflate: PerMessageDeflate | null) {
    if (deflate !== null || this._rare !== null) this._more().deflate = deflate;
  }
  private get _sendQueue(): QueuedStep[] | null {
    return this._rare?.sendQueue ?? null;
  }
  private set _sendQueue(queue: QueuedStep[] | null) {
    if (queue !== null || this._rare !== null) this._more().sendQueue = queue;
  }
  /** The queue as it was when the socket closed while a Blob was read or data compressed. */
  private get _orphanedQueue(): QueuedStep[] | null {
    return this._rare?.orphanedQueue ?? null;
  }
  private set _orphanedQueue(queue: QueuedStep[] | null) {
    if (queue !== null || this._rare !== null) this._more().orphanedQueue = queue;
  }
  private get _queuedBytes(): number {
    return this._rare?.queuedBytes ?? 0;
  }
  private set _queuedBytes(bytes: number) {
    if (bytes !== 0 || this._rare !== null) this._more().queuedBytes = bytes;
  }
  private get _request(): http.ClientRequest | null {
    return this._rare?.request ?? null;
  }
  private set _request(request: http.ClientRequest | null) {
    if (request !== null || this._rare !== null) this._more().request = request;
  }
  private get _handshakeDeadline(): Deadline | null {
    return this._rare?.handshakeDeadline ?? null;
  }
  private set _handshakeDeadline(deadline: Deadline | null) {
    if (deadline !== null || this._rare !== null) this._more().handshakeDeadline = deadline;
  }

  /**
   * Opens a client connection to `address` (`ws:`, `wss:`, `http:` or `https:` URL).
   * `null` creates an unattached connection (used by {@link WebSocketServer}).
   */
  constructor(address: string | URL | null, protocols?: string | string[] | ClientOptions, options?: ClientOptions) {
    super();
    if (address === null) return;
    // As ws: an object second argument is the options; anything else (null too) is a subprotocol
    // list or a single subprotocol, checked by planHandshake.
    if (protocols !== undefined && protocols !== null && typeof protocols === 'object' && !Array.isArray(protocols)) {
      options = protocols;
      protocols = undefined;
    }
    const list = protocols === undefined ? options?.protocols ?? [] : protocols;
    this._connect(address, Array.isArray(list) ? list : [list], options ?? {});
  }

  /** Connection state: CONNECTING 0, OPEN 1, CLOSING 2, CLOSED 3. */
  get readyState(): number {
    return this._readyState;
  }
  /** The negotiated subprotocol, or ''. */
  get protocol(): string {
    return this._protocol;
  }
  /** The names of the negotiated extensions ('permessage-deflate'), or ''. */
  get extensions(): string {
    return this._extensions;
  }
  /** The URL this client connected to ('' on server connections). */
  get url(): string {
    return this._url;
  }
  /** Bytes queued for sending but not yet handed to the OS. */
  get bufferedAmount(): number {
    const socket = this._socket;
    if (socket === null || this._readyState === CLOSED) return this._unsentBytes;
    const rare = this._rare;
    const pending = this._pendingBytes();
    return rare === null ? pending : pending + rare.queuedBytes + rare.unsentBytes;
  }
  /** Whether this is the server side of the connection. */
  get isServer(): boolean {
    return this._isServer;
  }
  /** Whether reading is paused with {@link pause}. */
  get isPaused(): boolean {
    return this._userPaused;
  }
  /** How binary messages are delivered: 'nodebuffer' (default), 'arraybuffer', 'fragments' or 'blob'. */
  get binaryType(): BinaryType {
    return this._binaryType;
  }
  set binaryType(type: BinaryType) {
    if (type === 'nodebuffer' || type === 'arraybuffer' || type === 'fragments' || type === 'blob') this._binaryType = type;
  }

  // ---------------------------------------------------------------- setup

  /** @internal Attaches an upgraded socket. `head` holds bytes that arrived after the handshake. */
  _setSocket(socket: Duplex, head: Buffer, options: AttachOptions): void {
    this._isServer = options.isServer;
    const settings = options.settings;
    this._settings = settings;
    this._tracker = options.tracker ?? null;
    this._protocol = options.protocol ?? '';
    // As ws: the names of the negotiated extensions, not the parameters.
    this._extensions = options.deflate !== undefined ? 'permessage-deflate' : '';
    if (options.deflate !== undefined) {
      this._deflate = new PerMessageDeflate(options.deflate.params, options.isServer, {
        ...options.deflate.options,
        maxPayload: settings.maxPayload,
      });
    }
    // Bytes read past the handshake go back into the socket so they are parsed first, in order.
    if (head.length > 0) socket.unshift(head);
    const owned = socket as OwnedSocket;
    owned._switchboardWs = this;
    this._socket = owned;
    if (socket instanceof net.Socket) {
      socket.setTimeout(0);
      socket.setNoDelay(true);
    }
    socket.on('data', socketOnData);
    socket.on('end', socketOnEnd);
    socket.on('close', socketOnClose);
    socket.on('error', socketOnError);
    socket.on('drain', socketOnDrain);
    this._readyState = OPEN;
  }

  // ---------------------------------------------------------------- sending

  /**
   * Sends a message. Strings go as text unless `binary` is set; everything else as binary.
   * Returns false when the message was not queued (not open, or refused by the backpressure policy).
   * Throws if the connection is still CONNECTING.
   */
  send(data: WebSocketData, cb?: (error?: Error) => void): boolean;
  send(data: WebSocketData, options: { binary?: boolean; compress?: boolean; fin?: boolean }, cb?: (error?: Error) => void): boolean;
  send(
    data: WebSocketData,
    options?: { binary?: boolean; compress?: boolean; fin?: boolean } | ((error?: Error) => void),
    cb?: (error?: Error) => void,
  ): boolean {
    if (typeof options === 'function') {
      cb = options;
      options = undefined;
    }
    if (this._readyState === CONNECTING) throw new Error('WebSocket is not open: readyState 0 (CONNECTING)');
    if (typeof data === 'number') data = String(data);
    if (this._readyState !== OPEN || this._closeFrameSent) {
      this._sendAfterClose(data, cb);
      return false;
    }
    // A Blob (as browsers send) is binary; its bytes are read asynchronously, in order (below).
    const blob = data instanceof Blob ? data : null;
    const binary = blob !== null || (options?.binary ?? typeof data !== 'string');
    // As ws: send() with nothing (or '') sends an empty message, binary unless data is a string.
    if (!data) data = EMPTY;
    const fin = options?.fin ?? true;
    let payload: string | Buffer = EMPTY;
    let length: number;
    if (blob !== null) {
      length = blob.size;
    } else if (typeof data === 'string') {
      payload = data;
      length = Buffer.byteLength(data);
    } else {
      payload = toBuffer(data as BytesLike);
      length = payload.length;
    }
    if (!this._admit(length, cb)) return false;
    // Frame state is decided now, in call order, even when the bytes come later (a Blob).
    const opcode = this._fragmenting ? OPCODE_CONTINUATION : binary ? OPCODE_BINARY : OPCODE_TEXT;
    this._fragmenting = !fin;
    let compress = false;
    const deflate = this._deflate;
    if (deflate !== null) {
      // The first fragment decides whether the whole message is compressed (RFC 7692 §6.1).
      compress = opcode === OPCODE_CONTINUATION
        ? this._compressingMessage
        : (options?.compress ?? true) && length >= deflate.threshold;
      this._compressingMessage = compress && !fin;
    }
    if (blob !== null) this._sendBlob(blob, opcode, fin, compress, cb);
    else this._sendPayload(opcode, payload, length, fin, compress, cb, false);
    return true;
  }

  /** A send, ping or pong while CLOSING or CLOSED: counted in bufferedAmount, the callback gets an error (as ws). */
  private _sendAfterClose(data: unknown, cb: ((error?: Error) => void) | undefined): void {
    if (data) this._unsentBytes += data instanceof Blob ? data.size : toBuffer(data as BytesLike).length;
    if (cb) nextTick(cb, notOpenError(this._readyState));
  }

  /** Queues a send step behind an asynchronous one; its callback is kept to report a failure. */
  private _enqueue(step: () => void, cb: ((error?: Error) => void) | undefined): void {
    const queued = step as QueuedStep;
    queued.cb = cb;
    (this._sendQueue ??= []).push(queued);
  }

  /**
   * When an asynchronous send step ends after the socket closed (or was destroyed, its 'close'
   * event still to come): fails it and the sends queued behind it with ws's message. True if so.
   */
  private _sendStepAborted(message: string, cb: ((error?: Error) => void) | undefined): boolean {
    if (this._sendQueue !== null && this._socket !== null && !this._socket.destroyed) return false;
    const queue = this._sendQueue ?? this._orphanedQueue;
    this._sendQueue = this._orphanedQueue = null;
    this._queuedBytes = 0;
    this._busy = false;
    this._failQueued(new Error(message), cb, queue);
    return true;
  }

  /** Calls `cb` and the callbacks of the queued sends with `error` (their data will not go out). */
  private _failQueued(error: Error, cb: ((error?: Error) => void) | undefined, queue: QueuedStep[] | null): void {
    if (cb) cb(error);
    if (queue !== null) for (const step of queue) step.cb?.(error);
  }

  /** Writes (or compresses) one frame's payload: behind queued sends, or at once when `atHead`. */
  private _sendPayload(
    opcode: number,
    payload: string | Buffer,
    length: number,
    fin: boolean,
    compress: boolean,
    cb: ((error?: Error) => void) | undefined,
    atHead: boolean,
  ): void {
    if (compress) {
      this._sendCompressed(opcode, typeof payload === 'string' ? Buffer.from(payload) : payload, length, fin, cb, atHead);
    } else if (this._sendQueue !== null && !atHead) {
      this._queuedBytes += length;
      this._enqueue(() => {
        this._queuedBytes -= length;
        this._writeFrame(opcode, payload, length, fin, false, cb);
      }, cb);
    } else {
      this._writeFrame(opcode, payload, length, fin, false, cb);
    }
  }

  /** Reads a Blob, then sends it in its place: later sends wait in the queue meanwhile. */
  private _sendBlob(blob: Blob, opcode: number, fin: boolean, compress: boolean, cb?: (error?: Error) => void): void {
    const length = blob.size;
    const done = (error: unknown, bytes?: ArrayBuffer): void => {
      if (this._sendStepAborted('The socket was closed while the blob was being read', cb)) return;
      this._queuedBytes -= length;
      if (error !== null) {
        // As ws: the read error (e.g. a NotReadableError DOMException when the file behind the
        // Blob changed) goes to this callback and the queued ones and is emitted as 'error'; the
        // connection is ended rather than leave a gap in the message stream.
        const failure = error instanceof Error ? error : new Error(String(error));
        const queue = this._sendQueue;
        this._sendQueue = null;
        this._queuedBytes = 0;
        this._busy = false;
        this._failQueued(failure, cb, queue);
        this._failSending(failure);
        return;
      }
      this._busy = false;
      this._sendPayload(opcode, Buffer.from(bytes!), length, fin, compress, cb, true);
      this._dequeue();
    };
    this._queuedBytes += length;
    this._startOrQueue(() => {
      this._busy = true;
      blob.arrayBuffer().then(
        (bytes) => done(null, bytes),
        (error: unknown) => done(error ?? new Error('could not read the Blob')),
      );
    }, false, cb);
  }

  /** Starts an asynchronous send step now (nothing in flight, or it is next in line) or queues it. */
  private _startOrQueue(step: () => void, atHead: boolean, cb: ((error?: Error) => void) | undefined): void {
    if (this._sendQueue === null || atHead) {
      this._sendQueue ??= [];
      step();
    } else {
      this._enqueue(step, cb);
    }
  }

  /** A send step failed for good: end the connection and report it once (ws's sender error path). */
  private _failSending(error: Error): void {
    if (this._readyState === CLOSED) return;
    if (this._readyState === OPEN) {
      this._readyState = CLOSING;
      this._armCloseTimer();
    }
    this._endSocket();
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  /**
   * Sends a message framed once with {@link prepareMessage}: the same bytes go to every server-side
   * connection without copying. Client connections re-frame it with a mask.
   */
  sendPrepared(message: PreparedMessage, cb?: (error?: Error) => void): boolean {
    if (cb === undefined && this._sendsPreparedPlainly() && this._addPreparedIfRoom(message) !== -1) return true;
    return this._sendPreparedChecked(message, cb);
  }

  /**
   * @internal {@link sendPrepared} for the engine, which caps what a session buffers itself
   * (`cap`, checked with the engine's `size` of the message, as it did before each write): one read
   * of the buffered count serves both that check and this connection's own. Returns -1, sending
   * nothing, when `bufferedAmount` is above zero and `size` more would pass `cap`; otherwise
   * `bufferedAmount` after the send.
   */
  _sendPreparedWithin(message: PreparedMessage, size: number, cap: number): number {
    const plain = this._sendsPreparedPlainly();
    const buffered = plain ? this._pendingBytes() : this.bufferedAmount;
    if (buffered !== 0 && buffered + size > cap) return -1;
    if (plain) {
      const after = this._addPreparedIfRoom(message, buffered);
      if (after !== -1) return after;
    }
    this._sendPreparedChecked(message, undefined);
    return this.bufferedAmount;
  }

  /**
   * Whether a prepared frame can join the run without the general checks: an open server
   * connection that sent no close frame, is not in the middle of a fragmented message, and has
   * none of the rare state (queued sends, compression, bytes sent after closing).
   */
  private _sendsPreparedPlainly(): boolean {
    return this._readyState === OPEN && this._rare === null && (this._flags & (FLAG_SERVER | FLAG_CLOSE_SENT | FLAG_FRAGMENTING)) === FLAG_SERVER;
  }

  /** Bytes in the socket's buffer and this tick's run: `bufferedAmount` of an open connection without rare state. */
  private _pendingBytes(): number {
    return this._socket!.writableLength - this._corkedOverhead + this._runBytes;
  }

  /**
   * Adds the frame to the run when the buffer cap allows it (see {@link _admit}) and returns
   * `bufferedAmount` after it; -1, sending nothing, when the cap would be crossed (the general
   * path then applies the backpressure policy). Only for {@link _sendsPreparedPlainly} connections,
   * whose `bufferedAmount` is the socket's and the run's.
   */
  private _addPreparedIfRoom(message: PreparedMessage, buffered = this._pendingBytes()): number {
    const length = message.payload.length;
    if (buffered !== 0 && buffered + length > this._settings.maxBufferedAmount) return -1;
    this._addToRun(message);
    return buffered + length;
  }

  private _sendPreparedChecked(message: PreparedMessage, cb: ((error?: Error) => void) | undefined): boolean {
    if (this._readyState !== OPEN || this._closeFrameSent || this._fragmenting) {
      if (this._readyState === CONNECTING) throw new Error('WebSocket is not open: readyState 0 (CONNECTING)');
      if (cb) nextTick(cb, notOpenError(this._readyState));
      return false;
    }
    const length = message.payload.length;
    if (!this._admit(length, cb)) return false;
    if (this._sendQueue !== null) {
      this._queuedBytes += length;
      this._enqueue(() => {
        this._queuedBytes -= length;
        this._writePrepared(message, cb);
      }, cb);
    } else {
      this._writePrepared(message, cb);
    }
    return true;
  }

  private _writePrepared(message: PreparedMessage, cb: ((error?: Error) => void) | undefined): void {
    if (!this._isServer) {
      this._writeFrame(message.binary ? OPCODE_BINARY : OPCODE_TEXT, message.payload, message.payload.length, true, false, cb);
    } else if (cb === undefined) {
      this._addToRun(message);
    } else {
      this._cork();
      this._corkedOverhead += message.frame.length - message.payload.length;
      this._write(message.frame, cb);
    }
  }

  /**
   * Sends a ping (payload at most 125 bytes). ws's signatures: `ping()`, `ping(cb)`, `ping(data, cb)`,
   * `ping(data, mask, cb)`. `mask` is accepted and ignored: a client always masks, a server never
   * does (RFC 6455 §5.1).
   */
  ping(data?: WebSocketData | number | ((error?: Error) => void), mask?: boolean | ((error?: Error) => void), cb?: (error?: Error) => void): void {
    this._sendControl(OPCODE_PING, data, mask, cb);
  }

  /** Sends an unsolicited pong (payload at most 125 bytes); the same signatures as {@link ping}. */
  pong(data?: WebSocketData | number | ((error?: Error) => void), mask?: boolean | ((error?: Error) => void), cb?: (error?: Error) => void): void {
    this._sendControl(OPCODE_PONG, data, mask, cb);
  }

  private _sendControl(
    opcode: number,
    data: WebSocketData | number | ((error?: Error) => void) | undefined,
    mask: boolean | ((error?: Error) => void) | undefined,
    cb: ((error?: Error) => void) | undefined,
  ): void {
    if (this._readyState === CONNECTING) throw new Error('WebSocket is not open: readyState 0 (CONNECTING)');
    if (typeof data === 'function') {
      cb = data;
      data = undefined;
    } else if (typeof mask === 'function') {
      cb = mask;
    }
    if (typeof data === 'number') data = String(data);
    if (this._readyState !== OPEN || this._closeFrameSent) {
      this._sendAfterClose(data, cb);
      return;
    }
    if (data instanceof Blob) {
      if (data.size > MAX_CONTROL_PAYLOAD) throw new RangeError('The data size must not be greater than 125 bytes');
      this._sendBlob(data, opcode, true, false, cb);
      return;
    }
    const payload = data ? toBuffer(data) : EMPTY;
    if (payload.length > MAX_CONTROL_PAYLOAD) throw new RangeError('The data size must not be greater than 125 bytes');
    this._ordered(() => this._writeFrame(opcode, payload, payload.length, true, false, cb), cb);
  }

  /** Checks the outgoing buffer cap; applies the backpressure policy when crossed. */
  private _admit(length: number, cb?: (error?: Error) => void): boolean {
    const buffered = this.bufferedAmount;
    const settings = this._settings;
    if (buffered === 0 || buffered + length <= settings.maxBufferedAmount) return true;
    const error = new WebSocketProtocolError(
      'WS_ERR_BUFFERED_AMOUNT_EXCEEDED',
      `sending would buffer more than ${settings.maxBufferedAmount} bytes`,
      settings.backpressureCloseCode,
    );
    if (cb) nextTick(cb, error);
    if (settings.backpressure === 'terminate') this.terminate();
    else if (settings.backpressure === 'close') this._closeWith(settings.backpressureCloseCode, 'slow consumer');
    return false;
  }

  /** Runs `write` now, or after in-flight compressions so frames keep their order. */
  private _ordered(write: () => void, cb?: (error?: Error) => void): void {
    if (this._sendQueue !== null) this._enqueue(write, cb);
    else write();
  }

  private _sendCompressed(opcode: number, data: Buffer, length: number, fin: boolean, cb: ((error?: Error) => void) | undefined, atHead: boolean): void {
    const rsv1 = opcode !== OPCODE_CONTINUATION;
    const run = (): void => {
      this._busy = true;
      this._deflate!.compress(data, fin, (error, out) => {
        if (this._sendStepAborted('The socket was closed while data was being compressed', cb)) return;
        this._queuedBytes -= length;
        this._busy = false;
        if (error || this._socket === null) {
          if (cb) cb(error ?? notOpenError(this._readyState));
        } else {
          this._writeFrame(opcode, out!, out!.length, fin, rsv1, cb);
        }
        this._dequeue();
      });
    };
    this._queuedBytes += length;
    this._startOrQueue(run, atHead, cb);
  }

  private _dequeue(): void {
    const queue = this._sendQueue;
    if (queue === null) return;
    while (queue.length > 0 && !this._busy) queue.shift()!();
    if (queue.length === 0 && !this._busy && this._sendQueue === queue) this._sendQueue = null;
  }

  private _writeFrame(
    opcode: number,
    payload: string | Buffer,
    length: number,
    fin: boolean,
    rsv1: boolean,
    cb?: (error?: Error) => void,
  ): void {
    const socket = this._socket;
    if (socket === null || socket.destroyed) {
      if (cb) nextTick(cb, notOpenError(this._readyState));
      return;
    }
    const mask = this._isServer ? undefined : nextMask();
    const headerSize = frameHeaderLength(length, mask !== undefined);
    this._cork();
    if (mask === undefined && cb === undefined && opcode !== OPCODE_CLOSE && headerSize + length <= SLAB_FRAME_MAX) {
      this._writeToSlab(opcode, payload, length, headerSize, fin, rsv1);
      return;
    }
    this._corkedOverhead += opcode >= OPCODE_CLOSE ? headerSize + length : headerSize;
    if (length <= COPY_THRESHOLD || mask !== undefined) {
      // One buffer for header and payload; clients must copy anyway to mask without touching user data.
      const frame = Buffer.allocUnsafe(headerSize + length);
      writeFrameHeader(frame, 0, opcode, length, fin, rsv1, mask);
      if (typeof payload === 'string') frame.write(payload, headerSize, length, 'utf8');
      else payload.copy(frame, headerSize);
      if (mask !== undefined) applyMask(frame.subarray(headerSize), mask);
      this._write(frame, cb);
    } else {
      const header = Buffer.allocUnsafe(headerSize);
      writeFrameHeader(header, 0, opcode, length, fin, rsv1);
      this._write(header);
      this._write(payload, cb);
    }
  }

  /** Appends a small frame to this connection's region of the slab (see `slab`). */
  private _writeToSlab(opcode: number, payload: string | Buffer, length: number, headerSize: number, fin: boolean, rsv1: boolean): void {
    const size = headerSize + length;
    if (slabOwner !== this || slabUsed + size > SLAB_SIZE) {
      slabOwner?._closeRegion();
      if (slabUsed + size > SLAB_SIZE) {
        slab = Buffer.allocUnsafe(SLAB_SIZE);
        slabUsed = 0;
      }
      slabOwner = this;
      slabStart = slabUsed;
    }
    const at = slabUsed;
    writeFrameHeader(slab, at, opcode, length, fin, rsv1);
    if (typeof payload === 'string') slab.write(payload, at + headerSize, length, 'utf8');
    else slab.set(payload, at + headerSize);
    slabUsed = at + size;
    // As for prepared frames: payload counts in bufferedAmount, headers and control frames do not.
    const overhead = opcode >= OPCODE_CLOSE ? size : headerSize;
    this._runBytes += size - overhead;
    this._runOverhead += overhead;
  }

  /** Ends the socket after handing it the frames still held in the run (end() would drop them). */
  private _endSocket(): void {
    const socket = this._socket;
    if (socket === null) return;
    this._flushRun(socket);
    socket.end();
  }

  /** @internal Ends this connection's open slab region: it joins the run, ahead of later frames. */
  _closeRegion(): void {
    slabOwner = null;
    this._appendToRun(slab.subarray(slabStart, slabUsed));
  }

  private _write(data: Buffer | string, cb?: (error?: Error) => void): void {
    const socket = this._socket!;
    this._cork();
    if (this._corkState === 1) {
      // Writes that bypass the run are gathered by the socket's own cork until this one uncorks.
      socket.cork();
      this._corkState = 2;
    }
    this._flushRun(socket); // keeps the order of frames
    if (cb === undefined) socket.write(data);
    else socket.write(data, (error?: Error | null) => cb(error ?? undefined));
  }

  private _addToRun(message: PreparedMessage): void {
    this._cork();
    if (slabOwner === this) this._closeRegion();
    this._appendToRun(message.frame);
    this._runBytes += message.payload.length;
    this._runOverhead += message.frame.length - message.payload.length;
  }

  private _appendToRun(frames: Buffer): void {
    const run = this._run;
    if (run === null) this._run = frames;
    else if (Array.isArray(run)) run.push(frames);
    else this._run = [run, frames];
  }

  /** Hands the socket what waits in the run, this connection's open slab region included, if anything. */
  private _flushRun(socket: Duplex): void {
    if (slabOwner === this) this._closeRegion();
    const run = this._run;
    if (run === null) return;
    this._run = null;
    this._runBytes = 0;
    this._corkedOverhead += this._runOverhead;
    this._runOverhead = 0;
    socket.write(Array.isArray(run) ? joinRun(run) : run);
  }

  /**
   * Holds this connection's output from its first write of a tick until the next tick (or until the
   * read being handled is done). Frames wait in the run; the socket itself is corked only when
   * something is written to it directly (see `_write`), so a batch that is all run leaves in one
   * plain write.
   */
  private _cork(): void {
    if (this._corkState !== 0) return;
    this._corkState = 1;
    if (this !== receiving) {
      corked.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        nextTick(flushCorked);
      }
    }
  }

  /** @internal */
  _uncork(): void {
    const state = this._corkState;
    if (state === 0) return;
    this._corkState = 0;
    const socket = this._socket;
    if (socket === null) {
      if (slabOwner === this) slabOwner = null;
      this._run = null;
      this._runBytes = this._runOverhead = 0;
      return;
    }
    this._flushRun(socket);
    if (state === 2) socket.uncork();
    this._corkedOverhead = 0;
  }

  // ---------------------------------------------------------------- closing

  /**
   * Starts the closing handshake (RFC 6455 §7.1.2). `code` must be 1000, 1001-1003, 1007-1014 or
   * 3000-4999; `reason` at most 123 bytes of UTF-8.
   */
  close(code?: number, reason?: string | Buffer): void {
    if (this._readyState === CLOSED) return;
    if (this._readyState === CONNECTING) {
      this._abortHandshake(new Error('WebSocket was closed before the connection was established'));
      return;
    }
    const payload = buildClosePayload(code, reason);
    this._sendClose(payload);
  }

  private _closeWith(code: number, reason: string): void {
    if (this._readyState === OPEN || this._readyState === CLOSING) this._sendClose(buildClosePayload(code, reason));
  }

  private _sendClose(payload: Uint8Array): void {
    if (this._closeFrameSent) {
      if (this._closeFrameReceived && this._isServer) this._endSocket();
      return;
    }
    this._readyState = CLOSING;
    this._closeFrameSent = true;
    this._fragmenting = false;
    const data = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
    this._ordered(() => {
      this._writeFrame(OPCODE_CLOSE, data, data.length, true, false);
      // RFC 6455 §7.1.1: once both close frames went, the server closes TCP first.
      if (this._closeFrameReceived && this._isServer) this._endSocket();
    });
    this._armCloseTimer();
  }

  private _armCloseTimer(): void {
    if (this._closeDeadline === null && this._socket !== null && !this._socket.destroyed) {
      this._closeDeadline = addDeadline(this._settings.closeTimeout, this, DEADLINE_CLOSE);
    }
  }

  /** Destroys the socket at once, without a closing handshake. */
  terminate(): void {
    if (this._readyState === CLOSED) return;
    if (this._readyState === CONNECTING) {
      this._abortHandshake(new Error('WebSocket was closed before the connection was established'));
      return;
    }
    this._readyState = CLOSING;
    this._takeParser().stop();
    this._socket?.destroy();
  }

  /** Stops reading from the socket (events stop until {@link resume}). */
  pause(): void {
    if (this._readyState === CONNECTING || this._readyState === CLOSED) return;
    this._userPaused = true;
    this._takeParser().pause();
    this._socket?.pause();
  }

  /** Resumes reading after {@link pause}. */
  resume(): void {
    if (this._readyState === CONNECTING || this._readyState === CLOSED || !this._userPaused) return;
    this._userPaused = false;
    // A message being inflated holds the parser and the socket paused; its callback resumes them,
    // so what follows it is not delivered first.
    if (this._inflating) return;
    this._parser?.resume();
    if (!this._parser?.paused) this._socket?.resume();
  }

  /** @internal */
  onDeadline(kind: number): void {
    if (kind === DEADLINE_CLOSE) {
      this._closeDeadline = null;
      this._socket?.destroy();
    } else if (kind === DEADLINE_HANDSHAKE) {
      this._handshakeDeadline = null;
      this._abortHandshake(new Error('Opening handshake has timed out'));
    }
  }

  // ---------------------------------------------------------------- FrameHandler (parser events)

  /** @internal */
  onMessage(data: Uint8Array, isBinary: boolean, compressed: boolean): void {
    if (!compressed) {
      this._emitMessage(data as Buffer, isBinary);
      return;
    }
    const parser = this._parser!;
    parser.pause();
    this._socket?.pause();
    this._inflating = true;
    this._deflate!.decompress(data as Buffer, true, (error, out) => {
      this._inflating = false;
      if (this._readyState === CLOSED || parser.stopped) return this._closeIfIdle();
      if (error) {
        return this._failInflated(parser, error instanceof WebSocketProtocolError
          ? error
          : new WebSocketProtocolError('WS_ERR_INVALID_COMPRESSED_DATA', error.message));
      }
      if (!isBinary && this._settings.validateUtf8 && utf8Validate(UTF8_ACCEPT, out!, 0, out!.length, isUtf8) !== UTF8_ACCEPT) {
        return this._failInflated(parser, new WebSocketProtocolError('WS_ERR_INVALID_UTF8', 'invalid UTF-8 in text message'));
      }
      this._emitMessage(out!, isBinary);
      // After the socket closed, what it had delivered is still parsed (as ws), paused or not.
      if (!this._userPaused || this._closeWhenIdle) {
        parser.resume();
        if (!parser.paused && !this._closeWhenIdle) this._socket?.resume();
      }
      this._closeIfIdle();
    });
  }

  /** Fails the connection for a message that did not inflate to a valid one. */
  private _failInflated(parser: FrameParser, error: WebSocketProtocolError): void {
    parser.stop();
    this.onProtocolError(error);
    // The socket was paused for the inflate: read on (the stopped parser ignores the bytes) so the
    // peer's FIN is seen and the close completes now rather than at the close timeout (as ws).
    this._socket?.resume();
    this._closeIfIdle();
  }

  /** Finishes a close that waited for a message being inflated, once none is. */
  private _closeIfIdle(): void {
    if (this._closeWhenIdle && !this._inflating) {
      this._closeWhenIdle = false;
      this._finishClose();
    }
  }

  private _emitMessage(data: Buffer, isBinary: boolean): void {
    if (this._readyState !== OPEN && this._readyState !== CLOSING) return;
    const value = isBinary ? this._binaryData(data) : data;
    // One listener (the usual case) is called as emit() would call it, without emit()'s generic
    // lookup and argument array; emit() itself when it is overridden or watches returned promises.
    const listener = (this as unknown as { _events: Record<string, unknown> })._events.message;
    if (typeof listener === 'function' && this.emit === emitMethod && kCapture !== undefined && (this as unknown as Record<symbol, unknown>)[kCapture] !== true) {
      listener.call(this, value, isBinary);
    } else {
      this.emit('message', value, isBinary);
    }
  }

  private _binaryData(data: Buffer): MessageData {
    switch (this._binaryType) {
      case 'nodebuffer':
        return data;
      case 'arraybuffer':
        return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
          ? (data.buffer as ArrayBuffer)
          : (data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
      case 'fragments':
        return [data];
      case 'blob':
        return new Blob([data]) as unknown as MessageData;
    }
  }

  /** @internal */
  onPing(data: Uint8Array): void {
    // RFC 6455 §5.5.2: answer with a pong carrying the same data, unless closing.
    if (this._settings.autoPong && this._readyState === OPEN && !this._closeFrameSent) {
      this._ordered(() => this._writeFrame(OPCODE_PONG, data as Buffer, data.length, true, false));
    }
    this.emit('ping', data as Buffer);
  }

  /** @internal */
  onPong(data: Uint8Array): void {
    this._pingPending = false;
    this.emit('pong', data);
  }

  /** @internal */
  onClose(code: number, reason: Uint8Array): void {
    this._closeFrameReceived = true;
    this._closeCode = code;
    this._closeReason = reason as Buffer;
    if (!this._closeFrameSent) {
      // RFC 6455 §5.5.1: echo the status code; an empty close is answered with an empty one.
      this._sendClose(code === CLOSE_NO_STATUS ? new Uint8Array(0) : buildClosePayload(code));
    } else if (this._isServer) {
      this._endSocket();
    }
    this._armCloseTimer();
  }

  /** @internal */
  onProtocolError(error: WebSocketProtocolError): void {
    // RFC 6455 §7.1.7: fail the connection: send a close frame with the reason, then close TCP.
    this._closeCode = error.closeCode;
    if (this.listenerCount('error') > 0) this.emit('error', error);
    if (this._readyState === CLOSED) return;
    if (!this._closeFrameSent) this._sendClose(buildClosePayload(error.closeCode));
    this._ordered(() => this._endSocket());
    this._armCloseTimer();
  }

  // ---------------------------------------------------------------- socket events

  /** The parser holding this connection's bytes in flight, or one from the pool (see {@link ParserPool}). */
  private _takeParser(): FrameParser {
    const held = this._parser;
    if (held !== null) return held;
    const settings = this._settings;
    const pool = (settings.parserPools[this._parserPoolIndex()] ??= new ParserPool({
      expectMasked: this._isServer,
      maxPayload: settings.maxPayload,
      allowCompression: this._deflate !== null,
      alloc: allocUnsafe,
      isUtf8,
      skipUtf8Validation: !settings.validateUtf8,
    }));
    let parser = pool.free.pop();
    if (parser === undefined) parser = new FrameParser(this, pool.options);
    else parser.rebind(this);
    this._parser = parser;
    return parser;
  }

  /** Which of the settings' pools this connection's parsers come from: by role and compression. */
  private _parserPoolIndex(): number {
    return (this._isServer ? 1 : 0) | (this._deflate !== null ? 2 : 0);
  }

  /** Gives the parser back to the pool when nothing is in flight. */
  private _releaseParser(parser: FrameParser): void {
    if (this._parser !== parser || !parser.idle) return;
    this._parser = null;
    parser.rebind(NO_HANDLER); // lets this connection go when it closes
    const free = this._settings.parserPools[this._parserPoolIndex()]!.free;
    if (free.length < MAX_FREE_PARSERS) free.push(parser);
  }

  /** @internal */
  _onSocketData(chunk: Buffer): void {
    const parser = this._takeParser();
    // Replies written while this chunk is handled leave in one batch when it is done, without the
    // per-tick flush (request/response traffic); writes to other connections still flush per tick.
    const outer = receiving;
    receiving = this;
    try {
      parser.push(chunk);
    } finally {
      receiving = outer;
      this._uncork();
    }
    if (parser.paused) {
      if (!this._socket!.isPaused()) this._socket!.pause();
    } else {
      this._releaseParser(parser);
    }
  }

  /** @internal */
  _onSocketEnd(): void {
    // The peer closed its side: close ours too (the server may be closing TCP first).
    this._readyState = CLOSING;
    this._endSocket();
  }

  /** @internal */
  _onSocketClose(): void {
    const socket = this._socket!;
    socket.off('data', socketOnData);
    socket.off('end', socketOnEnd);
    socket.off('close', socketOnClose);
    socket.off('drain', socketOnDrain);
    cancelDeadline(this._closeDeadline);
    this._closeDeadline = null;
    this._readyState = CLOSING;
    // A send step in flight (a Blob read, a compression) fails itself and the queue behind it.
    if (this._busy) this._orphanedQueue = this._sendQueue;
    this._sendQueue = null;
    this._queuedBytes = 0;
    // Bytes the socket received but we had not read yet (paused while inflating) are still
    // parsed, and a message being inflated is still delivered, before 'close' (as ws).
    if (!this._closeFrameReceived) {
      const parser = this._takeParser();
      let chunk: Buffer | null;
      if (!parser.stopped) while ((chunk = socket.read() as Buffer | null) !== null) parser.push(chunk);
    }
    if (this._inflating) {
      this._closeWhenIdle = true;
      return;
    }
    this._finishClose();
  }

  private _finishClose(): void {
    cancelDeadline(this._closeDeadline);
    this._closeDeadline = null;
    this._parser?.stop();
    this._deflate?.close();
    this._readyState = CLOSED;
    this._tracker?._connectionClosed(this);
    this._tracker = null;
    this.emit('close', this._closeCode, this._closeReason);
  }

  /** @internal */
  _onSocketDrain(): void {
    this.emit('drain');
  }

  /**
   * @internal For {@link createWebSocketStream}: runs `cb` once our side of the socket has finished
   * writing ('waiting'), says it already has ('done', `cb` not called), or that there is no socket.
   */
  _whenSocketFinished(cb: () => void): 'done' | 'waiting' | 'no socket' {
    const socket = this._socket;
    if (socket === null) return 'no socket';
    if (socket.writableFinished) return 'done';
    socket.once('finish', cb);
    return 'waiting';
  }

  /** Whether both close frames were exchanged (WHATWG `wasClean`). */
  get wasClean(): boolean {
    return this._closeFrameSent && this._closeFrameReceived;
  }

  // ---------------------------------------------------------------- client handshake

  private _connect(address: string | URL, protocols: string[], options: ClientOptions, redirects = 0): void {
    const plan = planHandshake(address, protocols, options);
    const { url, key, deflateOptions } = plan;
    this._url = url.href;
    const settings = resolveSettings(plan.connection);
    const request = (plan.secure ? https : http).request(plan.request);
    this._request = request;
    if (plan.handshakeTimeout > 0) this._handshakeDeadline = addDeadline(plan.handshakeTimeout, this, DEADLINE_HANDSHAKE);

    request.on('error', (error) => {
      if (this._request !== request) return;
      this._abortHandshake(error);
    });
    request.on('response', (res) => {
      if (this._request !== request) return;
      const location = res.headers.location;
      if (plan.followRedirects && REDIRECT_STATUSES.has(res.statusCode!) && location !== undefined) {
        res.resume();
        if (redirects >= plan.maxRedirects) return this._abortHandshake(new Error('Maximum redirects exceeded'));
        let next: ReturnType<typeof planRedirect>;
        try {
          next = planRedirect(location, url, options);
        } catch (error) {
          return this._abortHandshake(error as Error);
        }
        this._request = null;
        cancelDeadline(this._handshakeDeadline);
        this._handshakeDeadline = null;
        try {
          this._connect(next.url, protocols, next.options, redirects + 1);
        } catch (error) {
          return this._abortHandshake(error as Error);
        }
        this.emit('redirect', this._url, this._request);
        return;
      }
      if (this.listenerCount('unexpected-response') > 0) {
        // As ws: the listener owns the outcome (read the body, then close() or terminate(), which
        // report 'error' then 'close'); until then the handshake timeout still runs.
        this.emit('unexpected-response', request, res);
      } else {
        res.resume();
        this._abortHandshake(new Error(`Unexpected server response: ${res.statusCode}`));
      }
    });
    request.on('upgrade', (res: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      if (this._request !== request) {
        socket.destroy();
        return;
      }
      this.emit('upgrade', res);
      if (this._request !== request) {
        socket.destroy();
        return;
      }
      const problem = checkUpgradeResponse(res, key, protocols) ?? extensionProblem(headerValue(res.headers, 'sec-websocket-extensions'), deflateOptions);
      if (typeof problem === 'string') {
        socket.destroy();
        return this._abortHandshake(new Error(problem));
      }
      const deflate: AttachOptions['deflate'] = problem === null ? undefined : { params: problem.params, options: deflateOptions! };
      this._request = null;
      cancelDeadline(this._handshakeDeadline);
      this._handshakeDeadline = null;
      this._setSocket(socket, head, {
        isServer: false,
        settings,
        deflate,
        protocol: headerValue(res.headers, 'sec-websocket-protocol') ?? '',
      });
      this.emit('open');
    });
    request.end();
  }

  private _abortHandshake(error: Error): void {
    if (this._readyState !== CONNECTING) return;
    const request = this._request;
    this._request = null;
    cancelDeadline(this._handshakeDeadline);
    this._handshakeDeadline = null;
    this._readyState = CLOSING;
    request?.destroy();
    // Report asynchronously so listeners added right after the constructor see it; 'error' while
    // CLOSING, then 'close' once CLOSED, as ws.
    nextTick(() => {
      if (this.listenerCount('error') > 0) this.emit('error', error);
      this._readyState = CLOSED;
      this.emit('close', CLOSE_ABNORMAL, EMPTY);
    });
  }
}

// The WHATWG interface's shape, as ws gives it (code that inspects descriptors sees the same):
// constants are enumerable, read-only and non-configurable on the class and its prototype;
// attributes and the on<event> handlers are enumerable, configurable accessors of WebSocket.prototype.
READY_STATES.forEach((name, value) => {
  Object.defineProperty(WebSocket, name, { enumerable: true, value });
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true, value });
});
for (const name of ['binaryType', 'bufferedAmount', 'extensions', 'isPaused', 'protocol', 'readyState', 'url']) {
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true });
}
for (const name of ['onopen', 'onerror', 'onclose', 'onmessage', 'addEventListener', 'removeEventListener']) {
  const inherited = Object.getOwnPropertyDescriptor(WhatwgEventTarget.prototype, name)!;
  Object.defineProperty(WebSocket.prototype, name, { ...inherited, enumerable: true, configurable: true });
}

/**
 * The client's check of `Sec-WebSocket-Extensions` in a 101 answer (RFC 7692 §7.1: fail on anything
 * not offered), with ws's messages. Returns a message, null for no extension, or what was agreed.
 */
function extensionProblem(
  header: string | undefined,
  offered: PerMessageDeflateOptions | null,
): string | null | { params: DeflateParams } {
  if (header === undefined) return null;
  if (offered === null) return 'Server sent a Sec-WebSocket-Extensions header but no extension was requested';
  let extensions: ReturnType<typeof parseExtensions>;
  try {
    extensions = parseExtensions(header);
  } catch {
    return 'Invalid Sec-WebSocket-Extensions header';
  }
  if (extensions.length === 0) return 'Invalid Sec-WebSocket-Extensions header';
  if (extensions.some((extension) => extension.name !== 'permessage-deflate')) return 'Server indicated an extension that was not requested';
  try {
    const params = acceptDeflateResponse(extensions, offered);
    return params === null ? null : { params };
  } catch {
    return 'Invalid Sec-WebSocket-Extensions header';
  }
}

function notOpenError(readyState: number): Error {
  return new Error(`WebSocket is not open: readyState ${readyState} (${READY_STATES[readyState]})`);
}

function socketOnData(this: OwnedSocket, chunk: Buffer): void {
  this._switchboardWs!._onSocketData(chunk);
}
function socketOnEnd(this: OwnedSocket): void {
  this._switchboardWs!._onSocketEnd();
}
function socketOnClose(this: OwnedSocket): void {
  this._switchboardWs!._onSocketClose();
}
function socketOnError(this: OwnedSocket): void {
  // Socket errors (e.g. ECONNRESET) end the connection; 'close' follows and reports 1006.
  this.destroy();
}
function socketOnDrain(this: OwnedSocket): void {
  this._switchboardWs!._onSocketDrain();
}
