/**
 * The WebSocket implementation the Node client uses — the only place that names it, so switching
 * implementations is a one-line change. Never imported by the browser bundle.
 */
export { WebSocket as NodeWebSocket } from '../../websocket/index.js';
