// The one place `switchboard connect --raw` picks its WebSocket client: ours (src/websocket, ws-compatible).
export { WebSocket } from '../websocket/index.js';
