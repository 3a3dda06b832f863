/**
 * `switchboard/engine`: Engine.IO v4 sessions over HTTP long-polling and WebSocket, usable on
 * its own like the `engine.io` package, and the transport layer under the Socket.IO server.
 */
export {
  EngineServer,
  type EngineOptions,
  type EngineServerEvents,
  type ConnectionError,
  type CookieOptions,
  type TransportName,
  type AttachOptions,
} from './server.js';
export { attach, listen } from './listen.js';
export { type SessionRouter, FORWARDED_HEADER } from './session-router.js';
export { attachApp, type UwsApp, type UwsAttachOptions, type UwsHttpRequest, type UwsHttpResponse, type UwsWebSocket, type UwsWebSocketBehavior } from './uws.js';
export {
  EngineSocket,
  PreparedPacket,
  type CloseReason,
  type ReadyState,
  type EngineSocketEvents,
  type SendOptions,
  type SendCallback,
  type CreatedPacket,
  type FlushedPacket,
} from './socket.js';
export { PollingTransport, WebSocketTransport, type Transport } from './transports.js';
export type { CorsOptions, OriginMatcher } from './cors.js';
export type { TrustProxy, ProxyHeader } from './client-address.js';
export { UpgradeResponse, type EngineMiddleware } from './middleware.js';
export { ErrorCode, ERROR_MESSAGES } from './errors.js';
export {
  PROTOCOL,
  encodePacket,
  decodePacket,
  encodePayload,
  decodePayload,
  EngineDecodeError,
  type EnginePacket,
  type PacketType,
} from '../protocol/engineio.js';
