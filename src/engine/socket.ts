/**
 * One Engine.IO session: its state, write buffer, heartbeat and the switch from polling to
 * WebSocket. Transports move bytes; the session decides what to send and when it is over.
 */
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Socket as NetSocket } from 'node:net';
import type { EnginePacket, PacketType } from '../protocol/engineio.js';
import { withTypeByte } from '../protocol/engineio-v3.js';
import { KeptRequest } from './kept-request.js';
import { TimerEntry, type DelayQueue } from './timers.js';
import type { PollingTransport, Transport, WebSocketTransport } from './transports.js';
import { preEncodedFrame, prepareFrame, type PreparedFrame } from './ws-server.js';
import { trackListeners, WATCH_FLUSH, WATCH_PACKET, WATCH_PACKET_CREATE } from './watched-events.js';
import { useFastListenerTable } from '../websocket/listener-table.js';

/**
 * Why a session ended. `transport buffer full`: the client did not read fast enough and what was
 * queued for it passed `maxBufferedBytes` (a slow consumer); it is dropped rather than allowed to
 * hold memory, and a WebSocket gets a close frame 1008 with this reason.
 */
export type CloseReason = 'transport close' | 'transport error' | 'ping timeout' | 'parse error' | 'forced close' | 'transport buffer full';
/** Where a session is in its life. */
export type ReadyState = 'opening' | 'open' | 'closing' | 'closed';

/** The events of a session: the arguments each listener receives. */
export interface EngineSocketEvents {
  message: [data: string | Buffer];
  close: [reason: CloseReason, description?: Error];
  upgrading: [transport: Transport];
  upgrade: [transport: Transport];
  drain: [];
  packet: [packet: EnginePacket];
  packetCreate: [packet: CreatedPacket];
  heartbeat: [];
  /** Packets leave the write buffer for the transport (engine.io's `flush`). */
  flush: [packets: FlushedPacket[]];
}

/** Options of one `send`. */
export interface SendOptions {
  /** Let permessage-deflate compress this message when negotiated (default true). */
  compress?: boolean;
  /**
   * The complete WebSocket frame of this text message, already built (the buffers together are
   * the frame), as `packetCreate` reports it for broadcasts: written as is on WebSocket, so many
   * recipients share one encoding. Polling sends `data` as usual.
   */
  wsPreEncodedFrame?: Buffer[];
}

/** A packet as the `flush` events show it (engine.io's shape: type, data, options). */
export interface FlushedPacket {
  type: PacketType;
  data?: string | Uint8Array;
  options: { compress: boolean };
}

/** @internal */
export function flushedPacket(packet: OutPacket): FlushedPacket {
  const data = packet.prepared ? packet.prepared.data : packet.data;
  const out: FlushedPacket = { type: packet.type, options: { compress: packet.compress !== false } };
  if (data !== undefined) out.data = data;
  return out;
}

/** Called once the message has been written to the transport. */
export type SendCallback = (err?: Error) => void;

/**
 * A packet as `packetCreate` reports it, with engine.io's `options`: `compress`, and for a text
 * message prepared once for many recipients (a broadcast) the WebSocket frame built for it,
 * `wsPreEncodedFrame` (an array of buffers that together are the frame).
 */
export type CreatedPacket = EnginePacket & { options: { compress: boolean; wsPreEncodedFrame?: Buffer[] } };

/**
 * A message encoded once for many recipients: the WebSocket frame and the polling text are
 * each built at most once, on first use. Create with `engine.prepare(data)`.
 */
export class PreparedPacket {
  private frame: PreparedFrame | null = null;
  private text: string | null = null;
  /** Binary messages differ in Engine.IO v3 (type byte / `b4` prefix): built once too, if needed. */
  private v3Frame: PreparedFrame | null = null;
  private v3Text: string | null = null;
  /** @internal bytes the message counts for in a session's buffer (read once per recipient). */
  readonly byteLength: number;
  /** `frame`: the WebSocket frame when the caller already has it (`wsPreEncodedFrame`). */
  constructor(readonly data: string | Uint8Array, frame: PreparedFrame | null = null) {
    this.frame = frame;
    this.byteLength = typeof data === 'string' ? data.length + 1 : data.byteLength;
  }

  /** @internal the WebSocket frame (text `4…` or raw binary), framed once per protocol revision. */
  wsFrame(protocol: 3 | 4 = 4): PreparedFrame {
    const { data } = this;
    if (typeof data === 'string') return (this.frame ??= prepareFrame('4' + data, false));
    if (protocol === 3) return (this.v3Frame ??= prepareFrame(withTypeByte(data), true));
    return (this.frame ??= prepareFrame(data, true));
  }

  /** @internal the packet as one polling payload record (without v3's length prefix). */
  pollingText(protocol: 3 | 4 = 4): string {
    const { data } = this;
    if (typeof data === 'string') return (this.text ??= '4' + data);
    if (protocol === 3) return (this.v3Text ??= 'b4' + toBuffer(data).toString('base64'));
    return (this.text ??= 'b' + toBuffer(data).toString('base64'));
  }
}

/** A packet waiting in a session's write buffer. */
export interface OutPacket {
  type: PacketType;
  data?: string | Uint8Array;
  prepared?: PreparedPacket;
  compress?: boolean;
  cb?: SendCallback;
}

/** What a session needs from its server (implemented by EngineServer). */
export interface SessionContext {
  readonly maxBufferedBytes: number;
  readonly pingQueue: DelayQueue<EngineSocket>;
  readonly pongQueue: DelayQueue<EngineSocket>;
  readonly upgradeQueue: DelayQueue<EngineSocket>;
  readonly closeQueue: DelayQueue<EngineSocket>;
  readonly clientPingQueue: DelayQueue<EngineSocket>;
  /** Someone listens for the server's `flush` / `drain`. */
  readonly watchesFlush: boolean;
  sessionFlushed(socket: EngineSocket, packets: readonly OutPacket[]): void;
  sessionDrained(socket: EngineSocket): void;
  sessionClosed(socket: EngineSocket): void;
}

const emitMethod = EventEmitter.prototype.emit;
/** EventEmitter's per-instance `captureRejections` flag (undefined if this Node keeps it elsewhere). */
const kCapture = Object.getOwnPropertySymbols(new EventEmitter()).find((symbol) => symbol.description === 'kCapture');

/** How a polling session closed by the server ends once its queue is out (engine.io's framing). */
const NOOP_THEN_CLOSE: OutPacket[] = [{ type: 'noop' }, { type: 'close' }];

// Sessions with buffered packets, flushed together in one microtask (no closure per session).
let flushQueue: EngineSocket[] = [];
function scheduleFlush(session: EngineSocket): void {
  session.flushScheduled = true;
  if (flushQueue.push(session) === 1) queueMicrotask(flushScheduled);
}
function flushScheduled(): void {
  const sessions = flushQueue;
  flushQueue = [];
  for (const session of sessions) {
    session.flushScheduled = false;
    session.flush();
  }
}

export const toBuffer = (data: Uint8Array): Buffer =>
  Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);

/**
 * A session of the engine: exchanges text and binary messages with one client over polling or
 * WebSocket, whichever it currently uses.
 *
 * @example
 * ```ts
 * engine.on('connection', (socket) => {
 *   socket.on('message', (data) => socket.send(data)); // echo
 *   socket.on('close', (reason) => console.log(socket.id, reason));
 * });
 * ```
 */
export class EngineSocket extends EventEmitter<EngineSocketEvents> {
  readyState: ReadyState = 'open';
  /** True once the session moved from polling to WebSocket. */
  upgraded = false;
  /** True while a WebSocket probe for this session is connected but not yet promoted. */
  upgrading = false;
  /** The transport carrying the session now. */
  transport: Transport;

  /** @internal */ readonly heartbeat = new TimerEntry<EngineSocket>(this);
  /** Upgrade and close state, made on first need: most sessions never upgrade and close at once. */
  private transitions: Transitions | undefined = undefined;
  /** Packets waiting for the transport; null while empty (most sessions, most of the time). */
  private writeBuffer: OutPacket[] | null = null;
  private writeBufferBytes = 0;
  /** @internal queued in {@link flushQueue} for the current microtask. */
  flushScheduled = false;
  /** @internal `WATCH_*` bits of the events someone listened for (see trackListeners). */
  watched = 0;
  /** The request that opened the session, or what was kept of it until it is read (see KeptRequest). */
  private openedBy: IncomingMessage | KeptRequest | null;
  /**
   * The request that opened the session (headers, url, socket). An own property, as in engine.io:
   * an application that will not read it again frees it with `session.request = null` or
   * `delete session.request` (`socket.handshake.headers` is then empty).
   */
  declare readonly request: IncomingMessage;

  /** @internal */
  constructor(
    readonly id: string,
    /** The request that opened the session, or its small form. */
    request: IncomingMessage | KeptRequest,
    private readonly context: SessionContext,
    transport: Transport,
    /**
     * The client's address: the TCP peer's, or what trusted proxies report (`trustProxy`),
     * computed once from the request that opened the session.
     */
    readonly remoteAddress: string = request.socket?.remoteAddress ?? '',
    /**
     * Engine.IO protocol revision of this session: 4, or 3 for older clients (`allowEIO3`). In v3
     * the client sends the pings and the server answers; in v4 it is the other way round.
     */
    readonly protocol: 3 | 4 = 4,
  ) {
    super();
    useFastListenerTable(this);
    this.openedBy = request;
    // An accessor (shared functions: nothing per session) that builds a kept request on first read.
    Object.defineProperty(this, 'request', REQUEST_PROPERTY);
    this.transport = transport;
    if (protocol === 3) context.clientPingQueue.add(this.heartbeat);
    else context.pingQueue.add(this.heartbeat);
  }

  /** @internal `request`'s getter: a kept request is built on first read, the same object from then on. */
  readRequest(): IncomingMessage {
    const opened = this.openedBy;
    if (opened instanceof KeptRequest) return (this.openedBy = opened.rebuild(this.remoteAddress));
    return opened as IncomingMessage;
  }

  /** @internal `request`'s setter. */
  writeRequest(request: IncomingMessage | null): void {
    this.openedBy = request;
  }

  /**
   * @internal What the handshake details are read from: the request's headers, url and socket,
   * without building the request when the session kept its small form. Null once the application
   * dropped it (set to null or deleted).
   */
  get openingRequest(): { readonly headers: IncomingHttpHeaders; readonly url?: string | undefined; readonly socket: NetSocket | null } | null {
    const own = Object.getOwnPropertyDescriptor(this, 'request');
    if (own === undefined) return (this.openedBy = null); // deleted: free what it held
    if (own.get === REQUEST_PROPERTY.get) return this.openedBy ?? null;
    return (own.value as IncomingMessage | null | undefined) ?? null; // replaced by the application
  }

  private moreTransitions(): Transitions {
    return (this.transitions ??= { deadline: null, probe: null, probed: false, closePending: false });
  }
  // The transition state read and written as fields; writing its empty value makes no object.
  /** @internal upgrade timeout or polling close timeout; never both at once. */
  get deadline(): TimerEntry<EngineSocket> | null {
    return this.transitions?.deadline ?? null;
  }
  /** @internal */
  set deadline(deadline: TimerEntry<EngineSocket> | null) {
    if (deadline !== null || this.transitions !== undefined) this.moreTransitions().deadline = deadline;
  }
  private get probe(): WebSocketTransport | null {
    return this.transitions?.probe ?? null;
  }
  private set probe(probe: WebSocketTransport | null) {
    if (probe !== null || this.transitions !== undefined) this.moreTransitions().probe = probe;
  }
  /** The probe answered `3probe`: the client is pausing polling. */
  private get probed(): boolean {
    return this.transitions?.probed ?? false;
  }
  private set probed(probed: boolean) {
    if (probed || this.transitions !== undefined) this.moreTransitions().probed = probed;
  }
  /** close() on polling with packets queued or no GET waiting: the close goes after them. */
  private get closePending(): boolean {
    return this.transitions?.closePending ?? false;
  }
  private set closePending(pending: boolean) {
    if (pending || this.transitions !== undefined) this.moreTransitions().closePending = pending;
  }

  /** Bytes queued for this client and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.writeBufferBytes + this.transport.bufferedAmount;
  }

  /**
   * Sends a message (string → text, bytes → binary). `cb` runs once it was written to the
   * transport (the polling response sent, the WebSocket frame handed to the kernel); if the
   * session closes first it never runs and is released. `send(data, cb)` works too, as in engine.io.
   */
  send(data: string | Uint8Array, options?: SendOptions | SendCallback, cb?: SendCallback): void {
    if (typeof options === 'function') {
      cb = options;
      options = undefined;
    }
    const frame = options?.wsPreEncodedFrame;
    if (frame !== undefined && typeof data === 'string') {
      this.sendPrepared(new PreparedPacket(data, preEncodedFrame(frame)), options, cb);
      return;
    }
    this.sendPacket('message', data, options?.compress, cb);
  }

  /** Alias of {@link send}, as in engine.io. */
  write(data: string | Uint8Array, options?: SendOptions | SendCallback, cb?: SendCallback): void {
    this.send(data, options, cb);
  }

  /** Whether anyone listens for `flush` / `drain` here or on the server (else nothing is built for them). */
  private get watchesFlush(): boolean {
    return (this.watched & WATCH_FLUSH) !== 0 || this.context.watchesFlush;
  }

  private flushing(packets: OutPacket[]): void {
    if (this.listenerCount('flush') > 0) this.emit('flush', packets.map(flushedPacket));
    this.context.sessionFlushed(this, packets);
  }

  private drained(): void {
    if (this.listenerCount('drain') > 0) this.emit('drain');
    this.context.sessionDrained(this);
  }

  /** Sends a message prepared once with `engine.prepare(data)`; no per-recipient encoding. */
  sendPrepared(packet: PreparedPacket, options?: SendOptions, cb?: SendCallback): void {
    if (this.readyState !== 'open') return;
    const transport = this.transport;
    if (cb === undefined && this.writeBuffer === null && transport.name === 'websocket' &&
        (this.watched & (WATCH_FLUSH | WATCH_PACKET_CREATE)) === 0 && !this.context.watchesFlush) {
      // A broadcast's usual delivery: written at once, with nobody to tell. The cap is checked
      // before the write and after it, as below, on one read of the count (the write buffer is
      // empty: the transport's count is the session's).
      const max = this.context.maxBufferedBytes;
      const after = transport.writePreparedWithin(packet, max);
      if (after === -1 || after > max) this.dropSlowConsumer();
      return;
    }
    if (!this.admit(packet.byteLength)) return;
    this.announce('message', packet.data, options?.compress, packet);
    if (this.writeBuffer === null && transport.name === 'websocket') {
      // Written at once: for `flush`/`drain` listeners this is a flush of one packet.
      const watched = this.watchesFlush;
      if (watched) this.flushing([{ type: 'message', prepared: packet, compress: options?.compress, cb }]);
      transport.writePrepared(packet, cb);
      if (watched) this.drained();
    } else {
      this.buffer({ type: 'message', prepared: packet, cb }, packet.byteLength);
    }
    this.checkBuffered();
  }

  /**
   * Closes the session: buffered packets are flushed first unless `discard` is set.
   * The `close` event follows with reason `forced close`.
   */
  close(discard = false): void {
    if (this.readyState !== 'open' && this.readyState !== 'opening') return;
    this.readyState = 'closing';
    if (discard) this.dropWriteBuffer();
    // A client that got `3probe` may have paused polling already: from then on it listens only to
    // the probe, so that upgrade is allowed to finish and carries the close packet (as engine.io
    // does); cutting the probe would leave the client waiting for a ping timeout.
    if (discard || !this.probed) this.abortProbe();
    if (this.transport.name === 'websocket' || discard) {
      this.flush();
      this.finish('forced close');
      return;
    }
    // Polling, as engine.io: a GET already waiting with nothing else to send takes the close now.
    // Otherwise what is queued leaves first, and the next GET after it gets `6` `1` (noop, close);
    // give up after the close timeout.
    if (this.writeBuffer === null && this.transport.ready) {
      this.buffer({ type: 'close' }, 1);
      this.flush();
      return;
    }
    this.closePending = true;
    this.context.closeQueue.add((this.deadline ??= new TimerEntry<EngineSocket>(this)));
  }

  /** @internal queues or writes a packet of any type. */
  sendPacket(type: PacketType, data?: string | Uint8Array, compress?: boolean, cb?: SendCallback): void {
    if (this.readyState !== 'open') return;
    const size = data === undefined ? 1 : typeof data === 'string' ? data.length + 1 : data.byteLength;
    if (!this.admit(size)) return;
    this.announce(type, data, compress);
    if (this.writeBuffer === null && this.transport.name === 'websocket') {
      const watched = this.watchesFlush;
      if (watched) this.flushing([{ type, data, compress, cb }]);
      this.transport.write(type, data, compress, cb);
      if (watched) this.drained();
    } else {
      this.buffer({ type, data, compress, cb }, size);
    }
    this.checkBuffered();
  }

  private announce(type: PacketType, data: string | Uint8Array | undefined, compress?: boolean, prepared?: PreparedPacket): void {
    if ((this.watched & WATCH_PACKET_CREATE) !== 0 && this.listenerCount('packetCreate') > 0) {
      const options: CreatedPacket['options'] = { compress: compress !== false };
      if (prepared && typeof data === 'string') options.wsPreEncodedFrame = [prepared.wsFrame().frame];
      this.emit('packetCreate', (data === undefined ? { type, options } : { type, data, options }) as CreatedPacket);
    }
  }

  private buffer(packet: OutPacket, size: number): void {
    (this.writeBuffer ??= []).push(packet);
    this.writeBufferBytes += size;
    // Packets queued in the same tick leave together in one response / one burst of frames.
    if (this.transport.ready && !this.flushScheduled) scheduleFlush(this);
  }

  /**
   * Slow consumers are dropped rather than allowed to hold unbounded memory. Checked before a
   * packet is queued on a busy session (so the WebSocket's own, higher cap never refuses it
   * first and the reason stays ours), and after every write.
   */
  private admit(size: number): boolean {
    const buffered = this.bufferedAmount;
    if (buffered === 0 || buffered + size <= this.context.maxBufferedBytes) return true;
    this.dropSlowConsumer();
    return false;
  }

  private checkBuffered(): void {
    if (this.bufferedAmount > this.context.maxBufferedBytes) this.dropSlowConsumer();
  }

  private dropSlowConsumer(): void {
    this.finish('transport buffer full', new Error(`send buffer over ${this.context.maxBufferedBytes} bytes`));
  }

  private dropWriteBuffer(): void {
    this.writeBuffer = null;
    this.writeBufferBytes = 0;
  }

  /** Hands the write buffer to the transport if it can take it now. */
  /** @internal */
  flush(): void {
    const packets = this.writeBuffer;
    if (packets === null || !this.transport.ready || this.readyState === 'closed') return;
    this.dropWriteBuffer();
    const watched = this.watchesFlush;
    if (watched) this.flushing(packets);
    this.transport.writeBatch(packets);
    if (this.readyState === 'closing' && this.transport.name === 'polling' && packets[packets.length - 1]!.type === 'close') {
      this.finish('forced close'); // the close packet just left
      return;
    }
    if (watched) this.drained();
  }

  // ---- called by transports ----

  /** @internal a polling GET is waiting: flush, or release it at once during an upgrade. */
  pollReady(transport: PollingTransport): void {
    if (this.writeBuffer !== null) this.flush();
    else if (this.closePending) {
      transport.writeBatch(NOOP_THEN_CLOSE);
      this.finish('forced close');
    } else if (this.probed) transport.writeNoop();
  }

  /** @internal a packet arrived on the current transport (or on the probe). */
  receive(transport: Transport, packet: EnginePacket): void {
    if (transport !== this.transport) {
      if (transport === this.probe) this.receiveOnProbe(this.probe, packet);
      else if (this.readyState === 'open' && packet.type === 'message') this.receive(this.transport, packet); // late POST of a discarded polling transport
      return;
    }
    if (this.readyState !== 'open') return;
    if ((this.watched & WATCH_PACKET) !== 0 && this.listenerCount('packet') > 0) this.emit('packet', packet);
    switch (packet.type) {
      case 'message':
        this.emitMessage(typeof packet.data === 'string' ? packet.data : toBuffer(packet.data));
        break;
      case 'pong':
        if (this.protocol === 3) {
          this.finish('transport error', new Error('invalid heartbeat direction'));
          break;
        }
        if (this.heartbeat.queue === this.context.pongQueue) this.context.pingQueue.add(this.heartbeat);
        this.emit('heartbeat');
        break;
      case 'ping': // v4 heartbeats go server → client only; v3 ones client → server
        if (this.protocol === 4) {
          this.finish('transport error', new Error('invalid heartbeat direction'));
          break;
        }
        this.context.clientPingQueue.add(this.heartbeat);
        this.sendPacket('pong');
        this.emit('heartbeat');
        break;
      case 'close':
        this.finish('transport close');
        break;
      default: // open / upgrade / noop from a client carry no meaning on an open session
        break;
    }
  }

  /**
   * `emit('message', data)`. A lone listener (the usual case: the Socket.IO client) is called as
   * emit() would call it, without emit()'s generic lookup and argument array; emit() itself when
   * it is overridden or watches returned promises (`captureRejections`).
   */
  private emitMessage(data: string | Buffer): void {
    const listener = (this as unknown as { _events: Record<string, unknown> })._events.message;
    if (typeof listener === 'function' && this.emit === emitMethod && kCapture !== undefined && (this as unknown as Record<symbol, unknown>)[kCapture] !== true) {
      listener.call(this, data);
    } else {
      this.emit('message', data);
    }
  }

  /** @internal the transport failed or was closed by the peer. */
  transportClosed(transport: Transport, reason: CloseReason, description?: Error): void {
    if (transport === this.probe) this.abortProbe();
    else if (transport === this.transport) this.finish(reason, description);
  }

  /** @internal a transport could not decode what the client sent. */
  parseError(transport: Transport, description: Error): void {
    if (transport === this.probe) this.abortProbe();
    else this.finish('parse error', description);
  }

  // ---- heartbeat and deadlines (driven by the server's shared queues) ----

  /** @internal */
  pingDue(): void {
    this.sendPacket('ping');
    if (this.readyState === 'open') this.context.pongQueue.add(this.heartbeat);
  }

  /** @internal */
  pongMissed(): void {
    this.finish('ping timeout');
  }

  /** @internal upgrade timeout or polling close timeout. */
  deadlinePassed(): void {
    if (this.readyState === 'closing') this.finish('forced close');
    else this.abortProbe();
  }

  // ---- upgrade polling → WebSocket (Engine.IO protocol v4, "Upgrade") ----

  /** @internal a WebSocket arrived for this polling session: probe it. */
  startProbe(probe: WebSocketTransport): void {
    this.probe = probe;
    this.upgrading = true;
    this.context.upgradeQueue.add((this.deadline ??= new TimerEntry<EngineSocket>(this)));
  }

  private receiveOnProbe(probe: WebSocketTransport, packet: EnginePacket): void {
    if (packet.type === 'ping' && packet.data === 'probe' && !this.probed) {
      probe.write('pong', 'probe');
      this.probed = true;
      this.emit('upgrading', probe);
      // Release the pending GET so the client can pause polling (nothing else to send on it).
      if (this.writeBuffer === null && this.transport.name === 'polling') this.transport.writeNoop();
    } else if (packet.type === 'upgrade' && this.readyState !== 'closed') {
      this.completeUpgrade(probe);
    } else {
      this.abortProbe();
    }
  }

  private completeUpgrade(probe: WebSocketTransport): void {
    this.deadline?.cancel();
    const previous = this.transport;
    this.probe = null;
    this.probed = false;
    this.upgrading = false;
    this.upgraded = true;
    this.transport = probe;
    if (previous.name === 'polling') previous.discard();
    this.emit('upgrade', probe);
    if (this.closePending) this.buffer({ type: 'close' }, 1); // the client now listens on the WebSocket
    this.flush();
    if (this.readyState === 'closing') this.finish('forced close');
    else if (!this.closePending) this.transitions = undefined; // upgraded: the probe's state is done
  }

  private abortProbe(): void {
    const probe = this.probe;
    if (!probe) return;
    this.probe = null;
    this.probed = false;
    this.upgrading = false;
    this.deadline?.cancel();
    probe.close('transport close');
  }

  /** @internal ends the session for good: the one place that emits `close`. */
  finish(reason: CloseReason, description?: Error): void {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    this.heartbeat.cancel();
    this.deadline?.cancel();
    this.abortProbe();
    this.dropWriteBuffer();
    this.transport.close(reason);
    this.context.sessionClosed(this);
    this.emit('close', reason, description);
  }
}

/** What a session needs only while it upgrades or closes (see EngineSocket.transitions). */
interface Transitions {
  deadline: TimerEntry<EngineSocket> | null;
  probe: WebSocketTransport | null;
  probed: boolean;
  closePending: boolean;
}

const REQUEST_PROPERTY = {
  get(this: EngineSocket): IncomingMessage {
    return this.readRequest();
  },
  set(this: EngineSocket, request: IncomingMessage | null): void {
    this.writeRequest(request);
  },
  enumerable: true,
  configurable: true,
};

trackListeners(EngineSocket.prototype, { flush: WATCH_FLUSH, drain: WATCH_FLUSH, packetCreate: WATCH_PACKET_CREATE, packet: WATCH_PACKET });
