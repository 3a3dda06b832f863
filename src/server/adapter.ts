/**
 * The adapter decides who receives a broadcast. This in-memory one (the default, one instance per
 * namespace) knows the sockets of this process; cluster adapters (Redis) extend it, forward
 * operations to other nodes and call `super.*` for their local share.
 *
 * @example
 * ```ts
 * class MyClusterAdapter extends Adapter {
 *   override broadcast(packet: SocketIOPacket, opts: BroadcastOptions) {
 *     if (!opts.flags?.local) publishToOtherNodes(packet, opts);
 *     super.broadcast(packet, opts);
 *   }
 * }
 * new Server({ adapter: MyClusterAdapter });
 * ```
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { PacketType, type Packet } from '../protocol/socketio.js';
import type { Namespace } from './namespace.js';
import type { Handshake, Socket } from './socket.js';
import type { PreparedMessage } from './engine.js';

/** A socket's id: unique on its server, and the name of the private room each socket is in. */
export type SocketId = string;
/** A room's name. Rooms are created on first join and removed when their last socket leaves. */
export type Room = string;

/**
 * Modifiers of a broadcast, as set by `volatile`, `compress(bool)`, `local` and `timeout(ms)` on a
 * broadcast operator.
 */
export interface BroadcastFlags {
  volatile?: boolean;
  compress?: boolean;
  local?: boolean;
  timeout?: number;
}

/**
 * Who receives a broadcast: sockets in any of `rooms` (every socket when empty), minus those in any
 * of `except`.
 */
export interface BroadcastOptions {
  rooms: Set<Room>;
  except?: Set<Room>;
  flags?: BroadcastFlags;
}

/** A decoded Socket.IO packet, as adapters receive it to broadcast. */
export type SocketIOPacket = Packet;

/** What connection state recovery keeps of a disconnected socket: its ids, rooms and `data`. */
export interface SessionToPersist {
  sid: SocketId;
  pid: string;
  rooms: Room[];
  data: unknown;
  /**
   * Where the packet log stood when the socket connected ({@link Adapter.recoveryPosition}). A
   * client that received no event has no offset to send back; it resumes from here.
   */
  connectedAt?: string;
}

/** A restored session: the persisted state plus the packets the socket missed while away. */
export interface Session extends SessionToPersist {
  missedPackets: unknown[][];
}

/** What `fetchSockets` returns per socket: a local Socket, or the same data from another node. */
export interface SocketLike {
  id: SocketId;
  handshake: Handshake;
  rooms: Set<Room>;
  data: unknown;
}

interface StoredPacket {
  id: string;
  rooms: Set<Room>;
  except: Set<Room> | undefined;
  data: unknown[];
  emittedAt: number;
}

interface StoredSession extends SessionToPersist {
  disconnectedAt: number;
}

const EMPTY: ReadonlySet<Room> = new Set();
/** The flags of a broadcast without modifiers (shared, never written). */
const NO_FLAGS: BroadcastFlags = Object.freeze({});

/**
 * The in-memory adapter, and the base class of every adapter: it tracks which sockets are in which
 * rooms and delivers broadcasts to the sockets of this server. Scale-out adapters (Redis) extend it
 * to reach other servers too. Emits `create-room`, `delete-room`, `join-room` and `leave-room`.
 */
export class Adapter extends EventEmitter {
  /** Members of each room. */
  readonly rooms = new Map<Room, Set<SocketId>>();
  /** Rooms of each socket. */
  readonly sids = new Map<SocketId, Set<Room>>();

  // Connection state recovery (only used when the server enables it).
  private readonly sessions = new Map<string, StoredSession>();
  private packets: StoredPacket[] = [];
  private readonly offsetPrefix = randomBytes(4).toString('base64url') + '-';
  private offsetCounter = 0;
  private sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(readonly nsp: Namespace<any, any, any, any>) {
    super();
  }

  /** Called once the namespace exists. */
  init(): Promise<void> | void {}

  /** Called when the server closes. */
  close(): Promise<void> | void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** How many servers share this namespace (1 for in-memory). */
  serverCount(): Promise<number> {
    return Promise.resolve(1);
  }

  /** Adds socket `id` to each of `rooms`, creating rooms as needed. */
  addAll(id: SocketId, rooms: Set<Room>): Promise<void> | void {
    let own = this.sids.get(id);
    if (!own) this.sids.set(id, (own = new Set()));
    for (const room of rooms) {
      own.add(room);
      let members = this.rooms.get(room);
      if (!members) {
        this.rooms.set(room, (members = new Set()));
        this.emit('create-room', room);
      }
      if (!members.has(id)) {
        members.add(id);
        this.emit('join-room', room, id);
      }
    }
  }

  /** Removes socket `id` from `room`; the room goes when it is empty. */
  del(id: SocketId, room: Room): Promise<void> | void {
    this.sids.get(id)?.delete(room);
    this.leaveRoom(room, id);
  }

  /** Removes socket `id` from every room it is in (on disconnection). */
  delAll(id: SocketId): void {
    const own = this.sids.get(id);
    if (!own) return;
    for (const room of own) this.leaveRoom(room, id);
    this.sids.delete(id);
  }

  private leaveRoom(room: Room, id: SocketId): void {
    const members = this.rooms.get(room);
    if (!members || !members.delete(id)) return;
    this.emit('leave-room', room, id);
    if (members.size === 0 && this.rooms.delete(room)) this.emit('delete-room', room);
  }

  /**
   * Delivers a packet to the local sockets selected by `opts`. The packet is encoded once, and only
   * if somebody receives it; the same prepared bytes are written to every recipient.
   */
  broadcast(packet: SocketIOPacket, opts: BroadcastOptions): void {
    packet.nsp = this.nsp.name;
    this.storeForRecovery(packet, opts);
    const flags = opts.flags ?? NO_FLAGS;
    // To everyone, or one room, with no exceptions (the usual broadcasts): a loop of its own, without
    // the callback `apply` calls per recipient (a call V8 cannot inline there: `apply` serves many).
    // A subclass that selects recipients its own way (overrides `apply`) keeps it.
    if ((opts.except === undefined || opts.except.size === 0) && opts.rooms.size <= 1 && this.apply === Adapter.prototype.apply) {
      this.deliverPlain(packet, opts.rooms, flags);
      return;
    }
    let prepared: PreparedMessage[] | undefined;
    this.apply(opts, (socket) => {
      prepared ??= this.nsp._prepare(this.nsp.server._codec.encode(packet));
      socket._notifyOutgoing(packet);
      socket._writePrepared(prepared, flags);
    });
  }

  /** {@link broadcast} to every socket (`rooms` empty) or one room, nobody excepted. */
  private deliverPlain(packet: SocketIOPacket, rooms: Set<Room>, flags: BroadcastFlags): void {
    const sockets = this.nsp.sockets;
    let prepared: PreparedMessage[] | undefined;
    if (rooms.size === 0) {
      for (const socket of sockets.values()) {
        prepared ??= this.nsp._prepare(this.nsp.server._codec.encode(packet));
        socket._notifyOutgoing(packet);
        socket._writePrepared(prepared, flags);
      }
      return;
    }
    const members = this.rooms.get(rooms.values().next().value!);
    if (!members) return;
    for (const id of members) {
      const socket = sockets.get(id);
      if (socket === undefined) continue;
      prepared ??= this.nsp._prepare(this.nsp.server._codec.encode(packet));
      socket._notifyOutgoing(packet);
      socket._writePrepared(prepared, flags);
    }
  }

  /**
   * Broadcast expecting one acknowledgement per client: `clientCountCallback` gets how many
   * clients were reached, `ack` each client's answer.
   */
  broadcastWithAck(
    packet: SocketIOPacket,
    opts: BroadcastOptions,
    clientCountCallback: (clientCount: number) => void,
    ack: (...args: unknown[]) => void,
  ): void {
    packet.nsp = this.nsp.name;
    if (packet.id === undefined) packet.id = this.nsp._nextAckId();
    const flags = opts.flags ?? {};
    const id = packet.id;
    let prepared: PreparedMessage[] | undefined;
    let clientCount = 0;
    this.apply(opts, (socket) => {
      prepared ??= this.nsp._prepare(this.nsp.server._codec.encode(packet));
      clientCount++;
      socket._registerAck(id, ack);
      socket._notifyOutgoing(packet);
      socket._writePrepared(prepared, flags);
    });
    clientCountCallback(clientCount);
  }

  /** Ids of the sockets in any of `rooms` (all sockets when empty). */
  sockets(rooms: Set<Room>): Promise<Set<SocketId>> {
    const ids = new Set<SocketId>();
    this.apply({ rooms }, (socket) => ids.add(socket.id));
    return Promise.resolve(ids);
  }

  /** The rooms socket `id` is in on this server, or `undefined` if it is not connected here. */
  socketRooms(id: SocketId): Set<Room> | undefined {
    return this.sids.get(id);
  }

  /** The sockets that `opts` selects (with a scale-out adapter, those of every server). */
  fetchSockets(opts: BroadcastOptions): Promise<SocketLike[]> {
    const sockets: SocketLike[] = [];
    this.apply(opts, (socket) => sockets.push(socket));
    return Promise.resolve(sockets);
  }

  /** Makes the sockets that `opts` selects join `rooms`. */
  addSockets(opts: BroadcastOptions, rooms: Room[]): void {
    this.apply(opts, (socket) => void socket.join(rooms));
  }

  /** Makes the sockets that `opts` selects leave `rooms`. */
  delSockets(opts: BroadcastOptions, rooms: Room[]): void {
    this.apply(opts, (socket) => {
      for (const room of rooms) void socket.leave(room);
    });
  }

  /**
   * Disconnects the sockets that `opts` selects; with `close`, their underlying connections are
   * closed too.
   */
  disconnectSockets(opts: BroadcastOptions, close: boolean): void {
    this.apply(opts, (socket) => void socket.disconnect(close));
  }

  /**
   * Sends an event to the other servers' namespaces. There are none in memory: an ack callback
   * (last element) gets no responses at once.
   */
  serverSideEmit(packet: unknown[]): void {
    const ack = packet[packet.length - 1];
    if (typeof ack === 'function') queueMicrotask(() => ack(null, []));
  }

  // --- connection state recovery ---------------------------------------------------------------

  private get recovery() {
    return this.nsp.server._recovery;
  }

  /** Appends an offset to storable events and keeps them for reconnecting clients. */
  protected storeForRecovery(packet: SocketIOPacket, opts: BroadcastOptions): void {
    const recovery = this.recovery;
    if (!recovery || packet.type !== PacketType.EVENT || packet.id !== undefined || opts.flags?.volatile) return;
    const data = packet.data as unknown[];
    const id = this.offsetPrefix + (this.offsetCounter++).toString(36);
    data.push(id);
    this.packets.push({ id, rooms: opts.rooms, except: opts.except, data, emittedAt: Date.now() });
    this.startSweeper(recovery.maxDisconnectionDuration);
  }

  /**
   * Keeps a disconnected socket's session for connection state recovery, for
   * `maxDisconnectionDuration`.
   */
  persistSession(session: SessionToPersist): void | Promise<void> {
    const recovery = this.recovery;
    if (!recovery) return;
    this.sessions.set(session.pid, { ...session, disconnectedAt: Date.now() });
    this.startSweeper(recovery.maxDisconnectionDuration);
  }

  /**
   * Where the packet log stands now, stored with a session so that a client which received no
   * event (and so has no offset) can still be recovered: the id the next stored packet will get.
   */
  recoveryPosition(): string | undefined {
    return this.offsetPrefix + this.offsetCounter.toString(36);
  }

  /**
   * The session of `pid` with every stored packet after `offset` that it should have received,
   * in order; `null` if expired, unknown, or the offset fell out of the log. Without an offset (the
   * client received no event), every stored packet since the socket connected. A session is
   * restored at most once.
   */
  restoreSession(pid: string, offset: string | undefined): Promise<Session | null> {
    const recovery = this.recovery;
    const session = this.sessions.get(pid);
    if (!recovery || !session) return Promise.resolve(null);
    this.sessions.delete(pid);
    if (session.disconnectedAt + recovery.maxDisconnectionDuration < Date.now()) return Promise.resolve(null);
    let start: number;
    if (offset !== undefined) {
      start = this.packets.findIndex((p) => p.id === offset) + 1;
      if (start === 0) return Promise.resolve(null);
    } else {
      // Packets swept from the log since then were older than the disconnection window and the
      // client received none of them, so they were not for it: start at the first one left.
      // The log holds consecutive positions (sweeping drops a prefix), so the index is a difference.
      const from = this.sequenceOf(session.connectedAt);
      if (from === undefined) return Promise.resolve(null);
      const first = this.packets.length > 0 ? this.sequenceOf(this.packets[0]!.id)! : from;
      start = Math.min(Math.max(from - first, 0), this.packets.length);
    }
    const missedPackets: unknown[][] = [];
    for (let i = start; i < this.packets.length; i++) {
      const packet = this.packets[i]!;
      if (shouldReceive(session.rooms, packet)) missedPackets.push(packet.data);
    }
    const { disconnectedAt: _, ...persisted } = session;
    return Promise.resolve({ ...persisted, missedPackets });
  }

  /** The log position of one of this adapter's offsets, or undefined for anything else. */
  private sequenceOf(offset: string | undefined): number | undefined {
    if (offset === undefined || !offset.startsWith(this.offsetPrefix)) return undefined;
    const seq = parseInt(offset.slice(this.offsetPrefix.length), 36);
    return Number.isSafeInteger(seq) && seq >= 0 ? seq : undefined;
  }

  private startSweeper(maxAge: number): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.sweep(maxAge), Math.min(60_000, Math.max(1_000, maxAge)));
    this.sweeper.unref?.();
  }

  private sweep(maxAge: number): void {
    const oldest = Date.now() - maxAge;
    for (const [pid, session] of this.sessions) if (session.disconnectedAt < oldest) this.sessions.delete(pid);
    let keep = 0;
    while (keep < this.packets.length && this.packets[keep]!.emittedAt < oldest) keep++;
    if (keep > 0) this.packets = this.packets.slice(keep);
    if (this.sessions.size === 0 && this.packets.length === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  // --- selection --------------------------------------------------------------------------------

  /** Calls `fn` for each local socket selected by rooms/except (each socket once). */
  protected apply(opts: BroadcastOptions, fn: (socket: Socket<any, any, any, any>) => void): void {
    const rooms = opts.rooms;
    const except = this.computeExceptSids(opts.except);
    const sockets = this.nsp.sockets;
    if (rooms.size === 0) {
      // Everyone (io.emit): no per-socket lookup in an empty except set.
      if (except.size === 0) for (const socket of sockets.values()) fn(socket);
      else for (const [id, socket] of sockets) if (!except.has(id)) fn(socket);
      return;
    }
    if (rooms.size === 1) {
      const members = this.rooms.get(rooms.values().next().value!);
      if (!members) return;
      for (const id of members) {
        if (except.has(id)) continue;
        const socket = sockets.get(id);
        if (socket) fn(socket);
      }
      return;
    }
    const seen = new Set<SocketId>();
    for (const room of rooms) {
      const members = this.rooms.get(room);
      if (!members) continue;
      for (const id of members) {
        if (seen.has(id) || except.has(id)) continue;
        seen.add(id);
        const socket = sockets.get(id);
        if (socket) fn(socket);
      }
    }
  }

  private computeExceptSids(except: Set<Room> | undefined): ReadonlySet<SocketId> {
    if (!except || except.size === 0) return EMPTY;
    const ids = new Set<SocketId>();
    for (const room of except) {
      const members = this.rooms.get(room);
      if (members) for (const id of members) ids.add(id);
    }
    return ids;
  }
}

/**
 * Whether a session in `sessionRooms` was a recipient of a broadcast to `packet.rooms` (everybody
 * when empty) minus `packet.except`.
 */
export function shouldReceive(sessionRooms: Room[], packet: { rooms: ReadonlySet<Room>; except?: ReadonlySet<Room> | undefined }): boolean {
  const included = packet.rooms.size === 0 || sessionRooms.some((room) => packet.rooms.has(room));
  const excluded = packet.except !== undefined && sessionRooms.some((room) => packet.except!.has(room));
  return included && !excluded;
}
