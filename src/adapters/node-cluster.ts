/**
 * The node:cluster IPC transport of the cluster adapter: every core of one machine, no Redis.
 * Workers cannot talk to each other directly, only to the primary, so the primary relays: a
 * message a worker sends goes to every other worker, a response goes to the one worker it is for.
 *
 * - Node ids are `w<cluster worker id>.<random>`, so the relay routes a response by reading the
 *   worker id in front of the dot: no table in the primary.
 * - The primary sees a worker exit at once and tells the others, who stop counting and waiting
 *   for it without waiting for its heartbeat to time out.
 * - Messages use the same versioned binary envelope as the Redis adapters (Buffers and Dates
 *   survive), carried base64 in the IPC message, which Node serializes as JSON by default.
 * - Envelopes sent in the same tick travel in one IPC message per destination: a burst of
 *   broadcasts reaches another worker at once, so its writes to clients are batched per tick as
 *   they are in the sending worker (one IPC message per broadcast would cost one write per client
 *   per broadcast there).
 * - Outside a cluster worker (or once the worker is disconnected) there is nobody to tell: the
 *   adapter behaves as the in-memory one, and messages it could not send are counted
 *   (`droppedMessages`) and reported as MESSAGES_LOST.
 *
 * @example
 * ```ts
 * import cluster from 'node:cluster';
 * import { Server } from 'switchboard';
 * import { createAdapter, setupPrimary } from 'switchboard/cluster';
 *
 * if (cluster.isPrimary) {
 *   setupPrimary();                        // the relay between workers
 *   for (let i = 0; i < 2; i++) cluster.fork();
 * } else {
 *   const io = new Server({ adapter: createAdapter() });
 *   io.to('lobby').emit('news', 'reaches the lobby in every worker');
 * }
 * ```
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import type { Namespace } from '../server/namespace.js';
import { ClusterAdapter, type ClusterAdapterOptions } from './cluster-adapter.js';
import { CodecError } from './codec.js';
import { type ClusterMessage, decodeMessage } from './envelope.js';
import { ClusterAdapterError } from './errors.js';

/** Options of the node:cluster (IPC) adapter: those every cluster adapter takes. */
/** Options of the node:cluster adapter: the core's request and heartbeat timings. */
export type NodeClusterAdapterOptions = ClusterAdapterOptions;

/** A worker's envelopes for the other workers (`to` unset) or for one of them. */
interface AdapterMessage {
  switchboard: 'cluster:adapter';
  /** Worker id of the recipient; unset: every other worker. */
  to?: number;
  /** The encoded envelopes, base64, in the order they were sent. */
  data: string[];
}

/** From a worker: "my adapter is listening"; the relay answers with `cluster:joined`. */
interface JoinMessage {
  switchboard: 'cluster:join' | 'cluster:joined';
}

/** From the primary: a worker exited. */
interface GoneMessage {
  switchboard: 'cluster:gone';
  worker: number;
}

type IpcMessage = AdapterMessage | JoinMessage | GoneMessage;

/** How long a worker waits for the relay's answer before warning that setupPrimary() is missing. */
const RELAY_CHECK_MS = 5000;

function tag(msg: unknown): string | undefined {
  return typeof msg === 'object' && msg !== null ? (msg as { switchboard?: unknown }).switchboard as string | undefined : undefined;
}

/** The worker id a node id (`w<id>.<random>`) routes to. */
function workerOfNode(uid: string): number | undefined {
  const match = /^w(\d{1,9})\./.exec(uid);
  return match ? Number(match[1]) : undefined;
}

// --- primary: the relay ------------------------------------------------------------------------

let relayInstalled = false;

/**
 * Installs the relay in the primary (once; later calls do nothing). `setupPrimary()` calls it, so
 * applications rarely need it by this name.
 */
export function setupRelay(): void {
  if (relayInstalled) return;
  if (!cluster.isPrimary) throw new Error('setupPrimary() must run in the cluster primary');
  relayInstalled = true;
  const live = () => Object.values(cluster.workers ?? {}) as Worker[];
  const send = (worker: Worker, msg: IpcMessage) => {
    // A worker that is exiting cannot receive; its peers learn it is gone from the exit notice.
    if (worker.isConnected()) worker.send(msg, ignoreSendError);
  };
  cluster.on('message', (from: Worker, msg: unknown) => {
    switch (tag(msg)) {
      case 'cluster:adapter': {
        const to = (msg as AdapterMessage).to;
        if (typeof to === 'number') {
          const target = cluster.workers?.[to];
          if (target) send(target, msg as AdapterMessage);
        } else {
          for (const worker of live()) if (worker !== from) send(worker, msg as AdapterMessage);
        }
        return;
      }
      case 'cluster:join':
        send(from, { switchboard: 'cluster:joined' });
        return;
    }
  });
  cluster.on('exit', (gone: Worker) => {
    for (const worker of live()) if (worker !== gone) send(worker, { switchboard: 'cluster:gone', worker: gone.id });
  });
}

function ignoreSendError(): void {}

// --- worker: one channel per process, shared by every adapter ----------------------------------

/** Receives the relay's messages once per process and hands them to the adapters. */
class WorkerChannel {
  readonly adapters = new Set<NodeClusterAdapter>();
  private listening = false;
  private relaySeen = false;
  /** Envelopes of this tick per recipient (-1: every other worker), sent together at its end. */
  private readonly outgoing = new Map<number, string[]>();

  attach(adapter: NodeClusterAdapter): void {
    this.adapters.add(adapter);
    if (this.listening || !process.send) return;
    this.listening = true;
    process.on('message', (msg: unknown) => this.onMessage(msg));
    this.post({ switchboard: 'cluster:join' });
    // The usual mistake: workers with the adapter, a primary without the relay. Say so.
    const check = setTimeout(() => {
      if (this.relaySeen || !process.connected) return;
      process.emitWarning('no answer from the cluster primary: call setupPrimary() there, or workers will not see each other', {
        type: 'ClusterAdapterWarning',
        code: 'NO_RELAY',
      });
    }, RELAY_CHECK_MS);
    check.unref();
  }

  detach(adapter: NodeClusterAdapter): void {
    this.adapters.delete(adapter);
  }

  /** Sends to the primary; false when the channel is gone. */
  post(msg: IpcMessage): boolean {
    if (!process.send || !process.connected) return false;
    process.send(msg, undefined, undefined, ignoreSendError);
    return true;
  }

  /** Queues an envelope for the end of this tick; false when the channel is gone. */
  queue(payload: Buffer, to: number | undefined): boolean {
    if (!process.send || !process.connected) return false;
    if (this.outgoing.size === 0) queueMicrotask(() => this.flush());
    const key = to ?? -1;
    let batch = this.outgoing.get(key);
    if (!batch) this.outgoing.set(key, (batch = []));
    batch.push(payload.toString('base64'));
    return true;
  }

  private flush(): void {
    for (const [key, data] of this.outgoing) {
      const msg: AdapterMessage = { switchboard: 'cluster:adapter', data };
      if (key >= 0) msg.to = key;
      this.post(msg);
    }
    this.outgoing.clear();
  }

  private onMessage(msg: unknown): void {
    switch (tag(msg)) {
      case 'cluster:adapter': {
        const data = (msg as AdapterMessage).data;
        if (!Array.isArray(data)) return this.undecodable(new CodecError('expected an array of envelopes'));
        for (const item of data) {
          let decoded: ClusterMessage;
          try {
            if (typeof item !== 'string') throw new CodecError('expected a base64 string');
            decoded = decodeMessage(Buffer.from(item, 'base64'));
          } catch (err) {
            this.undecodable(err as Error);
            continue;
          }
          for (const adapter of this.adapters) adapter._receive(decoded);
        }
        return;
      }
      case 'cluster:joined':
        this.relaySeen = true;
        return;
      case 'cluster:gone': {
        const worker = (msg as GoneMessage).worker;
        for (const adapter of this.adapters) adapter._workerGone(worker);
        return;
      }
    }
  }

  private undecodable(err: Error): void {
    const first = this.adapters.values().next().value;
    first?.reportError(new ClusterAdapterError('BAD_MESSAGE', `undecodable message from the cluster: ${err.message}`, { cause: err }));
  }
}

const channel = new WorkerChannel();

/** The node:cluster adapter of one namespace in one worker; made by {@link createAdapter}. */
export class NodeClusterAdapter extends ClusterAdapter {
  /** Messages to other workers that could not be sent (no IPC channel). */
  droppedMessages = 0;

  constructor(nsp: Namespace<any, any, any, any>, options: NodeClusterAdapterOptions = {}, uid?: string) {
    super(nsp, uid ?? nodeId(), options);
  }

  /** Joins the worker's IPC channel and announces this node to the other workers. */
  override init(): void {
    channel.attach(this);
    this.startHeartbeat();
  }

  /** Says BYE to the other workers and leaves the channel. */
  override close(): Promise<void> | void {
    const bye = super.close();
    channel.detach(this);
    return bye;
  }

  protected publish(msg: ClusterMessage): Promise<undefined> {
    this.send(msg, undefined);
    return Promise.resolve(undefined);
  }

  protected publishResponse(uid: string, msg: ClusterMessage): void {
    const worker = workerOfNode(uid);
    if (worker !== undefined) this.send(msg, worker);
  }

  private send(msg: ClusterMessage, to: number | undefined): void {
    const payload = this.encode(msg);
    if (!payload) return;
    if (channel.queue(payload, to) || !cluster.isWorker) return;
    this.droppedMessages++;
    this.reportError(
      this.error('MESSAGES_LOST', `the IPC channel to the primary is closed: messages to other workers are being dropped (${this.droppedMessages} so far in namespace "${this.nsp.name}")`),
    );
  }

  /** @internal A message relayed from another worker. */
  _receive(msg: ClusterMessage): void {
    this.onMessage(msg);
  }

  /** @internal The primary saw worker `id` exit. */
  _workerGone(id: number): void {
    for (const uid of this.peerIds()) if (workerOfNode(uid) === id) this.peerGone(uid);
  }
}

/** `w<worker id>.<random>`: the relay reads the worker id to route responses. */
function nodeId(): string {
  return `w${cluster.worker?.id ?? 0}.${randomBytes(6).toString('base64url')}`;
}

/** A constructor the server's `adapter` option accepts. */
export type NodeClusterAdapterConstructor = new (nsp: Namespace<any, any, any, any>) => NodeClusterAdapter;

/**
 * The node:cluster adapter for `new Server({ adapter })` or `io.adapter()`, in each worker; the
 * primary runs `setupPrimary()`. The namespaces of one server share one node id.
 *
 * @example
 * ```ts
 * import { Server } from 'switchboard';
 * import { createAdapter } from 'switchboard/cluster';
 *
 * const io = new Server(httpServer, { adapter: createAdapter({ requestsTimeout: 3000 }) });
 * const everywhere = await io.fetchSockets(); // the sockets of every worker
 * ```
 */
export function createAdapter(options: NodeClusterAdapterOptions = {}): NodeClusterAdapterConstructor {
  const uid = nodeId();
  return class extends NodeClusterAdapter {
    constructor(nsp: Namespace<any, any, any, any>) {
      super(nsp, options, uid);
    }
  };
}
