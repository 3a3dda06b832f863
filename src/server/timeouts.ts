/**
 * Shared timeouts: one timer per distinct duration instead of one per connection or per ack.
 * Entries of equal duration expire in insertion order, so each queue only watches its head.
 */
import { performance } from 'node:perf_hooks';

export interface TimeoutHandle {
  cancel(): void;
}

interface Entry extends TimeoutHandle {
  deadline: number;
  fn: () => void;
}

class Queue {
  readonly entries = new Set<Entry>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private firing = false;

  constructor(
    private readonly owner: Timeouts,
    readonly ms: number,
  ) {}

  add(fn: () => void): Entry {
    const entries = this.entries;
    const entry: Entry = {
      deadline: performance.now() + this.ms,
      fn,
      cancel: () => {
        entries.delete(entry);
      },
    };
    entries.add(entry);
    if (!this.timer && !this.firing) this.arm(this.ms);
    return entry;
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.entries.clear();
  }

  private arm(delay: number): void {
    this.timer = setTimeout(() => this.fire(), Math.max(0, delay));
    this.timer.unref?.();
  }

  private fire(): void {
    this.timer = undefined;
    this.firing = true;
    const now = performance.now();
    try {
      for (const entry of this.entries) {
        if (entry.deadline > now) break;
        this.entries.delete(entry);
        entry.fn();
      }
    } finally {
      // Also reached when a callback throws: the rest still get their timer.
      this.firing = false;
      const head = this.entries.values().next();
      if (!head.done) this.arm(head.value.deadline - performance.now());
      else this.owner.forget(this);
    }
  }
}

export class Timeouts {
  private readonly queues = new Map<number, Queue>();

  /** Calls `fn` after about `ms` milliseconds unless the returned handle is cancelled first. */
  schedule(ms: number, fn: () => void): TimeoutHandle {
    const key = Math.max(0, Math.round(ms));
    let queue = this.queues.get(key);
    if (!queue) this.queues.set(key, (queue = new Queue(this, key)));
    return queue.add(fn);
  }

  /** Cancels everything (server shutdown). */
  clear(): void {
    for (const queue of this.queues.values()) queue.clear();
    this.queues.clear();
  }

  /** @internal */
  forget(queue: Queue): void {
    if (this.queues.get(queue.ms) === queue) this.queues.delete(queue.ms);
  }
}
