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

/** Protocol versions the client speaks: 13 (RFC 6455) and 8 (hybi-08, the same framing). */
export const PROTOCOL_VERSIONS: readonly number[] = [8, 13];

/**
 * Checks the URL and subprotocols (section 4.1: ws/wss only, no fragment; subprotocols are
 * distinct tokens, section 4.1 item 10) and builds the request. Throws `SyntaxError` like browsers
 * (and `RangeError` for an unknown `protocolVersion`), with `ws`'s messages.
 *
 * `ws+unix:///path/to/socket:/request/path` connects to a Unix domain socket (or a Windows named
 * pipe): what comes before the first `:` of the path is the socket, the rest the request path.
 */
export function planHandshake(address: string | URL, protocols: readonly unknown[], options: ClientOptions): HandshakePlan {
  const protocolVersion = options.protocolVersion ?? Number(WS_VERSION);
  if (!PROTOCOL_VERSIONS.includes(protocolVersion)) {
    throw new RangeError(`Unsupported protocol version: ${protocolVersion} (supported versions: ${PROTOCOL_VERSIONS.join(', ')})`);
  }
  let url: URL;
  try {
    url = address instanceof URL ? new URL(address.href) : new URL(address);
  } catch {
    throw new SyntaxError(`Invalid URL: ${String(address)}`);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  const ipc = url.protocol === 'ws+unix:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:' && !ipc) {
    throw new SyntaxError('The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"');
  }
  if (ipc && !url.pathname) throw new SyntaxError("The URL's pathname is empty");
  if (url.hash) throw new SyntaxError('The URL contains a fragment identifier');
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (typeof protocol !== 'string' || !isToken(protocol) || seen.has(protocol)) {
      throw new SyntaxError('An invalid or duplicated subprotocol was specified');
    }
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
    protocolVersion: _version,
    protocols: _protocols,
    ...requestOptions
  } = options;
  const deflateOptions: PerMessageDeflateOptions | null =
    perMessageDeflate === false ? null : perMessageDeflate === true ? {} : perMessageDeflate;
  const headers: Record<string, string> = {
    ...userHeaders,
    'Sec-WebSocket-Version': String(protocolVersion),
    'Sec-WebSocket-Key': key,
    Connection: 'Upgrade',
    Upgrade: 'websocket',
  };
  if (deflateOptions !== null) headers['Sec-WebSocket-Extensions'] = deflateOffer(deflateOptions);
  if (protocols.length > 0) headers['Sec-WebSocket-Protocol'] = protocols.join(',');
  // hybi-08 named the header Sec-WebSocket-Origin; RFC 6455 uses Origin (section 4.1 item 8).
  if (origin !== undefined) headers[protocolVersion < 13 ? 'Sec-WebSocket-Origin' : 'Origin'] = origin;
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  let path = url.pathname + url.search;
  let socketPath: string | undefined;
  if (ipc) {
    const colon = path.indexOf(':');
    socketPath = colon === -1 ? path : path.slice(0, colon);
    path = colon === -1 ? '' : path.slice(colon + 1);
  }
  const request: https.RequestOptions = {
    ...requestOptions,
    protocol: secure ? 'https:' : 'http:',
    hostname,
    port: url.port || (secure ? 443 : 80),
    path,
    method: 'GET',
    headers,
  };
  if (socketPath !== undefined) request.socketPath = socketPath;
  if (url.username || url.password) request.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  if (request.agent === undefined && request.createConnection === undefined) {
    // A fresh socket per handshake (no agent pooling: the socket becomes the WebSocket's).
    request.createConnection = (secure
      ? (opts: any) => tls.connect({ ...opts, servername: opts.servername ?? (net.isIP(hostname) ? undefined : hostname) })
      : (opts: any) => net.connect(socketPath !== undefined ? { ...opts, path: socketPath } : opts)) as any;
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
