/**
 * `switchboard`: a Socket.IO v5 compatible event server on our own Engine.IO and WebSocket layers.
 *
 * @example
 * ```ts
 * import { Server } from 'switchboard';
 * const io = new Server(3000);
 * io.on('connection', (socket) => socket.emit('hello', 'world'));
 * ```
 */
export { Server, type ServerOptions, type AdapterConstructor, type ConnectionStateRecoveryOptions, type NamespaceMatcher, type ServerReservedEvents } from './server.js';
export type { ParserModule } from '../protocol/codec.js';
export type { RetryWindowOptions } from './recent-acks.js';
export { Namespace, ParentNamespace, type ExtendedError, type Middleware, type NamespaceReservedEvents } from './namespace.js';
export { Socket, RECOVERABLE_DISCONNECT_REASONS, type DisconnectReason, type Handshake, type SocketReservedEvents } from './socket.js';
export { BroadcastOperator, RemoteSocket } from './broadcast.js';
export {
  Adapter,
  type SocketId,
  type Room,
  type BroadcastFlags,
  type BroadcastOptions,
  type SessionToPersist,
  type Session,
  type SocketLike,
  type SocketIOPacket,
} from './adapter.js';
export { Client } from './client.js';
export type * from './typed-events.js';
export { PacketType, type Packet } from '../protocol/socketio.js';
