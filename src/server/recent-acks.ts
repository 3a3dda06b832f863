/**
 * At-most-once processing of re-sent EVENTs. A client with `retries` re-sends an EVENT with the same
 * ack id when its acknowledgement is late; the server remembers each socket's latest ack ids so a
 * handler never runs twice for one id, and answers a repeat with the first run's encoded ACK.
 *
 * Memory is bounded three ways, per socket:
 * - ids: at most `MAX_IDS` (the oldest is forgotten first);
 * - bytes: the kept answers together hold at most `maxBytes`; past it the oldest answers are
 *   dropped (their ids stay known, so a repeat is dropped, never run again);
 * - time: a repeat only comes from a client that has not seen the answer. While connected, that is
 *   an answer still in flight (a round trip, or a backlog draining), so an answer is kept `maxAge`
 *   ms (up to twice that, see `armSweep`). An answer lost with a broken connection is re-asked
 *   after the client recovers its session: while the session waits for recovery the clock stops
 *   (`suspend`), and restarts when it is restored (`resume`).
 */
import { performance } from 'node:perf_hooks';
import type { TimeoutHandle } from './timeouts.js';

/** How long and how much the server keeps of answered acks, per socket. */
export interface RetryWindowOptions {
  /** Ms an answered ack is kept for a repeat while connected (default 10000). */
  maxAge?: number;
  /** Bytes of encoded answers kept per socket (default 16384). */
  maxBytes?: number;
}

export const MAX_IDS = 128;
export const DEFAULT_RETRY_WINDOW_BYTES = 16 * 1024;
export const DEFAULT_RETRY_WINDOW_AGE = 10_000;

type Parts = (string | Uint8Array)[];

interface Entry {
  /** The ack id (also the entry's key: walks over the values need no [key, value] pairs). */
  readonly id: number;
  /** The encoded ACK; `null` while the handler runs; `undefined` once answered but not kept. */
  answer: Parts | null | undefined;
  bytes: number;
  /** When the answer was sent (ms, monotonic); RUNNING until then. */
  answeredAt: number;
}

/** What to do with an EVENT that asks for an ack. */
export type Repeat =
  | { kind: 'new' }
  | { kind: 'answer'; answer: Parts }
  /** Still running, or answered with a reply too large to keep: the first run's ack is all there is. */
  | { kind: 'drop' };

const RUNNING = -1;
const NEW: Repeat = Object.freeze({ kind: 'new' });
const DROP: Repeat = Object.freeze({ kind: 'drop' });

export class RecentAcks {
  private readonly entries = new Map<number, Entry>();
  /** Sum of `bytes` over the entries. */
  private kept = 0;
  private sweep: TimeoutHandle | undefined;
  /** When the session was put aside for recovery (the clock is stopped since). */
  private suspendedAt: number | undefined;

  constructor(
    private readonly maxAge: number,
    private readonly maxBytes: number,
    /** Runs `fn` once after `ms` (the server's shared timeouts). */
    private readonly schedule: (ms: number, fn: () => void) => TimeoutHandle,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Bytes of answers currently kept (strings count their length). */
  get bytes(): number {
    return this.kept;
  }

  /** Looks up an EVENT's ack id; a new id is remembered as running. */
  receive(id: number, now = performance.now()): Repeat {
    this.expire(now);
    const entry = this.entries.get(id);
    if (entry === undefined) {
      this.entries.set(id, { id, answer: null, bytes: 0, answeredAt: RUNNING });
      if (this.entries.size > MAX_IDS) this.forget(this.entries.keys().next().value!);
      return NEW;
    }
    return entry.answer ? { kind: 'answer', answer: entry.answer } : DROP;
  }

  /** The handler answered `id` with `answer` (already sent). */
  answered(id: number, answer: Parts, now = performance.now()): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return; // forgotten meanwhile
    // Re-inserted so the map stays in answer order: expiry then only looks at its head.
    this.entries.delete(id);
    this.entries.set(id, entry);
    entry.answeredAt = now;
    const bytes = sizeOf(answer);
    if (bytes <= this.maxBytes) {
      entry.answer = answer;
      entry.bytes = bytes;
      this.kept += bytes;
      if (this.kept > this.maxBytes) {
        for (const other of this.entries.values()) {
          if (this.kept <= this.maxBytes) break;
          if (other.answer && other.id !== id) this.dropAnswer(other);
        }
      }
    } else {
      entry.answer = undefined;
    }
    this.armSweep();
  }

  /** The EVENT `id` never reached its handler (the socket left first): a repeat may run it. */
  notRun(id: number): void {
    if (this.entries.get(id)?.answeredAt === RUNNING) this.entries.delete(id);
  }

  /** The session waits for recovery: answers age no more (and no timer holds this object). */
  suspend(now = performance.now()): void {
    this.sweep?.cancel();
    this.sweep = undefined;
    this.suspendedAt = now;
  }

  /** The session was recovered: answers age again from where they stood. */
  resume(now = performance.now()): void {
    if (this.suspendedAt === undefined) return;
    const paused = now - this.suspendedAt;
    this.suspendedAt = undefined;
    for (const entry of this.entries.values()) if (entry.answeredAt !== RUNNING) entry.answeredAt += paused;
    this.armSweep();
  }

  /** Forgets everything (the socket is gone for good). */
  clear(): void {
    this.sweep?.cancel();
    this.sweep = undefined;
    this.entries.clear();
    this.kept = 0;
  }

  /** Drops answers older than `maxAge`. */
  private expire(now: number): void {
    for (const entry of this.entries.values()) {
      if (entry.answeredAt === RUNNING) continue; // bounded by count only
      if (now - entry.answeredAt < this.maxAge) break;
      this.forget(entry.id);
    }
  }

  /**
   * One pending sweep per socket while it keeps answers, always of `maxAge` (the shared timeouts
   * keep one timer per distinct duration): an answer lives between `maxAge` and twice that.
   */
  private armSweep(): void {
    if (this.sweep !== undefined || this.suspendedAt !== undefined) return;
    this.sweep = this.schedule(this.maxAge, () => {
      this.sweep = undefined;
      this.expire(performance.now());
      for (const entry of this.entries.values()) if (entry.answeredAt !== RUNNING) return this.armSweep();
    });
  }

  private dropAnswer(entry: Entry): void {
    this.kept -= entry.bytes;
    entry.answer = undefined;
    entry.bytes = 0;
  }

  private forget(id: number): void {
    const entry = this.entries.get(id)!;
    this.kept -= entry.bytes;
    this.entries.delete(id);
  }
}

function sizeOf(parts: Parts): number {
  let n = 0;
  for (const part of parts) n += typeof part === 'string' ? part.length : part.byteLength;
  return n;
}
