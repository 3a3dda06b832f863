/**
 * A session router for the engine that keeps where each node answers in Redis: every node writes
 * `<key>:node:<nodeId>` = its address with an expiry it keeps refreshing, and reads the others'
 * on first need, then from its cache. Forwarding itself is done by the engine, node to node over
 * HTTP; Redis is only asked where a node is, not carries any request.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SessionRouter } from '../../engine/session-router.js';
import { RedisAdapterError } from './errors.js';
import type { RedisConnection } from './redis-client.js';

/** The slice of a node-redis client the router uses. */
export interface RedisRouterClient extends RedisConnection {
  /** Sends a command (SET, GET, DEL) and resolves with its reply. */
  sendCommand(args: ReadonlyArray<string | Buffer>): Promise<unknown>;
}

/** Options of {@link createSessionRouter}. */
export interface SessionRouterOptions {
  /**
   * Where the other nodes reach this one: `http://host:port` (the engine's HTTP server, on a
   * network the nodes share), or a function giving it once the server listens. Default: the
   * address the HTTP server listens on, when that is a concrete address (not `0.0.0.0` or `::`).
   */
  address?: string | (() => string);
  /** Prefix of the Redis keys; one per application sharing a Redis (default `'switchboard'`). */
  key?: string;
  /** This node's id (default: 12 random characters). Letters, digits, `_` and `-`. */
  nodeId?: string;
  /** How long a node's address outlives its last refresh (ms, default 15000); refreshed every third of it. */
  ttl?: number;
  /** How long a new session waits for this node to be registered before it is refused (ms, default 5000). */
  registerTimeout?: number;
}

export interface SessionRouterEvents {
  error: [error: RedisAdapterError];
}

const MAX_CACHED_NODES = 1024;

/** Keeps node addresses in Redis for {@link SessionRouter}. Create it with {@link createSessionRouter}. */
export class RedisSessionRouter extends EventEmitter<SessionRouterEvents> implements SessionRouter {
  readonly nodeId: string;
  private readonly keyPrefix: string;
  private readonly ttl: number;
  private readonly registerTimeout: number;
  private address: string | undefined;
  private registration: Promise<void> | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly cache = new Map<string, string>();
  private readonly lookups = new Map<string, Promise<string | undefined>>();
  private closed = false;
  /** A failing refresh is reported once, not at every retry, until one succeeds again. */
  private refreshFailing = false;
  private readonly onClientError = () => {}; // outages are reported through this router's `error` event

  constructor(
    private readonly client: RedisRouterClient,
    private readonly options: SessionRouterOptions = {},
  ) {
    super();
    this.nodeId = options.nodeId ?? randomBytes(9).toString('base64url');
    this.keyPrefix = `${options.key ?? 'switchboard'}:node:`;
    this.ttl = options.ttl ?? 15_000;
    this.registerTimeout = options.registerTimeout ?? 5000;
    client.on('error', this.onClientError);
  }

  /** Registers this node once (and keeps it registered); later calls return the same promise. */
  register(engine: { readonly httpServer?: HttpServer | undefined }): Promise<void> {
    if (this.registration) return this.registration;
    const registration = this.start(engine);
    this.registration = registration;
    // A failed first registration is retried by the next session, not remembered.
    registration.catch(() => {
      if (this.registration === registration) this.registration = undefined;
    });
    return registration;
  }

  async locate(nodeId: string): Promise<string | undefined> {
    const cached = this.cache.get(nodeId);
    if (cached !== undefined) return cached;
    // Concurrent requests for one unknown node share one GET.
    let lookup = this.lookups.get(nodeId);
    if (!lookup) {
      lookup = this.lookup(nodeId).finally(() => this.lookups.delete(nodeId));
      this.lookups.set(nodeId, lookup);
    }
    return lookup;
  }

  forget(nodeId: string, address: string): void {
    if (this.cache.get(nodeId) === address) this.cache.delete(nodeId);
  }

  /** Stops refreshing and removes this node's address (it ends with the server). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.refreshTimer);
    if (this.address !== undefined && this.client.isReady) {
      this.client.sendCommand(['DEL', this.keyPrefix + this.nodeId]).catch(() => {});
    }
    this.client.off('error', this.onClientError);
  }

  private async start(engine: { readonly httpServer?: HttpServer | undefined }): Promise<void> {
    this.address ??= resolveAddress(this.options.address, engine.httpServer);
    if (!this.client.isOpen) await this.client.connect();
    await withTimeout(this.announce(), this.registerTimeout, () =>
      this.report('REDIS_UNREACHABLE', `could not register node ${this.nodeId} in Redis within ${this.registerTimeout} ms`),
    );
    if (this.refreshTimer === undefined && !this.closed) {
      this.refreshTimer = setInterval(() => {
        this.announce().then(
          () => (this.refreshFailing = false),
          (err) => {
            if (this.refreshFailing || this.closed) return;
            this.refreshFailing = true;
            this.report('REDIS_UNREACHABLE', `could not refresh node ${this.nodeId} in Redis (other nodes forget it after ${this.ttl} ms): ${err?.message}`, err);
          },
        );
      }, Math.max(1, Math.floor(this.ttl / 3)));
      this.refreshTimer.unref();
    }
  }

  private async announce(): Promise<void> {
    await this.client.sendCommand(['SET', this.keyPrefix + this.nodeId, this.address!, 'PX', String(this.ttl)]);
  }

  private async lookup(nodeId: string): Promise<string | undefined> {
    const reply = await this.client.sendCommand(['GET', this.keyPrefix + nodeId]);
    if (reply === null || reply === undefined) return undefined;
    const address = String(reply);
    if (this.cache.size >= MAX_CACHED_NODES) this.cache.clear();
    this.cache.set(nodeId, address);
    return address;
  }

  private report(code: 'REDIS_UNREACHABLE' | 'REDIS_COMMAND_FAILED', message: string, cause?: unknown): RedisAdapterError {
    const error = new RedisAdapterError(code, message, { cause });
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else process.emitWarning(`${message} (listen to the session router's "error" event to handle it)`, { code });
    return error;
  }
}

/**
 * A session router backed by Redis, for the engine option `sessionRouter`: any node then serves
 * any request of any session, so a load balancer needs no sticky sessions. Give it a node-redis
 * client (it may be the one the adapter publishes with); the router connects it if needed.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createClient } from 'redis';
 * import { Server } from 'switchboard';
 * import { createStreamsAdapter, createSessionRouter } from 'switchboard/adapters/redis';
 *
 * const redis = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
 * redis.on('error', () => {});
 * await redis.connect();
 * const httpServer = createServer();
 * const io = new Server(httpServer, {
 *   adapter: createStreamsAdapter(redis),
 *   sessionRouter: createSessionRouter(redis, { address: 'http://127.0.0.1:3101' }),
 * });
 * httpServer.listen(3101, '127.0.0.1');
 * io.close();
 * ```
 */
export function createSessionRouter(client: RedisRouterClient, options: SessionRouterOptions = {}): RedisSessionRouter {
  return new RedisSessionRouter(client, options);
}

function resolveAddress(option: SessionRouterOptions['address'], httpServer: HttpServer | undefined): string {
  const given = typeof option === 'function' ? option() : option;
  const address = given ?? listeningAddress(httpServer);
  const url = new URL(address); // throws on a malformed address: better at the first session than never
  if (url.protocol !== 'http:') throw new TypeError(`session router address must be http://host:port, got ${address}`);
  return `http://${url.host}`;
}

function listeningAddress(httpServer: HttpServer | undefined): string {
  const info = httpServer?.address() as AddressInfo | string | null | undefined;
  if (!info || typeof info === 'string') {
    throw new TypeError('session router: the HTTP server does not listen on a TCP port yet; pass `address`');
  }
  if (info.address === '0.0.0.0' || info.address === '::') {
    throw new TypeError(`session router: the HTTP server listens on every interface (${info.address}); pass \`address\`, the one other nodes reach`);
  }
  return info.family === 'IPv6' ? `http://[${info.address}]:${info.port}` : `http://${info.address}:${info.port}`;
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (err) => (clearTimeout(timer), reject(err)),
    );
  });
}
