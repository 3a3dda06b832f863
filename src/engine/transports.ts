/**
 * The two transports of a session. They turn packets into bytes and back and report what the
 * peer did; every decision (what to send, when the session ends) stays in EngineSocket.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Buffer, isUtf8 } from 'node:buffer';
import { gzip, deflateRaw, constants as zlib } from 'node:zlib';
import { decodePacket, decodePayload, EngineDecodeError, SEPARATOR, type EnginePacket, type PacketType } from '../protocol/engineio.js';
import { decodeBinaryPayloadV3, decodePacketV3, decodePayloadV3, lengthPrefixed, withTypeByte } from '../protocol/engineio-v3.js';
import { ErrorCode, refusal, writeRefusal } from './errors.js';
import { toBuffer, type EngineSocket, type OutPacket, type PreparedPacket, type SendCallback } from './socket.js';
import { sendPrepared, sendPreparedWithin, type EngineWebSocket } from './ws-server.js';

/** The transport a session uses now: HTTP long-polling or WebSocket. */
export type Transport = PollingTransport | WebSocketTransport;

const TYPE_DIGIT: Readonly<Record<PacketType, string>> = {
  open: '0', close: '1', ping: '2', pong: '3', message: '4', upgrade: '5', noop: '6',
};

/**
 * The wire digit of a packet type. `message` is compared first: a keyed load whose key changes
 * (`message`, then `ping`) goes megamorphic in V8, and nearly every packet is a message.
 */
function typeDigit(type: PacketType): string {
  return type === 'message' ? '4' : TYPE_DIGIT[type];
}

/** Settings the polling transport reads from its server. */
export interface PollingContext {
  readonly maxHttpBufferSize: number;
  /** Compress polling responses at least this large (false: never). */
  readonly compressionThreshold: number | false;
  /** Lets the server add or change response headers (`headers` event). */
  decorateHeaders(headers: OutgoingHttpHeaders, req: IncomingMessage): void;
}

/**
 * HTTP long-polling (Engine.IO protocol v4, "HTTP long-polling"): a GET waits for packets, a
 * POST carries packets; at most one of each in flight per session.
 */
export class PollingTransport {
  readonly name = 'polling' as const;
  private pendingGet: { req: IncomingMessage; res: ServerResponse } | null = null;
  private receiving = false;
  private discarded = false;
  /** @internal set by the server right after the session exists. */
  socket!: EngineSocket;

  constructor(private readonly context: PollingContext) {}

  /** A GET is waiting for data. */
  get writable(): boolean {
    return this.pendingGet !== null;
  }

  /** @internal packets can be handed over now (a GET is waiting). */
  get ready(): boolean {
    return this.pendingGet !== null;
  }

  get bufferedAmount(): number {
    return 0;
  }

  /** @internal routes one HTTP request of this session. */
  handleRequest(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'GET') this.onPoll(req, res);
    else if (req.method === 'POST') this.onData(req, res);
    else writeRefusal(res, refusal(ErrorCode.BAD_REQUEST, { name: 'BAD_METHOD', method: req.method }));
  }

  private onPoll(req: IncomingMessage, res: ServerResponse): void {
    if (this.pendingGet) {
      // A second concurrent GET is a protocol error: refuse it and close the session.
      writeRefusal(res, refusal(ErrorCode.BAD_REQUEST, { name: 'POLL_OVERLAP' }));
      this.socket.transportClosed(this, 'transport error', new Error('overlapping poll requests'));
      return;
    }
    this.pendingGet = { req, res };
    res.once('close', () => {
      if (this.pendingGet?.res !== res) return; // answered normally
      this.pendingGet = null;
      this.socket.transportClosed(this, 'transport error', new Error('poll connection closed prematurely'));
    });
    this.socket.pollReady(this);
  }

  private onData(req: IncomingMessage, res: ServerResponse): void {
    const limit = this.context.maxHttpBufferSize;
    const fail = (status: number, name: string, error: Error, reason: 'transport error' | 'parse error') => {
      res.setHeader('Connection', 'close');
      writeRefusal(res, refusal(ErrorCode.BAD_REQUEST, { name }, status === 413 ? 'Payload too large' : undefined, status));
      if (reason === 'parse error') this.socket.parseError(this, error);
      else this.socket.transportClosed(this, reason, error);
    };
    if (this.receiving) {
      fail(400, 'DATA_OVERLAP', new Error('overlapping data requests'), 'transport error');
      return;
    }
    // v4 carries binary as base64 text; v3 clients with XHR2 post binary payloads.
    const v3 = this.socket.protocol === 3;
    const binaryBody = req.headers['content-type']?.startsWith('application/octet-stream') === true;
    if (binaryBody && !v3) {
      fail(400, 'INVALID_CONTENT_TYPE', new Error('binary content type on a v4 session'), 'transport error');
      return;
    }
    const declared = Number(req.headers['content-length']);
    if (declared > limit) {
      fail(413, 'PAYLOAD_TOO_LARGE', new Error(`request body over ${limit} bytes`), 'transport error');
      return;
    }
    this.receiving = true;
    const chunks: Buffer[] = [];
    let size = 0;
    const onChunk = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onChunk).off('end', onEnd);
      this.receiving = false;
      chunks.length = 0;
      fail(413, 'PAYLOAD_TOO_LARGE', new Error(`request body over ${limit} bytes`), 'transport error');
    };
    const onEnd = () => {
      this.receiving = false;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      let packets;
      try {
        packets = v3 ? decodeBodyV3(body, binaryBody, req.headers['content-type']) : decodePayload(bodyText(body, req.headers['content-type']));
      } catch (error) {
        fail(400, 'PARSE_ERROR', error as Error, 'parse error');
        return;
      }
      for (const packet of packets) this.socket.receive(this, packet);
      const headers: OutgoingHttpHeaders = { 'Content-Type': 'text/html', 'Content-Length': '2' };
      this.context.decorateHeaders(headers, req); // `headers` listeners see data responses too, as in engine.io
      res.writeHead(200, headers);
      res.end('ok');
    };
    req.on('data', onChunk).on('end', onEnd);
    req.once('close', () => {
      if (req.complete) return;
      // Aborted by the client mid-body: nothing was delivered, and the session ends (as engine.io).
      this.receiving = false;
      this.socket.transportClosed(this, 'transport error', new Error('data request connection closed prematurely'));
    });
  }

  /** @internal answers the pending GET with these packets. */
  writeBatch(packets: OutPacket[]): void {
    const protocol = this.socket.protocol;
    let body = '';
    let callbacks: SendCallback[] | null = null;
    for (let i = 0; i < packets.length; i++) {
      const packet = packets[i]!;
      const record = packet.prepared ? packet.prepared.pollingText(protocol) : encodeText(packet.type, packet.data, protocol);
      // v4 separates records with \x1e; v3 prefixes each with its length.
      if (protocol === 3) body += lengthPrefixed(record);
      else body += i > 0 ? SEPARATOR + record : record;
      if (packet.cb) (callbacks ??= []).push(packet.cb);
    }
    this.respond(body, callbacks);
  }

  /** A body of one packet without data (`6` noop, `1` close) in the session's framing. */
  private single(digit: '1' | '6'): string {
    return this.socket.protocol === 3 ? lengthPrefixed(digit) : digit;
  }

  /** @internal releases the pending GET with a noop (upgrade in progress). */
  writeNoop(): void {
    if (this.pendingGet) this.respond(this.single('6'), null);
  }

  /** @internal the session moved to WebSocket: stop carrying packets. */
  discard(): void {
    this.discarded = true;
    this.writeNoop();
  }

  /** @internal the session is over: a waiting GET learns it (noop after a client close). */
  close(reason: string): void {
    if (this.pendingGet) this.respond(this.single(reason === 'transport close' ? '6' : '1'), null);
  }

  private respond(body: string, callbacks: SendCallback[] | null): void {
    const { req, res } = this.pendingGet!;
    this.pendingGet = null;
    const headers: OutgoingHttpHeaders = {
      'Content-Type': 'text/plain; charset=UTF-8',
      'Cache-Control': 'no-store',
    };
    this.context.decorateHeaders(headers, req);
    const done = callbacks && (() => callbacks.forEach((cb) => cb()));
    const threshold = this.context.compressionThreshold;
    const encoding = threshold !== false && body.length >= threshold ? acceptedEncoding(req) : null;
    if (!encoding) {
      headers['Content-Length'] = Buffer.byteLength(body);
      res.writeHead(200, headers);
      res.end(body, done ?? undefined);
      return;
    }
    const compress = encoding === 'gzip' ? gzip : deflateRaw;
    compress(body, { level: zlib.Z_BEST_SPEED }, (err, compressed) => {
      if (res.destroyed) return;
      if (err) {
        res.destroy(err);
        return;
      }
      headers['Content-Encoding'] = encoding;
      headers['Content-Length'] = compressed.length;
      headers['Vary'] = 'Accept-Encoding';
      res.writeHead(200, headers);
      res.end(compressed, done ?? undefined);
    });
  }
}

/**
 * A POST body as text. Engine.IO payloads are UTF-8. One exception keeps a known client working:
 * python-engineio 4.3 (Debian bookworm) posts `str` bodies through `requests`, which encodes them
 * as ISO-8859-1 under a bare `text/plain`, the historical default charset of text types (RFC 2616
 * section 3.7.1). Such a body that is not UTF-8 is read as Latin-1, which maps every byte to the
 * character the client meant; anything else that is not UTF-8 is a parse error.
 */
function bodyText(body: Buffer, contentType: string | undefined): string {
  if (isUtf8(body)) return body.toString('utf8');
  if (contentType !== undefined && /^\s*text\/plain\s*$/i.test(contentType)) return body.toString('latin1');
  throw new EngineDecodeError('UNKNOWN_PACKET_TYPE', 'request body is not UTF-8');
}

/** A v3 POST body: a binary payload (`application/octet-stream`) or a text one. */
function decodeBodyV3(body: Buffer, binary: boolean, contentType: string | undefined): EnginePacket[] {
  return binary ? decodeBinaryPayloadV3(body) : decodePayloadV3(bodyText(body, contentType));
}

function encodeText(type: PacketType, data: string | Uint8Array | undefined, protocol: 3 | 4): string {
  if (data === undefined) return typeDigit(type);
  if (typeof data === 'string') return typeDigit(type) + data;
  return (protocol === 3 ? 'b4' : 'b') + toBuffer(data).toString('base64');
}

function acceptedEncoding(req: IncomingMessage): 'gzip' | 'deflate' | null {
  const accepted = req.headers['accept-encoding'];
  if (!accepted) return null;
  if (/\bgzip\b/.test(accepted)) return 'gzip';
  if (/\bdeflate\b/.test(accepted)) return 'deflate';
  return null;
}

const TEXT = { binary: false } as const;
const BINARY = { binary: true } as const;
const TEXT_PLAIN = { binary: false, compress: false } as const;
const BINARY_PLAIN = { binary: true, compress: false } as const;
/** Above this many queued bytes the WebSocket counts as busy (volatile sends are skipped). */
const WRITABLE_HIGH_WATER_MARK = 64 * 1024;

/** One Engine.IO packet per WebSocket message (Engine.IO protocol v4, "WebSocket"). */
export class WebSocketTransport {
  readonly name = 'websocket' as const;
  private closed = false;
  /** @internal set by the server right after the session exists. */
  socket!: EngineSocket;

  constructor(readonly ws: EngineWebSocket) {
    // Shared listeners that find the transport through the WebSocket: no closures per connection.
    (ws as TransportWebSocket)[kTransport] = this;
    ws.on('message', wsOnMessage);
    ws.on('close', wsOnClose);
    ws.on('error', wsOnError);
  }

  /** Open and not backed up (volatile messages are skipped when false). */
  get writable(): boolean {
    return !this.closed && this.ws.bufferedAmount < WRITABLE_HIGH_WATER_MARK;
  }

  /** @internal packets can be handed over now; the WebSocket buffers what the kernel cannot take. */
  get ready(): boolean {
    return !this.closed;
  }

  get bufferedAmount(): number {
    return this.closed ? 0 : this.ws.bufferedAmount;
  }

  /** @internal */
  onMessage(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const v3 = this.socket.protocol === 3;
    if (isBinary && !v3) {
      this.socket.receive(this, { type: 'message', data: bytes });
      return;
    }
    let packet;
    try {
      // v3 binary frames start with the packet type byte; v3 text may be `b4` + base64.
      if (isBinary) packet = decodePacketV3(bytes);
      // toString() without arguments is UTF-8 and skips Buffer's encoding lookup and bounds checks.
      else packet = v3 ? decodePacketV3(bytes.toString()) : decodePacket(bytes.toString());
    } catch (error) {
      this.socket.parseError(this, error as Error);
      return;
    }
    this.socket.receive(this, packet);
  }

  /** @internal */
  onClose(reason: 'transport close' | 'transport error', error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.transportClosed(this, reason, error);
  }

  /** @internal writes one packet now. */
  write(type: PacketType, data?: string | Uint8Array, compress?: boolean, cb?: SendCallback): void {
    if (this.closed) return;
    if (data === undefined || typeof data === 'string') {
      this.ws.send(data === undefined ? typeDigit(type) : typeDigit(type) + data, compress === false ? TEXT_PLAIN : TEXT, cb);
    } else {
      // RFC 6455 binary frame: the bytes alone in v4, after the type byte in v3.
      this.ws.send(this.socket.protocol === 3 ? withTypeByte(data) : data, compress === false ? BINARY_PLAIN : BINARY, cb);
    }
  }

  /** @internal writes a frame built once for many recipients. */
  writePrepared(packet: PreparedPacket, cb?: SendCallback): void {
    if (this.closed) return;
    sendPrepared(this.ws, packet.wsFrame(this.socket.protocol), cb);
  }

  /**
   * @internal {@link writePrepared} without a callback, under the session's cap (see
   * `sendPreparedWithin`): -1 when refused, else {@link bufferedAmount} after the write.
   */
  writePreparedWithin(packet: PreparedPacket, cap: number): number {
    if (this.closed) return 0;
    const after = sendPreparedWithin(this.ws, packet.wsFrame(this.socket.protocol), packet.byteLength, cap);
    return after === -1 || !this.closed ? after : 0;
  }

  /** @internal */
  writeBatch(packets: OutPacket[]): void {
    for (const packet of packets) {
      if (packet.prepared) this.writePrepared(packet.prepared, packet.cb);
      else this.write(packet.type, packet.data, packet.compress, packet.cb);
    }
  }

  /** @internal closes the WebSocket; dead or misbehaving peers are cut off at once. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (reason === 'ping timeout' || reason === 'transport error') this.ws.terminate();
    // A slow consumer learns why, if it ever reads again: the close frame queues behind what it
    // has not read. 1008 (RFC 6455 §7.4.1, policy violation: the generic code for "you broke a
    // limit"); not 1013 "Try Again Later" (IANA registry), which says the server is overloaded.
    // The WebSocket's closeTimeout bounds how long that backlog is kept.
    else if (reason === 'transport buffer full') this.ws.close(1008, reason);
    else this.ws.close();
  }
}

const kTransport = Symbol('switchboard.transport');
type TransportWebSocket = EngineWebSocket & { [kTransport]: WebSocketTransport };

function wsOnMessage(this: TransportWebSocket, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
  this[kTransport].onMessage(data, isBinary);
}
function wsOnClose(this: TransportWebSocket): void {
  this[kTransport].onClose('transport close');
}
function wsOnError(this: TransportWebSocket, err: Error): void {
  this[kTransport].onClose('transport error', err);
}
