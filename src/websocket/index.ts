/**
 * `switchboard/websocket`: an RFC 6455 + RFC 7692 WebSocket server and Node client, API-compatible
 * with the `ws` package (change the import, keep the code).
 *
 * @example
 * import { WebSocketServer, WebSocket, prepareMessage } from 'switchboard/websocket';
 * const wss = new WebSocketServer({ port: 8080 });
 * wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
 */
export {
  WebSocket,
  prepareMessage,
  type PreparedMessage,
  type BinaryType,
  type WebSocketData,
  type BytesLike,
  type MessageData,
  type BackpressurePolicy,
  type ConnectionOptions,
  type ClientOptions,
} from './websocket.js';
export { MessageEvent, CloseEvent, ErrorEvent, WebSocketEvent } from './whatwg.js';
export { createWebSocketStream } from './stream.js';
export {
  WebSocketServer,
  type ServerOptions,
  type VerifyClientResult,
  type VerifyClientInfo,
  type VerifyClientCallback,
  type HandshakeRejection,
} from './server.js';
export type { PerMessageDeflateOptions } from './deflate.js';
export type { HeartbeatOptions } from './heartbeat.js';
export { WebSocketProtocolError, WS_ERRORS, type WebSocketErrorCode } from '../protocol/ws-errors.js';
export { isValidCloseCode } from '../protocol/ws-close.js';
export { WebSocket as default } from './websocket.js';
import { parseSubprotocols } from '../protocol/ws-handshake.js';

/**
 * `subprotocol`, as ws exports it (since 8.20): `parse(header)` turns a `Sec-WebSocket-Protocol`
 * value into a Set of names, or throws a `SyntaxError` with ws's messages.
 *
 * @example
 * subprotocol.parse('chat, superchat'); // Set { 'chat', 'superchat' }
 */
export const subprotocol: {
  /** The names in a `Sec-WebSocket-Protocol` header value; throws a `SyntaxError` if it is malformed. */
  readonly parse: (header: string) => Set<string>;
} = Object.freeze({ parse: parseSubprotocols });
