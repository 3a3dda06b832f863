/**
 * Connection state recovery for the node:cluster adapter, kept in the primary. The primary
 * outlives its workers, so a client whose worker died (SIGKILL included) can reconnect to another
 * worker and get its id, rooms, `data` and the broadcasts it missed back.
 *
 * - The primary numbers every recoverable broadcast of a namespace (one sequence per namespace)
 *   and relays it, offset attached, to every worker, the sender included: every worker delivers
 *   them in the same order, so "after offset X" means the same thing on all of them.
 * - Workers report their sockets' sessions while they are connected (rooms and `data` after each
 *   change of rooms), so the sessions of a worker that dies without a word are known: the primary
 *   marks them disconnected when it sees the worker exit.
 * - Everything is bounded: sessions and packets are forgotten after `maxDisconnectionDuration`,
 *   and a namespace keeps at most `maxPackets` packets (sessions that needed dropped ones are not
 *   recovered).
 *
 * The primary never decodes what it keeps: packets are the workers' encoded envelopes, `data` an
 * encoded value; only rooms travel in the clear, to select the packets of a session.
 */
import { randomBytes } from 'node:crypto';
import { shouldReceive, type Room } from '../server/adapter.js';

/** A recoverable broadcast from a worker, before the primary numbers it. */
export interface RecordEntry {
  nsp: string;
  rooms: Room[];
  except: Room[];
  /** The encoded BROADCAST envelope, base64. */
  payload: string;
  /** maxDisconnectionDuration of the sending server (ms). */
  ttl: number;
  /** Most packets the namespace keeps. */
  max: number;
}

/** A worker's news about one session. */
export interface SessionUpdate {
  nsp: string;
  pid: string;
  /** `live`: connected (rooms/data changed); `gone`: disconnected, recoverable; `drop`: forget it. */
  state: 'live' | 'gone' | 'drop';
  sid?: string;
  rooms?: Room[];
  /** `socket.data`, encoded value, base64. */
  data?: string;
  ttl?: number;
}

/** What a restore finds: the session and its missed packets (encoded envelopes, base64, in order). */
export interface RestoredSession {
  sid: string;
  pid: string;
  rooms: Room[];
  data: string;
  /** [offset, envelope] of each missed packet. */
  missed: [string, string][];
}

interface LoggedPacket {
  rooms: ReadonlySet<Room>;
  except: ReadonlySet<Room>;
  payload: string;
  expiresAt: number;
}

interface StoredSession {
  sid: string;
  rooms: Room[];
  data: string;
  ttl: number;
  /** The worker serving it while connected. */
  worker: number;
  /** Where the log stood when the primary first heard of it: the first packet it may have missed. */
  connectedAt: number;
  disconnectedAt?: number;
}

/** One namespace's log and sessions. */
class NamespaceLog {
  /** Sequence number of packets[0]. */
  first = 0;
  packets: LoggedPacket[] = [];
  /** Packets before this one were dropped by the count limit (not by age). */
  lostBefore = 0;
  readonly sessions = new Map<string, StoredSession>();

  get next(): number {
    return this.first + this.packets.length;
  }

  append(entry: RecordEntry, now: number): number {
    const seq = this.next;
    this.packets.push({ rooms: new Set(entry.rooms), except: new Set(entry.except), payload: entry.payload, expiresAt: now + entry.ttl });
    const excess = this.packets.length - Math.max(1, entry.max);
    if (excess > 0) {
      this.packets.splice(0, excess);
      this.first += excess;
      this.lostBefore = this.first;
    }
    return seq;
  }

  sweep(now: number): void {
    let expired = 0;
    while (expired < this.packets.length && this.packets[expired]!.expiresAt <= now) expired++;
    if (expired > 0) {
      this.packets.splice(0, expired);
      this.first += expired;
    }
    for (const [pid, s] of this.sessions) if (s.disconnectedAt !== undefined && s.disconnectedAt + s.ttl <= now) this.sessions.delete(pid);
  }

  get empty(): boolean {
    return this.packets.length === 0 && this.sessions.size === 0;
  }
}

/** The primary's recovery store, shared by every worker. */
export class RecoveryStore {
  /** Offsets of this primary start with it: an offset from an earlier primary matches nothing. */
  private readonly epoch = randomBytes(4).toString('base64url');
  private readonly logs = new Map<string, NamespaceLog>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** Numbers a broadcast and keeps it; returns its offset. */
  record(entry: RecordEntry): string {
    const seq = this.log(entry.nsp).append(entry, this.now());
    this.startSweeper(entry.ttl);
    return `${this.epoch}.${seq.toString(36)}`;
  }

  update(worker: number, u: SessionUpdate): void {
    const log = this.log(u.nsp);
    if (u.state === 'drop') {
      log.sessions.delete(u.pid);
      return;
    }
    const ttl = u.ttl ?? 0;
    let s = log.sessions.get(u.pid);
    if (!s) log.sessions.set(u.pid, (s = { sid: u.sid ?? '', rooms: [], data: '', ttl, worker, connectedAt: log.next }));
    if (u.sid !== undefined) s.sid = u.sid;
    if (u.rooms !== undefined) s.rooms = u.rooms;
    if (u.data !== undefined) s.data = u.data;
    s.ttl = ttl;
    s.worker = worker;
    if (u.state === 'gone') {
      s.disconnectedAt = this.now();
      this.startSweeper(ttl);
    } else delete s.disconnectedAt;
  }

  /** A worker exited: the sessions it was serving are disconnected from now on. */
  workerGone(worker: number): void {
    const now = this.now();
    for (const log of this.logs.values()) {
      for (const s of log.sessions.values()) {
        if (s.worker !== worker || s.disconnectedAt !== undefined) continue;
        s.disconnectedAt = now;
        this.startSweeper(s.ttl);
      }
    }
  }

  /**
   * Takes a disconnected session out of the store with every packet after `offset` (or, without
   * one, since it connected) that it should have received; `null` when unknown, still connected,
   * expired, or a packet it needs was dropped.
   */
  restore(nsp: string, pid: string, offset: string | undefined): RestoredSession | null {
    const log = this.logs.get(nsp);
    const s = log?.sessions.get(pid);
    if (!log || !s || s.disconnectedAt === undefined) return null;
    log.sessions.delete(pid);
    if (s.disconnectedAt + s.ttl <= this.now()) return null;
    let start = s.connectedAt;
    if (offset !== undefined) {
      const seq = this.sequenceOf(offset);
      if (seq === undefined || seq >= log.next) return null;
      start = seq + 1;
    }
    if (start < log.lostBefore) return null;
    const missed: [string, string][] = [];
    for (let seq = Math.max(start, log.first); seq < log.next; seq++) {
      const packet = log.packets[seq - log.first]!;
      if (shouldReceive(s.rooms, packet)) missed.push([`${this.epoch}.${seq.toString(36)}`, packet.payload]);
    }
    return { sid: s.sid, pid, rooms: s.rooms, data: s.data, missed };
  }

  /** Packets and sessions held (for tests and dashboards). */
  size(): { packets: number; sessions: number } {
    let packets = 0;
    let sessions = 0;
    for (const log of this.logs.values()) {
      packets += log.packets.length;
      sessions += log.sessions.size;
    }
    return { packets, sessions };
  }

  private sequenceOf(offset: string): number | undefined {
    if (typeof offset !== 'string' || !offset.startsWith(this.epoch + '.')) return undefined;
    const digits = offset.slice(this.epoch.length + 1);
    if (!/^[0-9a-z]{1,11}$/.test(digits)) return undefined;
    return parseInt(digits, 36);
  }

  private log(nsp: string): NamespaceLog {
    let log = this.logs.get(nsp);
    if (!log) this.logs.set(nsp, (log = new NamespaceLog()));
    return log;
  }

  private startSweeper(ttl: number): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(1_000, ttl)));
    this.sweeper.unref();
  }

  private sweep(): void {
    const now = this.now();
    for (const [nsp, log] of this.logs) {
      log.sweep(now);
      if (log.empty) this.logs.delete(nsp);
    }
    if (this.logs.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}
