// The hub behind `switchboard serve`: one HTTP server carrying the Socket.IO endpoint, the demo chat
// (`/` page, `/chat` namespace), the dashboard (`/dashboard` page and namespace) and a relay on `/`.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { setupWorker } from '../adapters/cluster.js';
import { attachChat, type ChatLimits, DEFAULT_CHAT_LIMITS } from './chat.js';
import { type Logger } from './log.js';
import { HubMetrics, type MetricsSnapshot } from './metrics.js';
import { attachRelay } from './relay.js';
import { browserClient, Server, type Namespace, type Socket } from './server-impl.js';
import { StaticPages } from './static.js';
import type { AdapterFactory } from './adapter-impl.js';
import { VERSION } from '../version.js';

export type AdapterKind = 'memory' | 'redis' | 'redis-streams' | 'cluster';

/** Where the redis adapters look for Redis when no URL is given. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface HubOptions {
  /** TCP port; 0 picks a free one (default 3000). */
  port?: number;
  /** Interface to bind (default 127.0.0.1: reachable from this machine only). */
  host?: string;
  /** Socket.IO endpoint path (default `/socket.io`). */
  path?: string;
  /** Browser origins allowed besides the hub's own pages; `*` allows any. Closed by default. */
  corsOrigins?: string[];
  adapter?: AdapterKind;
  /** Redis URL for the redis adapters (default {@link DEFAULT_REDIS_URL}). */
  redisUrl?: string;
  /** Token the dashboard must present; a random one is generated when absent. */
  dashboardToken?: string;
  /** Directory holding index.html, dashboard.html and their assets. */
  publicDir: string;
  logger: Logger;
  /** Metrics sampling period (default 1000 ms). */
  metricsIntervalMs?: number;
  /** Engine.IO heartbeat (defaults 25000 / 20000 ms); short values keep tests fast. */
  pingInterval?: number;
  pingTimeout?: number;
  chatLimits?: Partial<ChatLimits>;
  /**
   * Proxies to believe about the client address (logs, dashboard, per-client limits): `false`
   * (default), `true`, a hop count, or addresses/CIDR ranges, as the Server's `trustProxy`.
   */
  trustProxy?: boolean | number | string[];
  /** A node:cluster worker of `serve --workers`: takes connections from the primary, which listens on `port`. */
  worker?: boolean;
  /** PEM certificate (chain) and private key: the hub serves https:// and wss:// instead of http://. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

/** A running hub. */
export interface Hub {
  /** `http://host:port` (`https://` with TLS) as a browser on this machine would reach it. */
  readonly url: string;
  readonly port: number;
  readonly dashboardToken: string;
  readonly io: Server;
  readonly http: HttpServer;
  readonly metrics: HubMetrics;
  /** Disconnects every client with a proper close, stops the HTTP server, closes Redis. Idempotent. */
  close(): Promise<void>;
}

/** A startup failure with a message fit for the terminal (port in use, Redis unreachable, ...). */
export class HubError extends Error {
  constructor(readonly code: 'EADDRINUSE' | 'EACCES' | 'LISTEN' | 'REDIS' | 'ADAPTER', message: string) {
    super(message);
    this.name = 'HubError';
  }
}

/**
 * Starts a hub and resolves once it listens.
 *
 * @example
 * const hub = await startHub({ port: 0, publicDir, logger: new Logger('text') });
 * console.log(hub.url, hub.dashboardToken);
 * await hub.close();
 */
export async function startHub(options: HubOptions): Promise<Hub> {
  const log = options.logger;
  const path = normalizePath(options.path ?? '/socket.io');
  const host = options.host ?? '127.0.0.1';
  const corsOrigins = options.corsOrigins ?? [];
  const dashboardToken = options.dashboardToken || randomBytes(18).toString('base64url');
  const client = browserClient(path);
  const pages = new StaticPages(options.publicDir, {
    CLIENT_SRC: client.src, CLIENT_GLOBAL: client.global, SOCKET_PATH: path, VERSION,
  });

  const redis = await connectAdapter(options.adapter ?? 'memory', options.redisUrl ?? DEFAULT_REDIS_URL, log);

  const handler = (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    if (res.headersSent || res.writableEnded) return;
    if (pages.handle(req, res)) return;
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' }).end('not found\n');
  };
  // An https.Server is an http.Server on TLS sockets: the engine, static pages and metrics take either.
  const http = (options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler) : createServer(handler)) as HttpServer;
  http.on('clientError', (_err, socket) => { socket.destroy(); });

  const io = new Server(http, {
    path,
    serveClient: true,
    ...(corsOrigins.length ? { cors: { origin: corsOrigins.includes('*') ? '*' : corsOrigins } } : {}),
    ...(redis ? { adapter: redis.adapter } : {}),
    ...(options.pingInterval ? { pingInterval: options.pingInterval } : {}),
    ...(options.pingTimeout ? { pingTimeout: options.pingTimeout } : {}),
    ...(options.trustProxy ? { trustProxy: options.trustProxy } : {}),
    // WebSocket is not covered by CORS: refuse cross-site browsers here too (cross-site WebSocket hijacking).
    allowRequest: (req, done) => {
      if (originAllowed(req, corsOrigins)) done(null, true);
      else done('origin not allowed', false);
    },
  });

  const onError = (err: unknown, event: string) =>
    log.error('handler-error', { event, error: err instanceof Error ? err.message : String(err) });
  const relay = io.of('/');
  const chat = io.of('/chat');
  const dashboard = io.of('/dashboard');
  attachRelay(relay, onError);
  const chatApp = attachChat(chat, onError, { ...DEFAULT_CHAT_LIMITS, ...options.chatLimits });

  const expected = createHash('sha256').update(dashboardToken).digest();
  dashboard.use((socket, next) => {
    const token = socket.handshake.auth?.token;
    const given = createHash('sha256').update(typeof token === 'string' ? token : '').digest();
    if (timingSafeEqual(given, expected)) return next();
    log.warn('dashboard-denied', { address: socket.handshake.address });
    next(Object.assign(new Error('invalid dashboard token'), { data: { code: 'INVALID_TOKEN' } }));
  });

  for (const nsp of [relay, chat, dashboard]) logConnections(nsp, log);

  const metrics = new HubMetrics(io, [relay, chat, dashboard], { intervalMs: options.metricsIntervalMs ?? 1000 });
  http.on('connection', (socket) => metrics.trackSocket(socket));
  dashboard.on('connection', (socket) => {
    socket.emit('hello', {
      version: VERSION, adapter: options.adapter ?? 'memory', path, startedAt: Date.now() - process.uptime() * 1000,
      series: metrics.history.map(seriesPoint),
    });
  });
  metrics.start((snapshot) => { if (dashboard.sockets.size > 0) dashboard.emit('metrics', snapshot); });

  try {
    if (options.worker) setupWorker(http, io);
    else await listen(http, options.port ?? 3000, host);
  } catch (err) {
    metrics.stop();
    io.close();
    await redis?.close();
    throw err;
  }
  const port = options.worker ? options.port ?? 3000 : (http.address() as AddressInfo).port;
  const url = `${options.tls ? 'https' : 'http'}://${displayHost(host)}:${port}`;

  let closing: Promise<void> | undefined;
  const close = () => (closing ??= (async () => {
    metrics.stop();
    chatApp.stop();
    await new Promise<void>((resolve) => {
      io.close(() => resolve());
      http.closeAllConnections();
    });
    await redis?.close();
  })());

  return { url, port, dashboardToken, io, http, metrics, close };
}

/** The compact per-second point the dashboard's charts need. */
export function seriesPoint(s: MetricsSnapshot) {
  return { time: s.time, connections: s.connections, rates: s.rates, heapUsed: s.memory.heapUsed, rss: s.memory.rss, loopP99: s.eventLoopDelayMs.p99 };
}

function logConnections(nsp: Namespace, log: Logger): void {
  nsp.on('connection', (socket: Socket) => {
    const base = { id: socket.id, nsp: nsp.name, address: socket.handshake.address };
    log.info('connect', { ...base, transport: socket.conn.transport.name });
    socket.conn.once('upgrade', () => log.info('upgrade', { ...base, transport: socket.conn.transport.name }));
    socket.once('disconnect', (reason: string) => log.info('disconnect', { ...base, transport: socket.conn.transport.name, reason }));
  });
}

/** Same-origin pages, configured origins and non-browser clients (no Origin header) are allowed. */
export function originAllowed(req: IncomingMessage, corsOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (corsOrigins.includes('*') || corsOrigins.includes(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function normalizePath(path: string): string {
  const p = `/${path.replace(/^\/+|\/+$/g, '')}`;
  if (p === '/' || !/^\/[\w./-]+$/.test(p) || p.includes('..')) throw new HubError('LISTEN', `invalid --path "${path}": use something like /socket.io`);
  return p;
}

export function displayHost(host: string): string {
  if (['0.0.0.0', '::', '127.0.0.1', '::1', 'localhost'].includes(host)) return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

export function listen(http: NetServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      http.off('listening', onListening);
      if (err.code === 'EADDRINUSE') reject(new HubError('EADDRINUSE', `port ${port} is already in use on ${host}; choose another with --port`));
      else if (err.code === 'EACCES') reject(new HubError('EACCES', `no permission to listen on port ${port}; use a port above 1023`));
      else reject(new HubError('LISTEN', `cannot listen on ${host}:${port}: ${err.message}`));
    };
    const onListening = () => { http.off('error', onError); resolve(); };
    http.once('error', onError);
    http.once('listening', onListening);
    http.listen(port, host);
  });
}

interface RedisSetup { adapter: AdapterFactory; close(): Promise<void> }

/** Connects to Redis up front so a wrong URL fails at startup with a clear message, not later. */
async function connectAdapter(kind: AdapterKind, url: string, log: Logger): Promise<RedisSetup | undefined> {
  if (kind === 'memory') return undefined;
  if (kind === 'cluster') return { adapter: await (await import('./adapter-impl.js')).clusterAdapter(), close: async () => {} };
  let redis: typeof import('redis');
  try {
    redis = await import('redis');
  } catch {
    throw new HubError('ADAPTER', `--adapter ${kind} needs the optional dependency "redis" (npm install redis)`);
  }
  const impl = await import('./adapter-impl.js');
  let ready = false;
  const make = () => {
    const c = redis.createClient({
      url,
      socket: {
        connectTimeout: 3000,
        // Fail fast at startup; once running, ride out Redis restarts.
        reconnectStrategy: (retries: number, cause: Error) => (ready ? Math.min(50 * 2 ** retries, 3000) : cause),
      },
    });
    c.on('error', (err: Error) => { if (ready) log.warn('redis-error', { error: err.message }); });
    return c;
  };
  const clients = kind === 'redis' ? [make(), make()] : [make()];
  try {
    await Promise.all(clients.map((c) => c.connect()));
  } catch (err) {
    await Promise.allSettled(clients.map((c) => c.destroy()));
    const reason = err instanceof Error ? (err.message || (err as NodeJS.ErrnoException).code || err.name) : String(err);
    throw new HubError('REDIS', `cannot reach Redis at ${redactUrl(url)}: ${reason}`);
  }
  ready = true;
  const adapter = kind === 'redis' ? await impl.pubSubAdapter(clients[0], clients[1]) : await impl.streamsAdapter(clients[0]);
  return {
    adapter,
    close: async () => { ready = false; await Promise.allSettled(clients.map((c) => c.close())); },
  };
}

/** Never print a Redis password. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}
