/**
 * Server heartbeat: one timer for all connections of a server (never one per connection).
 * Every `interval` ms each open connection gets a ping; a connection whose previous ping is still
 * unanswered `timeout` ms after it went out is terminated.
 */
import type { WebSocket } from './websocket.js';

/** Heartbeat settings of {@link WebSocketServer}. */
export interface HeartbeatOptions {
  /** Milliseconds between pings. */
  interval: number;
  /** Milliseconds a peer has to answer a ping (at most `interval`). Default: `interval`. */
  timeout?: number;
}

/** Drives pings for a set of connections with at most two shared timers. */
export class Heartbeat {
  private readonly interval: number;
  private readonly timeout: number;
  private ticker: NodeJS.Timeout | null = null;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(options: HeartbeatOptions, private readonly clients: () => Iterable<WebSocket>) {
    if (!(options.interval > 0)) throw new RangeError('heartbeat.interval must be a positive number');
    this.interval = options.interval;
    this.timeout = Math.min(options.timeout ?? options.interval, options.interval);
    if (!(this.timeout > 0)) throw new RangeError('heartbeat.timeout must be a positive number');
  }

  start(): void {
    if (this.ticker !== null) return;
    this.ticker = setInterval(() => this.tick(), this.interval);
    this.ticker.unref();
  }

  stop(): void {
    if (this.ticker !== null) clearInterval(this.ticker);
    if (this.sweeper !== null) clearTimeout(this.sweeper);
    this.ticker = this.sweeper = null;
  }

  private tick(): void {
    if (this.timeout === this.interval) this.sweep();
    for (const ws of this.clients()) {
      if (ws.readyState !== 1 || ws._pingPending) continue;
      ws._pingPending = true;
      ws.ping();
    }
    if (this.timeout < this.interval && this.sweeper === null) {
      this.sweeper = setTimeout(() => {
        this.sweeper = null;
        this.sweep();
      }, this.timeout);
      this.sweeper.unref();
    }
  }

  private sweep(): void {
    for (const ws of this.clients()) {
      if (ws._pingPending) ws.terminate();
    }
  }
}
