/**
 * `switchboard/client` for Node: socket.io-client v4 compatible, over node:http long-polling and
 * our WebSocket client. Browsers get `browser.ts` (same API, browser transports).
 *
 * @example
 * ```ts
 * import { io } from 'switchboard/client';
 * const socket = io('http://localhost:3000', { transports: ['websocket'] });
 * socket.on('connect', async () => console.log(await socket.timeout(1000).emitWithAck('ping')));
 * ```
 */
// Node has no bundle size to keep small: the `parser` option works without importing it.
import './parser.js';

export * from './exports.js';
export { default } from './exports.js';
