/**
 * Node's `cluster` module: every core of one machine. `createAdapter()` (in the workers) and
 * `setupPrimary()` (in the primary) share rooms, broadcasts and the server utilities between the
 * workers over IPC, without Redis; `setupPrimary(server)` and `setupWorker()` add sticky sessions.
 *
 * Sticky sessions for Node's `cluster` module. HTTP long-polling sends each request of a session
 * as a separate HTTP request, and only the worker that created the session knows it; a plain
 * round-robin balancer answers "Session ID unknown" (400). WebSocket-only deployments do not need
 * this: one connection carries the whole session.
 *
 * How it works: the primary accepts TCP connections, reads the request line, and hands the socket
 * (with the bytes already read) to a worker over IPC. Session ids minted by a worker carry its
 * identity (`w<worker id>.<random>`), so routing `?sid=` needs no table, no IPC round trip and
 * has no race with the handshake response. Handshakes (no sid) go to the next worker in turn or to
 * the one with the fewest open connections. Workers answer HTTP requests with `Connection: close`
 * so a kept-alive connection can never carry another session's request to the wrong worker.
 *
 * @example
 * ```ts
 * import cluster from 'node:cluster';
 * import net from 'node:net';
 * import http from 'node:http';
 * import { Server } from 'switchboard';
 * import { setupPrimary, setupWorker } from 'switchboard/cluster';
 *
 * if (cluster.isPrimary) {
 *   for (let i = 0; i < 4; i++) cluster.fork();
 *   setupPrimary(net.createServer(), { loadBalancing: 'least-connections' }).listen(3000);
 * } else {
 *   const httpServer = http.createServer();
 *   const io = new Server(httpServer);       // switchboard's Server (socket.io's works too)
 *   setupWorker(httpServer, io);             // do not call httpServer.listen() in workers
 * }
 * ```
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import { Server as NetServerClass, type Server as NetServer, type Socket } from 'node:net';
import { setupRelay } from './node-cluster.js';

export {
  NodeClusterAdapter,
  createAdapter,
  type NodeClusterAdapterOptions,
  type NodeClusterAdapterConstructor,
} from './node-cluster.js';
export { ClusterAdapterError, type ClusterAdapterErrorCode } from './errors.js';

/**
 * How the primary picks a worker for a new session: the one with the fewest open connections, or
 * each in turn.
 */
export type LoadBalancing = 'round-robin' | 'least-connections';

/** Options of {@link setupPrimary}. */
export interface PrimaryOptions {
  /** How new sessions (requests without a `sid`) are spread. Default `'least-connections'`. */
  loadBalancing?: LoadBalancing;
  /** Close connections that have not sent a full request line within this time (ms). Default 10000. */
  headTimeout?: number;
  /** Most bytes read looking for the request line; longer lines are refused. Default 8192. */
  maxHeadBytes?: number;
  /** The workers to route to. Default: every connected worker of `node:cluster`. */
  workers?: () => Iterable<Worker>;
}

type IdGenerator = (req: IncomingMessage) => string | Promise<string>;

/**
 * A server whose engine mints session ids: switchboard's (`engine.options.generateId`) or
 * socket.io's engine.io (`engine.generateId`).
 */
export interface StickyEngineHost {
  // `| undefined` explicitly: a Server's `engine` is `EngineServer | undefined`, which
  // exactOptionalPropertyTypes would otherwise refuse for an optional property.
  engine?: { generateId?: IdGenerator; options?: { generateId?: IdGenerator } } | object | undefined;
}

/** IPC message carrying a connection from the primary to a worker. */
interface HandoffMessage {
  switchboard: 'sticky:connection';
  head: string;
}

/** IPC message from a worker: one handed-over connection closed. */
interface ClosedMessage {
  switchboard: 'sticky:closed';
}

/**
 * Readiness, both ways: a worker says `sticky:ready` once it receives connections; a primary that
 * starts routing after that asks `sticky:ready?` and the ready workers say it again. A worker that
 * was just forked (a replacement) gets no connection before it can take it.
 */
interface ReadyMessage {
  switchboard: 'sticky:ready' | 'sticky:ready?';
}

const SID_PARAM = /[?&]sid=w(\d{1,9})\./;

/** The worker id encoded in a sticky session id (`w<id>.<random>`), if any. */
export function workerIdOfSession(requestLine: string): number | undefined {
  const match = SID_PARAM.exec(requestLine);
  return match ? Number(match[1]) : undefined;
}

/** A session id that routes back to this worker: `w<worker id>.` + 120 random bits (base64url). */
export function stickySessionId(workerId = cluster.worker?.id ?? 0): string {
  return `w${workerId}.${randomBytes(15).toString('base64url')}`;
}

/**
 * The primary's server, as {@link setupPrimary} returns it: a net.Server that hands connections to
 * workers.
 */
export interface StickyPrimary extends NetServer {
  /** Open handed-over connections per worker id (what least-connections balances). */
  readonly connectionCounts: ReadonlyMap<number, number>;
}

/**
 * Runs the cluster's primary side. Without arguments, only the relay the workers' adapters
 * (`createAdapter()`) talk through, as `setupPrimary()` of `@socket.io/cluster-adapter`. With
 * `server` (a `net.Server`; an `http.Server` works too, its own request handling is detached),
 * also the sticky front of the cluster: call `listen()` on the returned server.
 *
 * @example
 * ```ts
 * import cluster from 'node:cluster';
 * import net from 'node:net';
 * import { setupPrimary } from 'switchboard/cluster';
 *
 * if (cluster.isPrimary) {
 *   for (let i = 0; i < 2; i++) cluster.fork();
 *   setupPrimary(net.createServer(), { loadBalancing: 'round-robin' }).listen(3000);
 * }
 * ```
 */
export function setupPrimary(): void;
export function setupPrimary(server: NetServer, options?: PrimaryOptions): StickyPrimary;
export function setupPrimary(server?: NetServer, options: PrimaryOptions = {}): StickyPrimary | void {
  setupRelay();
  if (!server) return;
  const loadBalancing = options.loadBalancing ?? 'least-connections';
  const headTimeout = options.headTimeout ?? 10_000;
  const maxHeadBytes = options.maxHeadBytes ?? 8192;
  const listWorkers = options.workers ?? (() => Object.values(cluster.workers ?? {}) as Worker[]);
  const counts = new Map<number, number>();
  const ready = new Set<number>();
  let nextIndex = 0;

  const onWorkerMessage = (worker: Worker, msg: unknown) => {
    const kind = (msg as ClosedMessage | ReadyMessage | null)?.switchboard;
    if (kind === 'sticky:ready') ready.add(worker.id);
    if (kind !== 'sticky:closed') return;
    const n = counts.get(worker.id) ?? 0;
    if (n > 0) counts.set(worker.id, n - 1);
  };
  const onWorkerExit = (worker: Worker) => {
    counts.delete(worker.id);
    ready.delete(worker.id);
  };
  cluster.on('message', onWorkerMessage);
  cluster.on('exit', onWorkerExit);
  server.once('close', () => {
    cluster.off('message', onWorkerMessage);
    cluster.off('exit', onWorkerExit);
  });
  for (const worker of Object.values(cluster.workers ?? {})) {
    if (worker?.isConnected()) worker.send({ switchboard: 'sticky:ready?' } satisfies ReadyMessage, () => {});
  }

  const pickWorker = (requestLine: string): Worker | undefined => {
    const live = [...listWorkers()].filter((w) => w.isConnected() && ready.has(w.id));
    if (live.length === 0) return undefined;
    const owner = workerIdOfSession(requestLine);
    if (owner !== undefined) {
      const worker = live.find((w) => w.id === owner);
      // The owner died: any worker will answer "Session ID unknown" and the client starts over.
      if (worker) return worker;
    }
    if (loadBalancing === 'round-robin') return live[nextIndex++ % live.length];
    let best = live[0]!;
    for (const w of live) if ((counts.get(w.id) ?? 0) < (counts.get(best.id) ?? 0)) best = w;
    return best;
  };

  const handOff = (socket: Socket, head: Buffer) => {
    socket.pause();
    stopReading(socket);
    const requestLine = head.toString('latin1', 0, Math.max(0, head.indexOf('\r\n')));
    const worker = pickWorker(requestLine);
    if (!worker) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    counts.set(worker.id, (counts.get(worker.id) ?? 0) + 1);
    const msg: HandoffMessage = { switchboard: 'sticky:connection', head: head.toString('base64') };
    worker.send(msg, socket, (err) => {
      if (!err) return;
      onWorkerMessage(worker, { switchboard: 'sticky:closed' });
      socket.destroy();
    });
  };

  const onConnection = (socket: Socket) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => socket.destroy(), headTimeout);
    const done = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      const head = chunks.length === 1 ? chunk : Buffer.concat(chunks, size);
      if (head.indexOf('\r\n') >= 0) {
        done();
        handOff(socket, head);
      } else if (size > maxHeadBytes) {
        done();
        socket.end('HTTP/1.1 414 URI Too Long\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      }
    };
    const onError = () => {
      done();
      socket.destroy();
    };
    const onClose = () => done();
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
  };

  // An http.Server would parse the connections itself; the primary only routes them.
  server.removeAllListeners('connection');
  server.on('connection', onConnection);
  return Object.assign(server, { connectionCounts: counts as ReadonlyMap<number, number> });
}

/**
 * Stops the primary reading a connection it hands off. `pause()` only stops the stream: the socket's
 * handle goes on reading until the worker acknowledges the handle, and child_process drops what it
 * reads meanwhile (nodejs/node#8353), so bytes the client sent after its request line (the rest of
 * the head, a body, a WebSocket frame) were lost. Stopped here, they wait in the kernel for the
 * worker. Node has no public call for this; without the handle method, the old window remains.
 */
function stopReading(socket: Socket): void {
  (socket as Socket & { _handle?: { readStop?(): number } | null })._handle?.readStop?.();
}

/**
 * Receives the connections the primary hands over and feeds them to `httpServer` (which must not
 * listen itself). When `io` is given, its engine mints session ids that route back here.
 * `setupWorker(io)` (as with `@socket.io/sticky`) uses the HTTP server `io` is attached to.
 *
 * @example
 * ```ts
 * import http from 'node:http';
 * import { Server } from 'switchboard';
 * import { setupWorker } from 'switchboard/cluster';
 *
 * const httpServer = http.createServer();   // in a worker: do not listen
 * const io = new Server(httpServer);
 * setupWorker(httpServer, io);
 * ```
 */
export function setupWorker(io: StickyEngineHost & { httpServer?: HttpServer | undefined }): void;
export function setupWorker(httpServer: HttpServer, io?: StickyEngineHost): void;
export function setupWorker(first: HttpServer | (StickyEngineHost & { httpServer?: HttpServer | undefined }), second?: StickyEngineHost): void {
  if (!cluster.isWorker) throw new Error('setupWorker() must run in a cluster worker');
  let httpServer: HttpServer;
  let io = second;
  if (first instanceof NetServerClass) httpServer = first as HttpServer;
  else {
    if (!first.httpServer) throw new Error('setupWorker(io): io is not attached to an HTTP server; pass it: setupWorker(httpServer, io)');
    httpServer = first.httpServer;
    io = first;
  }
  const workerId = cluster.worker!.id;
  if (io) {
    const engine = io.engine as { generateId?: IdGenerator; options?: { generateId?: IdGenerator } } | undefined;
    if (!engine) throw new Error('setupWorker(httpServer, io): io has no engine; attach it to httpServer first');
    const mint = () => stickySessionId(workerId);
    if (engine.options && typeof engine.options.generateId === 'function') engine.options.generateId = mint;
    else engine.generateId = mint;
  }

  // One request per connection: a kept-alive socket must not carry another session's request here.
  httpServer.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('Connection', 'close');
  });

  const sayReady = () => process.send?.({ switchboard: 'sticky:ready' } satisfies ReadyMessage, undefined, undefined, () => {});
  process.on('message', (msg: unknown, handle: unknown) => {
    if ((msg as ReadyMessage | null)?.switchboard === 'sticky:ready?') return void sayReady();
    if ((msg as HandoffMessage | null)?.switchboard !== 'sticky:connection' || !handle) return;
    const socket = handle as Socket;
    socket.once('close', () => process.send?.({ switchboard: 'sticky:closed' } satisfies ClosedMessage));
    httpServer.emit('connection', socket);
    // Replay the bytes the primary read while routing.
    socket.emit('data', Buffer.from((msg as HandoffMessage).head, 'base64'));
    socket.resume();
  });
  sayReady();
}
