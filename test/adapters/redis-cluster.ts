// A private Redis Cluster for the tests: six redis-server processes (--cluster-enabled yes) on
// spare ports in a temporary folder, joined by `redis-cli --cluster create ... --cluster-replicas 1`
// into three masters with one replica each.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { sleep, sparePort, until } from './helpers.js';

export interface ClusterNode {
  port: number;
  child: ChildProcess | null;
}

export class RedisCluster {
  readonly nodes: ClusterNode[] = [];
  private dir = '';

  /** `nodeTimeout`: how long a silent master takes to be failed over (cluster-node-timeout, ms). */
  constructor(private readonly nodeTimeout = 1000) {}

  get rootNodes(): { url: string }[] {
    return this.nodes.map((n) => ({ url: `redis://127.0.0.1:${n.port}` }));
  }

  async start(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'switchboard-redis-cluster-'));
    for (let i = 0; i < 6; i++) {
      const port = await sparePort();
      const node: ClusterNode = { port, child: null };
      this.nodes.push(node);
      this.spawn(node);
    }
    await Promise.all(this.nodes.map((n) => until(() => this.ping(n.port), `redis-server on ${n.port}`, 10_000)));
    const created = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...this.nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await this.waitHealthy();
  }

  private spawn(node: ClusterNode): void {
    const dir = join(this.dir, String(node.port));
    spawnSync('mkdir', ['-p', dir]);
    node.child = spawn(
      'redis-server',
      [
        '--port', String(node.port), '--bind', '127.0.0.1', '--dir', dir,
        '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(this.nodeTimeout),
        '--save', '', '--appendonly', 'no', '--logfile', join(dir, 'log'),
        // Replicas sync at once (the default waits 5 s for more replicas to share the transfer).
        '--repl-diskless-sync-delay', '0',
      ],
      { stdio: 'ignore' },
    );
  }

  private async ping(port: number): Promise<boolean> {
    return (await this.command(port, ['PING']).catch(() => '')) === 'PONG';
  }

  /** Runs one command on one node (a fresh connection, so a dead node just fails). */
  async command(port: number, args: string[]): Promise<unknown> {
    const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false, connectTimeout: 1000 } });
    client.on('error', () => {});
    await client.connect();
    try {
      return await client.sendCommand(args);
    } finally {
      client.destroy();
    }
  }

  /** Every live node says the cluster is ok (all slots served), and every replica is in sync. */
  async waitHealthy(timeout = 30_000): Promise<void> {
    await until(
      async () => {
        for (const n of this.nodes) {
          if (!n.child) continue;
          const info = String(await this.command(n.port, ['CLUSTER', 'INFO']).catch(() => ''));
          if (!/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384/.test(info)) return false;
          // A replica that has not finished its first sync cannot be promoted.
          const replication = String(await this.command(n.port, ['INFO', 'replication']).catch(() => ''));
          if (/role:slave/.test(replication) && !/master_link_status:up/.test(replication)) return false;
        }
        return true;
      },
      'the Redis Cluster to be healthy',
      timeout,
    );
  }

  /** Port of the master that serves `key`'s slot now. */
  async masterOf(key: string): Promise<number> {
    const live = this.nodes.find((n) => n.child)!;
    const slot = Number(await this.command(live.port, ['CLUSTER', 'KEYSLOT', key]));
    const shards = (await this.command(live.port, ['CLUSTER', 'SLOTS'])) as [number, number, [string, number, ...unknown[]]][];
    const shard = shards.find(([from, to]) => slot >= from && slot <= to);
    if (!shard) throw new Error(`no master serves slot ${slot}`);
    return Number(shard[2][1]);
  }

  /** SIGKILLs the node on `port` (a crash: its replica is promoted after the node timeout). */
  async kill(port: number): Promise<void> {
    const node = this.nodes.find((n) => n.port === port)!;
    const child = node.child!;
    node.child = null;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /**
   * Starts a killed node again, with its cluster config: it rejoins as a replica of the master that
   * took over its slots, so every master has a replica for the next failover.
   */
  async restart(port: number): Promise<void> {
    const node = this.nodes.find((n) => n.port === port)!;
    this.spawn(node);
    await until(
      async () => {
        const replication = String(await this.command(port, ['INFO', 'replication']).catch(() => ''));
        return /role:slave/.test(replication) && /master_link_status:up/.test(replication);
      },
      `the restarted node on ${port} to be an in-sync replica`,
      30_000,
    );
  }

  /** Waits until `key`'s slot is served by a live master again (the replica was promoted). */
  async failedOver(key: string, timeout = 30_000): Promise<number> {
    let port = 0;
    await until(
      async () => {
        port = await this.masterOf(key).catch(() => 0);
        return port !== 0 && this.nodes.some((n) => n.port === port && n.child);
      },
      `a replica to take over the slot of ${key}`,
      timeout,
    );
    return port;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.filter((n) => n.child).map((n) => this.kill(n.port)));
    await sleep(10);
    if (!process.env.KEEP_REDIS_CLUSTER) rmSync(this.dir, { recursive: true, force: true });
  }
}
