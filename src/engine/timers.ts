/**
 * Shared timers. Every engine deadline of one kind has the same delay (ping interval, ping
 * timeout, upgrade timeout, close timeout), so deadlines added in time order also expire in
 * that order: a FIFO list with ONE Node timer armed for its head serves every session. Adding
 * and removing are O(1) and no per-session timer objects exist.
 */

import { performance } from 'node:perf_hooks';

/** A slot one owner puts into at most one queue at a time; reused for the owner's whole life. */
export class TimerEntry<T> {
  /** @internal */ due = 0;
  /** @internal */ prev: TimerEntry<T> | null = null;
  /** @internal */ next: TimerEntry<T> | null = null;
  /** @internal */ queue: DelayQueue<T> | null = null;
  constructor(readonly owner: T) {}

  /** Removes the entry from whichever queue holds it. */
  cancel(): void {
    this.queue?.delete(this);
  }

  get scheduled(): boolean {
    return this.queue !== null;
  }
}

/** Entries that all expire `delay` ms after being added; `onExpire` runs for each in order. */
export class DelayQueue<T> {
  private head: TimerEntry<T> | null = null;
  private tail: TimerEntry<T> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private firing = false;
  readonly delay: number;

  constructor(delay: number, private readonly onExpire: (owner: T) => void) {
    this.delay = Math.max(1, delay);
  }

  /** (Re)schedules the entry to expire `delay` ms from now. */
  add(entry: TimerEntry<T>): void {
    if (entry.queue) entry.queue.delete(entry);
    // A whole number of ms: a small integer in the entry, not a 16-byte heap number per session
    // (until the process has run for 2^31 ms, about 24 days). Rounded up: never early.
    entry.due = Math.ceil(performance.now() + this.delay);
    entry.queue = this;
    entry.prev = this.tail;
    entry.next = null;
    if (this.tail) this.tail.next = entry;
    else this.head = entry;
    this.tail = entry;
    if (this.timer === null && !this.firing) this.arm(this.head!.due);
  }

  delete(entry: TimerEntry<T>): void {
    if (entry.queue !== this) return;
    if (entry.prev) entry.prev.next = entry.next;
    else this.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.tail = entry.prev;
    entry.prev = entry.next = null;
    entry.queue = null;
    // An early wake-up with nothing due just re-arms, so the timer is left alone here,
    // except when the queue is now empty.
    if (this.head === null && this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /** Drops every entry without running anything (server shutdown). */
  clear(): void {
    while (this.head) this.delete(this.head);
  }

  private arm(due: number): void {
    this.timer = setTimeout(this.fire, Math.max(0, Math.ceil(due - performance.now())));
    this.timer.unref?.();
  }

  private readonly fire = (): void => {
    this.timer = null;
    this.firing = true;
    const now = performance.now() + 1; // timers may wake a fraction of a millisecond early
    try {
      let entry = this.head;
      while (entry && entry.due <= now) {
        this.delete(entry);
        this.onExpire(entry.owner);
        entry = this.head;
      }
    } finally {
      this.firing = false;
      if (this.head && this.timer === null) this.arm(this.head.due);
    }
  };
}
