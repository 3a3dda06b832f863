// Hub metrics, sampled once per second by one shared timer: connections, transports, namespaces and
// rooms, messages and bytes per second, memory and event-loop delay.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Socket as NetSocket } from 'node:net';
import type { Namespace, Server } from './server-impl.js';

export interface Rates { messagesIn: number; messagesOut: number; bytesIn: number; bytesOut: number }

export interface ClientInfo {
  id: string;
  nsp: string;
  transport: string;
  address: string;
  /** Connection time, ms since epoch. */
  since: number;
  nickname?: string;
}

/** One sample; what the dashboard receives every second. */
export interface MetricsSnapshot {
  time: number;
  uptimeSeconds: number;
  /** Engine.IO connections (one per browser tab or client, whatever the namespaces). */
  connections: number;
  transports: Record<string, number>;
  namespaces: { name: string; sockets: number; rooms: { name: string; size: number }[] }[];
  /** Per second over the last interval. */
  rates: Rates;
  totals: Rates;
  memory: { rss: number; heapUsed: number; heapTotal: number };
  eventLoopDelayMs: { mean: number; p99: number; max: number };
  /** Up to `maxClients` connected sockets, and how many there are in all. */
  clients: ClientInfo[];
  clientCount: number;
}

export interface MetricsOptions {
  intervalMs?: number;
  /** Samples kept for charts (default 60). */
  historySize?: number;
  /** Sockets listed per snapshot (default 100). */
  maxClients?: number;
}

/**
 * Counts traffic and samples the hub's state.
 *
 * @example
 * const metrics = new HubMetrics(io, [io.of('/'), io.of('/chat')]);
 * httpServer.on('connection', (s) => metrics.trackSocket(s));
 * metrics.start((snapshot) => io.of('/dashboard').emit('metrics', snapshot));
 */
export class HubMetrics {
  private readonly totals: Rates = { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 };
  private last: Rates = { ...this.totals };
  private readonly live = new Map<NetSocket, { read: number; written: number }>();
  private closedIn = 0;
  private closedOut = 0;
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly started = Date.now();
  private lastSampleAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly maxClients: number;
  private readonly historySize: number;
  /** The last samples, oldest first. */
  readonly history: MetricsSnapshot[] = [];

  constructor(private readonly io: Server, private readonly namespaces: Namespace[], options: MetricsOptions = {}) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.historySize = options.historySize ?? 60;
    this.maxClients = options.maxClients ?? 100;
    for (const nsp of namespaces) {
      nsp.on('connection', (socket) => {
        socket.onAny(() => { this.totals.messagesIn++; });
        socket.onAnyOutgoing(() => { this.totals.messagesOut++; });
      });
    }
  }

  /** Bytes are counted on the TCP sockets themselves: every transport, every header, nothing missed. */
  trackSocket(socket: NetSocket): void {
    this.live.set(socket, { read: 0, written: 0 });
    socket.once('close', () => {
      const seen = this.live.get(socket);
      if (!seen) return;
      this.closedIn += socket.bytesRead - seen.read;
      this.closedOut += socket.bytesWritten - seen.written;
      this.live.delete(socket);
    });
  }

  start(onSample: (snapshot: MetricsSnapshot) => void): void {
    this.loop.enable();
    this.lastSampleAt = Date.now();
    this.timer = setInterval(() => onSample(this.sample()), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.loop.disable();
  }

  /** Takes a sample now (also called by the timer). */
  sample(): MetricsSnapshot {
    const now = Date.now();
    const seconds = Math.max(now - this.lastSampleAt, 1) / 1000;
    this.lastSampleAt = now;

    let bytesIn = this.closedIn;
    let bytesOut = this.closedOut;
    this.closedIn = this.closedOut = 0;
    for (const [socket, seen] of this.live) {
      bytesIn += socket.bytesRead - seen.read;
      bytesOut += socket.bytesWritten - seen.written;
      seen.read = socket.bytesRead;
      seen.written = socket.bytesWritten;
    }
    this.totals.bytesIn += bytesIn;
    this.totals.bytesOut += bytesOut;
    const per = (key: keyof Rates) => Math.round(((this.totals[key] - this.last[key]) / seconds) * 10) / 10;
    const rates: Rates = { messagesIn: per('messagesIn'), messagesOut: per('messagesOut'), bytesIn: per('bytesIn'), bytesOut: per('bytesOut') };
    this.last = { ...this.totals };

    const transports: Record<string, number> = {};
    const seenConns = new Set<unknown>();
    const clients: ClientInfo[] = [];
    let clientCount = 0;
    const namespaces: MetricsSnapshot['namespaces'] = [];
    for (const nsp of this.namespaces) {
      const rooms: { name: string; size: number }[] = [];
      for (const [room, members] of nsp.adapter.rooms) {
        if (!nsp.sockets.has(room)) rooms.push({ name: room, size: members.size });
      }
      rooms.sort((a, b) => b.size - a.size || a.name.localeCompare(b.name));
      namespaces.push({ name: nsp.name, sockets: nsp.sockets.size, rooms: rooms.slice(0, 50) });
      for (const socket of nsp.sockets.values()) {
        const transport = socket.conn.transport.name;
        if (!seenConns.has(socket.conn)) {
          seenConns.add(socket.conn);
          transports[transport] = (transports[transport] ?? 0) + 1;
        }
        clientCount++;
        if (clients.length < this.maxClients) {
          const nickname = (socket.data as { nickname?: unknown } | undefined)?.nickname;
          clients.push({
            id: socket.id, nsp: nsp.name, transport, address: socket.handshake.address, since: socket.handshake.issued,
            ...(typeof nickname === 'string' ? { nickname } : {}),
          });
        }
      }
    }

    const memory = process.memoryUsage();
    const ms = (ns: number) => (Number.isFinite(ns) ? Math.round(ns / 1e4) / 100 : 0);
    const eventLoopDelayMs = { mean: ms(this.loop.mean), p99: ms(this.loop.percentile(99)), max: ms(this.loop.max) };
    this.loop.reset();

    const snapshot: MetricsSnapshot = {
      time: now,
      uptimeSeconds: Math.round((now - this.started) / 1000),
      connections: this.io.engine?.clientsCount ?? 0,
      transports,
      namespaces,
      rates,
      totals: { ...this.totals },
      memory: { rss: memory.rss, heapUsed: memory.heapUsed, heapTotal: memory.heapTotal },
      eventLoopDelayMs,
      clients,
      clientCount,
    };
    this.history.push(snapshot);
    if (this.history.length > this.historySize) this.history.shift();
    return snapshot;
  }
}
