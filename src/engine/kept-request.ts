/**
 * What a WebSocket session keeps of the upgrade request that opened it. A parsed
 * `IncomingMessage` costs about 1 KiB of heap (the stream and its state, the header arrays and
 * object, a string per header line) and most applications never read it after the handshake. When
 * nothing but the engine has seen the request, the session keeps only its request line, header
 * lines and socket, and builds a real `IncomingMessage` from them the first time
 * `socket.request` is read: same class, fields, headers and socket as the one node:http parsed.
 *
 * The original is kept as it is whenever the copy could differ from it: when the request is not
 * a plain node:http `IncomingMessage`, or carries anything node:http did not put there (a
 * property, a listener, stream state), or a field that a rebuilt request would not have (see
 * {@link keepSmall}); the engine also keeps it when application code was handed the request.
 */
import { IncomingMessage, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Joins the kept fields into one string. A parsed request line or header line cannot contain
 * LF: HTTP/1.1 ends a line there (RFC 9112 §2.2). Checked anyway, so a lenient parser cannot
 * turn one field into two.
 */
const SEPARATOR = '\n';

/** The client's address as computed for a request, stored on the request (see EngineServer.clientAddress). */
export const kClientAddress = Symbol('switchboard.clientAddress');
type AddressedRequest = IncomingMessage & { [kClientAddress]?: string };

/**
 * Fields node:http sets that its types leave out; `_addHeaderLines` is how it hands a request its
 * raw header lines (the headers object is parsed from them on first read).
 */
type ParsedRequest = IncomingMessage & {
  _addHeaderLines(lines: string[], count: number): void;
  _readableState: { ended: boolean; emittedReadable: boolean };
  joinDuplicateHeaders: boolean | null;
  upgrade: boolean;
  parser?: unknown;
};

/**
 * The request line, header lines and socket of an upgrade request, until something asks for the
 * request itself. Also what the handshake details (`headers`, `url`, `socket`) are read from,
 * so that reading them does not build the request.
 */
export class KeptRequest {
  /** The headers object, once read: the rebuilt request gets this one, so both stay the same object. */
  private parsedHeaders: IncomingHttpHeaders | undefined = undefined;

  /** @internal */
  constructor(
    /** Method, HTTP version, URL, then the raw header lines, joined by {@link SEPARATOR}. */
    private readonly text: string,
    readonly socket: Socket,
  ) {}

  get url(): string {
    const start = this.text.indexOf(SEPARATOR, this.text.indexOf(SEPARATOR) + 1) + 1;
    const end = this.text.indexOf(SEPARATOR, start);
    return end === -1 ? this.text.slice(start) : this.text.slice(start, end);
  }

  /** The request's headers, parsed by node:http's own rules (a request is built for it and dropped). */
  get headers(): IncomingHttpHeaders {
    return (this.parsedHeaders ??= rebuild(this.text, this.socket, undefined).headers);
  }

  /** The `IncomingMessage`, as node:http parsed it; `address` is the client address computed at the handshake. */
  rebuild(address: string): IncomingMessage {
    const request = rebuild(this.text, this.socket, address);
    if (this.parsedHeaders !== undefined) request.headers = this.parsedHeaders;
    else this.parsedHeaders = request.headers;
    return request;
  }
}

/** What node:http sets on a request it parsed; `address` undefined leaves the client address out. */
function rebuild(text: string, socket: Socket | StandInSocket, address: string | undefined): ParsedRequest {
  const fields = text.split(SEPARATOR);
  const request = new IncomingMessage(socket as Socket) as ParsedRequest;
  const version = fields[1]!;
  const dot = version.indexOf('.');
  request.httpVersionMajor = Number(version.slice(0, dot));
  request.httpVersionMinor = Number(version.slice(dot + 1));
  request.httpVersion = version;
  request.joinDuplicateHeaders = null; // node:http's value unless the server sets the option
  request.url = fields[2]!;
  request.upgrade = true;
  const lines = fields.slice(3);
  request._addHeaderLines(lines, lines.length);
  request.method = fields[0]!;
  request.complete = true;
  // node:http ends the stream of a request without a body (the bytes after an upgrade's head
  // belong to the new protocol). Set directly, not with push(null), which would also schedule a
  // `readable` event that the original emitted long ago.
  request._readableState.ended = true;
  request.parser = null; // node:http detaches its parser from an upgraded request
  if (address !== undefined) (request as AddressedRequest)[kClientAddress] = address;
  void request.headers; // parsed, as the engine had the original's parsed
  return request;
}

/**
 * The small form of `request`, or null when it must be kept as it is: not a plain
 * `IncomingMessage` of an upgrade, anything on it that the rebuilt one would not have (own
 * properties, listeners, stream state, header lines of another count), or a separator inside a
 * field. The request's client address must already be stored on it.
 */
export function keepSmall(request: IncomingMessage): KeptRequest | null {
  if (Object.getPrototypeOf(request) !== IncomingMessage.prototype) return null;
  const { method, httpVersion, url, rawHeaders, socket } = request;
  if (typeof method !== 'string' || typeof url !== 'string' || typeof httpVersion !== 'string' || !socket) return null;
  if (!looksRebuilt(request as ParsedRequest)) return null;
  if (method.includes(SEPARATOR) || httpVersion.includes(SEPARATOR) || url.includes(SEPARATOR)) return null;
  for (let i = 0; i < rawHeaders.length; i++) if (rawHeaders[i]!.includes(SEPARATOR)) return null;
  // One flat string (join copies; `+` would make a tree that keeps every piece alive).
  const text = [method, httpVersion, url, ...rawHeaders].join(SEPARATOR);
  return new KeptRequest(text, socket as Socket);
}

/** What a rebuilt request looks like, learned once from two rebuilt requests that differ in every field we set. */
interface Expected {
  /** Own keys, in order. */
  keys: (string | symbol)[];
  /** Keys whose value is the same primitive in every rebuilt request, and that value. */
  fixed: [string | symbol, unknown][];
  /** Own keys of the stream state, in order, and the primitive values that do not vary. */
  stateKeys: (string | symbol)[];
  stateFixed: [string | symbol, unknown][];
  /**
   * The stream state's `emittedReadable`, where it lives: a bit of a numeric field, or a field of
   * its own. node:http sets it when it ends the request and clears it on the next tick, so a
   * request kept in the tick it was parsed has it and the rebuilt one (like the original later) does not.
   */
  tickOnly: { key: string | symbol; bits: number } | null;
  /**
   * node:http's count of header lines that make up `headers` (fewer than `rawHeaders` holds past
   * the server's `maxHeadersCount`); null if this Node keeps no such count, and nothing is kept small.
   */
  countKey: string | symbol | null;
}

interface StandInSocket {
  readableHighWaterMark: number;
}

/** Learned on first use; null when this Node's requests cannot be rebuilt (every request is then kept as it is). */
let expected: Expected | null | undefined;

function learnOnce(): Expected | null {
  if (expected !== undefined) return expected;
  try {
    expected = learn();
  } catch {
    expected = null; // node:http internals this relies on are not there: never keep the small form
  }
  return expected;
}

function learn(): Expected {
  const a = rebuild(['GET', '1.1', '/a', 'Host', 'a'].join(SEPARATOR), { readableHighWaterMark: 16384 }, 'a');
  const b = rebuild(['POST', '1.0', '/bb', 'Host', 'b', 'X-B', 'b'].join(SEPARATOR), { readableHighWaterMark: 1024 }, 'b');
  const c = rebuild(['GET', '1.1', '/a', 'Host', 'a'].join(SEPARATOR), { readableHighWaterMark: 16384 }, 'a');
  c._readableState.emittedReadable = true;
  const changed = Reflect.ownKeys(a._readableState).find((key) => {
    const value = field(a._readableState, key);
    return isPrimitive(value) && !Object.is(value, field(c._readableState, key));
  });
  const before = changed === undefined ? undefined : field(a._readableState, changed);
  const after = changed === undefined ? undefined : field(c._readableState, changed);
  return {
    keys: Reflect.ownKeys(a),
    fixed: fixedValues(a, b),
    stateKeys: Reflect.ownKeys(a._readableState),
    stateFixed: fixedValues(a._readableState, b._readableState),
    tickOnly: changed === undefined ? null : { key: changed, bits: typeof before === 'number' && typeof after === 'number' ? before ^ after : -1 },
    countKey: Reflect.ownKeys(a).find((key) => typeof key === 'symbol' && a[key as never] === 2 && b[key as never] === 4) ?? null,
  };
}

function field(object: object, key: string | symbol): unknown {
  return (object as Record<string | symbol, unknown>)[key];
}

function isPrimitive(value: unknown): boolean {
  return value === null || (typeof value !== 'object' && typeof value !== 'function');
}

function fixedValues(a: object, b: object): [string | symbol, unknown][] {
  const fixed: [string | symbol, unknown][] = [];
  for (const key of Reflect.ownKeys(a)) {
    const value = field(a, key);
    if (isPrimitive(value) && Object.is(value, field(b, key))) fixed.push([key, value]);
  }
  return fixed;
}

function sameKeys(object: object, keys: readonly (string | symbol)[]): boolean {
  const own = Reflect.ownKeys(object);
  if (own.length !== keys.length) return false;
  for (let i = 0; i < own.length; i++) if (own[i] !== keys[i]) return false;
  return true;
}

/** `tickOnly`: the field (or bits of it) allowed to differ. */
function sameValues(object: object, fixed: readonly [string | symbol, unknown][], tickOnly: Expected['tickOnly'] = null): boolean {
  for (const [key, value] of fixed) {
    const actual = field(object, key);
    if (Object.is(actual, value)) continue;
    if (tickOnly === null || key !== tickOnly.key) return false;
    if (tickOnly.bits === -1) continue;
    if (typeof actual !== 'number' || ((actual ^ (value as number)) & ~tickOnly.bits) !== 0) return false;
  }
  return true;
}

/**
 * Whether `request` has exactly what a rebuilt request would: the same own keys in the same order,
 * the same fixed values (upgrade, complete, aborted, ...), no listeners, an untouched stream,
 * no trailers, and its socket as `client`.
 */
function looksRebuilt(request: ParsedRequest): boolean {
  const shape = learnOnce();
  const state = request._readableState;
  return (
    shape !== null &&
    shape.countKey !== null &&
    (request as unknown as Record<string | symbol, unknown>)[shape.countKey] === request.rawHeaders.length &&
    sameKeys(request, shape.keys) &&
    sameValues(request, shape.fixed) &&
    sameKeys(state, shape.stateKeys) &&
    sameValues(state, shape.stateFixed, shape.tickOnly) &&
    request.eventNames().length === 0 &&
    request.rawTrailers.length === 0 &&
    request.readableLength === 0 &&
    (request as { client?: unknown }).client === request.socket &&
    request.rawHeaders.length % 2 === 0
  );
}
