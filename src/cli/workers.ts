// `switchboard serve --workers N|auto`: the hub on every core. The primary owns the port (the
// sticky front of switchboard/cluster: polling requests return to the worker that owns their
// session) and relays the workers' adapter messages; each worker runs a hub that takes its
// connections from the primary. A worker that dies is replaced; its clients reconnect to the
// others meanwhile, as new sessions (the hub does not enable connection state recovery; an app
// that does gets its sessions back from the primary, see switchboard/cluster).
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { availableParallelism } from 'node:os';
import { setupPrimary } from '../adapters/cluster.js';
import { UsageError } from './args.js';
import { displayHost, HubError, listen, startHub, type Hub, type HubOptions } from './hub.js';

/** What `serve` needs of a running hub, one process or a primary of workers. */
export type ServingHub = Pick<Hub, 'url' | 'port' | 'dashboardToken' | 'close'> & { io?: Hub['io'] };

/** Environment a forked worker reads: the front's port and the one dashboard token. */
const WORKER_PORT = 'SWITCHBOARD_WORKER_PORT';
const WORKER_TOKEN = 'SWITCHBOARD_WORKER_DASHBOARD_TOKEN';
/** A worker that dies within this long after the previous death is respawned after a growing delay. */
const CRASH_WINDOW_MS = 5000;
const MAX_RESPAWN_DELAY_MS = 10_000;

/** `--workers`: a count from 1 to 256, or `auto` (one per core). Undefined: one process. */
export function parseWorkers(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value === 'auto') return availableParallelism();
  if (!/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > 256) {
    throw new UsageError(`--workers takes a number from 1 to 256 or "auto" (got "${value.slice(0, 40)}")`, 'serve');
  }
  return Number(value);
}

/** True in a process forked by {@link startServing}'s primary. */
export function isHubWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_PORT] !== undefined;
}

/**
 * Starts the hub: in this process (no `workers`, or 1), as a worker forked by a primary, or as
 * the primary of `workers` processes.
 */
export async function startServing(options: HubOptions, workers: number | undefined): Promise<ServingHub> {
  if (isHubWorker()) return startWorkerHub(options);
  if (!workers || workers < 2) return startHub(options);
  if ((options as { tls?: unknown }).tls) {
    throw new HubError('LISTEN', '--workers does not combine with TLS: the primary routes on the request line, so terminate TLS in front of it (nginx, HAProxy) or run one process');
  }
  return startPrimary(options, workers);
}

async function startWorkerHub(options: HubOptions): Promise<Hub> {
  const hub = await startHub({
    ...options,
    port: Number(process.env[WORKER_PORT]),
    dashboardToken: process.env[WORKER_TOKEN]!,
    worker: true,
  });
  // The primary is gone (killed): nobody routes to us any more.
  process.once('disconnect', () => void hub.close().then(() => process.exit(0)));
  process.send!({ switchboard: 'hub:ready' });
  return hub;
}

async function startPrimary(options: HubOptions, count: number): Promise<ServingHub> {
  const log = options.logger;
  const host = options.host ?? '127.0.0.1';
  const dashboardToken = options.dashboardToken || randomBytes(18).toString('base64url');
  const front = setupPrimary(net.createServer(), { loadBalancing: 'least-connections' });
  await listen(front, options.port ?? 3000, host);
  const port = (front.address() as net.AddressInfo).port;
  const env = { [WORKER_PORT]: String(port), [WORKER_TOKEN]: dashboardToken };

  let stopping = false;
  let lastDeath = 0;
  let respawnDelay = 100;
  const fork = (): Promise<Worker> => {
    const worker = cluster.fork(env);
    return new Promise((resolve, reject) => {
      const onMessage = (msg: { switchboard?: string } | null) => {
        if (msg?.switchboard !== 'hub:ready') return;
        worker.off('message', onMessage);
        worker.off('exit', onEarlyExit);
        worker.on('exit', (code, signal) => onDeath(worker, code, signal));
        log.info('worker-ready', { worker: worker.id, pid: worker.process.pid });
        resolve(worker);
      };
      const onEarlyExit = (code: number | null) => reject(new HubError('LISTEN', `worker ${worker.id} failed to start (exit code ${code}); see its message above`));
      worker.on('message', onMessage);
      worker.once('exit', onEarlyExit);
    });
  };
  const onDeath = (worker: Worker, code: number | null, signal: string | null) => {
    if (stopping) return;
    const now = Date.now();
    respawnDelay = now - lastDeath < CRASH_WINDOW_MS ? Math.min(respawnDelay * 2, MAX_RESPAWN_DELAY_MS) : 100;
    lastDeath = now;
    log.warn('worker-died', { worker: worker.id, code, signal, respawnInMs: respawnDelay });
    setTimeout(() => {
      if (stopping) return;
      fork().catch((err: Error) => log.error('worker-respawn-failed', { error: err.message }));
    }, respawnDelay).unref();
  };

  try {
    await Promise.all(Array.from({ length: count }, fork));
  } catch (err) {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
    front.close();
    throw err;
  }

  let closing: Promise<void> | undefined;
  const close = () => (closing ??= (async () => {
    stopping = true;
    front.close();
    // Each worker closes its clients properly on SIGTERM, then exits.
    const exits = Object.values(cluster.workers ?? {}).map((worker) => new Promise<void>((resolve) => {
      if (!worker || worker.isDead()) return resolve();
      worker.once('exit', () => resolve());
      worker.process.kill('SIGTERM');
    }));
    await Promise.all(exits);
  })());
  const url = `http://${displayHost(host)}:${port}`;
  return { url, port, dashboardToken, close };
}
