/**
 * `Sec-WebSocket-Extensions` parsing and formatting (RFC 6455 §9.1) and permessage-deflate
 * parameter negotiation (RFC 7692 §7), sans I/O.
 */
import { isToken } from './ws-handshake.js';

/** One extension entry: a name and its parameters in order (duplicates kept so they can be refused). */
export interface ExtensionOffer {
  name: string;
  params: Array<[name: string, value: string | true]>;
}

/** Longest extensions header accepted by {@link parseExtensions}. */
export const MAX_EXTENSIONS_HEADER = 4096;

/** Thrown for a malformed `Sec-WebSocket-Extensions` header. */
export class ExtensionSyntaxError extends SyntaxError {
  constructor(message: string) {
    super(message);
    this.name = 'ExtensionSyntaxError';
  }
}

function isTokenChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && '()<>@,;:\\"/[]?={}'.indexOf(String.fromCharCode(c)) === -1;
}

/**
 * Parses an extensions header, in one linear pass:
 * `extension *( "," extension )`, `extension = token *( ";" token [ "=" ( token / quoted-string ) ] )`.
 * Throws {@link ExtensionSyntaxError} when malformed or longer than {@link MAX_EXTENSIONS_HEADER}.
 *
 * @example
 * parseExtensions('permessage-deflate; client_max_window_bits, x-foo');
 * // [{ name: 'permessage-deflate', params: [['client_max_window_bits', true]] }, { name: 'x-foo', params: [] }]
 */
export function parseExtensions(header: string): ExtensionOffer[] {
  if (header.length > MAX_EXTENSIONS_HEADER) throw new ExtensionSyntaxError('extensions header too long');
  const n = header.length;
  let i = 0;
  const fail = (what: string): never => {
    throw new ExtensionSyntaxError(`invalid extensions header: ${what} at index ${i}`);
  };
  const skipSpace = (): void => {
    while (i < n && (header.charCodeAt(i) === 0x20 || header.charCodeAt(i) === 0x09)) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && isTokenChar(header.charCodeAt(i))) i++;
    if (i === start) fail('expected a token');
    return header.slice(start, i);
  };
  const readQuoted = (): string => {
    i++; // opening quote
    let value = '';
    while (i < n) {
      const c = header.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return value;
      }
      if (c === 0x5c) {
        i++;
        if (i >= n) break;
      }
      value += header[i];
      i++;
    }
    return fail('unterminated quoted string');
  };

  const offers: ExtensionOffer[] = [];
  for (;;) {
    skipSpace();
    const offer: ExtensionOffer = { name: readToken(), params: [] };
    skipSpace();
    while (i < n && header.charCodeAt(i) === 0x3b /* ; */) {
      i++;
      skipSpace();
      const name = readToken();
      skipSpace();
      let value: string | true = true;
      if (i < n && header.charCodeAt(i) === 0x3d /* = */) {
        i++;
        skipSpace();
        if (i < n && header.charCodeAt(i) === 0x22) {
          value = readQuoted();
          // RFC 6455 §9.1: a quoted value must still be a token once unquoted.
          if (!isToken(value)) fail('quoted value is not a token');
        } else {
          value = readToken();
        }
        skipSpace();
      }
      offer.params.push([name, value]);
    }
    offers.push(offer);
    if (i >= n) return offers;
    if (header.charCodeAt(i) !== 0x2c /* , */) fail('expected "," or ";"');
    i++;
  }
}

/**
 * Formats extension entries into a header value.
 *
 * @example
 * formatExtensions([{ name: 'permessage-deflate', params: [['server_max_window_bits', '10']] }]);
 * // 'permessage-deflate; server_max_window_bits=10'
 */
export function formatExtensions(offers: readonly ExtensionOffer[]): string {
  return offers
    .map((offer) => [offer.name, ...offer.params.map(([k, v]) => (v === true ? k : `${k}=${v}`))].join('; '))
    .join(', ');
}

/** The permessage-deflate extension name (RFC 7692 §7). */
export const PERMESSAGE_DEFLATE = 'permessage-deflate';

/** Preferences for permessage-deflate negotiation, the same shape on both sides. */
export interface DeflateNegotiationOptions {
  /** Server resets its compressor after each message. Server: always assert it; client: request it. */
  serverNoContextTakeover?: boolean;
  /** Client resets its compressor after each message. Server: impose it; client: announce it. */
  clientNoContextTakeover?: boolean;
  /** Largest LZ77 window (9..15) the server compresses with. Server: its own cap; client: request it. */
  serverMaxWindowBits?: number;
  /**
   * Largest LZ77 window (9..15) the client compresses with. Server: impose it if the client allows;
   * client: its own cap. `true` (as in ws): no cap, and a client offers the parameter without a value.
   */
  clientMaxWindowBits?: number | true;
}

/** Agreed permessage-deflate parameters, as they appear on the wire (window bits 8..15, default 15). */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

interface RawDeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number | undefined;
  /** `true` when present without a value (allowed in offers only). */
  clientMaxWindowBits: number | true | undefined;
}

const WINDOW_BITS = /^(?:8|9|1[0-5])$/;

/** Validates parameters (RFC 7692 §7.1): known names, no duplicates, valid values. Null if invalid. */
function readDeflateParams(params: ExtensionOffer['params'], isResponse: boolean): RawDeflateParams | null {
  const raw: RawDeflateParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  };
  const seen = new Set<string>();
  for (const [name, value] of params) {
    if (seen.has(name)) return null;
    seen.add(name);
    switch (name) {
      case 'server_no_context_takeover':
        if (value !== true) return null;
        raw.serverNoContextTakeover = true;
        break;
      case 'client_no_context_takeover':
        if (value !== true) return null;
        raw.clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits':
        if (value === true || !WINDOW_BITS.test(value)) return null;
        raw.serverMaxWindowBits = Number(value);
        break;
      case 'client_max_window_bits':
        if (value === true) {
          if (isResponse) return null;
          raw.clientMaxWindowBits = true;
        } else {
          if (!WINDOW_BITS.test(value)) return null;
          raw.clientMaxWindowBits = Number(value);
        }
        break;
      default:
        return null;
    }
  }
  return raw;
}

function checkBits(bits: number | true | undefined, name: string): void {
  if (bits !== undefined && bits !== true && !(Number.isInteger(bits) && bits >= 9 && bits <= 15)) {
    throw new RangeError(`${name} must be an integer from 9 to 15`);
  }
}

/** A window-bits option as a cap: `true` or unset means none (15). */
function cap(bits: number | true | undefined): number {
  return typeof bits === 'number' ? bits : 15;
}

/**
 * Server side: picks the first acceptable permessage-deflate offer (RFC 7692 §7.1) and builds the
 * response entry. Offers with unknown, duplicated or invalid parameters are declined, as are offers
 * asking for `server_max_window_bits=8` (zlib cannot produce a raw 256-byte window).
 * Returns null when no offer is acceptable (the extension is then simply not used).
 *
 * @example
 * const deal = negotiateDeflate(parseExtensions(req.headers['sec-websocket-extensions']), {});
 * if (deal) responseHeaders['Sec-WebSocket-Extensions'] = deal.response;
 */
export function negotiateDeflate(
  offers: readonly ExtensionOffer[],
  options: DeflateNegotiationOptions = {},
): { params: DeflateParams; response: string } | null {
  checkBits(options.serverMaxWindowBits, 'serverMaxWindowBits');
  checkBits(options.clientMaxWindowBits, 'clientMaxWindowBits');
  for (const offer of offers) {
    if (offer.name !== PERMESSAGE_DEFLATE) continue;
    const raw = readDeflateParams(offer.params, false);
    if (raw === null || raw.serverMaxWindowBits === 8) continue;
    const response: ExtensionOffer = { name: PERMESSAGE_DEFLATE, params: [] };
    const serverNoContextTakeover = raw.serverNoContextTakeover || options.serverNoContextTakeover === true;
    const clientNoContextTakeover = raw.clientNoContextTakeover || options.clientNoContextTakeover === true;
    if (serverNoContextTakeover) response.params.push(['server_no_context_takeover', true]);
    if (clientNoContextTakeover) response.params.push(['client_no_context_takeover', true]);
    // RFC 7692 §7.1.2.1: echo a value no larger than the one requested, or assert our own cap.
    const serverMaxWindowBits = Math.min(raw.serverMaxWindowBits ?? 15, options.serverMaxWindowBits ?? 15);
    if (raw.serverMaxWindowBits !== undefined || options.serverMaxWindowBits !== undefined) {
      response.params.push(['server_max_window_bits', String(serverMaxWindowBits)]);
    }
    // RFC 7692 §7.1.2.2: client_max_window_bits may only be sent back when the client offered it.
    let clientMaxWindowBits = 15;
    if (raw.clientMaxWindowBits !== undefined) {
      const offered = raw.clientMaxWindowBits === true ? 15 : raw.clientMaxWindowBits;
      clientMaxWindowBits = Math.min(offered, cap(options.clientMaxWindowBits));
      if (raw.clientMaxWindowBits !== true || typeof options.clientMaxWindowBits === 'number') {
        response.params.push(['client_max_window_bits', String(clientMaxWindowBits)]);
      }
    }
    return {
      params: { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits },
      response: formatExtensions([response]),
    };
  }
  return null;
}

/**
 * Client side: the permessage-deflate offer to send. `client_max_window_bits` is always included
 * (without a value unless capped), telling the server it may limit our window.
 *
 * @example
 * deflateOffer({}); // 'permessage-deflate; client_max_window_bits'
 */
export function deflateOffer(options: DeflateNegotiationOptions = {}): string {
  checkBits(options.serverMaxWindowBits, 'serverMaxWindowBits');
  checkBits(options.clientMaxWindowBits, 'clientMaxWindowBits');
  const offer: ExtensionOffer = { name: PERMESSAGE_DEFLATE, params: [] };
  if (options.serverNoContextTakeover) offer.params.push(['server_no_context_takeover', true]);
  if (options.clientNoContextTakeover) offer.params.push(['client_no_context_takeover', true]);
  if (options.serverMaxWindowBits !== undefined) {
    offer.params.push(['server_max_window_bits', String(options.serverMaxWindowBits)]);
  }
  const clientBits = options.clientMaxWindowBits;
  offer.params.push(['client_max_window_bits', typeof clientBits === 'number' ? String(clientBits) : true]);
  return formatExtensions([offer]);
}

/**
 * Client side: validates the server's `Sec-WebSocket-Extensions` response against our offer
 * (RFC 7692 §7.1: the client must fail the connection on anything it did not offer or cannot honour).
 * Returns the agreed parameters, null when the server declined, or throws an `Error` to fail with.
 *
 * @example
 * const params = acceptDeflateResponse(parseExtensions(res.headers['sec-websocket-extensions'] ?? ''), {});
 */
export function acceptDeflateResponse(
  extensions: readonly ExtensionOffer[],
  options: DeflateNegotiationOptions = {},
): DeflateParams | null {
  if (extensions.length === 0) return null;
  if (extensions.length > 1 || extensions[0]!.name !== PERMESSAGE_DEFLATE) {
    throw new Error('Server indicated an extension that was not requested');
  }
  const raw = readDeflateParams(extensions[0]!.params, true);
  if (raw === null) throw new Error('Invalid permessage-deflate parameters in server response');
  if (options.serverNoContextTakeover && !raw.serverNoContextTakeover) {
    throw new Error('Server did not accept server_no_context_takeover');
  }
  if (options.serverMaxWindowBits !== undefined) {
    if (raw.serverMaxWindowBits === undefined || raw.serverMaxWindowBits > options.serverMaxWindowBits) {
      throw new Error('Server did not honour server_max_window_bits');
    }
  }
  const clientBits = raw.clientMaxWindowBits as number | undefined;
  if (clientBits === 8) throw new Error('client_max_window_bits=8 is not supported');
  return {
    serverNoContextTakeover: raw.serverNoContextTakeover,
    clientNoContextTakeover: raw.clientNoContextTakeover || options.clientNoContextTakeover === true,
    serverMaxWindowBits: raw.serverMaxWindowBits ?? 15,
    clientMaxWindowBits: Math.min(clientBits ?? 15, cap(options.clientMaxWindowBits)),
  };
}
