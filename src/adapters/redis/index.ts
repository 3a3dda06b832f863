/**
 * Redis scale-out for switchboard servers: `createAdapter` (pub/sub, optionally sharded) and
 * `createStreamsAdapter` (Redis streams, with connection state recovery across nodes).
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * import { Server } from 'switchboard';
 * import { createStreamsAdapter } from 'switchboard/adapters/redis';
 *
 * const redis = createClient();
 * redis.on('error', () => {});            // the adapter reports outages as typed errors
 * await redis.connect();
 * const io = new Server(3000, { adapter: createStreamsAdapter(redis) });
 * ```
 */
export { ClusterAdapter, type ClusterAdapterOptions } from '../cluster-adapter.js';
export { RedisPubSubAdapter, createAdapter, type AdapterConstructor, type RedisAdapterOptions } from './pubsub.js';
export { RedisStreamsAdapter, createStreamsAdapter, type StreamsAdapterOptions } from './streams.js';
export { SocketIOFormatAdapter, type SocketIOFormatOptions } from './socketio-format.js';
export { RedisAdapterError, type RedisAdapterErrorCode } from './errors.js';
export { RedisSessionRouter, createSessionRouter, type SessionRouterOptions, type RedisRouterClient } from './session-router.js';
export { ClusterAdapterError, type ClusterAdapterErrorCode } from '../errors.js';
export { MessageType, ENVELOPE_VERSION, encodeMessage, decodeMessage, type ClusterMessage } from '../envelope.js';
export { CodecError } from '../codec.js';
export type { RedisPubSubClient, RedisCommandClient, RedisClusterCommandClient, RedisConnection, ConnectionEvent, SocketIOFormatClient } from './redis-client.js';
