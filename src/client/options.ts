/**
 * `switchboard/client/options`: socket.io-client's `closeOnBeforeunload`, `rememberUpgrade`,
 * `timestampRequests` and `timestampParam`. Opt-in: import it once, and the options work on every
 * connection made after; without the import the client ignores them and carries none of this code.
 *
 * @example
 * ```ts
 * import { io } from 'switchboard/client';
 * import 'switchboard/client/options';
 * const socket = io('https://example.com', { rememberUpgrade: true, closeOnBeforeunload: true });
 * ```
 */
import { Engine } from './engine.js';
import { stamp, Transport } from './transports.js';

/** Whether the last connection ended up on WebSocket (engine.io-client keeps it per page too). */
let priorWebsocketSuccess = false;

Engine._hooks.push((engine) => {
  const { opts } = engine;
  const websocket = engine._transports.find((t) => t.prototype.name === 'websocket');
  if (opts.rememberUpgrade && priorWebsocketSuccess && websocket) {
    engine._transports = [websocket, ...engine._transports.filter((t) => t !== websocket)];
  }
  engine.on('open', () => (priorWebsocketSuccess = engine.transport.name === 'websocket'));
  engine.on('upgrade', (transport) => (priorWebsocketSuccess = transport.name === 'websocket'));
  engine.on('upgradeError', () => (priorWebsocketSuccess = false));
  engine.on('error', () => (priorWebsocketSuccess = false));

  const target = globalThis as Partial<Pick<Window, 'addEventListener' | 'removeEventListener'>>;
  if (opts.closeOnBeforeunload && target.addEventListener) {
    // Close the transport without telling the Engine: no `disconnect` while the page goes away,
    // the same in every browser (some close WebSockets on `beforeunload` themselves, some do not).
    const onBeforeunload = () => engine.transport?.close();
    target.addEventListener('beforeunload', onBeforeunload);
    engine.on('close', () => target.removeEventListener?.('beforeunload', onBeforeunload));
  }
});

// The core puts a cache-busting parameter `t` on polling requests only.
const url = Transport.prototype._url;
Transport.prototype._url = function (this: Transport) {
  const { timestampRequests, timestampParam = 't' } = this._engine.opts;
  const href = new URL(url.call(this));
  href.searchParams.delete('t');
  if (timestampRequests ?? this.name === 'polling') href.searchParams.set(timestampParam, stamp());
  return href.href;
};
