/**
 * Redis pub/sub adapter: every node subscribes to one channel per namespace (and one response
 * channel of its own) and publishes broadcasts and cluster requests there. Pub/sub is at-most-once:
 * a node cannot publish while Redis is down, and what is published while a node's subscriber is
 * reconnecting (a Redis restart, a Cluster failover) never reaches it. Both are counted, by the
 * sender (`droppedMessages`) and by the receiver, which sees a gap in the sender's sequence numbers
 * (`missedMessages`), and reported as MESSAGES_LOST errors instead of being queued and delivered out
 * of order later. Use the streams adapter when nothing may be lost, or for connection state recovery.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { Server } from 'switchboard';
 * import { createAdapter } from 'switchboard/adapters/redis';
 *
 * const pubClient = createClient({ url: 'redis://127.0.0.1:6379' });
 * const subClient = pubClient.duplicate();
 * await Promise.all([pubClient.connect(), subClient.connect()]);
 * const io = new Server(httpServer, { adapter: createAdapter(pubClient, subClient, { key: 'chat' }) });
 * io.of('/').adapter.on('error', (err) => console.warn(err.code, err.message));
 * ```
 */
import type { Namespace } from '../../server/namespace.js';
import { ClusterAdapter, type ClusterAdapterOptions } from '../cluster-adapter.js';
import { CodecError } from '../codec.js';
import { type ClusterMessage, MessageType, decodeMessage } from '../envelope.js';
import { RedisAdapterError, toAdapterError } from './errors.js';
import type { BufferListener, RedisConnection, RedisPubSubClient, SocketIOFormatClient } from './redis-client.js';
import { SocketIOFormatAdapter } from './socketio-format.js';
import { randomBytes } from 'node:crypto';

export interface RedisAdapterOptions extends ClusterAdapterOptions {
  /** Prefix of every channel name; use one per application sharing a Redis. Default `'switchboard'`. */
  key?: string;
  /**
   * Sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7+): in Redis Cluster a channel lives on one shard
   * instead of being copied to every node of the Redis cluster. Default false.
   */
  sharded?: boolean;
  /**
   * The wire format. `'switchboard'` (default): switchboard's envelope, node heartbeats.
   * `'socket.io'`: `@socket.io/redis-adapter`'s channels and MessagePack messages, so socket.io
   * nodes and switchboard nodes share broadcasts, rooms and requests during a migration (the
   * clients must then be standalone node-redis clients; `key` defaults to `'socket.io'`, and
   * `sharded` and the heartbeat options do not apply).
   */
  format?: 'switchboard' | 'socket.io';
}

/** Resolves once `client` is ready (connecting it if nobody did); never rejects. */
export function whenReady(client: RedisConnection): Promise<void> {
  if (client.isReady !== false && client.isOpen) return Promise.resolve();
  return new Promise((resolve) => {
    // A standalone client says 'ready'; a cluster client says 'connect' once it knows its shards.
    const onReady = () => {
      if (client.isReady === false) return;
      client.off('ready', onReady);
      client.off('connect', onReady);
      resolve();
    };
    client.on('ready', onReady);
    client.on('connect', onReady);
    // node-redis reports failures through 'error' and keeps retrying; the caller listens for those.
    if (!client.isOpen) client.connect().catch(() => {});
  });
}

/**
 * Tracks whether Redis is reachable for a set of clients, reporting each outage once (node-redis
 * emits an error per failed reconnect attempt) and always listening for 'error' so a client
 * without listeners cannot crash the process.
 */
export class ConnectionWatch {
  private down = false;
  private readonly detach: (() => void)[] = [];

  constructor(
    clients: RedisConnection[],
    what: string,
    report: (err: RedisAdapterError) => void,
    onRecovered?: () => void,
  ) {
    for (const client of new Set(clients)) {
      const onError = (err: unknown) => {
        if (this.down) return;
        this.down = true;
        report(toAdapterError(err, what));
      };
      const onReady = () => {
        if (!this.down) return;
        this.down = false;
        onRecovered?.();
      };
      // A cluster client reports its nodes' connections with node-error / node-ready.
      for (const event of ['error', 'node-error'] as const) client.on(event, onError);
      for (const event of ['ready', 'node-ready'] as const) client.on(event, onReady);
      this.detach.push(() => {
        for (const event of ['error', 'node-error'] as const) client.off(event, onError);
        for (const event of ['ready', 'node-ready'] as const) client.off(event, onReady);
      });
    }
  }

  get isDown(): boolean {
    return this.down;
  }

  close(): void {
    for (const off of this.detach) off();
    this.detach.length = 0;
  }
}

/** Nodes whose numbering is followed (the oldest is forgotten first: nodes that never came back). */
const MAX_TRACKED_NODES = 1024;

/** MESSAGES_LOST for a message that could not be published (`count` so far in namespace `nsp`). */
export function droppedError(count: number, nsp: string, cause: unknown): RedisAdapterError {
  return new RedisAdapterError('MESSAGES_LOST', `Redis unreachable: messages to other nodes are being dropped (${count} so far in namespace "${nsp}")`, {
    cause,
  });
}

export class RedisPubSubAdapter extends ClusterAdapter {
  /** Messages to other nodes that could not be published (Redis unreachable). */
  droppedMessages = 0;
  /** Messages from other nodes that never arrived (gaps in their sequence numbers). */
  missedMessages = 0;
  /** Sequence number of this node's last message on the namespace channel (from 1; 0 = unnumbered). */
  private sequence = 0;
  /** The last sequence number seen from each other node. */
  private readonly lastSeen = new Map<string, number>();
  private readonly channel: string;
  private readonly responseChannel: string;
  private readonly sharded: boolean;
  private readonly watch: ConnectionWatch;
  private readonly listener: BufferListener = (message) => this.onRaw(message);

  constructor(
    nsp: Namespace<any, any, any, any>,
    private readonly pubClient: RedisPubSubClient,
    private readonly subClient: RedisPubSubClient,
    options: RedisAdapterOptions = {},
    uid?: string,
  ) {
    super(nsp, uid, options, RedisAdapterError);
    const key = options.key ?? 'switchboard';
    this.sharded = options.sharded ?? false;
    this.channel = `${key}#${nsp.name}#`;
    this.responseChannel = `${key}-response#${nsp.name}#${this.uid}#`;
    this.watch = new ConnectionWatch([pubClient, subClient], `Redis pub/sub adapter (namespace "${nsp.name}")`, (err) =>
      this.reportError(err),
    );
  }

  /** Subscribes, then announces this node. Never rejects: failures go to the `error` event. */
  override async init(): Promise<void> {
    try {
      await Promise.all([whenReady(this.pubClient), whenReady(this.subClient)]);
      const channels = [this.channel, this.responseChannel];
      if (this.sharded) {
        // Sharded channels may live on different shards: subscribe one by one.
        for (const c of channels) await this.subClient.sSubscribe(c, this.listener, true);
      } else {
        await this.subClient.subscribe(channels, this.listener, true);
      }
      this.startHeartbeat();
    } catch (err) {
      this.reportError(toAdapterError(err, `subscribing to ${this.channel}`));
    }
  }

  override close(): Promise<void> | void {
    const bye = super.close();
    const channels = [this.channel, this.responseChannel];
    const unsubscribe = this.sharded
      ? Promise.all(channels.map((c) => this.subClient.sUnsubscribe(c, this.listener, true)))
      : this.subClient.unsubscribe(channels, this.listener, true);
    return Promise.all([bye, unsubscribe])
      .catch(() => {})
      .then(() => this.watch.close());
  }

  protected publish(msg: ClusterMessage): Promise<undefined> {
    // Numbered on the shared channel only: responses go to one node's own channel.
    return this.send(this.channel, { ...msg, seq: ++this.sequence });
  }

  protected publishResponse(uid: string, msg: ClusterMessage): void {
    const channel = this.responseChannel.slice(0, -(this.uid.length + 1)) + uid + '#';
    void this.send(channel, msg);
  }

  private send(channel: string, msg: ClusterMessage): Promise<undefined> {
    const payload = this.encode(msg);
    if (!payload) return Promise.resolve(undefined);
    if (this.pubClient.isReady === false) {
      this.dropped(undefined);
      return Promise.resolve(undefined);
    }
    const sent = this.sharded ? this.pubClient.sPublish(channel, payload) : this.pubClient.publish(channel, payload);
    return sent.then(
      () => undefined,
      (err) => {
        this.dropped(err);
        return undefined;
      },
    );
  }

  private dropped(cause: unknown): void {
    this.reportError(droppedError(++this.droppedMessages, this.nsp.name, cause));
  }

  private onRaw(message: Buffer): void {
    let msg: ClusterMessage;
    try {
      msg = decodeMessage(message);
    } catch (err) {
      if (err instanceof CodecError) {
        this.reportError(new RedisAdapterError('BAD_MESSAGE', `undecodable message on ${this.channel}: ${err.message}`, { cause: err }));
        return;
      }
      throw err;
    }
    if (msg.uid !== this.uid) {
      // A node that said goodbye is forgotten; one that went silent is kept, as it may come back.
      if (msg.type === MessageType.BYE) this.lastSeen.delete(msg.uid);
      else if (msg.seq) this.checkSequence(msg.uid, msg.seq);
    }
    this.onMessage(msg);
  }

  /** A gap in a node's numbering is what this node missed while its subscription was down. */
  private checkSequence(uid: string, seq: number): void {
    const last = this.lastSeen.get(uid);
    if (last === undefined && this.lastSeen.size >= MAX_TRACKED_NODES) this.lastSeen.delete(this.lastSeen.keys().next().value!);
    this.lastSeen.set(uid, seq);
    if (last === undefined || seq <= last + 1) return;
    this.missedMessages += seq - last - 1;
    this.reportError(
      new RedisAdapterError(
        'MESSAGES_LOST',
        `${seq - last - 1} messages from node ${uid} never arrived (${this.missedMessages} missed so far in namespace "${this.nsp.name}"): the subscription was down`,
      ),
    );
  }

}

/** A constructor the server's `adapter` option accepts. */
export type AdapterConstructor = new (nsp: Namespace<any, any, any, any>) => ClusterAdapter | SocketIOFormatAdapter;

/**
 * The pub/sub adapter for `new Server({ adapter })`. `subClient` must be a separate connection
 * (a subscribed connection cannot run other commands): `pubClient.duplicate()`.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { Server } from 'switchboard';
 * import { createAdapter } from 'switchboard/adapters/redis';
 *
 * const pub = createClient({ url: 'redis://127.0.0.1:6379' });
 * const sub = pub.duplicate();
 * await Promise.all([pub.connect(), sub.connect()]);
 * const io = new Server(3000, { adapter: createAdapter(pub, sub, { sharded: false }) });
 * io.to('room:lobby').emit('news', 'reaches the lobby on every node');
 * ```
 */
export function createAdapter(
  pubClient: RedisPubSubClient,
  subClient: RedisPubSubClient,
  options: RedisAdapterOptions = {},
): AdapterConstructor {
  if (options.format === 'socket.io') {
    if (options.sharded) throw new TypeError("createAdapter: format 'socket.io' speaks @socket.io/redis-adapter's classic pub/sub, not sharded pub/sub");
    const uid = randomBytes(6).toString('base64url');
    const clients = [pubClient, subClient] as SocketIOFormatClient[];
    if (clients.some((c) => typeof c.pSubscribe !== 'function' || typeof c.sendCommand !== 'function')) {
      throw new TypeError("createAdapter: format 'socket.io' needs standalone node-redis clients (createClient), with pSubscribe and sendCommand");
    }
    return class extends SocketIOFormatAdapter {
      constructor(nsp: Namespace<any, any, any, any>) {
        super(nsp, clients[0]!, clients[1]!, options, uid);
      }
    };
  }
  const uid = randomBytes(8).toString('base64url');
  return class extends RedisPubSubAdapter {
    constructor(nsp: Namespace<any, any, any, any>) {
      super(nsp, pubClient, subClient, options, uid);
    }
  };
}
