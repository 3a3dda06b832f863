/**
 * The node:cluster IPC transport of the cluster adapter: every core of one machine, no Redis.
 * Workers cannot talk to each other directly, only to the primary, so the primary relays: a
 * message a worker sends goes to every other worker, a response goes to the one worker it is for.
 *
 * - Node ids are `w<cluster worker id>.<random>`, so the relay routes a response by reading the
 *   worker id in front of the dot: no table in the primary.
 * - The primary sees a worker exit at once and tells the others, who stop counting and waiting
 *   for it without waiting for its heartbeat to time out.
 * - Messages use the same versioned binary envelope as the Redis adapters (Buffers and Dates
 *   survive), carried base64 in the IPC message, which Node serializes as JSON by default.
 * - Envelopes sent in the same tick travel in one IPC message per destination: a burst of
 *   broadcasts reaches another worker at once, so its writes to clients are batched per tick as
 *   they are in the sending worker (one IPC message per broadcast would cost one write per client
 *   per broadcast there).
 * - Outside a cluster worker (or once the worker is disconnected) there is nobody to tell: the
 *   adapter behaves as the in-memory one, and messages it could not send are counted
 *   (`droppedMessages`) and reported as MESSAGES_LOST.
 * - With connection state recovery, the sessions and the packet log live in the primary, which
 *   outlives its workers (see cluster-recovery.ts): recoverable broadcasts go to the primary,
 *   which numbers them and relays them to every worker, the sender included, and each worker
 *   delivers them when they come back, in the primary's order.
 *
 * @example
 * ```ts
 * import cluster from 'node:cluster';
 * import { Server } from 'switchboard';
 * import { createAdapter, setupPrimary } from 'switchboard/cluster';
 *
 * if (cluster.isPrimary) {
 *   setupPrimary();                        // the relay between workers
 *   for (let i = 0; i < 2; i++) cluster.fork();
 * } else {
 *   const io = new Server({ adapter: createAdapter() });
 *   io.to('lobby').emit('news', 'reaches the lobby in every worker');
 * }
 * ```
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import type { Namespace } from '../server/namespace.js';
import { ClusterAdapter, type ClusterAdapterOptions } from './cluster-adapter.js';
import type { BroadcastOptions, Room, Session, SessionToPersist, SocketIOPacket, SocketId } from '../server/adapter.js';
import { CodecError, decodeValue, encodeValue } from './codec.js';
import { RecoveryStore, type RecordEntry, type RestoredSession, type SessionUpdate } from './cluster-recovery.js';
import { type ClusterMessage, decodeMessage } from './envelope.js';
import { ClusterAdapterError } from './errors.js';

/** Options of the node:cluster adapter. */
export interface NodeClusterAdapterOptions extends ClusterAdapterOptions {
  /**
   * With connection state recovery: most broadcasts of a namespace the primary keeps for clients
   * that come back (older ones are dropped first, and sessions that needed them are not
   * recovered). Default 10000.
   */
  maxRecoveryPackets?: number;
}

/**
 * A worker's envelopes for the other workers (`to` unset) or for one of them. From the primary,
 * recoverable broadcasts carry their `offsets` (one per envelope); the sender gets its own back
 * as empty strings, in the order it sent them.
 */
interface AdapterMessage {
  switchboard: 'cluster:adapter';
  /** Worker id of the recipient; unset: every other worker. */
  to?: number;
  /** The encoded envelopes, base64, in the order they were sent. */
  data: string[];
  offsets?: string[];
}

/** From a worker: recoverable broadcasts for the primary to number, keep and relay. */
interface RecordMessage {
  switchboard: 'cluster:record';
  entries: RecordEntry[];
}

/** From a worker: what changed in its sessions. */
interface SessionsMessage {
  switchboard: 'cluster:sessions';
  updates: SessionUpdate[];
}

/** From a worker: a client came back with a session id; the primary answers `cluster:restored`. */
interface RestoreMessage {
  switchboard: 'cluster:restore';
  id: number;
  nsp: string;
  pid: string;
  offset?: string;
}

interface RestoredMessage {
  switchboard: 'cluster:restored';
  id: number;
  session: RestoredSession | null;
}

/**
 * From a worker: "my adapter is listening"; the relay answers with `cluster:joined`, saying it
 * keeps recovery state (`recovery: 1`).
 */
interface JoinMessage {
  switchboard: 'cluster:join' | 'cluster:joined';
  recovery?: number;
}

/** From the primary: a worker exited. */
interface GoneMessage {
  switchboard: 'cluster:gone';
  worker: number;
}

type IpcMessage = AdapterMessage | JoinMessage | GoneMessage | RecordMessage | SessionsMessage | RestoreMessage | RestoredMessage;

/** How long a worker waits for the relay's answer before warning that setupPrimary() is missing. */
const RELAY_CHECK_MS = 5000;

function tag(msg: unknown): string | undefined {
  return typeof msg === 'object' && msg !== null ? (msg as { switchboard?: unknown }).switchboard as string | undefined : undefined;
}

/** The worker id a node id (`w<id>.<random>`) routes to. */
function workerOfNode(uid: string): number | undefined {
  const match = /^w(\d{1,9})\./.exec(uid);
  return match ? Number(match[1]) : undefined;
}

// --- primary: the relay ------------------------------------------------------------------------

let relayInstalled = false;

/**
 * Installs the relay in the primary (once; later calls do nothing). `setupPrimary()` calls it, so
 * applications rarely need it by this name.
 */
export function setupRelay(): void {
  if (relayInstalled) return;
  if (!cluster.isPrimary) throw new Error('setupPrimary() must run in the cluster primary');
  relayInstalled = true;
  const store = new RecoveryStore();
  const live = () => Object.values(cluster.workers ?? {}) as Worker[];
  const send = (worker: Worker, msg: IpcMessage) => {
    // A worker that is exiting cannot receive; its peers learn it is gone from the exit notice.
    if (worker.isConnected()) worker.send(msg, ignoreSendError);
  };
  cluster.on('message', (from: Worker, msg: unknown) => {
    switch (tag(msg)) {
      case 'cluster:adapter': {
        const to = (msg as AdapterMessage).to;
        if (typeof to === 'number') {
          const target = cluster.workers?.[to];
          if (target) send(target, msg as AdapterMessage);
        } else {
          for (const worker of live()) if (worker !== from) send(worker, msg as AdapterMessage);
        }
        return;
      }
      case 'cluster:join':
        send(from, { switchboard: 'cluster:joined', recovery: 1 });
        return;
      case 'cluster:record':
        return relayRecords(from, (msg as RecordMessage).entries);
      case 'cluster:sessions': {
        const updates = (msg as SessionsMessage).updates;
        if (Array.isArray(updates)) for (const update of updates) if (validUpdate(update)) store.update(from.id, update);
        return;
      }
      case 'cluster:restore': {
        const { id, nsp, pid, offset } = msg as RestoreMessage;
        const session = typeof nsp === 'string' && typeof pid === 'string' && (offset === undefined || typeof offset === 'string')
          ? store.restore(nsp, pid, offset)
          : null;
        send(from, { switchboard: 'cluster:restored', id, session });
        return;
      }
    }
  });
  // Numbered in arrival order and relayed at once, in that order, to every worker: the sender
  // gets only the offsets of its own (it still holds the packets).
  const relayRecords = (from: Worker, entries: unknown) => {
    if (!Array.isArray(entries)) return;
    const own: AdapterMessage = { switchboard: 'cluster:adapter', data: [], offsets: [] };
    const others: AdapterMessage = { switchboard: 'cluster:adapter', data: [], offsets: [] };
    for (const entry of entries as RecordEntry[]) {
      if (!validRecord(entry)) continue;
      const offset = store.record(entry);
      own.data.push('');
      own.offsets!.push(offset);
      others.data.push(entry.payload);
      others.offsets!.push(offset);
    }
    send(from, own);
    if (others.data.length > 0) for (const worker of live()) if (worker !== from) send(worker, others);
  };
  cluster.on('exit', (gone: Worker) => {
    store.workerGone(gone.id);
    for (const worker of live()) if (worker !== gone) send(worker, { switchboard: 'cluster:gone', worker: gone.id });
  });
}

function ignoreSendError(): void {}

const isRooms = (v: unknown): v is Room[] => Array.isArray(v) && v.every((r) => typeof r === 'string');

function validRecord(e: RecordEntry): boolean {
  return typeof e === 'object' && e !== null && typeof e.nsp === 'string' && isRooms(e.rooms) && isRooms(e.except) &&
    typeof e.payload === 'string' && e.payload !== '' && Number.isFinite(e.ttl) && Number.isFinite(e.max);
}

function validUpdate(u: SessionUpdate): boolean {
  return typeof u === 'object' && u !== null && typeof u.nsp === 'string' && typeof u.pid === 'string' &&
    (u.state === 'live' || u.state === 'gone' || u.state === 'drop') && (u.rooms === undefined || isRooms(u.rooms));
}

// --- worker: one channel per process, shared by every adapter ----------------------------------

/** Receives the relay's messages once per process and hands them to the adapters. */
class WorkerChannel {
  readonly adapters = new Set<NodeClusterAdapter>();
  private listening = false;
  private relaySeen = false;
  /**
   * The relay keeps recovery state. Until it said so (one IPC round trip after the first adapter
   * started, before any client can connect in practice), or without a relay, recovery stays in
   * this worker, the in-memory way.
   */
  private relayRecords = false;
  /**
   * Messages of this tick, in order, sent together at its end; consecutive ones of one kind (and
   * recipient) share one IPC message.
   */
  private outgoing: IpcMessage[] = [];
  /** Own recoverable broadcasts waiting for their offset, in the order they were sent. */
  private readonly ownRecords: ((offset: string | undefined) => void)[] = [];
  private readonly restores = new Map<number, (session: RestoredSession | null) => void>();
  private restoreCounter = 0;

  attach(adapter: NodeClusterAdapter): void {
    this.adapters.add(adapter);
    if (this.listening || !process.send) return;
    this.listening = true;
    process.on('message', (msg: unknown) => this.onMessage(msg));
    // The primary is gone: what waited for it is delivered here without an offset, or not restored.
    process.once('disconnect', () => {
      this.relayRecords = false;
      for (const deliver of this.ownRecords.splice(0)) deliver(undefined);
      for (const answer of [...this.restores.values()]) answer(null);
    });
    this.post({ switchboard: 'cluster:join' });
    // The usual mistake: workers with the adapter, a primary without the relay. Say so.
    const check = setTimeout(() => {
      if (this.relaySeen || !process.connected) return;
      process.emitWarning('no answer from the cluster primary: call setupPrimary() there, or workers will not see each other', {
        type: 'ClusterAdapterWarning',
        code: 'NO_RELAY',
      });
    }, RELAY_CHECK_MS);
    check.unref();
  }

  detach(adapter: NodeClusterAdapter): void {
    this.adapters.delete(adapter);
  }

  /** Sends to the primary; false when the channel is gone. */
  post(msg: IpcMessage): boolean {
    if (!process.send || !process.connected) return false;
    process.send(msg, undefined, undefined, ignoreSendError);
    return true;
  }

  /** True when recoverable broadcasts and sessions can be kept by the primary. */
  get recordable(): boolean {
    return this.relayRecords && process.connected;
  }

  /** Queues an envelope for the end of this tick; false when the channel is gone. */
  queue(payload: Buffer, to: number | undefined): boolean {
    const last = this.last();
    if (last === null) return false;
    if (last?.switchboard === 'cluster:adapter' && last.to === to) last.data.push(payload.toString('base64'));
    else this.push(to === undefined ? { switchboard: 'cluster:adapter', data: [payload.toString('base64')] } : { switchboard: 'cluster:adapter', to, data: [payload.toString('base64')] });
    return true;
  }

  /** Sends a recoverable broadcast to the primary; `deliver` gets its offset when it comes back. */
  record(entry: RecordEntry, deliver: (offset: string | undefined) => void): void {
    const last = this.last();
    if (last === null) return deliver(undefined);
    this.ownRecords.push(deliver);
    if (last?.switchboard === 'cluster:record') last.entries.push(entry);
    else this.push({ switchboard: 'cluster:record', entries: [entry] });
  }

  session(update: SessionUpdate): void {
    const last = this.last();
    if (last === null) return;
    if (last?.switchboard === 'cluster:sessions') last.updates.push(update);
    else this.push({ switchboard: 'cluster:sessions', updates: [update] });
  }

  /** Asks the primary for a session; null when it has none or does not answer in `timeout` ms. */
  restore(nsp: string, pid: string, offset: string | undefined, timeout: number): Promise<RestoredSession | null> {
    if (this.last() === null) return Promise.resolve(null);
    const id = this.restoreCounter++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => answer(null), timeout);
      const answer = (session: RestoredSession | null) => {
        clearTimeout(timer);
        this.restores.delete(id);
        resolve(session);
      };
      this.restores.set(id, answer);
      this.push(offset === undefined ? { switchboard: 'cluster:restore', id, nsp, pid } : { switchboard: 'cluster:restore', id, nsp, pid, offset });
    });
  }

  /** The last queued message (undefined: none), or null when the channel is gone. */
  private last(): IpcMessage | undefined | null {
    if (!process.send || !process.connected) return null;
    return this.outgoing[this.outgoing.length - 1];
  }

  private push(msg: IpcMessage): void {
    if (this.outgoing.length === 0) queueMicrotask(() => this.flush());
    this.outgoing.push(msg);
  }

  private flush(): void {
    const batch = this.outgoing;
    this.outgoing = [];
    for (const msg of batch) this.post(msg);
  }

  private onMessage(msg: unknown): void {
    switch (tag(msg)) {
      case 'cluster:adapter': {
        const { data, offsets } = msg as AdapterMessage;
        if (!Array.isArray(data)) return this.undecodable(new CodecError('expected an array of envelopes'));
        for (const [i, item] of data.entries()) {
          const offset = typeof offsets?.[i] === 'string' ? offsets[i] : undefined;
          // One of ours, numbered: delivered now, in the primary's order.
          if (item === '' && offsets) {
            this.ownRecords.shift()?.(offset);
            continue;
          }
          let decoded: ClusterMessage;
          try {
            if (typeof item !== 'string') throw new CodecError('expected a base64 string');
            decoded = decodeMessage(Buffer.from(item, 'base64'));
          } catch (err) {
            this.undecodable(err as Error);
            continue;
          }
          for (const adapter of this.adapters) adapter._receive(decoded, offset);
        }
        return;
      }
      case 'cluster:restored': {
        const { id, session } = msg as RestoredMessage;
        this.restores.get(id)?.(session ?? null);
        return;
      }
      case 'cluster:joined':
        this.relaySeen = true;
        this.relayRecords = (msg as JoinMessage).recovery === 1;
        return;
      case 'cluster:gone': {
        const worker = (msg as GoneMessage).worker;
        for (const adapter of this.adapters) adapter._workerGone(worker);
        return;
      }
    }
  }

  private undecodable(err: Error): void {
    const first = this.adapters.values().next().value;
    first?.reportError(new ClusterAdapterError('BAD_MESSAGE', `undecodable message from the cluster: ${err.message}`, { cause: err }));
  }
}

const channel = new WorkerChannel();

/** The node:cluster adapter of one namespace in one worker; made by {@link createAdapter}. */
export class NodeClusterAdapter extends ClusterAdapter {
  /** Messages to other workers that could not be sent (no IPC channel). */
  droppedMessages = 0;
  private readonly maxRecoveryPackets: number;
  /** Connected sockets the primary knows the session of (socket id → pid). */
  private readonly tracked = new Map<SocketId, string>();
  /** Sockets whose rooms changed this tick: their session goes to the primary at its end. */
  private readonly changed = new Set<SocketId>();

  constructor(nsp: Namespace<any, any, any, any>, options: NodeClusterAdapterOptions = {}, uid?: string) {
    super(nsp, uid ?? nodeId(), options);
    this.maxRecoveryPackets = options.maxRecoveryPackets ?? 10_000;
  }

  /** Joins the worker's IPC channel and announces this node to the other workers. */
  override init(): void {
    channel.attach(this);
    this.startHeartbeat();
  }

  /** Says BYE to the other workers and leaves the channel. */
  override close(): Promise<void> | void {
    const bye = super.close();
    channel.detach(this);
    return bye;
  }

  protected publish(msg: ClusterMessage): Promise<undefined> {
    this.send(msg, undefined);
    return Promise.resolve(undefined);
  }

  protected publishResponse(uid: string, msg: ClusterMessage): void {
    const worker = workerOfNode(uid);
    if (worker !== undefined) this.send(msg, worker);
  }

  private send(msg: ClusterMessage, to: number | undefined): void {
    const payload = this.encode(msg);
    if (!payload) return;
    if (channel.queue(payload, to) || !cluster.isWorker) return;
    this.droppedMessages++;
    this.reportError(
      this.error('MESSAGES_LOST', `the IPC channel to the primary is closed: messages to other workers are being dropped (${this.droppedMessages} so far in namespace "${this.nsp.name}")`),
    );
  }

  /** @internal A message relayed from another worker; `offset` when the primary numbered it. */
  _receive(msg: ClusterMessage, offset?: string): void {
    this.onMessage(msg, offset);
  }

  // --- connection state recovery, kept by the primary ---------------------------------------------

  /** maxDisconnectionDuration when the server recovers sessions and the primary can keep them. */
  private get recoveryTtl(): number | undefined {
    const recovery = this.nsp.server._recovery;
    return recovery && channel.recordable ? recovery.maxDisconnectionDuration : undefined;
  }

  override broadcast(packet: SocketIOPacket, opts: BroadcastOptions): void {
    const ttl = this.recoveryTtl;
    if (ttl === undefined || opts.flags?.local || !this.isRecoverable(packet, opts)) {
      super.broadcast(packet, opts);
      return;
    }
    const payload = this.encode(this.broadcastMessage(packet, opts));
    // Unencodable (reported): this worker's clients still get it, without an offset.
    if (!payload) return this.localBroadcast(packet, opts, undefined);
    const entry: RecordEntry = {
      nsp: this.nsp.name,
      rooms: [...opts.rooms],
      except: opts.except ? [...opts.except] : [],
      payload: payload.toString('base64'),
      ttl,
      max: this.maxRecoveryPackets,
    };
    channel.record(entry, (offset) => this.localBroadcast(packet, opts, offset));
  }

  /** Packets are kept by the primary: only their offset is added here. */
  protected override storeForRecovery(packet: SocketIOPacket, opts: BroadcastOptions): void {
    if (this.recoveryTtl === undefined) super.storeForRecovery(packet, opts);
    else this.appendOffset(packet, opts);
  }

  override addAll(id: SocketId, rooms: Set<Room>): Promise<void> | void {
    super.addAll(id, rooms);
    this.roomsChanged(id);
  }

  override del(id: SocketId, room: Room): Promise<void> | void {
    super.del(id, room);
    this.roomsChanged(id);
  }

  override delAll(id: SocketId): void {
    super.delAll(id);
    this.changed.delete(id);
    const pid = this.tracked.get(id);
    if (pid === undefined) return;
    // Left for good (a recoverable disconnection was persisted first and untracked it).
    this.tracked.delete(id);
    channel.session({ nsp: this.nsp.name, pid, state: 'drop' });
  }

  /**
   * The primary learns a connected socket's rooms and `data` at the end of the tick its rooms
   * changed (so `data` set by the connection handler is included): what a worker that dies
   * without a word leaves for its clients to recover.
   */
  private roomsChanged(id: SocketId): void {
    if (this.recoveryTtl === undefined || !this.nsp.sockets.get(id)?.pid) return;
    if (this.changed.size === 0) queueMicrotask(() => this.sendChanged());
    this.changed.add(id);
  }

  private sendChanged(): void {
    const ttl = this.recoveryTtl;
    for (const id of this.changed) {
      const socket = this.nsp.sockets.get(id);
      if (ttl === undefined || !socket?.pid || !socket.connected) continue;
      this.tracked.set(id, socket.pid);
      channel.session({ ...this.sessionState(socket), state: 'live', ttl });
    }
    this.changed.clear();
  }

  private sessionState(s: { id: SocketId; pid?: string | undefined; rooms: Iterable<Room>; data: unknown }): Omit<SessionUpdate, 'state'> {
    let data: string;
    try {
      data = encodeValue(s.data).toString('base64');
    } catch (err) {
      this.reportError(this.error('UNENCODABLE', `socket.data of ${s.id} cannot be kept for recovery: ${(err as Error).message}`, { cause: err }));
      data = encodeValue(null).toString('base64');
    }
    return { nsp: this.nsp.name, pid: s.pid!, sid: s.id, rooms: [...s.rooms], data };
  }

  override persistSession(session: SessionToPersist): void | Promise<void> {
    const ttl = this.recoveryTtl;
    if (ttl === undefined) return super.persistSession(session);
    this.changed.delete(session.sid);
    this.tracked.delete(session.sid);
    channel.session({ ...this.sessionState({ id: session.sid, pid: session.pid, rooms: session.rooms, data: session.data }), state: 'gone', ttl });
  }

  /** The primary numbers the packets: it records where the log stood when it heard of the socket. */
  override recoveryPosition(): string | undefined {
    return this.recoveryTtl === undefined ? super.recoveryPosition() : undefined;
  }

  override async restoreSession(pid: string, offset: string | undefined): Promise<Session | null> {
    if (this.recoveryTtl === undefined) return super.restoreSession(pid, offset);
    const found = await channel.restore(this.nsp.name, pid, offset, this.requestsTimeout);
    if (!found) return null;
    try {
      const missedPackets: unknown[][] = [];
      for (const [at, payload] of found.missed) {
        const msg = decodeMessage(Buffer.from(payload, 'base64'));
        const data = (msg.body as { packet: { data: unknown[] } }).packet.data;
        if (!Array.isArray(data)) throw new CodecError('malformed packet');
        data.push(at);
        missedPackets.push(data);
      }
      return { sid: found.sid, pid, rooms: found.rooms, data: decodeValue(Buffer.from(found.data, 'base64')), missedPackets };
    } catch (err) {
      this.reportError(this.error('BAD_MESSAGE', `the session ${pid} kept by the primary cannot be read: ${(err as Error).message}`, { cause: err }));
      return null;
    }
  }

  /** @internal The primary saw worker `id` exit. */
  _workerGone(id: number): void {
    for (const uid of this.peerIds()) if (workerOfNode(uid) === id) this.peerGone(uid);
  }
}

/** `w<worker id>.<random>`: the relay reads the worker id to route responses. */
function nodeId(): string {
  return `w${cluster.worker?.id ?? 0}.${randomBytes(6).toString('base64url')}`;
}

/** A constructor the server's `adapter` option accepts. */
export type NodeClusterAdapterConstructor = new (nsp: Namespace<any, any, any, any>) => NodeClusterAdapter;

/**
 * The node:cluster adapter for `new Server({ adapter })` or `io.adapter()`, in each worker; the
 * primary runs `setupPrimary()`. The namespaces of one server share one node id.
 *
 * @example
 * ```ts
 * import { Server } from 'switchboard';
 * import { createAdapter } from 'switchboard/cluster';
 *
 * const io = new Server(httpServer, { adapter: createAdapter({ requestsTimeout: 3000 }) });
 * const everywhere = await io.fetchSockets(); // the sockets of every worker
 * ```
 */
export function createAdapter(options: NodeClusterAdapterOptions = {}): NodeClusterAdapterConstructor {
  const uid = nodeId();
  return class extends NodeClusterAdapter {
    constructor(nsp: Namespace<any, any, any, any>) {
      super(nsp, options, uid);
    }
  };
}
