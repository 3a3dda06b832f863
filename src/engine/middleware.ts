/**
 * Connect/Express-style middlewares for engine HTTP requests (`engine.use(fn)`, as engine.io's):
 * they run for every polling request and every WebSocket upgrade request, after CORS and before
 * the protocol checks, so apps can share a session (express-session), add headers, or refuse.
 *
 * An upgrade has no `ServerResponse`; middlewares get an {@link UpgradeResponse} instead. Headers
 * they set go into the `101 Switching Protocols` answer; a response they end is written on the raw
 * socket and the upgrade is refused.
 */
import { STATUS_CODES, validateHeaderName, validateHeaderValue, type IncomingMessage, type OutgoingHttpHeader, type ServerResponse } from 'node:http';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';

/** A middleware: call `next()` to go on, `next(err)` to refuse (400), or answer with `res` itself. */
export type EngineMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** Runs `middlewares` in order; `done(err)` once the last calls `next()` or one fails. */
export function runMiddlewares(
  middlewares: readonly EngineMiddleware[],
  req: IncomingMessage,
  res: ServerResponse,
  done: (err?: unknown) => void,
): void {
  let index = 0;
  const next = (err?: unknown): void => {
    const middleware = middlewares[index++];
    if (err != null || !middleware) return done(err ?? undefined);
    let called = false;
    try {
      middleware(req, res, (e?: unknown) => {
        if (called) return; // a second `next` from a buggy middleware is ignored
        called = true;
        next(e);
      });
    } catch (e) {
      if (called) throw e; // thrown further down the chain, after this middleware's `next`: not its failure
      called = true;
      done(e);
    }
  };
  next();
}

/** Headers the middlewares set on an upgrade, to add to the 101 answer. */
const upgradeHeaders = new WeakMap<IncomingMessage, UpgradeResponse>();

/** The response stand-in of an upgrade request: the one middlewares got, or a new one. */
export function upgradeResponse(req: IncomingMessage, socket: Duplex | UpgradeAnswerWriter): UpgradeResponse {
  return upgradeHeaders.get(req) ?? new UpgradeResponse(req, socket);
}

/** `Name: value` lines for the 101 answer of `req` (none when nothing set any). */
export function extraUpgradeHeaders(req: IncomingMessage): string[] {
  return takeUpgradeResponse(req)?.headerLines() ?? [];
}

/** The stand-in of `req` if anything set headers on it, forgotten now: read once, when the 101 is written. */
export function takeUpgradeResponse(req: IncomingMessage): UpgradeResponse | undefined {
  const res = upgradeHeaders.get(req);
  upgradeHeaders.delete(req);
  return res;
}

/**
 * Where the answer of a refused upgrade goes when the connection is not a Node socket (an
 * upgrade carried by uWebSockets.js): status, headers (name as set → value) and body.
 */
export type UpgradeAnswerWriter = (status: number, headers: ReadonlyMap<string, OutgoingHttpHeader>, body: Buffer) => void;

/**
 * The part of `ServerResponse` that middlewares use, for a response the engine does not get
 * from `node:http`: header bookkeeping (with `ServerResponse`'s checks), status and body.
 * Subclasses decide where `end()` writes.
 */
export abstract class ResponseStandIn extends EventEmitter {
  statusCode = 200;
  /** Header names as first set (lower-cased key → [name, value]). */
  readonly headers = new Map<string, OutgoingHttpHeader>();
  private readonly names = new Map<string, string>();
  protected body: Buffer[] = [];
  headersSent = false;
  writableEnded = false;

  /** Sets a header of the answer (as `ServerResponse.setHeader`). */
  setHeader(name: string, value: OutgoingHttpHeader): this {
    // Same checks as ServerResponse: no header injection through a name or value.
    validateHeaderName(name);
    for (const v of Array.isArray(value) ? value : [value]) validateHeaderValue(name, String(v));
    const key = name.toLowerCase();
    if (!this.names.has(key)) this.names.set(key, name);
    this.headers.set(this.names.get(key)!, value);
    return this;
  }

  /** A header set so far, by case-insensitive name. */
  getHeader(name: string): OutgoingHttpHeader | undefined {
    const original = this.names.get(name.toLowerCase());
    return original === undefined ? undefined : this.headers.get(original);
  }

  /** Whether a header is set, by case-insensitive name. */
  hasHeader(name: string): boolean {
    return this.names.has(name.toLowerCase());
  }

  /** Removes a header set so far. */
  removeHeader(name: string): void {
    const key = name.toLowerCase();
    const original = this.names.get(key);
    if (original === undefined) return;
    this.names.delete(key);
    this.headers.delete(original);
  }

  /** The headers set so far, by lower-cased name. */
  getHeaders(): Record<string, OutgoingHttpHeader> {
    const out: Record<string, OutgoingHttpHeader> = {};
    for (const [key, original] of this.names) out[key] = this.headers.get(original)!;
    return out;
  }

  /** Sets the status and headers of the answer. */
  writeHead(status: number, headers?: Record<string, OutgoingHttpHeader>): this {
    this.statusCode = status;
    for (const name in headers) this.setHeader(name, headers[name]!);
    return this;
  }

  /** Adds to the body of the answer; sent on `end()`. */
  write(chunk: string | Uint8Array): boolean {
    this.body.push(Buffer.from(chunk));
    return true;
  }

  /** @internal `Name: value` lines of the headers set so far. */
  headerLines(): string[] {
    const lines: string[] = [];
    for (const [name, value] of this.headers) {
      for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
    }
    return lines;
  }

  /** Sends the answer. */
  abstract end(chunk?: string | Uint8Array): this;
}

/**
 * The part of `ServerResponse` that middlewares use, for an upgrade request. Once ended, the
 * answer has been written on the socket and the socket closed.
 */
export class UpgradeResponse extends ResponseStandIn {
  private readonly socket: Duplex | UpgradeAnswerWriter;

  constructor(req: IncomingMessage, socket: Duplex | UpgradeAnswerWriter) {
    super();
    this.socket = socket;
    upgradeHeaders.set(req, this);
  }

  /** Answers the upgrade request with this response (not a 101) and closes the socket. */
  end(chunk?: string | Uint8Array): this {
    if (this.writableEnded) return this;
    if (chunk !== undefined) this.write(chunk);
    this.writableEnded = this.headersSent = true;
    const body = Buffer.concat(this.body);
    this.removeHeader('content-length');
    this.removeHeader('connection');
    const status = this.statusCode === 101 ? 400 : this.statusCode; // never a half-made upgrade
    if (typeof this.socket === 'function') {
      this.socket(status, this.headers, body);
      return this;
    }
    const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`, 'Connection: close', `Content-Length: ${body.length}`, ...this.headerLines()];
    if (this.socket.writable) this.socket.end(Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n\r\n', 'latin1'), body]));
    else this.socket.destroy();
    return this;
  }
}
