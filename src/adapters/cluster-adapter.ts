/**
 * The part of the cluster adapters that does not depend on how bytes travel: which operations are
 * forwarded to the other nodes, the node registry (heartbeats), and requests that wait for the
 * answers of every live node. Subclasses provide the transport (node:cluster IPC, Redis pub/sub
 * channels, or a Redis stream).
 *
 * Every node runs one adapter per namespace. A node announces itself with HELLO, every peer answers
 * with a HEARTBEAT, then each node sends a HEARTBEAT every `heartbeatInterval`. A peer not heard
 * from within `heartbeatTimeout` (or that said BYE) is dropped, and the requests waiting for it
 * complete without it: requests wait only for live nodes.
 */
import { randomBytes } from 'node:crypto';
import { PacketType } from '../protocol/socketio.js';
import { Adapter, type BroadcastFlags, type BroadcastOptions, type Room, type SocketLike, type SocketIOPacket } from '../server/adapter.js';
import type { Namespace } from '../server/namespace.js';
import { CodecError } from './codec.js';
import { type ClusterMessage, MessageType, encodeMessage } from './envelope.js';
import { ClusterAdapterError, type ClusterAdapterErrorCode } from './errors.js';

/** The error class a transport reports with (Redis adapters: `RedisAdapterError`). */
export type ClusterErrorClass = new (code: ClusterAdapterErrorCode, message: string, options?: { cause?: unknown }) => ClusterAdapterError<string>;

export interface ClusterAdapterOptions {
  /** How long fetchSockets() and serverSideEmit() acks wait for the other nodes (ms). Default 5000. */
  requestsTimeout?: number;
  /** How often a node says it is alive (ms). Default 5000. */
  heartbeatInterval?: number;
  /** A node not heard from for this long is considered gone (ms). Default 10000. */
  heartbeatTimeout?: number;
}

/** Options as they travel between nodes (Sets become arrays). */
interface WireOptions {
  rooms: Room[];
  except: Room[];
  flags: BroadcastFlags;
}

interface WireSocket {
  id: string;
  handshake: SocketLike['handshake'];
  rooms: Room[];
  data: unknown;
}

/** A request to the other nodes that has not settled yet: `done` settles it once. */
export interface Settle<E extends Error> {
  done(err: E | null): void;
  timer: NodeJS.Timeout;
}

interface PendingRequest extends Settle<ClusterAdapterError<string>> {
  /** Live nodes that have not answered yet. */
  waiting: Set<string>;
  responseType: MessageType;
  onResponse(uid: string, body: Record<string, unknown>): void;
}

/** Acks of a broadcast this node sent: client counts and client answers arrive per node. */
interface PendingBroadcastAck {
  clientCount(n: number): void;
  ack(...args: unknown[]): void;
  timer: NodeJS.Timeout;
}

/** The broadcast flags that travel to other nodes: only those that are set. */
export function wireFlags(given: BroadcastFlags | undefined): BroadcastFlags {
  const flags: BroadcastFlags = {};
  if (given?.volatile) flags.volatile = true;
  if (given?.compress !== undefined) flags.compress = given.compress;
  if (given?.timeout !== undefined) flags.timeout = given.timeout;
  return flags;
}

/** Broadcast flags as another node sent them; a flag of the wrong type counts as unset. */
export function readFlags(flags: Record<string, unknown>): BroadcastFlags {
  return {
    volatile: flags.volatile === true,
    compress: typeof flags.compress === 'boolean' ? flags.compress : undefined,
    timeout: typeof flags.timeout === 'number' ? flags.timeout : undefined,
  };
}

function encodeOptions(opts: BroadcastOptions): WireOptions {
  return { rooms: [...opts.rooms], except: opts.except ? [...opts.except] : [], flags: wireFlags(opts.flags) };
}

function decodeOptions(wire: unknown): BroadcastOptions {
  const w = asRecord(wire);
  return { rooms: new Set(stringArray(w.rooms)), except: new Set(stringArray(w.except)), flags: readFlags(asRecord(w.flags)) };
}

function asRecord(v: unknown): Record<string, any> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CodecError('expected an object');
  return v as Record<string, any>;
}

function stringArray(v: unknown): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new CodecError('expected an array of strings');
  return v;
}

function asPacket(v: unknown): SocketIOPacket {
  const p = asRecord(v);
  if (typeof p.type !== 'number' || typeof p.nsp !== 'string') throw new CodecError('malformed packet');
  return { type: p.type, nsp: p.nsp, data: p.data, ...(typeof p.id === 'number' ? { id: p.id } : {}) };
}

/**
 * Reports `err` to the `error` listeners of `adapter`, or as a process warning when it has none; a
 * code already reported in the last second (`lastReported`) is not reported again.
 */
export function reportThrottled(adapter: Adapter, lastReported: Map<string, number>, err: ClusterAdapterError<string>): void {
  const now = Date.now();
  if ((lastReported.get(err.code) ?? 0) > now - 1000) return;
  lastReported.set(err.code, now);
  if (adapter.listenerCount('error') > 0) adapter.emit('error', err);
  else warnOnce(err);
}

function warnOnce(err: ClusterAdapterError<string>): void {
  process.emitWarning(`${err.message} (listen to the adapter's "error" event to handle it)`, {
    type: err.name.replace(/Error$/, 'Warning'),
    code: err.code,
  });
}

/**
 * After a broadcast with acks delivered for another node: forgets, once that node stopped waiting
 * (`ms`), the acks of the clients that never answered.
 */
export function expireRemoteAcks(nsp: Namespace<any, any, any, any>, id: number | undefined, answer: (...args: unknown[]) => void, ms: number): void {
  if (id === undefined) return;
  const timer = setTimeout(() => {
    for (const socket of nsp.sockets.values()) socket._dropAck(id, answer);
  }, ms);
  timer.unref();
}

/**
 * Registers `state` under `id` in `table` until it settles: `done` (called by the caller when the
 * last answer arrived, or on close) or the timeout, whose error `timedOut` builds from the state.
 * Either way the timer is cleared and the entry leaves the table, once.
 */
export function awaitAnswers<S extends object, E extends Error>(
  table: Map<string, S & Settle<E>>,
  id: string,
  state: S,
  timeoutMs: number,
  timedOut: (state: S) => E,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const request: S & Settle<E> = Object.assign(state, {
      done: (err: E | null) => {
        clearTimeout(request.timer);
        table.delete(id);
        if (err) reject(err);
        else resolve();
      },
      timer: setTimeout(() => request.done(timedOut(state)), timeoutMs),
    });
    table.set(id, request);
  });
}

export abstract class ClusterAdapter extends Adapter {
  /** This node's id; shared by the adapters of every namespace on this server. */
  readonly uid: string;
  protected readonly requestsTimeout: number;
  private readonly heartbeatInterval: number;
  private readonly heartbeatTimeout: number;
  /** Live peers and when each was last heard from. */
  private readonly peers = new Map<string, number>();
  private readonly requests = new Map<string, PendingRequest>();
  private readonly broadcastAcks = new Map<string, PendingBroadcastAck>();
  private requestCounter = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly lastReported = new Map<string, number>();
  /** The offset of the broadcast {@link localBroadcast} is delivering. */
  private deliveringOffset: string | undefined;

  constructor(
    nsp: Namespace<any, any, any, any>,
    uid: string | undefined,
    options: ClusterAdapterOptions,
    private readonly errorClass: ClusterErrorClass = ClusterAdapterError,
  ) {
    super(nsp);
    this.uid = uid ?? randomBytes(8).toString('base64url');
    this.requestsTimeout = options.requestsTimeout ?? 5000;
    this.heartbeatInterval = options.heartbeatInterval ?? 5000;
    this.heartbeatTimeout = options.heartbeatTimeout ?? 10_000;
  }

  /**
   * Sends a message to every other node. Resolves with the stream offset when the transport has
   * one. Must not reject: transports report failures through {@link reportError}.
   */
  protected abstract publish(msg: ClusterMessage): Promise<string | undefined>;

  /** Sends a response to one node (the transport may broadcast it; others ignore unknown request ids). */
  protected abstract publishResponse(uid: string, msg: ClusterMessage): void;

  /** Starts the heartbeat; the transport calls this once it receives messages. */
  protected startHeartbeat(): void {
    if (this.heartbeatTimer || this.closed) return;
    void this.publish(this.message(MessageType.HELLO));
    this.heartbeatTimer = setInterval(() => {
      void this.publish(this.message(MessageType.HEARTBEAT));
      const oldest = Date.now() - this.heartbeatTimeout;
      for (const [uid, seen] of this.peers) if (seen < oldest) this.peerGone(uid);
    }, this.heartbeatInterval);
    this.heartbeatTimer.unref();
  }

  override close(): Promise<void> | void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    const closing = this.error('ADAPTER_CLOSED', 'the adapter was closed');
    for (const request of this.requests.values()) request.done(closing);
    for (const [id, pending] of this.broadcastAcks) {
      clearTimeout(pending.timer);
      this.broadcastAcks.delete(id);
    }
    super.close();
    return this.publish(this.message(MessageType.BYE)).then(() => undefined);
  }

  /** Number of live nodes serving this namespace, this one included. */
  override serverCount(): Promise<number> {
    return Promise.resolve(this.peers.size + 1);
  }

  /** Ids of the live peers (for tests and dashboards). */
  peerIds(): string[] {
    return [...this.peers.keys()];
  }

  /** A typed error of this transport's class. */
  protected error(code: ClusterAdapterErrorCode, message: string, options?: { cause?: unknown }): ClusterAdapterError<string> {
    return new this.errorClass(code, message, options);
  }

  /** A message from this node about its namespace, ready to publish. */
  protected message(type: MessageType, body?: unknown): ClusterMessage {
    return { type, uid: this.uid, nsp: this.nsp.name, body };
  }

  /**
   * Reports a failure: to `error` listeners when there are some, else as a process warning. The
   * same code is reported at most once per second so an outage does not flood the logs.
   */
  reportError(err: ClusterAdapterError<string>): void {
    reportThrottled(this, this.lastReported, err);
  }

  /** Encodes a message, reporting (not throwing) values that cannot travel. */
  protected encode(msg: ClusterMessage): Buffer | undefined {
    try {
      return encodeMessage(msg);
    } catch (err) {
      this.reportError(this.error('UNENCODABLE', `cannot send to other nodes: ${(err as Error).message}`, { cause: err }));
      return undefined;
    }
  }

  // --- operations forwarded to the other nodes --------------------------------------------------

  override broadcast(packet: SocketIOPacket, opts: BroadcastOptions): void {
    if (!opts.flags?.local) {
      void this.publish(this.broadcastMessage(packet, opts));
    }
    super.broadcast(packet, opts);
  }

  /** A BROADCAST of `packet` to the sockets `opts` selects, ready to publish. */
  protected broadcastMessage(packet: SocketIOPacket, opts: BroadcastOptions): ClusterMessage {
    return this.message(MessageType.BROADCAST, { packet: this.wirePacket(packet), opts: encodeOptions(opts) });
  }

  /** The packet as it travels to the other nodes. */
  protected wirePacket(packet: SocketIOPacket): Record<string, unknown> {
    const wire: Record<string, unknown> = { type: packet.type, nsp: this.nsp.name, data: packet.data };
    if (packet.id !== undefined) wire.id = packet.id;
    return wire;
  }

  override broadcastWithAck(
    packet: SocketIOPacket,
    opts: BroadcastOptions,
    clientCountCallback: (clientCount: number) => void,
    ack: (...args: unknown[]) => void,
  ): void {
    if (!opts.flags?.local && this.peers.size > 0) {
      const requestId = this.nextRequestId();
      // Late answers are routed until the operator's own timeout has certainly fired.
      const timer = setTimeout(() => this.broadcastAcks.delete(requestId), (opts.flags?.timeout ?? this.requestsTimeout) + 1000);
      timer.unref();
      this.broadcastAcks.set(requestId, { clientCount: clientCountCallback, ack, timer });
      void this.publish(
        this.message(MessageType.BROADCAST, { packet: this.wirePacket(packet), opts: encodeOptions(opts), requestId }),
      );
    }
    super.broadcastWithAck(packet, opts, clientCountCallback, ack);
  }

  override addSockets(opts: BroadcastOptions, rooms: Room[]): void {
    if (!opts.flags?.local) void this.publish(this.message(MessageType.SOCKETS_JOIN, { opts: encodeOptions(opts), rooms }));
    super.addSockets(opts, rooms);
  }

  override delSockets(opts: BroadcastOptions, rooms: Room[]): void {
    if (!opts.flags?.local) void this.publish(this.message(MessageType.SOCKETS_LEAVE, { opts: encodeOptions(opts), rooms }));
    super.delSockets(opts, rooms);
  }

  override disconnectSockets(opts: BroadcastOptions, close: boolean): void {
    if (!opts.flags?.local) void this.publish(this.message(MessageType.DISCONNECT_SOCKETS, { opts: encodeOptions(opts), close }));
    super.disconnectSockets(opts, close);
  }

  override async fetchSockets(opts: BroadcastOptions): Promise<SocketLike[]> {
    const local = await super.fetchSockets(opts);
    if (opts.flags?.local || this.peers.size === 0) return local;
    const remote: SocketLike[] = [];
    await this.request(
      MessageType.FETCH_SOCKETS,
      { opts: encodeOptions(opts) },
      MessageType.FETCH_SOCKETS_RESPONSE,
      (_uid, body) => {
        if (!Array.isArray(body.sockets)) return;
        for (const s of body.sockets as WireSocket[]) {
          if (s && typeof s.id === 'string') {
            remote.push({ id: s.id, handshake: s.handshake, rooms: new Set(Array.isArray(s.rooms) ? s.rooms : []), data: s.data });
          }
        }
      },
    );
    return local.concat(remote);
  }

  override serverSideEmit(packet: unknown[]): void {
    const last = packet[packet.length - 1];
    if (typeof last !== 'function') {
      void this.publish(this.message(MessageType.SERVER_SIDE_EMIT, { packet }));
      return;
    }
    const ack = last as (err: Error | null, responses: unknown[]) => void;
    const args = packet.slice(0, -1);
    const responses: unknown[] = [];
    this.request(MessageType.SERVER_SIDE_EMIT, { packet: args }, MessageType.SERVER_SIDE_EMIT_RESPONSE, (_uid, body) =>
      responses.push(body.response),
    ).then(
      () => ack(null, responses),
      (err: Error) => ack(err, responses),
    );
  }

  private nextRequestId(): string {
    return `${this.uid}:${(this.requestCounter++).toString(36)}`;
  }

  /**
   * Sends a request and resolves when every live peer answered; peers that leave meanwhile are not
   * waited for. Rejects with REQUEST_TIMEOUT after `requestsTimeout`.
   */
  protected request(
    type: MessageType,
    body: Record<string, unknown>,
    responseType: MessageType,
    onResponse: (uid: string, body: Record<string, unknown>) => void,
  ): Promise<void> {
    if (this.closed) return Promise.reject(this.error('ADAPTER_CLOSED', 'the adapter was closed'));
    if (this.peers.size === 0) return Promise.resolve();
    const requestId = this.nextRequestId();
    const answered = awaitAnswers(
      this.requests,
      requestId,
      { waiting: new Set(this.peers.keys()), responseType, onResponse },
      this.requestsTimeout,
      ({ waiting }) =>
        this.error(
          'REQUEST_TIMEOUT',
          `${MessageType[type]} timed out after ${this.requestsTimeout} ms: ${waiting.size} of the other nodes did not answer`,
        ),
    );
    void this.publish(this.message(type, { ...body, requestId }));
    return answered;
  }

  // --- messages from other nodes ----------------------------------------------------------------

  /**
   * Handles one message from the transport. `offset` is the stream entry id (streams adapter).
   * Malformed messages are reported and skipped; they never throw.
   */
  protected onMessage(msg: ClusterMessage, offset?: string): void {
    if (msg.uid === this.uid || msg.nsp !== this.nsp.name || this.closed) return;
    const known = this.peers.has(msg.uid);
    if (msg.type === MessageType.BYE) {
      this.peerGone(msg.uid);
      return;
    }
    this.peers.set(msg.uid, Date.now());
    try {
      this.dispatch(msg, offset, known);
    } catch (err) {
      this.reportError(
        this.error('BAD_MESSAGE', `malformed ${MessageType[msg.type]} message from node ${msg.uid}: ${(err as Error).message}`, {
          cause: err,
        }),
      );
    }
  }

  private dispatch(msg: ClusterMessage, offset: string | undefined, known: boolean): void {
    switch (msg.type) {
      case MessageType.HELLO:
        // Answer so the newcomer learns about us now, not one heartbeat interval later.
        void this.publish(this.message(MessageType.HEARTBEAT));
        return;
      case MessageType.HEARTBEAT:
        // A peer we did not know (we started after it, or it came back): introduce ourselves.
        if (!known) void this.publish(this.message(MessageType.HEARTBEAT));
        return;
      case MessageType.BROADCAST: {
        const body = asRecord(msg.body);
        const packet = asPacket(body.packet);
        const opts = decodeOptions(body.opts);
        if (typeof body.requestId === 'string') this.remoteBroadcastWithAck(msg.uid, body.requestId, packet, opts);
        else this.localBroadcast(packet, opts, offset);
        return;
      }
      case MessageType.BROADCAST_CLIENT_COUNT: {
        const body = asRecord(msg.body);
        const pending = this.broadcastAcks.get(String(body.requestId));
        if (pending && typeof body.count === 'number') pending.clientCount(body.count);
        return;
      }
      case MessageType.BROADCAST_ACK: {
        const body = asRecord(msg.body);
        const pending = this.broadcastAcks.get(String(body.requestId));
        if (pending && Array.isArray(body.args)) pending.ack(...body.args);
        return;
      }
      case MessageType.SOCKETS_JOIN: {
        const body = asRecord(msg.body);
        super.addSockets(decodeOptions(body.opts), stringArray(body.rooms));
        return;
      }
      case MessageType.SOCKETS_LEAVE: {
        const body = asRecord(msg.body);
        super.delSockets(decodeOptions(body.opts), stringArray(body.rooms));
        return;
      }
      case MessageType.DISCONNECT_SOCKETS: {
        const body = asRecord(msg.body);
        super.disconnectSockets(decodeOptions(body.opts), body.close === true);
        return;
      }
      case MessageType.FETCH_SOCKETS: {
        const body = asRecord(msg.body);
        const requestId = String(body.requestId);
        void super.fetchSockets(decodeOptions(body.opts)).then((sockets) => {
          const wire: WireSocket[] = sockets.map((s) => ({ id: s.id, handshake: s.handshake, rooms: [...s.rooms], data: s.data }));
          const response = this.message(MessageType.FETCH_SOCKETS_RESPONSE, { requestId, sockets: wire });
          if (!this.encode(response)) {
            // Some socket.data cannot travel (bigint, cycle): answer without the offending data.
            response.body = { requestId, sockets: wire.map((s) => (this.encodable(s.data) ? s : { ...s, data: null })) };
          }
          this.publishResponse(msg.uid, response);
        });
        return;
      }
      case MessageType.SERVER_SIDE_EMIT: {
        const body = asRecord(msg.body);
        if (!Array.isArray(body.packet) || typeof body.packet[0] !== 'string') throw new CodecError('malformed event');
        const args: unknown[] = body.packet;
        if (typeof body.requestId !== 'string') {
          this.nsp._onServerSideEmit(args);
          return;
        }
        const requestId = body.requestId;
        let answered = false;
        this.nsp._onServerSideEmit([
          ...args,
          (response: unknown) => {
            if (answered) return;
            answered = true;
            this.publishResponse(msg.uid, this.message(MessageType.SERVER_SIDE_EMIT_RESPONSE, { requestId, response }));
          },
        ]);
        return;
      }
      case MessageType.FETCH_SOCKETS_RESPONSE:
      case MessageType.SERVER_SIDE_EMIT_RESPONSE: {
        const body = asRecord(msg.body);
        const request = this.requests.get(String(body.requestId));
        if (!request || request.responseType !== msg.type || !request.waiting.delete(msg.uid)) return;
        request.onResponse(msg.uid, body);
        if (request.waiting.size === 0) request.done(null);
        return;
      }
    }
  }

  private encodable(value: unknown): boolean {
    try {
      encodeMessage(this.message(MessageType.HEARTBEAT, value));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Whether a broadcast is kept for connection state recovery: recovery is on, and it is an event
   * without an ack that is not volatile.
   */
  protected isRecoverable(packet: SocketIOPacket, opts: BroadcastOptions): boolean {
    return !!this.nsp.server._recovery && packet.type === PacketType.EVENT && packet.id === undefined && !opts.flags?.volatile;
  }

  /**
   * Delivers a broadcast to this node's sockets: one from another node, or, for transports that
   * number broadcasts outside this process (a Redis stream, the cluster primary), one of ours once
   * numbered. `offset` is that number, which {@link appendOffset} adds to the packet.
   */
  protected localBroadcast(packet: SocketIOPacket, opts: BroadcastOptions, offset: string | undefined): void {
    this.deliveringOffset = offset;
    try {
      super.broadcast(packet, opts);
    } finally {
      this.deliveringOffset = undefined;
    }
  }

  /**
   * For transports whose packet log lives outside this process (`storeForRecovery` calls it): adds
   * the offset of the broadcast being delivered to the packet, if it is recoverable.
   */
  protected appendOffset(packet: SocketIOPacket, opts: BroadcastOptions): void {
    if (this.deliveringOffset !== undefined && this.isRecoverable(packet, opts)) (packet.data as unknown[]).push(this.deliveringOffset);
  }

  private remoteBroadcastWithAck(from: string, requestId: string, packet: SocketIOPacket, opts: BroadcastOptions): void {
    // Our own ack id: the sender's id could collide with acks this node already waits for.
    delete packet.id;
    const answer = (...args: unknown[]) =>
      this.publishResponse(from, this.message(MessageType.BROADCAST_ACK, { requestId, args }));
    super.broadcastWithAck(
      packet,
      opts,
      (count) => this.publishResponse(from, this.message(MessageType.BROADCAST_CLIENT_COUNT, { requestId, count })),
      answer,
    );
    expireRemoteAcks(this.nsp, packet.id, answer, opts.flags?.timeout ?? this.requestsTimeout);
  }

  /** Forgets a peer and stops waiting for its answers (heartbeat timeout, BYE, or the transport saw it go). */
  protected peerGone(uid: string): void {
    if (!this.peers.delete(uid)) return;
    for (const request of this.requests.values()) {
      if (request.waiting.delete(uid) && request.waiting.size === 0) request.done(null);
    }
  }
}
