// Shared harness for the Redis adapter tests: server nodes as child processes driven over IPC,
// private redis-server instances for fault tests, and socket.io-client helpers.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';

const nodeFixture = fileURLToPath(new URL('./fixtures/node.ts', import.meta.url));

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A prefix no other test run shares (channels, stream and session keys). */
export function uniquePrefix(name: string): string {
  return `sbtest-${name}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export interface NodeOptions {
  name: string;
  adapter: 'pubsub' | 'sharded' | 'streams' | 'socket.io-format';
  prefix: string;
  redisUrl?: string;
  recovery?: boolean;
  /** Extra adapter options (JSON). */
  adapterOptions?: Record<string, unknown>;
  /** Another node program speaking the same IPC commands (default fixtures/node.ts). */
  fixture?: string;
  /** More environment for the node. */
  env?: Record<string, string>;
  /** A command that runs the node program, e.g. `['ip', 'netns', 'exec', 'ns1']` (another host). */
  wrap?: string[];
}

export interface ServerNode {
  name: string;
  port: number;
  child: ChildProcess;
  call<T = any>(cmd: string, args?: Record<string, unknown>): Promise<T>;
  /** Adapter error codes reported so far. */
  errors(): Promise<string[]>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startNode(options: NodeOptions): Promise<ServerNode> {
  const program = [process.execPath, '--import', 'tsx', options.fixture ?? nodeFixture];
  const [command, ...args] = [...(options.wrap ?? []), ...program] as [string, ...string[]];
  const child = spawn(command, args, {
    env: {
      ...process.env,
      ...options.env,
      NODE_NAME: options.name,
      ADAPTER: options.adapter,
      PREFIX: options.prefix,
      REDIS_URL: options.redisUrl ?? REDIS_URL,
      RECOVERY: options.recovery ? '1' : '',
      ADAPTER_OPTIONS: JSON.stringify(options.adapterOptions ?? {}),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 0;
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  child.on('exit', () => {
    for (const p of pending.values()) p.reject(new Error(`node ${options.name} exited`));
    pending.clear();
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`node ${options.name} exited early (${code})`)));
    child.on('message', (msg: any) => {
      if (msg?.ready) resolve(msg.port);
      else if (typeof msg?.id === 'number') {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) p?.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
        else p?.resolve(msg.result);
      }
    });
  });
  const node: ServerNode = {
    name: options.name,
    port,
    child,
    call(cmd, args = {}) {
      if (exited) return Promise.reject(new Error(`node ${options.name} is gone`));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, cmd, args });
      });
    },
    errors: () => node.call('errors'),
    async kill(signal = 'SIGTERM') {
      if (exited) return;
      child.kill(signal);
      await exit;
    },
  };
  return node;
}

export function connectClient(port: number, opts: Record<string, unknown> = {}): ClientSocket {
  return connect(`http://127.0.0.1:${port}`, { forceNew: true, reconnection: false, transports: ['websocket'], ...opts });
}

export async function connected(socket: ClientSocket): Promise<ClientSocket> {
  if (socket.connected) return socket;
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

/** Collects every `event` a client receives (arguments of each). */
export function collect(socket: ClientSocket, event: string): unknown[][] {
  const seen: unknown[][] = [];
  socket.on(event, (...args: unknown[]) => seen.push(args));
  return seen;
}

/** Resolves when `predicate` holds (polled), rejects after `timeout` ms with `what`. */
export async function until(predicate: () => boolean | Promise<boolean>, what: string, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port nobody listens on right now. */
export async function sparePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A private, non-persistent redis-server for fault tests. */
export class RedisProcess {
  private child: ChildProcess | null = null;
  /** With `persistent`, every write is in an append-only file (fsync always) before Redis answers, so a crash loses nothing it acknowledged. */
  private readonly dir: string | null;
  constructor(
    readonly port: number,
    options: { persistent?: boolean } = {},
  ) {
    this.dir = options.persistent ? mkdtempSync(join(tmpdir(), 'switchboard-redis-')) : null;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const persistence = this.dir ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir] : ['--appendonly', 'no'];
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence], {
      stdio: 'ignore',
    });
    this.child = child;
    await until(() => canConnect(this.port), `redis-server on port ${this.port}`, 10_000);
  }

  /** Stops the server abruptly (SIGKILL): in-flight data is lost as in a crash. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** Stops the server and deletes its files. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.end('PING\r\n');
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Number of entries in a Redis stream (0 when it does not exist). */
export async function streamLength(stream: string, url = REDIS_URL): Promise<number> {
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  try {
    return await client.xLen(stream);
  } finally {
    await client.close();
  }
}

/** Deletes every key a test run created in the shared Redis (call after its nodes are stopped). */
export async function deleteKeys(prefix: string, url = REDIS_URL): Promise<void> {
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  try {
    const keys: string[] = [];
    for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) keys.push(...batch);
    if (keys.length) await client.del(keys);
  } finally {
    await client.close();
  }
}

const clusterFixture = fileURLToPath(new URL('./fixtures/ipc-cluster.ts', import.meta.url));

export interface WorkerCluster {
  /** The sticky front (setupPrimary) every worker is reached through. */
  port: number;
  /** One node per worker slot; `port` is the worker's own port. */
  nodes: ServerNode[];
  primary: ChildProcess;
  /** Resolves when the worker of `slot` was replaced (RESPAWN) and is ready. */
  respawned(slot: number): Promise<{ port: number; workerId: number }>;
  close(): Promise<void>;
}

/** A node:cluster of `workers` switchboard workers sharing the IPC adapter (fixtures/ipc-cluster.ts). */
export async function startWorkerCluster(options: { workers?: number; respawn?: boolean; heartbeatTimeout?: number; recovery?: boolean } = {}): Promise<WorkerCluster> {
  const workers = options.workers ?? 3;
  const primary = spawn(process.execPath, ['--import', 'tsx', clusterFixture], {
    env: {
      ...process.env,
      WORKERS: String(workers),
      RESPAWN: options.respawn ? '1' : '',
      HEARTBEAT_TIMEOUT: String(options.heartbeatTimeout ?? 400),
      RECOVERY: options.recovery ? '1' : '',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const respawns = new Map<number, (info: { port: number; workerId: number }) => void>();
  let nextId = 0;
  let exited = false;
  const exit = new Promise<void>((resolve) => primary.once('exit', () => ((exited = true), resolve())));
  primary.on('exit', () => {
    for (const p of pending.values()) p.reject(new Error('the cluster primary exited'));
    pending.clear();
  });
  const send = <T>(msg: Record<string, unknown>): Promise<T> => {
    if (exited) return Promise.reject(new Error('the cluster primary is gone'));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      primary.send({ ...msg, id });
    });
  };
  const ready = await new Promise<{ port: number; ports: number[] }>((resolve, reject) => {
    primary.once('exit', (code) => reject(new Error(`the cluster primary exited early (${code})`)));
    primary.on('message', (msg: any) => {
      if (msg?.ready) resolve(msg);
      else if (typeof msg?.respawned === 'number') {
        nodes[msg.respawned]!.port = msg.port;
        respawns.get(msg.respawned)?.(msg);
      } else if (typeof msg?.id === 'number') {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) p?.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
        else p?.resolve(msg.result);
      }
    });
  });
  const nodes: ServerNode[] = ready.ports.map((port, slot) => {
    const node: ServerNode = {
      name: 'ABCDEFGH'[slot]!,
      port,
      child: primary,
      call: (cmd, args = {}) => send({ slot, cmd, args }),
      errors: () => node.call('errors'),
      kill: async (signal = 'SIGTERM') => void (await send({ slot, cmd: 'kill', signal })),
    };
    return node;
  });
  return {
    port: ready.port,
    nodes,
    primary,
    respawned: (slot) => new Promise((resolve) => respawns.set(slot, resolve)),
    async close() {
      if (exited) return;
      primary.disconnect();
      await exit;
    },
  };
}
