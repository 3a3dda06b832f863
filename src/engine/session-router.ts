/**
 * Sessions across nodes without sticky load balancing. Every session id starts with the id of the
 * node that owns the session (`<nodeId>.<random>`). A request that names a session of another node
 * is passed on to that node as it came, over HTTP: polling requests are proxied (request and
 * response streamed), WebSocket upgrades are spliced (the raw connection is piped to the owner,
 * which answers the handshake and then carries the session). Where a node answers is kept by a
 * {@link SessionRouter} (e.g. `createSessionRouter` of `switchboard/adapters/redis`).
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { ErrorCode, refusal, writeRefusal, writeUpgradeRefusal, type Refusal } from './errors.js';

/** What an engine needs to route sessions between nodes. */
export interface SessionRouter {
  /** This node's id: the prefix of every session id it mints. Letters, digits, `_` and `-` only. */
  readonly nodeId: string;
  /**
   * Makes this node findable by the others; the engine awaits it before minting a session id, so
   * no client can hold an id whose owner cannot be found yet. Cheap once done.
   */
  register(engine: { readonly httpServer?: http.Server | undefined }): Promise<void> | void;
  /** Where node `nodeId` answers (`http://host:port`), or undefined when no such node is known. */
  locate(nodeId: string): Promise<string | undefined>;
  /** A connection to `nodeId` at `address` was refused: forget that address. */
  forget(nodeId: string, address: string): void;
  /** The engine closes: stop being findable. */
  close(): void;
}

/**
 * Marks a request one node passed on to another. The owner serves it or refuses it; it never
 * passes it on again, so a stale address cannot make a loop. A client that sends it only gives
 * up being forwarded.
 */
export const FORWARDED_HEADER = 'x-switchboard-forwarded-by';

const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Hop-by-hop fields (RFC 9110 §7.6.1) are not passed on; the proxied connections have their own. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', FORWARDED_HEADER,
]);

const ownerGone = (sid: string): Refusal => refusal(ErrorCode.UNKNOWN_SID, { sid, name: 'SESSION_OWNER_GONE' });
const routerDown = (sid: string): Refusal =>
  refusal(ErrorCode.BAD_REQUEST, { sid, name: 'SESSION_ROUTER_UNAVAILABLE' }, 'Session owner cannot be located', 503);

/** The id a session router's node gives a new session: its node id, a dot, then `random`. */
export function routedSessionId(router: SessionRouter, random: string): string {
  return `${router.nodeId}.${random}`;
}

/** The owner of `sid` when it is another node than `ownId` (a syntactically valid node id), else undefined. */
export function foreignOwner(sid: string, ownId: string): string | undefined {
  const dot = sid.indexOf('.');
  if (dot <= 0) return undefined;
  const owner = sid.slice(0, dot);
  return owner !== ownId && NODE_ID.test(owner) ? owner : undefined;
}

/** The `sid` query parameter of a request URL, without parsing the whole query when there is none. */
function sidOf(url: string | undefined): string | null {
  if (url === undefined || !url.includes('sid=')) return null;
  return new URLSearchParams(url.slice(url.indexOf('?') + 1)).get('sid');
}

/** Passes requests for other nodes' sessions on to their owners. One per engine. */
export class SessionForwarder {
  /** Kept-alive connections to the other nodes, reused by polling requests. */
  private readonly agent = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
  private closed = false;

  constructor(
    readonly router: SessionRouter,
    /** Largest request body read before it is passed on (the engine's `maxHttpBufferSize`). */
    private readonly maxBody: number,
  ) {
    if (!NODE_ID.test(router.nodeId)) throw new TypeError(`session router node id "${router.nodeId}" must match ${NODE_ID}`);
  }

  /** Takes the polling request when it belongs to another node's session; false leaves it to the engine. */
  request(req: IncomingMessage, res: ServerResponse): boolean {
    // Streams are piped both ways: only node:http's response (not a uWebSockets.js stand-in).
    if (!(res instanceof http.ServerResponse)) return false;
    const target = this.target(req);
    if (target === undefined) return false;
    const { owner, sid } = target;
    this.router.locate(owner).then(
      (address) => {
        if (address === undefined) return writeRefusal(res, ownerGone(sid));
        this.proxy(req, res, owner, sid, address);
      },
      () => writeRefusal(res, routerDown(sid)),
    );
    return true;
  }

  /** Takes the upgrade request when it belongs to another node's session; false leaves it to the engine. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const target = this.target(req);
    if (target === undefined) return false;
    const { owner, sid } = target;
    this.router.locate(owner).then(
      (address) => {
        if (address === undefined) return writeUpgradeRefusal(socket, ownerGone(sid));
        this.splice(req, socket, head, owner, sid, address);
      },
      () => writeUpgradeRefusal(socket, routerDown(sid)),
    );
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.agent.destroy();
    this.router.close();
  }

  private target(req: IncomingMessage): { owner: string; sid: string } | undefined {
    if (this.closed || req.headers[FORWARDED_HEADER] !== undefined) return undefined;
    const sid = sidOf(req.url);
    if (sid === null) return undefined;
    const owner = foreignOwner(sid, this.router.nodeId);
    return owner === undefined ? undefined : { owner, sid };
  }

  /**
   * A polling request (or its preflight) to the owner, its answer streamed back. The body (at most
   * `maxBody` bytes: a polling POST) is read first, so that a request sent on a kept-alive
   * connection the owner closed at that moment can be sent again on a new one (RFC 9112 §9.3.1).
   * A larger body (refused by the owner anyway) is streamed, without that retry.
   */
  private proxy(req: IncomingMessage, res: ServerResponse, owner: string, sid: string, address: string): void {
    const { hostname, port } = new URL(address);
    const chunks: Buffer[] = [];
    let size = 0;
    let streamed = false;
    let upstream: http.ClientRequest | undefined;
    const send = (retry: boolean) => {
      const request = http.request({
        host: unbracket(hostname),
        port: Number(port) || 80,
        method: req.method,
        path: req.url,
        headers: forwardedHeaders(req, this.router.nodeId),
        agent: retry ? false : this.agent, // a retry takes a new connection of its own
      });
      upstream = request;
      request.on('response', (answer) => {
        const headers: OutgoingHttpHeaders = {};
        for (const name of Object.keys(answer.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = answer.headers[name];
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      });
      request.on('error', (err: NodeJS.ErrnoException) => {
        // The owner closed an idle kept-alive connection as it was reused: nothing was served.
        if (!retry && !streamed && request.reusedSocket && err.code === 'ECONNRESET' && !res.headersSent && !res.destroyed) return send(true);
        // Refused: nothing listens there any more, the session died with its node.
        if (err.code === 'ECONNREFUSED') this.router.forget(owner, address);
        if (!res.headersSent) writeRefusal(res, err.code === 'ECONNREFUSED' ? ownerGone(sid) : routerDown(sid));
        else res.destroy();
      });
      if (!streamed) return request.end(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
      for (const chunk of chunks) request.write(chunk);
      req.pipe(request);
    };
    // The client went away (a held GET it gave up on): the owner sees it too.
    res.on('close', () => {
      if (!res.writableFinished) upstream?.destroy();
    });
    req.on('error', () => (upstream ? upstream.destroy() : res.destroy()));
    const collect = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size <= this.maxBody) return;
      streamed = true;
      req.off('data', collect);
      req.off('end', done);
      req.pause();
      send(false);
    };
    const done = () => send(false);
    req.on('data', collect);
    req.once('end', done);
  }

  /** An upgrade: the request head is replayed to the owner, then bytes flow both ways untouched. */
  private splice(req: IncomingMessage, socket: Duplex, head: Buffer, owner: string, sid: string, address: string): void {
    const { hostname, port } = new URL(address);
    const upstream = net.connect({ host: unbracket(hostname), port: Number(port) || 80 });
    upstream.setNoDelay(true);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      const raw = req.rawHeaders;
      for (let i = 0; i + 1 < raw.length; i += 2) {
        if (raw[i]!.toLowerCase() !== FORWARDED_HEADER) lines.push(`${raw[i]}: ${raw[i + 1]}`);
      }
      lines.push(`${FORWARDED_HEADER}: ${this.router.nodeId}`);
      upstream.write(lines.join('\r\n') + '\r\n\r\n', 'latin1');
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream);
      upstream.pipe(socket);
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (connected) return socket.destroy();
      if (err.code === 'ECONNREFUSED') this.router.forget(owner, address);
      writeUpgradeRefusal(socket, err.code === 'ECONNREFUSED' ? ownerGone(sid) : routerDown(sid));
    });
    upstream.on('close', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
  }
}

function forwardedHeaders(req: IncomingMessage, nodeId: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  const incoming: IncomingHttpHeaders = req.headers;
  for (const name of Object.keys(incoming)) if (!HOP_BY_HOP.has(name)) headers[name] = incoming[name];
  headers[FORWARDED_HEADER] = nodeId;
  return headers;
}

function unbracket(hostname: string): string {
  return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
}
