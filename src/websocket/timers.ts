/**
 * Shared deadlines: one Node timer per distinct duration instead of one per connection.
 *
 * Every entry of a queue has the same duration, so insertion order is deadline order: the queue is
 * a doubly linked list and a single timer is armed for its head. Adding and cancelling are O(1).
 */

/** Something that wants to hear when its deadline passes. */
export interface DeadlineTarget {
  onDeadline(kind: number): void;
}

/** A pending deadline; pass it to {@link cancelDeadline}. */
export interface Deadline {
  readonly queue: DeadlineQueue;
  readonly target: DeadlineTarget;
  readonly kind: number;
  readonly at: number;
  prev: Deadline | null;
  next: Deadline | null;
  active: boolean;
}

class DeadlineQueue {
  private head: Deadline | null = null;
  private tail: Deadline | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly fire = (): void => this.expire();

  constructor(readonly duration: number) {}

  add(target: DeadlineTarget, kind: number): Deadline {
    const entry: Deadline = { queue: this, target, kind, at: Date.now() + this.duration, prev: this.tail, next: null, active: true };
    if (this.tail === null) this.head = entry;
    else this.tail.next = entry;
    this.tail = entry;
    if (this.timer === null) this.arm();
    return entry;
  }

  remove(entry: Deadline): void {
    if (!entry.active) return;
    entry.active = false;
    if (entry.prev === null) this.head = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next === null) this.tail = entry.prev;
    else entry.next.prev = entry.prev;
    entry.prev = entry.next = null;
    if (this.head === null && this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private arm(): void {
    const delay = Math.max(0, this.head!.at - Date.now());
    this.timer = setTimeout(this.fire, delay);
    this.timer.unref();
  }

  private expire(): void {
    this.timer = null;
    const now = Date.now();
    while (this.head !== null && this.head.at <= now) {
      const entry = this.head;
      this.remove(entry);
      entry.target.onDeadline(entry.kind);
    }
    if (this.head !== null && this.timer === null) this.arm();
  }
}

const queues = new Map<number, DeadlineQueue>();

/** Calls `target.onDeadline(kind)` after `ms` milliseconds unless cancelled. The timer never keeps the process alive. */
export function addDeadline(ms: number, target: DeadlineTarget, kind: number): Deadline {
  let queue = queues.get(ms);
  if (queue === undefined) queues.set(ms, (queue = new DeadlineQueue(ms)));
  return queue.add(target, kind);
}

/** Cancels a deadline (no-op if it already fired). */
export function cancelDeadline(entry: Deadline | null): void {
  if (entry !== null) (entry.queue as DeadlineQueue).remove(entry);
}
