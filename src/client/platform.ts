/**
 * Node platform: long-polling over node:http/https, WebSocket through our Node client, received
 * bytes as Buffer. The browser bundle replaces this module with `platform.browser.ts`.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { EngineOptions } from './engine.js';
import { TransportError, type Platform, type WebSocketLike } from './platform-types.js';
import { NodeWebSocket } from './transports/node-websocket.js';

/** Default cap on what the server may send in one response or message. */
const MAX_INCOMING = 1e8;

/** Cookies kept per connection options when `withCredentials` is set (cookie-based sticky sessions). */
const jars = new WeakMap<EngineOptions, Map<string, string>>();

function headersFor(opts: EngineOptions): Record<string, string> {
  const headers: Record<string, string> = { ...opts.extraHeaders };
  const jar = opts.withCredentials ? jars.get(opts) : undefined;
  if (jar?.size) headers.cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
  return headers;
}

function storeCookies(opts: EngineOptions, setCookie: string[] | undefined): void {
  if (!opts.withCredentials || !setCookie) return;
  let jar = jars.get(opts);
  if (!jar) jars.set(opts, (jar = new Map()));
  for (const line of setCookie) {
    const pair = line.split(';', 1)[0]!;
    const eq = pair.indexOf('=');
    if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
}

function tlsOptions(opts: EngineOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['agent', 'ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized'] as const) {
    if (opts[key] !== undefined) out[key] = opts[key];
  }
  return out;
}

export const websocket: Platform['websocket'] = (url, opts) => {
  const ws = new NodeWebSocket(url, opts.protocols, {
    headers: headersFor(opts),
    perMessageDeflate: (opts.perMessageDeflate ?? false) as boolean,
    maxPayload: opts.maxHttpBufferSize ?? MAX_INCOMING,
    ...tlsOptions(opts),
  });
  ws.binaryType = 'nodebuffer';
  // autoUnref: the connection's socket must not keep the process alive either.
  if (opts.autoUnref) ws.once('upgrade', (res) => res.socket.unref());
  return ws as unknown as WebSocketLike;
};

export const request: Platform['request'] = (req, opts, done) => {
  const url = new URL(req.url);
  const headers = headersFor(opts);
  if (req.body !== undefined) headers['content-type'] = 'text/plain;charset=UTF-8';
  let finished = false;
  const finish = (err: TransportError | null, body?: string) => {
    if (finished) return;
    finished = true;
    done(err, body);
  };
  const request = (url.protocol === 'https:' ? https : http).request(
    url,
    { method: req.method, headers, ...tlsOptions(opts) } as http.RequestOptions,
    (res) => {
      storeCookies(opts, res.headers['set-cookie']);
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if ((size += chunk.length) > (opts.maxHttpBufferSize ?? MAX_INCOMING)) {
          request.destroy();
          finish(new TransportError('response too large', res.statusCode));
        }
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 200) finish(null, body);
        else finish(new TransportError(`HTTP ${res.statusCode}`, res.statusCode, body));
      });
      res.on('error', (err) => finish(new TransportError(err.message, 0, err)));
    },
  );
  request.on('error', (err) => finish(new TransportError(err.message, 0, err)));
  if (opts.autoUnref) request.on('socket', (socket) => socket.unref());
  request.end(req.body);
  return () => {
    finished = true;
    request.destroy();
  };
};

export const binary: Platform['binary'] = (bytes, binaryType) => {
  const view = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes;
  if (binaryType !== 'arraybuffer') return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  // A Buffer may be a window on a larger pooled ArrayBuffer: hand over only its own bytes.
  const whole = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;
  return whole ? view.buffer : view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
};

export const binaryType: Platform['binaryType'] = 'nodebuffer';

export const location: Platform['location'] = undefined;
