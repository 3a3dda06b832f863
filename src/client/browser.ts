/**
 * `switchboard/client` for browsers (the bundle's entry): same API as the Node entry, using the
 * browser's WebSocket and `fetch`. Nothing here may import a `node:` module.
 *
 * @example
 * ```html
 * <script src="/switchboard/client.js"></script>
 * <script>const socket = switchboard.io();</script>
 * ```
 */
export { io, io as connect, io as default, protocol, Manager, Socket } from './io.js';
// For the opt-in modules (xhr.esm.min.js, options.esm.min.js), which import them from this bundle.
export { Engine } from './engine.js';
export { Polling, stamp, Transport } from './transports.js';
export { TransportError } from './platform-types.js';
