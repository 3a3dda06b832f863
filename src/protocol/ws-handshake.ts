/**
 * The WebSocket opening handshake (RFC 6455 §4), sans I/O: request validation on the server, the
 * accept-key derivation, response building, and the client's checks of the server response.
 */
import { createHash } from 'node:crypto';

/** The GUID appended to the key before hashing (RFC 6455 §1.3). */
export const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** The protocol version a client sends by default (RFC 6455 §4.1). */
export const WS_VERSION = '13';
/** Versions a server accepts: 13 (RFC 6455) and 8 (hybi-08, the same framing), as ws. */
export const SUPPORTED_VERSIONS = '13, 8';

/** Request headers as Node's `http.IncomingMessage` exposes them (lower-case names). */
export type HeaderMap = Record<string, string | string[] | undefined>;

/** The parts of an HTTP request the handshake looks at (an `http.IncomingMessage` fits). */
export interface UpgradeRequestLike {
  method?: string;
  httpVersion?: string;
  headers: HeaderMap;
}

/** Result of {@link checkUpgradeRequest}. */
export type UpgradeRequestCheck =
  | { ok: true; key: string; version: number; protocols: Set<string>; extensions: string | undefined }
  | { ok: false; status: number; reason: string; headers?: Record<string, string> };

/**
 * `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2).
 *
 * @example
 * acceptKey('dGhlIHNhbXBsZSBub25jZQ=='); // 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='
 */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + WS_GUID).digest('base64');
}

const KEY_PATTERN = /^[A-Za-z0-9+/]{22}==$/;

/** Whether a `Sec-WebSocket-Key` is base64 of 16 bytes (RFC 6455 §4.2.1 item 5). */
export function isValidKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}

/** A single header value; repeated headers are joined with commas (RFC 9110 §5.3). */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Whether a comma-separated header value contains `token` (case-insensitive). */
export function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  const wanted = token.toLowerCase();
  for (const item of value.split(',')) {
    if (item.trim().toLowerCase() === wanted) return true;
  }
  return false;
}

// RFC 9110 §5.6.2 tchar.
const TOKEN_CHARS = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TOKEN_CHARS[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TOKEN_CHARS[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN_CHARS[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN_CHARS[c] = 1;

/** Whether `value` is a non-empty HTTP token (RFC 9110 §5.6.2). */
export function isToken(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128 || TOKEN_CHARS[c] === 0) return false;
  }
  return true;
}

/**
 * Parses `Sec-WebSocket-Protocol` (a comma-separated list of tokens, RFC 6455 §4.1 item 10) into a
 * set in offer order. Returns null for an empty, malformed or duplicated entry.
 *
 * @example
 * parseProtocolList('chat, superchat'); // Set { 'chat', 'superchat' }
 */
export function parseProtocolList(header: string): Set<string> | null {
  try {
    return parseSubprotocols(header);
  } catch {
    return null;
  }
}

const isBlank = (c: number): boolean => c === 0x20 || c === 0x09;

/**
 * `Sec-WebSocket-Protocol` parsed as ws's `subprotocol.parse` does: tokens separated by commas,
 * with optional spaces or tabs around them (not before the first). Throws a `SyntaxError` with ws's
 * message (`Unexpected character at index N`, `Unexpected end of input`, `The "x" subprotocol is
 * duplicated`).
 *
 * @example
 * parseSubprotocols('chat, superchat'); // Set { 'chat', 'superchat' }
 */
export function parseSubprotocols(header: string): Set<string> {
  const protocols = new Set<string>();
  let start = -1; // where the current token starts
  let end = -1; // where it ended, once blanks follow it
  const take = (at: number): void => {
    const protocol = header.slice(start, end === -1 ? at : end);
    if (protocols.has(protocol)) throw new SyntaxError(`The "${protocol}" subprotocol is duplicated`);
    protocols.add(protocol);
    start = end = -1;
  };
  for (let i = 0; i < header.length; i++) {
    const c = header.charCodeAt(i);
    if (end === -1 && c < 128 && TOKEN_CHARS[c] === 1) {
      if (start === -1) start = i;
    } else if (i !== 0 && isBlank(c)) {
      if (start !== -1 && end === -1) end = i;
    } else if (c === 0x2c && start !== -1) {
      take(i);
    } else {
      throw new SyntaxError(`Unexpected character at index ${i}`);
    }
  }
  if (start === -1 || end !== -1) throw new SyntaxError('Unexpected end of input');
  take(header.length);
  return protocols;
}

/**
 * Validates an upgrade request per RFC 6455 §4.2.1, with ws's statuses, order and messages first:
 * a method other than GET gets 405; a bad `Upgrade`, key or version 400 (the version answer lists
 * `Sec-WebSocket-Version: 13, 8`, as ws, where §4.4 suggests 426); then a bad subprotocol list.
 * The checks ws leaves out come last: HTTP/1.1, `Host`, `Connection: Upgrade` (all 400).
 *
 * @example
 * const check = checkUpgradeRequest(req);
 * if (!check.ok) return reject(check.status, check.reason, check.headers);
 */
export function checkUpgradeRequest(req: UpgradeRequestLike): UpgradeRequestCheck {
  const bad = (reason: string): UpgradeRequestCheck => ({ ok: false, status: 400, reason });
  if (req.method !== 'GET') return { ok: false, status: 405, reason: 'Invalid HTTP method' };
  const headers = req.headers;
  if (!hasToken(headerValue(headers, 'upgrade'), 'websocket')) return bad('Invalid Upgrade header');
  const key = headerValue(headers, 'sec-websocket-key');
  if (key === undefined || !isValidKey(key.trim())) return bad('Missing or invalid Sec-WebSocket-Key header');
  const version = Number(headerValue(headers, 'sec-websocket-version'));
  if (version !== 13 && version !== 8) {
    return {
      ok: false,
      status: 400,
      reason: 'Missing or invalid Sec-WebSocket-Version header',
      headers: { 'Sec-WebSocket-Version': SUPPORTED_VERSIONS },
    };
  }
  const protocolHeader = headerValue(headers, 'sec-websocket-protocol');
  let protocols = new Set<string>();
  if (protocolHeader !== undefined) {
    const parsed = parseProtocolList(protocolHeader);
    if (parsed === null) return bad('Invalid Sec-WebSocket-Protocol header');
    protocols = parsed;
  }
  const [major, minor] = (req.httpVersion ?? '').split('.').map(Number);
  if (major !== 1 || !(minor! >= 1)) return bad('HTTP/1.1 or later is required');
  if (!headerValue(headers, 'host')) return bad('Missing Host header');
  if (!hasToken(headerValue(headers, 'connection'), 'upgrade')) return bad('Connection header must contain "Upgrade"');
  return { ok: true, key: key.trim(), version, protocols, extensions: headerValue(headers, 'sec-websocket-extensions') };
}

/** Whether a header name and value are safe to write into a response (no CR/LF injection). */
function assertHeader(name: string, value: string): void {
  if (!isToken(name) || /[\r\n\0]/.test(value)) throw new TypeError(`invalid header ${JSON.stringify(name)}`);
}

/**
 * Builds the `101 Switching Protocols` response (RFC 6455 §4.2.2 item 5).
 *
 * @example
 * socket.write(buildUpgradeResponse({ key, protocol: 'chat' }));
 */
export function buildUpgradeResponse(options: {
  key: string;
  protocol?: string | undefined;
  extensions?: string | undefined;
  headers?: Record<string, string> | undefined;
}): string {
  let response =
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${acceptKey(options.key)}\r\n`;
  if (options.protocol !== undefined) response += `Sec-WebSocket-Protocol: ${options.protocol}\r\n`;
  if (options.extensions !== undefined) response += `Sec-WebSocket-Extensions: ${options.extensions}\r\n`;
  if (options.headers !== undefined) {
    for (const [name, value] of Object.entries(options.headers)) {
      assertHeader(name, value);
      response += `${name}: ${value}\r\n`;
    }
  }
  return response + '\r\n';
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * Builds a complete HTTP error response that refuses the upgrade, closing the connection.
 *
 * @example
 * socket.end(buildErrorResponse(403, 'Origin not allowed'));
 */
export function buildErrorResponse(status: number, body = '', headers: Record<string, string> = {}): string {
  if (!Number.isInteger(status) || status < 100 || status > 999) throw new RangeError(`invalid status ${status}`);
  const text = STATUS_TEXT[status] ?? 'Error';
  const length = new TextEncoder().encode(body).length;
  let response = `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${length}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    assertHeader(name, value);
    response += `${name}: ${value}\r\n`;
  }
  return response + '\r\n' + body;
}

/** The parts of the server's response the client checks (an `http.IncomingMessage` fits). */
export interface UpgradeResponseLike {
  statusCode?: number | undefined;
  headers: HeaderMap;
}

/**
 * Client-side checks of the server's handshake response (RFC 6455 §4.1, "the client MUST validate"),
 * in `ws`'s order and with its messages: the `Upgrade` header, the accept key, then the
 * subprotocol. Returns an error message, or null when the response is acceptable. The extension
 * header is checked separately by the extension negotiation. (The `Connection` header is not
 * looked at: Node's HTTP client has already taken the answer as an upgrade.)
 *
 * @example
 * const problem = checkUpgradeResponse(res, key, offeredProtocols);
 */
export function checkUpgradeResponse(res: UpgradeResponseLike, key: string, offeredProtocols: readonly string[]): string | null {
  if (res.statusCode !== 101) return `Unexpected server response: ${res.statusCode}`;
  const headers = res.headers;
  if (headerValue(headers, 'upgrade')?.toLowerCase() !== 'websocket') return 'Invalid Upgrade header';
  if (headerValue(headers, 'sec-websocket-accept') !== acceptKey(key)) return 'Invalid Sec-WebSocket-Accept header';
  const protocol = headerValue(headers, 'sec-websocket-protocol');
  if (protocol !== undefined) {
    if (offeredProtocols.length === 0) return 'Server sent a subprotocol but none was requested';
    if (!offeredProtocols.includes(protocol)) return 'Server sent an invalid subprotocol';
  } else if (offeredProtocols.length > 0) {
    // RFC 6455 §4.1 lets a client go on without one; ws fails, and so do we, to behave the same.
    return 'Server sent no subprotocol';
  }
  return null;
}
