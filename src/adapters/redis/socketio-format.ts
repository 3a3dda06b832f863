/**
 * The pub/sub adapter speaking `@socket.io/redis-adapter`'s wire format (`format: 'socket.io'`),
 * so socket.io nodes and switchboard nodes share one Redis while an application is rolled over
 * from one to the other. What travels, per namespace `nsp` and key `key` (default `'socket.io'`):
 *
 * | channel                               | what                                                   |
 * |---------------------------------------|--------------------------------------------------------|
 * | `key#nsp#` and `key#nsp#room#`        | broadcasts: MessagePack `[uid, packet, {rooms, except, flags}]`; the room channel when exactly one room is targeted; read with PSUBSCRIBE `key#nsp#*` |
 * | `key-request#nsp#`                    | requests `{uid, type, requestId?, ...}` (socket.io writes JSON or MessagePack; we write MessagePack) |
 * | `key-response#nsp#` (and `...uid#`)   | responses `{requestId, ...}`                           |
 *
 * Request types: 0 socket ids, 1 all rooms, 2 join, 3 leave, 4 disconnect, 5 fetch sockets,
 * 6 server-side emit (answered on the response channel when it carries a requestId), 7 broadcast
 * with acks (answered by 8 client count and 9 one client's ack).
 *
 * socket.io's format has no heartbeats: the number of nodes is the number of subscribers of the
 * request channel (PUBSUB NUMSUB), and a request waits for that many answers, less one. A node
 * that dies while a request waits for it makes the request time out (REQUEST_TIMEOUT), as with
 * socket.io. Loss is reported as with the native format (`droppedMessages`, MESSAGES_LOST).
 *
 * @example
 * ```ts
 * const io = new Server(httpServer, { adapter: createAdapter(pub, sub, { format: 'socket.io' }) });
 * ```
 */
import { randomBytes } from 'node:crypto';
import { Adapter, type BroadcastOptions, type Room, type SocketIOPacket, type SocketLike } from '../../server/adapter.js';
import type { Namespace } from '../../server/namespace.js';
import { PacketType, safeJsonParse } from '../../protocol/socketio.js';
import { type Settle, awaitAnswers, expireRemoteAcks, readFlags, reportThrottled, wireFlags } from '../cluster-adapter.js';
import { CodecError } from '../codec.js';
import { RedisAdapterError, toAdapterError } from './errors.js';
import { packValue, unpackValue } from './msgpack.js';
import type { BufferListener, SocketIOFormatClient } from './redis-client.js';
import { ConnectionWatch, droppedError, whenReady } from './pubsub.js';

/** socket.io's request types, by their numbers on the wire. */
const enum RequestType {
  SOCKETS = 0,
  ALL_ROOMS = 1,
  REMOTE_JOIN = 2,
  REMOTE_LEAVE = 3,
  REMOTE_DISCONNECT = 4,
  REMOTE_FETCH = 5,
  SERVER_SIDE_EMIT = 6,
  BROADCAST = 7,
  BROADCAST_CLIENT_COUNT = 8,
  BROADCAST_ACK = 9,
}

/**
 * Options of the pub/sub adapter's `format: 'socket.io'` (the wire format of
 * `@socket.io/redis-adapter`).
 */
export interface SocketIOFormatOptions {
  /** Channel prefix; socket.io's default is `'socket.io'`. */
  key?: string;
  /** How long fetchSockets() and serverSideEmit() acks wait for the other nodes (ms). Default 5000. */
  requestsTimeout?: number;
}

interface PendingRequest extends Settle<RedisAdapterError> {
  /** Answers still expected. */
  missing: number;
  onResponse(response: Record<string, unknown>): void;
}

interface PendingBroadcastAck {
  clientCount(n: number): void;
  ack(arg: unknown): void;
  timer: NodeJS.Timeout;
}

type Message = Record<string, unknown>;

function isRecord(v: unknown): v is Message {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Rooms and except lists as they travel; flags only where socket.io sends them (broadcasts). */
function wireOptions(opts: BroadcastOptions, withFlags: boolean): Message {
  const wire: Message = { rooms: [...opts.rooms], except: opts.except ? [...opts.except] : [] };
  if (withFlags) wire.flags = wireFlags(opts.flags);
  return wire;
}

/** Lenient where decodeOptions is strict: socket.io nodes omit what they do not use. */
function readOptions(v: unknown): BroadcastOptions {
  const wire = isRecord(v) ? v : {};
  return {
    rooms: new Set(stringList(wire.rooms)),
    except: new Set(stringList(wire.except)),
    flags: readFlags(isRecord(wire.flags) ? wire.flags : {}),
  };
}

/** A packet from another node; socket.io omits `nsp` for the main namespace. */
function readPacket(v: unknown): SocketIOPacket | null {
  if (!isRecord(v) || typeof v.type !== 'number' || !Array.isArray(v.data)) return null;
  // Our encoder decides binary framing itself: a BINARY_EVENT is an EVENT with Buffers in it.
  const type = v.type === PacketType.BINARY_EVENT ? PacketType.EVENT : v.type;
  return { type, nsp: typeof v.nsp === 'string' ? v.nsp : '/', data: v.data };
}

/** Escapes Redis glob characters so a namespace or key is matched literally by PSUBSCRIBE. */
function globLiteral(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

export class SocketIOFormatAdapter extends Adapter {
  /** Messages to other nodes that could not be published (Redis unreachable). */
  droppedMessages = 0;
  readonly uid: string;
  private readonly channel: string;
  private readonly requestChannel: string;
  private readonly responseChannel: string;
  private readonly specificResponseChannel: string;
  private readonly requestsTimeout: number;
  private readonly requests = new Map<string, PendingRequest>();
  private readonly broadcastAcks = new Map<string, PendingBroadcastAck>();
  private requestCounter = 0;
  private closed = false;
  private readonly lastReported = new Map<string, number>();
  private readonly watch: ConnectionWatch;
  private readonly onBroadcastMessage: BufferListener = (message, channel) => this.onBroadcast(message, channel);
  private readonly onRequestOrResponse: BufferListener = (message, channel) => {
    if (String(channel).startsWith(this.responseChannel)) this.onResponse(message);
    else this.onRequest(message);
  };

  constructor(
    nsp: Namespace<any, any, any, any>,
    private readonly pubClient: SocketIOFormatClient,
    private readonly subClient: SocketIOFormatClient,
    options: SocketIOFormatOptions = {},
    uid?: string,
  ) {
    super(nsp);
    this.uid = uid ?? randomBytes(6).toString('base64url');
    this.requestsTimeout = options.requestsTimeout ?? 5000;
    const key = options.key ?? 'socket.io';
    this.channel = `${key}#${nsp.name}#`;
    this.requestChannel = `${key}-request#${nsp.name}#`;
    this.responseChannel = `${key}-response#${nsp.name}#`;
    this.specificResponseChannel = `${this.responseChannel}${this.uid}#`;
    this.watch = new ConnectionWatch([pubClient, subClient], `Redis adapter, socket.io format (namespace "${nsp.name}")`, (err) =>
      this.reportError(err),
    );
  }

  /** Subscribes to socket.io's channels. Never rejects: failures go to the `error` event. */
  override async init(): Promise<void> {
    try {
      await Promise.all([whenReady(this.pubClient), whenReady(this.subClient)]);
      await Promise.all([
        this.subClient.pSubscribe(globLiteral(this.channel) + '*', this.onBroadcastMessage, true),
        this.subClient.subscribe([this.requestChannel, this.responseChannel, this.specificResponseChannel], this.onRequestOrResponse, true),
      ]);
    } catch (err) {
      this.reportError(toAdapterError(err, `subscribing to ${this.channel}`));
    }
  }

  override close(): Promise<void> | void {
    if (this.closed) return;
    this.closed = true;
    const closing = new RedisAdapterError('ADAPTER_CLOSED', 'the adapter was closed');
    for (const request of this.requests.values()) request.done(closing);
    for (const pending of this.broadcastAcks.values()) clearTimeout(pending.timer);
    this.broadcastAcks.clear();
    super.close();
    return Promise.all([
      this.subClient.pUnsubscribe(globLiteral(this.channel) + '*', this.onBroadcastMessage, true),
      this.subClient.unsubscribe([this.requestChannel, this.responseChannel, this.specificResponseChannel], this.onRequestOrResponse, true),
    ])
      .catch(() => {})
      .then(() => this.watch.close());
  }

  /** Every subscriber of the request channel is a node (socket.io counts nodes the same way). */
  override async serverCount(): Promise<number> {
    try {
      const reply = await this.pubClient.sendCommand(['PUBSUB', 'NUMSUB', this.requestChannel]);
      const count = Array.isArray(reply) ? Number(reply[1]) : NaN;
      return Number.isFinite(count) && count > 0 ? count : 1;
    } catch (err) {
      this.reportError(toAdapterError(err, 'counting the nodes (PUBSUB NUMSUB)'));
      return 1;
    }
  }

  /**
   * Reports a failure: to `error` listeners when there are some, else as a process warning; the
   * same code at most once per second.
   */
  reportError(err: RedisAdapterError): void {
    reportThrottled(this, this.lastReported, err);
  }

  // --- sending ------------------------------------------------------------------------------------

  private pack(value: unknown): Buffer | undefined {
    try {
      return packValue(value);
    } catch (err) {
      this.reportError(new RedisAdapterError('UNENCODABLE', `cannot send to other nodes: ${(err as Error).message}`, { cause: err }));
      return undefined;
    }
  }

  private publish(channel: string, value: unknown): void {
    const payload = this.pack(value);
    if (!payload) return;
    if (this.pubClient.isReady === false) return this.dropped(undefined);
    this.pubClient.publish(channel, payload).catch((err: unknown) => this.dropped(err));
  }

  private dropped(cause: unknown): void {
    this.reportError(droppedError(++this.droppedMessages, this.nsp.name, cause));
  }

  private request(type: RequestType, body: Message): void {
    this.publish(this.requestChannel, { uid: this.uid, type, ...body });
  }

  private respond(body: Message): void {
    // The shared response channel: every socket.io adapter version listens to it.
    this.publish(this.responseChannel, body);
  }

  private nextRequestId(): string {
    // ':' never appears in socket.io's request ids, so ours cannot collide with theirs.
    return `${this.uid}:${(this.requestCounter++).toString(36)}`;
  }

  private wirePacket(packet: SocketIOPacket): Message {
    return { type: packet.type === PacketType.BINARY_EVENT ? PacketType.EVENT : packet.type, data: packet.data, nsp: this.nsp.name };
  }

  override broadcast(packet: SocketIOPacket, opts: BroadcastOptions): void {
    if (!opts.flags?.local) {
      const channel = opts.rooms.size === 1 ? `${this.channel}${opts.rooms.values().next().value}#` : this.channel;
      this.publish(channel, [this.uid, this.wirePacket(packet), wireOptions(opts, true)]);
    }
    super.broadcast(packet, opts);
  }

  override broadcastWithAck(
    packet: SocketIOPacket,
    opts: BroadcastOptions,
    clientCountCallback: (clientCount: number) => void,
    ack: (...args: unknown[]) => void,
  ): void {
    if (!opts.flags?.local) {
      const requestId = this.nextRequestId();
      // Late answers are routed until the operator's own timeout has certainly fired.
      const timer = setTimeout(() => this.broadcastAcks.delete(requestId), (opts.flags?.timeout ?? this.requestsTimeout) + 1000);
      timer.unref();
      this.broadcastAcks.set(requestId, { clientCount: clientCountCallback, ack, timer });
      this.request(RequestType.BROADCAST, { requestId, packet: this.wirePacket(packet), opts: wireOptions(opts, true) });
    }
    super.broadcastWithAck(packet, opts, clientCountCallback, ack);
  }

  override addSockets(opts: BroadcastOptions, rooms: Room[]): void {
    if (!opts.flags?.local) this.request(RequestType.REMOTE_JOIN, { opts: wireOptions(opts, false), rooms });
    super.addSockets(opts, rooms);
  }

  override delSockets(opts: BroadcastOptions, rooms: Room[]): void {
    if (!opts.flags?.local) this.request(RequestType.REMOTE_LEAVE, { opts: wireOptions(opts, false), rooms });
    super.delSockets(opts, rooms);
  }

  override disconnectSockets(opts: BroadcastOptions, close: boolean): void {
    if (!opts.flags?.local) this.request(RequestType.REMOTE_DISCONNECT, { opts: wireOptions(opts, false), close });
    super.disconnectSockets(opts, close);
  }

  override async fetchSockets(opts: BroadcastOptions): Promise<SocketLike[]> {
    const local = await super.fetchSockets(opts);
    if (opts.flags?.local) return local;
    const remote: SocketLike[] = [];
    await this.ask(RequestType.REMOTE_FETCH, { opts: wireOptions(opts, false) }, (response) => {
      if (!Array.isArray(response.sockets)) return;
      for (const s of response.sockets) {
        if (isRecord(s) && typeof s.id === 'string') {
          remote.push({ id: s.id, handshake: s.handshake as SocketLike['handshake'], rooms: new Set(stringList(s.rooms)), data: s.data });
        }
      }
    });
    return local.concat(remote);
  }

  override serverSideEmit(packet: unknown[]): void {
    const last = packet[packet.length - 1];
    if (typeof last !== 'function') {
      this.request(RequestType.SERVER_SIDE_EMIT, { data: packet });
      return;
    }
    const ack = last as (err: Error | null, responses: unknown[]) => void;
    const responses: unknown[] = [];
    this.ask(RequestType.SERVER_SIDE_EMIT, { data: packet.slice(0, -1) }, (response) => responses.push(response.data)).then(
      () => ack(null, responses),
      (err: Error) => ack(err, responses),
    );
  }

  /** Sends a request and resolves once every other node (PUBSUB NUMSUB - 1) answered. */
  private async ask(type: RequestType, body: Message, onResponse: (response: Message) => void): Promise<void> {
    if (this.closed) throw new RedisAdapterError('ADAPTER_CLOSED', 'the adapter was closed');
    const others = (await this.serverCount()) - 1;
    if (others <= 0) return;
    const requestId = this.nextRequestId();
    const answered = awaitAnswers(
      this.requests,
      requestId,
      { missing: others, onResponse },
      this.requestsTimeout,
      ({ missing }) =>
        new RedisAdapterError(
          'REQUEST_TIMEOUT',
          `request type ${type} timed out after ${this.requestsTimeout} ms: ${missing} of ${others} other nodes did not answer`,
        ),
    );
    this.request(type, { requestId, ...body });
    await answered;
  }

  // --- receiving ----------------------------------------------------------------------------------

  private decode(message: Buffer, where: string): unknown {
    try {
      // socket.io writes some requests and responses as JSON text, the others as MessagePack
      // (whose maps and arrays never start with "{").
      return message[0] === 0x7b ? safeJsonParse(message.toString('utf8')) : unpackValue(message);
    } catch (err) {
      const cause = err instanceof CodecError || err instanceof SyntaxError ? err : new CodecError(String(err));
      this.badMessage(`undecodable message on ${where}: ${cause.message}`, cause);
      return undefined;
    }
  }

  private badMessage(message: string, cause?: unknown): void {
    this.reportError(new RedisAdapterError('BAD_MESSAGE', message, { cause }));
  }

  private onBroadcast(message: Buffer, rawChannel: Buffer | string): void {
    if (this.closed) return;
    const channel = String(rawChannel);
    if (!channel.startsWith(this.channel)) return;
    const room = channel.slice(this.channel.length, -1);
    // A broadcast to one room no socket of ours is in: nothing to do, skip the decoding.
    if (room !== '' && !this.rooms.has(room)) return;
    const decoded = this.decode(message, channel);
    if (decoded === undefined) return;
    if (!Array.isArray(decoded) || decoded.length < 3) return this.badMessage(`malformed broadcast on ${channel}`);
    const [uid, rawPacket, rawOpts] = decoded;
    if (uid === this.uid) return;
    const packet = readPacket(rawPacket);
    if (!packet) return this.badMessage(`malformed broadcast packet on ${channel}`);
    if (packet.nsp !== this.nsp.name) return;
    super.broadcast(packet, readOptions(rawOpts));
  }

  private onRequest(message: Buffer): void {
    if (this.closed) return;
    const request = this.decode(message, this.requestChannel);
    if (!isRecord(request) || request.uid === this.uid) return;
    try {
      this.handleRequest(request);
    } catch (err) {
      this.badMessage(`malformed request of type ${String(request.type)}: ${(err as Error).message}`, err);
    }
  }

  private handleRequest(request: Message): void {
    const requestId = request.requestId;
    switch (request.type) {
      case RequestType.SOCKETS:
        void super.sockets(new Set(stringList(request.rooms))).then((ids) => this.respond({ requestId, sockets: [...ids] }));
        return;
      case RequestType.ALL_ROOMS:
        this.respond({ requestId, rooms: [...this.rooms.keys()] });
        return;
      case RequestType.REMOTE_JOIN:
      case RequestType.REMOTE_LEAVE:
      case RequestType.REMOTE_DISCONNECT:
        this.remoteSocketsOperation(request);
        return;
      case RequestType.REMOTE_FETCH:
        void super.fetchSockets(readOptions(request.opts)).then((sockets) => {
          const wire = sockets.map((s) => ({ id: s.id, handshake: s.handshake, rooms: [...s.rooms], data: s.data }));
          // Some socket.data cannot travel (bigint, cycle): answer without the offending data.
          const packable = (v: unknown) => this.pack([v]) !== undefined;
          this.respond({ requestId, sockets: wire.map((s) => (packable(s.data) ? s : { ...s, data: null })) });
        });
        return;
      case RequestType.SERVER_SIDE_EMIT: {
        if (!Array.isArray(request.data) || typeof request.data[0] !== 'string') throw new CodecError('malformed event');
        if (requestId === undefined) {
          this.nsp._onServerSideEmit(request.data);
          return;
        }
        let answered = false;
        this.nsp._onServerSideEmit([
          ...request.data,
          (data: unknown) => {
            if (answered) return;
            answered = true;
            this.respond({ type: RequestType.SERVER_SIDE_EMIT, requestId, data });
          },
        ]);
        return;
      }
      case RequestType.BROADCAST: {
        const packet = readPacket(request.packet);
        if (!packet || typeof requestId !== 'string') throw new CodecError('malformed broadcast');
        this.remoteBroadcastWithAck(requestId, packet, readOptions(request.opts));
        return;
      }
    }
  }

  /** Join, leave and disconnect: by selection (socket.io 4), or one socket by id (older senders, who want an answer). */
  private remoteSocketsOperation(request: Message): void {
    const type = request.type as RequestType;
    if (isRecord(request.opts)) {
      const opts = readOptions(request.opts);
      if (type === RequestType.REMOTE_JOIN) super.addSockets(opts, stringList(request.rooms));
      else if (type === RequestType.REMOTE_LEAVE) super.delSockets(opts, stringList(request.rooms));
      else super.disconnectSockets(opts, request.close === true);
      return;
    }
    const socket = typeof request.sid === 'string' ? this.nsp.sockets.get(request.sid) : undefined;
    if (!socket) return;
    if (type === RequestType.REMOTE_DISCONNECT) socket.disconnect(request.close === true);
    else if (typeof request.room === 'string') void (type === RequestType.REMOTE_JOIN ? socket.join(request.room) : socket.leave(request.room));
    this.respond({ requestId: request.requestId });
  }

  private remoteBroadcastWithAck(requestId: string, packet: SocketIOPacket, opts: BroadcastOptions): void {
    // Our own ack id: the sender's could collide with acks this node already waits for.
    delete packet.id;
    const answer = (...args: unknown[]) => this.respond({ type: RequestType.BROADCAST_ACK, requestId, packet: args[0] });
    super.broadcastWithAck(
      packet,
      opts,
      (clientCount) => this.respond({ type: RequestType.BROADCAST_CLIENT_COUNT, requestId, clientCount }),
      answer,
    );
    expireRemoteAcks(this.nsp, packet.id, answer, opts.flags?.timeout ?? this.requestsTimeout);
  }

  private onResponse(message: Buffer): void {
    if (this.closed) return;
    const response = this.decode(message, this.responseChannel);
    if (!isRecord(response) || typeof response.requestId !== 'string') return;
    const pendingAck = this.broadcastAcks.get(response.requestId);
    if (pendingAck) {
      if (response.type === RequestType.BROADCAST_CLIENT_COUNT && typeof response.clientCount === 'number') {
        pendingAck.clientCount(response.clientCount);
      } else if (response.type === RequestType.BROADCAST_ACK) {
        pendingAck.ack(response.packet);
      }
      return;
    }
    const request = this.requests.get(response.requestId);
    if (!request) return;
    request.onResponse(response);
    if (--request.missing === 0) request.done(null);
  }
}
