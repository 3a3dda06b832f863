/**
 * The slice of node-redis (`redis` v5+ / `@redis/client`) the adapters use, typed structurally so
 * standalone clients, cluster clients (pub/sub only) and clients with modules all fit.
 *
 * Why node-redis: it is the client Redis Ltd. maintains, it speaks RESP2 and RESP3, supports
 * sharded pub/sub (SSUBSCRIBE/SPUBLISH) and Redis Cluster, reconnects on its own with
 * re-subscription, queues commands while offline, returns Buffers on request (`typeMapping`),
 * and ships its own types. ioredis is in maintenance mode and not installed.
 */
import { RESP_TYPES } from 'redis';

/** Asks node-redis to return bulk strings as Buffers (stream fields carry binary envelopes). */
export const BUFFER_REPLIES = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } } as const;

export type BufferListener = (message: Buffer, channel: Buffer) => unknown;

/** Connection events; a cluster client reports each of its nodes with `node-error` and `node-ready`. */
export type ConnectionEvent = 'error' | 'ready' | 'end' | 'connect' | 'reconnecting' | 'node-error' | 'node-ready';

/** Connection management every adapter needs. */
export interface RedisConnection {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  /** Opens the connection (the adapters call it only if the client is not open yet). */
  connect(): Promise<unknown>;
  /** Listens to the client's connection events. */
  on(event: ConnectionEvent, listener: (...args: any[]) => void): unknown;
  /** Removes a listener added with `on`. */
  off(event: ConnectionEvent, listener: (...args: any[]) => void): unknown;
}

/** A client the pub/sub adapter publishes with and subscribes through (node-redis client or cluster). */
export interface RedisPubSubClient extends RedisConnection {
  /** PUBLISH */
  publish(channel: string, message: Buffer): Promise<unknown>;
  /** SPUBLISH (sharded pub/sub, Redis 7). */
  sPublish(channel: string, message: Buffer): Promise<unknown>;
  /** SUBSCRIBE, with messages delivered as buffers. */
  subscribe(channels: string | string[], listener: BufferListener, bufferMode: true): Promise<unknown>;
  /** UNSUBSCRIBE */
  unsubscribe(channels: string | string[], listener: (...args: any[]) => unknown, bufferMode: true): Promise<unknown>;
  /** SSUBSCRIBE (sharded pub/sub, Redis 7), with messages delivered as buffers. */
  sSubscribe(channels: string | string[], listener: BufferListener, bufferMode: true): Promise<unknown>;
  /** SUNSUBSCRIBE (the listener is typed loosely: node-redis' cluster client declares it for strings or buffers). */
  sUnsubscribe(channels: string | string[], listener: (...args: any[]) => unknown, bufferMode: true): Promise<unknown>;
}

/**
 * What the socket.io wire format needs on top of pub/sub: pattern subscriptions (socket.io publishes
 * a broadcast to one room on that room's channel) and PUBSUB NUMSUB (its way of counting nodes).
 * A standalone node-redis client (`createClient`) has all of it.
 */
export interface SocketIOFormatClient extends RedisPubSubClient {
  /** PSUBSCRIBE, with messages delivered as buffers (the listener also gets the channel). */
  pSubscribe(patterns: string | string[], listener: BufferListener, bufferMode: true): Promise<unknown>;
  /** PUNSUBSCRIBE */
  pUnsubscribe(patterns: string | string[], listener: (...args: any[]) => unknown, bufferMode: true): Promise<unknown>;
  /** Sends any command (PUBSUB NUMSUB) and resolves with its reply. */
  sendCommand(args: ReadonlyArray<string | Buffer>): Promise<unknown>;
}

/** A standalone node-redis client the streams adapter runs commands on. */
export interface RedisCommandClient extends RedisConnection {
  /** Sends any command (XADD, XRANGE, ...) and resolves with its reply. */
  sendCommand(args: ReadonlyArray<string | Buffer>, options?: { typeMapping?: object }): Promise<unknown>;
  /** A new client with the same options (the stream reader needs its own connection: XREAD BLOCK). */
  duplicate(): RedisCommandClient;
  /** Closes the connection at once, pending commands included. */
  destroy(): void;
}

/**
 * A node-redis Redis Cluster client (`createCluster`), as far as the streams adapter uses it: its
 * `sendCommand` takes the key that picks the shard.
 */
export interface RedisClusterCommandClient extends RedisConnection {
  /** The masters of the cluster (only used to tell a cluster client from a standalone one). */
  readonly masters: unknown;
  /** Sends a command to the master serving `firstKey`'s slot. */
  sendCommand(firstKey: string | Buffer | undefined, isReadonly: boolean | undefined, args: ReadonlyArray<string | Buffer>, options?: { typeMapping?: object }): Promise<unknown>;
  /** A second client to the same cluster (the adapters subscribe on their own connection). */
  duplicate(): RedisClusterCommandClient;
  /** Closes the client at once. */
  destroy(): void;
}

export function isClusterClient(client: RedisCommandClient | RedisClusterCommandClient): client is RedisClusterCommandClient {
  return Array.isArray((client as RedisClusterCommandClient).masters);
}

/**
 * The key's hash tag (Redis Cluster specification, "hash tags"): the text between the first `{`
 * and the first `}` after it, when not empty; only that part picks the slot.
 */
export function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/**
 * A cluster client seen as a standalone one: every command goes to the shard of `routingKey`. The
 * streams adapter's keys (stream, sessions) share one hash tag, so they all live on that shard.
 */
export function clusterCommandClient(cluster: RedisClusterCommandClient, routingKey: string): RedisCommandClient {
  return {
    get isOpen() {
      return cluster.isOpen;
    },
    get isReady() {
      return cluster.isReady;
    },
    connect: () => cluster.connect(),
    on: (event, listener) => cluster.on(event, listener),
    off: (event, listener) => cluster.off(event, listener),
    sendCommand: (args, options) => cluster.sendCommand(routingKey, false, args, options),
    duplicate: () => clusterCommandClient(cluster.duplicate(), routingKey),
    destroy: () => cluster.destroy(),
  };
}

/** Turns a RESP3 map, a `Map`, or a RESP2 flat `[k, v, k, v]` array into a lookup function. */
export function readMap(reply: unknown): (key: string) => unknown {
  if (reply instanceof Map) {
    return (key) => {
      for (const [k, v] of reply) if (String(k) === key) return v;
      return undefined;
    };
  }
  if (Array.isArray(reply)) {
    return (key) => {
      for (let i = 0; i + 1 < reply.length; i += 2) if (String(reply[i]) === key) return reply[i + 1];
      return undefined;
    };
  }
  if (reply !== null && typeof reply === 'object') {
    return (key) => (Object.prototype.hasOwnProperty.call(reply, key) ? (reply as Record<string, unknown>)[key] : undefined);
  }
  return () => undefined;
}

/** One stream entry: its id and the value of its single field. */
export interface StreamEntry {
  id: string;
  payload: Buffer;
}

/** Parses the entries of an XRANGE reply, or of one stream in an XREAD reply. Skips malformed ones. */
export function parseEntries(raw: unknown, field: string): StreamEntry[] {
  const out: StreamEntry[] = [];
  if (!Array.isArray(raw)) return out;
  for (const entry of raw) {
    if (!Array.isArray(entry) || entry.length < 2) continue;
    const fields = readMap(entry[1]);
    const payload = fields(field);
    if (Buffer.isBuffer(payload)) out.push({ id: String(entry[0]), payload });
  }
  return out;
}

/** The entries of `key` in an XREAD reply (RESP2 array of [name, entries] or RESP3 map). */
export function parseXRead(reply: unknown, key: string, field: string): StreamEntry[] {
  if (reply === null || reply === undefined) return [];
  if (Array.isArray(reply)) {
    for (const stream of reply) {
      if (Array.isArray(stream) && String(stream[0]) === key) return parseEntries(stream[1], field);
    }
    return [];
  }
  return parseEntries(readMap(reply)(key), field);
}

/** XINFO STREAM of `key` as a field lookup, or null when the stream does not exist. */
export async function streamInfo(client: RedisCommandClient, key: string): Promise<((field: string) => unknown) | null> {
  try {
    return readMap(await client.sendCommand(['XINFO', 'STREAM', key]));
  } catch (err) {
    if (/no such key/i.test(String((err as Error)?.message))) return null;
    throw err;
  }
}

/** An integer field of a reply (number, string or bigint), or undefined when it is not one. */
export function optionalNumber(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' || typeof value === 'bigint' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Compares two stream ids (`ms-seq`). */
export function compareIds(a: string, b: string): number {
  const [am, as] = splitId(a);
  const [bm, bs] = splitId(b);
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

function splitId(id: string): [bigint, bigint] {
  const dash = id.indexOf('-');
  try {
    return dash < 0 ? [BigInt(id), 0n] : [BigInt(id.slice(0, dash)), BigInt(id.slice(dash + 1))];
  } catch {
    return [0n, 0n];
  }
}

export const STREAM_ID = /^\d{1,20}-\d{1,20}$/;
