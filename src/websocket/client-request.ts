/**
 * The Node client's opening handshake request as pure steps (RFC 6455 section 4.1): which URLs
 * and subprotocols are allowed, the request it sends, and where a redirect leads. `WebSocket`
 * (`websocket.ts`) does the I/O and checks the answer.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type * as https from 'node:https';
import { randomBytes } from 'node:crypto';
import { isToken, WS_VERSION } from '../protocol/ws-handshake.js';
import { deflateOffer } from '../protocol/ws-extensions.js';
import type { PerMessageDeflateOptions } from './deflate.js';
import type { ClientOptions, ConnectionOptions } from './websocket.js';

const DEFAULT_HANDSHAKE_TIMEOUT = 30_000;

/** Statuses a client with `followRedirects` follows (RFC 9110 §15.4). */
export const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Everything one handshake attempt needs, computed before any I/O. */
export interface HandshakePlan {
  url: URL;
  secure: boolean;
  /** The `Sec-WebSocket-Key` sent (16 random bytes, base64), to check the accept value against. */
  key: string;
  /** Options for `http.request` / `https.request`. */
  request: https.RequestOptions;
  /** The connection limits for after the handshake. */
  connection: ConnectionOptions;
  /** Offered permessage-deflate options, or null when not offered. */
  deflateOptions: PerMessageDeflateOptions | null;
  handshakeTimeout: number;
  followRedirects: boolean;
  maxRedirects: number;
}

/**
 * Checks the URL and subprotocols (section 4.1: ws/wss only, no fragment; subprotocols are
 * distinct tokens, section 4.1 item 10) and builds the request. Throws `SyntaxError` like browsers.
 */
export function planHandshake(address: string | URL, protocols: readonly string[], options: ClientOptions): HandshakePlan {
  let url: URL;
  try {
    url = address instanceof URL ? address : new URL(address);
  } catch {
    throw new SyntaxError(`Invalid URL: ${String(address)}`);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new SyntaxError('The URL\'s protocol must be one of "ws:", "wss:", "http:" or "https:"');
  }
  if (url.hash) throw new SyntaxError('The URL contains a fragment identifier');
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (!isToken(protocol) || seen.has(protocol)) throw new SyntaxError('An invalid or duplicated subprotocol was specified');
    seen.add(protocol);
  }

  const secure = url.protocol === 'wss:';
  const key = randomBytes(16).toString('base64');
  const {
    headers: userHeaders,
    handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT,
    perMessageDeflate = true,
    origin,
    followRedirects = false,
    maxRedirects = 10,
    maxPayload,
    maxBufferedAmount,
    backpressure,
    backpressureCloseCode,
    autoPong,
    closeTimeout,
    skipUTF8Validation,
    ...requestOptions
  } = options;
  const deflateOptions: PerMessageDeflateOptions | null =
    perMessageDeflate === false ? null : perMessageDeflate === true ? {} : perMessageDeflate;
  const headers: Record<string, string> = {
    ...userHeaders,
    'Sec-WebSocket-Version': WS_VERSION,
    'Sec-WebSocket-Key': key,
    Connection: 'Upgrade',
    Upgrade: 'websocket',
  };
  if (deflateOptions !== null) headers['Sec-WebSocket-Extensions'] = deflateOffer(deflateOptions);
  if (protocols.length > 0) headers['Sec-WebSocket-Protocol'] = protocols.join(',');
  if (origin !== undefined) headers['Origin'] = origin;
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const request: https.RequestOptions = {
    ...requestOptions,
    protocol: secure ? 'https:' : 'http:',
    hostname,
    port: url.port || (secure ? 443 : 80),
    path: url.pathname + url.search,
    method: 'GET',
    headers,
  };
  if (url.username || url.password) request.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  if (request.agent === undefined && request.createConnection === undefined) {
    // A fresh socket per handshake (no agent pooling: the socket becomes the WebSocket's).
    request.createConnection = (secure
      ? (opts: any) => tls.connect({ ...opts, servername: opts.servername ?? (net.isIP(hostname) ? undefined : hostname) })
      : (opts: any) => net.connect(opts)) as any;
  }
  return {
    url,
    secure,
    key,
    request,
    connection: { maxPayload, maxBufferedAmount, backpressure, backpressureCloseCode, autoPong, closeTimeout, skipUTF8Validation },
    deflateOptions,
    handshakeTimeout,
    followRedirects,
    maxRedirects,
  };
}

/**
 * Where a redirect `location` leads from `from`, and the options to go there with. Credentials
 * stay with the host they were meant for (as browsers and ws do): a different host:port loses the
 * `Authorization`, `Cookie` and `Host` headers and the URL's user info. Throws on a bad location.
 */
export function planRedirect(location: string, from: URL, options: ClientOptions): { url: URL; options: ClientOptions } {
  let url: URL;
  try {
    url = new URL(location, from.href.replace(/^ws/, 'http'));
  } catch {
    throw new Error(`Invalid redirect location: ${location}`);
  }
  if (url.host === from.host) return { url, options };
  const kept: Record<string, string> = {};
  for (const name in options.headers) if (!/^(authorization|cookie|host)$/i.test(name)) kept[name] = options.headers[name]!;
  url.username = url.password = '';
  return { url, options: { ...options, headers: kept, auth: undefined } };
}
