/**
 * Browser platform: the browser's own WebSocket, long-polling over `fetch`, received bytes as
 * ArrayBuffer (like socket.io-client). The browser bundle uses it in place of `platform.ts`.
 */
import { TransportError, type Platform, type WebSocketLike } from './platform-types.js';

export const websocket: Platform['websocket'] = (url, opts) => {
    const ws = new WebSocket(url, opts.protocols);
    ws.binaryType = 'arraybuffer';
  return ws as unknown as WebSocketLike;
};

export const request: Platform['request'] = ({ method, url, body }, opts, done) => {
    const controller = new AbortController();
    const { signal } = controller;
    // A string body is sent as text/plain;charset=UTF-8, as Engine.IO expects.
    fetch(url, { method, body, headers: opts.extraHeaders, credentials: opts.withCredentials ? 'include' : 'same-origin', signal })
      .then(async (res) => {
        const text = await res.text();
        if (!signal.aborted) done(res.ok ? null : new TransportError('HTTP ' + res.status, res.status, text), text);
      })
      .catch((err) => signal.aborted || done(new TransportError(String(err), 0, err)));
  return () => controller.abort();
};

// A copy whose buffer holds exactly the bytes (binary over polling is rare; WebSocket gives ArrayBuffers).
export const binary: Platform['binary'] = (bytes) =>
  bytes instanceof ArrayBuffer ? bytes : bytes.slice().buffer;

export const binaryType: Platform['binaryType'] = 'arraybuffer';

export const location: Platform['location'] = (globalThis as { location?: Location }).location?.href;
