/**
 * Redis streams adapter: every message between nodes is appended to one Redis stream (XADD,
 * bounded by MAXLEN) and every node reads the stream (XREAD BLOCK) from where it left off. Unlike
 * pub/sub nothing is lost while a node or Redis is briefly away:
 *
 * - a node whose reader lost Redis resumes after the last entry it read (see StreamReader);
 * - a node that cannot write holds its messages and retries them in order once Redis is back
 *   (up to `maxPendingMessages`); entries carry a per-node sequence number so a write retried after
 *   an ambiguous failure (sent, but the reply was lost) is delivered once;
 * - the stream entry id is the connection-state-recovery offset, the same on every node, and
 *   sessions are stored in Redis, so a client that reconnects to another node gets its session
 *   and every broadcast it missed.
 *
 * Durability across a Redis *restart* needs Redis persistence (AOF) for entries written but not
 * yet read at the instant of the crash; recovery sessions live in Redis and need it too.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { Server } from 'switchboard';
 * import { createStreamsAdapter } from 'switchboard/adapters/redis';
 *
 * const client = createClient({ url: 'redis://127.0.0.1:6379' });
 * await client.connect();
 * const io = new Server(httpServer, {
 *   adapter: createStreamsAdapter(client, { streamName: 'chat-stream', maxLen: 50_000 }),
 *   connectionStateRecovery: { maxDisconnectionDuration: 120_000 },
 * });
 * ```
 */
import { randomBytes } from 'node:crypto';
import type { BroadcastOptions, Room, Session, SessionToPersist, SocketIOPacket } from '../../server/adapter.js';
import type { Namespace } from '../../server/namespace.js';
import { PacketType } from '../../protocol/socketio.js';
import { ClusterAdapter, type ClusterAdapterOptions } from '../cluster-adapter.js';
import { CodecError, decodeValue, encodeValue } from '../codec.js';
import { type ClusterMessage, MessageType, decodeMessage } from '../envelope.js';
import { RedisAdapterError, toAdapterError } from './errors.js';
import { ConnectionWatch, whenReady, type AdapterConstructor } from './pubsub.js';
import {
  BUFFER_REPLIES,
  type RedisClusterCommandClient,
  type RedisCommandClient,
  STREAM_ID,
  type StreamEntry,
  clusterCommandClient,
  hashTag,
  isClusterClient,
  optionalNumber,
  parseEntries,
  streamInfo,
} from './redis-client.js';
import { StreamReader } from './stream-reader.js';

export interface StreamsAdapterOptions extends ClusterAdapterOptions {
  /** Name of the stream (share it between the nodes of one application). Default `'switchboard-stream'`. */
  streamName?: string;
  /** Approximate upper bound of the stream length (XADD MAXLEN ~). Default 10000. */
  maxLen?: number;
  /** Entries read per XREAD. Default 100. */
  readCount?: number;
  /** How long one XREAD blocks (ms); also bounds how fast close() returns. Default 1000. */
  blockTime?: number;
  /** Prefix of the keys holding recovery sessions. Default `'switchboard-session:'`. */
  sessionKeyPrefix?: string;
  /** Messages held while Redis is unreachable; beyond this they are dropped and reported. Default 10000. */
  maxPendingMessages?: number;
  /** Most stream entries scanned when restoring one session. Default 100000. */
  maxRestoreScan?: number;
  /**
   * Replicas that must have each write before it counts as done (WAIT after every batch), so a
   * failover to a replica keeps every acknowledged broadcast. Default 0 (no WAIT).
   */
  waitForReplicas?: number;
  /** How long WAIT waits for those replicas (ms); after it, the write counts as done anyway. Default 1000. */
  waitTimeout?: number;
}

const FIELD = 'm';

/** Suppresses duplicates per sender: everything up to `contiguous` was seen, plus the ids in `ahead`. */
interface SenderWindow {
  contiguous: number;
  ahead: Set<number>;
}

const MAX_AHEAD = 10_000;

/** Most envelopes written in one pipelined batch. */
const WRITE_BATCH = 256;

/** What the nodes of one `createStreamsAdapter()` call share: one writer, one reader, one sequence. */
class StreamHub {
  readonly uid = randomBytes(8).toString('base64url');
  readonly adapters = new Map<string, RedisStreamsAdapter>();
  private seq = 0;
  private readonly queue: { payload: Buffer; done(id: string | undefined): void }[] = [];
  private pumping = false;
  private reader: StreamReader | null = null;
  private readerStart: Promise<void> | null = null;
  private readonly senders = new Map<string, SenderWindow>();
  private closed = false;

  /** The last stream entry this node has read (and so delivered): where a socket connecting now starts. */
  get position(): string | undefined {
    return this.reader?.lastId;
  }

  constructor(
    readonly client: RedisCommandClient,
    readonly options: Required<Omit<StreamsAdapterOptions, keyof ClusterAdapterOptions>>,
  ) {}

  report(err: RedisAdapterError): void {
    const first = this.adapters.values().next().value;
    first?.reportError(err);
  }

  nextSeq(): number {
    return ++this.seq;
  }

  /**
   * Appends an envelope to the stream, retrying in the background until Redis takes it. Writes
   * leave in order: queued envelopes go out in pipelined batches, and a batch that failed is sent
   * again whole before anything after it (copies of entries that did get in are dropped by the
   * readers, by sender sequence number). With `waitForReplicas`, a batch counts as written once
   * that many replicas have it (WAIT), so a failover does not lose what was acknowledged.
   */
  append(payload: Buffer): Promise<string | undefined> {
    if (this.queue.length >= this.options.maxPendingMessages) {
      this.report(
        new RedisAdapterError('MESSAGES_LOST', `${this.queue.length} messages are already waiting for Redis; dropping more (maxPendingMessages)`),
      );
      return Promise.resolve(undefined);
    }
    return new Promise((done) => {
      this.queue.push({ payload, done });
      if (!this.pumping) void this.pump();
    });
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (let failures = 0; this.queue.length > 0; ) {
        const batch = this.queue.slice(0, WRITE_BATCH);
        try {
          if (!this.client.isOpen) await this.client.connect();
          const { streamName, maxLen, waitForReplicas, waitTimeout } = this.options;
          const written = await Promise.allSettled(
            batch.map((entry) => this.client.sendCommand(['XADD', streamName, 'MAXLEN', '~', String(maxLen), '*', FIELD, entry.payload])),
          );
          const failed = written.find((r): r is PromiseRejectedResult => r.status === 'rejected');
          if (failed) throw failed.reason;
          if (waitForReplicas > 0) await this.client.sendCommand(['WAIT', String(waitForReplicas), String(waitTimeout)]);
          this.queue.splice(0, batch.length);
          batch.forEach((entry, i) => entry.done(String((written[i] as PromiseFulfilledResult<unknown>).value)));
          failures = 0;
        } catch (err) {
          if (this.closed) break;
          this.report(toAdapterError(err, `writing to stream "${this.options.streamName}"`));
          await delay(Math.min(2000, 50 * 2 ** Math.min(failures++, 10)));
        }
      }
    } finally {
      this.pumping = false;
      if (this.closed) for (const entry of this.queue.splice(0)) entry.done(undefined);
    }
  }

  async startReader(): Promise<void> {
    if (!this.readerStart) {
      this.closed = false;
      this.reader = new StreamReader(this.client.duplicate(), {
        key: this.options.streamName,
        field: FIELD,
        readCount: this.options.readCount,
        blockMs: this.options.blockTime,
        onEntries: (entries) => this.dispatch(entries),
        onError: (err) => this.report(err),
        onHealthy: () => {},
      });
      this.readerStart = this.reader.start();
    }
    await this.readerStart;
  }

  /** Returns true the first time (sender, seq) is seen. */
  private firstTime(uid: string, seq: number): boolean {
    if (seq === 0) return true;
    let w = this.senders.get(uid);
    if (!w) {
      this.senders.set(uid, { contiguous: seq, ahead: new Set() });
      return true;
    }
    if (seq <= w.contiguous || w.ahead.has(seq)) return false;
    w.ahead.add(seq);
    while (w.ahead.delete(w.contiguous + 1)) w.contiguous++;
    if (w.ahead.size > MAX_AHEAD) {
      // A gap that never fills (a write abandoned by its sender): stop waiting for it.
      w.contiguous = Math.min(...w.ahead) - 1;
      while (w.ahead.delete(w.contiguous + 1)) w.contiguous++;
    }
    return true;
  }

  private dispatch(entries: StreamEntry[]): void {
    for (const entry of entries) {
      let msg: ClusterMessage;
      try {
        msg = decodeMessage(entry.payload);
      } catch (err) {
        if (!(err instanceof CodecError)) throw err;
        this.report(new RedisAdapterError('BAD_MESSAGE', `undecodable stream entry ${entry.id}: ${err.message}`, { cause: err }));
        continue;
      }
      if (msg.uid === this.uid) continue;
      if (!this.firstTime(msg.uid, msg.seq ?? 0)) continue;
      this.adapters.get(msg.nsp)?.receive(msg, entry.id);
    }
  }

  async release(nsp: string): Promise<void> {
    this.adapters.delete(nsp);
    if (this.adapters.size > 0) return;
    this.closed = true;
    const reader = this.reader;
    this.reader = null;
    this.readerStart = null;
    await reader?.stop();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function shouldInclude(sessionRooms: Room[], opts: BroadcastOptions): boolean {
  const included = opts.rooms.size === 0 || sessionRooms.some((room) => opts.rooms.has(room));
  const excluded = opts.except !== undefined && sessionRooms.some((room) => opts.except!.has(room));
  return included && !excluded;
}

export class RedisStreamsAdapter extends ClusterAdapter {
  private readonly watch: ConnectionWatch;

  /** @internal use {@link createStreamsAdapter} */
  constructor(
    nsp: Namespace<any, any, any, any>,
    private readonly hub: StreamHub,
    options: StreamsAdapterOptions,
  ) {
    super(nsp, hub.uid, options, RedisAdapterError);
    this.watch = new ConnectionWatch([hub.client], `Redis streams adapter (namespace "${nsp.name}")`, (err) => this.reportError(err));
  }

  private get client(): RedisCommandClient {
    return this.hub.client;
  }

  /** Starts reading the stream, then announces this node. Never rejects. */
  override async init(): Promise<void> {
    this.hub.adapters.set(this.nsp.name, this);
    try {
      await whenReady(this.client);
      await this.hub.startReader();
      this.startHeartbeat();
    } catch (err) {
      this.reportError(toAdapterError(err, 'starting the streams adapter'));
    }
  }

  override close(): Promise<void> | void {
    const bye = super.close();
    return Promise.resolve(bye)
      .catch(() => {})
      .then(() => this.hub.release(this.nsp.name))
      .then(() => this.watch.close());
  }

  /** @internal called by the hub for each entry of this namespace. */
  receive(msg: ClusterMessage, entryId: string): void {
    this.onMessage(msg, entryId);
  }

  protected publish(msg: ClusterMessage): Promise<string | undefined> {
    msg.seq = this.hub.nextSeq();
    const payload = this.encode(msg);
    return payload ? this.hub.append(payload) : Promise.resolve(undefined);
  }

  protected publishResponse(_uid: string, msg: ClusterMessage): void {
    void this.publish(msg);
  }

  private get recoveryOptions(): { maxDisconnectionDuration: number } | undefined {
    return this.nsp.server._recovery;
  }

  /**
   * With connection state recovery, a broadcast is delivered locally once Redis gave it its entry
   * id (the offset clients report when they reconnect); otherwise at once.
   */
  override broadcast(packet: SocketIOPacket, opts: BroadcastOptions): void {
    if (opts.flags?.local || !this.isRecoverable(packet, opts)) {
      super.broadcast(packet, opts);
      return;
    }
    void this.publish(this.broadcastMessage(packet, opts)).then((offset) => this.localBroadcast(packet, opts, offset));
  }

  /** Packets are kept in the stream, not in memory: only the offset is added here. */
  protected override storeForRecovery(packet: SocketIOPacket, opts: BroadcastOptions): void {
    this.appendOffset(packet, opts);
  }

  override async persistSession(session: SessionToPersist): Promise<void> {
    const recovery = this.recoveryOptions;
    if (!recovery) return;
    let value: Buffer;
    try {
      value = encodeValue({ sid: session.sid, pid: session.pid, rooms: session.rooms, data: session.data, connectedAt: session.connectedAt });
    } catch (err) {
      this.reportError(new RedisAdapterError('UNENCODABLE', `session ${session.sid} cannot be stored: ${(err as Error).message}`));
      return;
    }
    try {
      await this.client.sendCommand([
        'SET', this.hub.options.sessionKeyPrefix + session.pid, value, 'PX', String(recovery.maxDisconnectionDuration),
      ]);
    } catch (err) {
      this.reportError(toAdapterError(err, `storing session ${session.sid}`));
    }
  }

  override recoveryPosition(): string | undefined {
    return this.hub.position;
  }

  /**
   * Takes the session of `pid` out of Redis and collects, from the stream, every broadcast after
   * `offset` (or, for a client that received no event, after where the stream stood when it
   * connected) that the session should have received. `null` when the session expired or that
   * entry is no longer in the stream (then the client starts a fresh session).
   */
  override async restoreSession(pid: string, offset: string | undefined): Promise<Session | null> {
    if (!this.recoveryOptions || typeof pid !== 'string') return null;
    if (offset !== undefined && (typeof offset !== 'string' || !STREAM_ID.test(offset))) return null;
    const stream = this.hub.options.streamName;
    try {
      const raw = await this.client.sendCommand(['GETDEL', this.hub.options.sessionKeyPrefix + pid], BUFFER_REPLIES);
      if (!Buffer.isBuffer(raw)) return null;
      const stored = decodeValue(raw) as SessionToPersist;
      if (!stored || typeof stored.sid !== 'string' || !Array.isArray(stored.rooms)) return null;
      const start = offset ?? stored.connectedAt;
      if (typeof start !== 'string' || !STREAM_ID.test(start) || !(await this.stillInStream(start))) return null;
      const missedPackets: unknown[][] = [];
      const pageSize = 1000;
      let from = start;
      for (let scanned = 0; scanned < this.hub.options.maxRestoreScan; scanned += pageSize) {
        const page = parseEntries(
          await this.client.sendCommand(['XRANGE', stream, `(${from}`, '+', 'COUNT', String(pageSize)], BUFFER_REPLIES),
          FIELD,
        );
        for (const entry of page) {
          from = entry.id;
          const packet = this.missedPacket(entry, stored.rooms);
          if (packet) missedPackets.push(packet);
        }
        if (page.length < pageSize) break;
      }
      return { sid: stored.sid, pid: stored.pid, rooms: stored.rooms, data: stored.data, missedPackets };
    } catch (err) {
      this.reportError(
        err instanceof CodecError
          ? new RedisAdapterError('BAD_MESSAGE', `stored session ${pid} is corrupt: ${err.message}`)
          : toAdapterError(err, `restoring session ${pid}`),
      );
      return null;
    }
  }

  /**
   * Whether every entry after `id` is still in the stream: `id` itself is (trimming removes the
   * oldest first), or `id` is `0-0` (the stream was empty) and nothing was ever trimmed.
   */
  private async stillInStream(id: string): Promise<boolean> {
    const stream = this.hub.options.streamName;
    if (id !== '0-0') {
      const head = await this.client.sendCommand(['XRANGE', stream, id, id]);
      return Array.isArray(head) && head.length > 0;
    }
    const field = await streamInfo(this.client, stream);
    if (field === null) return true; // nothing was ever written
    const added = optionalNumber(field('entries-added')); // Redis >= 7; without it, assume trimmed
    return added !== undefined && added === optionalNumber(field('length'));
  }

  private missedPacket(entry: StreamEntry, rooms: Room[]): unknown[] | undefined {
    let msg: ClusterMessage;
    try {
      msg = decodeMessage(entry.payload);
    } catch {
      return undefined;
    }
    if (msg.type !== MessageType.BROADCAST || msg.nsp !== this.nsp.name) return undefined;
    const body = msg.body as { packet?: { type?: unknown; id?: unknown; data?: unknown }; opts?: { rooms?: unknown; except?: unknown; flags?: { volatile?: unknown } }; requestId?: unknown };
    const packet = body?.packet;
    if (!packet || packet.type !== PacketType.EVENT || packet.id !== undefined || body.requestId !== undefined) return undefined;
    if (!Array.isArray(packet.data) || body.opts?.flags?.volatile) return undefined;
    const opts: BroadcastOptions = {
      rooms: new Set(Array.isArray(body.opts?.rooms) ? (body.opts.rooms as Room[]) : []),
      except: new Set(Array.isArray(body.opts?.except) ? (body.opts.except as Room[]) : []),
    };
    if (!shouldInclude(rooms, opts)) return undefined;
    packet.data.push(entry.id);
    return packet.data;
  }
}

/**
 * The streams adapter for `new Server({ adapter })`. `client` is a connected (or connecting)
 * node-redis client; the adapter duplicates it once for its blocking reader.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { Server } from 'switchboard';
 * import { createStreamsAdapter } from 'switchboard/adapters/redis';
 *
 * const redis = createClient({ url: 'redis://127.0.0.1:6379' });
 * await redis.connect();
 * const io = new Server(3000, {
 *   adapter: createStreamsAdapter(redis, { maxLen: 10_000 }),
 *   connectionStateRecovery: { maxDisconnectionDuration: 120_000 }, // works across nodes
 * });
 * ```
 */
export function createStreamsAdapter(
  client: RedisCommandClient | RedisClusterCommandClient,
  options: StreamsAdapterOptions = {},
): AdapterConstructor {
  const cluster = isClusterClient(client);
  // In a Redis Cluster, the stream and the sessions share a hash tag, so they live in one slot.
  const streamName = options.streamName ?? (cluster ? '{switchboard}-stream' : 'switchboard-stream');
  const tag = hashTag(streamName);
  const sessionKeyPrefix = options.sessionKeyPrefix ?? (cluster && tag !== undefined ? `{${tag}}-session:` : 'switchboard-session:');
  if (cluster && (tag === undefined || hashTag(sessionKeyPrefix) !== tag)) {
    throw new TypeError(
      `createStreamsAdapter: with a Redis Cluster, streamName and sessionKeyPrefix need the same hash tag, like "{myapp}-stream" and "{myapp}-session:" (got "${streamName}" and "${sessionKeyPrefix}")`,
    );
  }
  const hub = new StreamHub(cluster ? clusterCommandClient(client, streamName) : client, {
    streamName,
    maxLen: options.maxLen ?? 10_000,
    readCount: options.readCount ?? 100,
    blockTime: options.blockTime ?? 1000,
    sessionKeyPrefix,
    maxPendingMessages: options.maxPendingMessages ?? 10_000,
    maxRestoreScan: options.maxRestoreScan ?? 100_000,
    waitForReplicas: options.waitForReplicas ?? 0,
    waitTimeout: options.waitTimeout ?? 1000,
  });
  return class extends RedisStreamsAdapter {
    constructor(nsp: Namespace<any, any, any, any>) {
      super(nsp, hub, options);
    }
  };
}
