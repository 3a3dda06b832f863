// Separate hosts on one machine: a Linux network namespace per node, each with its own address on
// a bridge in the root namespace (veth pairs), so the nodes reach each other, nginx and Redis over
// a network instead of one loopback. Needs root (CAP_NET_ADMIN + CAP_SYS_ADMIN) and iproute2;
// `netnsSkip()` says why not otherwise, and the tests fall back to the loopback topology.
//
// Names carry this process's pid and random characters (`sbt-<pid><rand>-<i>`, bridge
// `sbb<pid><rand>`), so parallel runs do not clash, and leftovers of runs that died without
// cleaning up (their pid is gone) are removed by the next run.
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import net from 'node:net';

const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'];
const NAME = /^sb[bt]-?([0-9a-z]{5})[0-9a-z]{3}\b/;

function ipBinary(): string | undefined {
  for (const candidate of IP) if (spawnSync(candidate, ['-V'], { stdio: 'ignore' }).status === 0) return candidate;
  return undefined;
}

/** Runs `ip ...`; throws with its stderr when it fails. */
function ip(...args: string[]): string {
  const result = spawnSync(ipBinary() ?? 'ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${(result.stderr || result.error?.message || '').trim()}`);
  return result.stdout;
}

let probed: string | false | undefined;

/** `false` when network namespaces can be created here; else why not (the skip reason). */
export function netnsSkip(): string | false {
  if (probed !== undefined) return probed;
  if (process.platform !== 'linux') return (probed = 'network namespaces are Linux only');
  if (process.getuid?.() !== 0) return (probed = 'creating network namespaces needs root; the loopback topology runs instead');
  if (!ipBinary()) return (probed = 'iproute2 (ip) is not installed; the loopback topology runs instead');
  const probe = `sbt-${tag()}-p`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    probed = false;
  } catch (err) {
    probed = `ip netns is not permitted here (${(err as Error).message}); the loopback topology runs instead`;
  }
  return probed;
}

/** This process's pid (5 base-36 digits) and 3 random characters. */
function tag(): string {
  const random = randomBytes(3).toString('hex').slice(0, 3);
  return process.pid.toString(36).padStart(5, '0') + random;
}

/** Removes the namespaces and bridges of earlier runs whose process is gone. */
function removeLeftovers(): void {
  const alive = (pid36: string) => {
    try {
      process.kill(parseInt(pid36, 36), 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const match = NAME.exec(name);
    if (match && !alive(match[1]!)) spawnSync(ipBinary()!, ['netns', 'del', name], { stdio: 'ignore' });
  }
  for (const line of ip('-o', 'link', 'show', 'type', 'bridge').split('\n')) {
    const name = /^\d+: ([^:@]+)/.exec(line)?.[1] ?? '';
    const match = NAME.exec(name);
    if (match && name.startsWith('sbb') && !alive(match[1]!)) spawnSync(ipBinary()!, ['link', 'del', name], { stdio: 'ignore' });
  }
}

export interface Hosts {
  /** Each host's address (10.x.y.(11 + i)). */
  readonly addresses: string[];
  /** The root namespace's address on the bridge (where nginx and the Redis relay are reached). */
  readonly gateway: string;
  /** Redis, as the hosts reach it (a relay on the gateway to 127.0.0.1:6379). */
  readonly redisUrl: string;
  /** The command prefix that runs a program in host `i`. */
  wrap(i: number): string[];
  close(): Promise<void>;
}

/** A /24 in 10.200-249.x.0 that no interface here uses yet. */
function freeSubnet(): string {
  const used = ip('-4', '-o', 'addr', 'show');
  for (let attempt = 0; attempt < 50; attempt++) {
    const subnet = `10.${200 + randomInt(50)}.${randomInt(256)}`;
    if (!used.includes(` ${subnet}.`)) return subnet;
  }
  throw new Error('no free 10.x.y.0/24 subnet for the test hosts');
}

/**
 * Creates `count` hosts: namespaces `sbt-<tag>-<i>`, each with a veth into bridge `sbb<tag>`.
 * Everything is removed by `close()`, when the setup fails halfway, and at process exit.
 */
export async function createHosts(count: number, redis: { host: string; port: number } = { host: '127.0.0.1', port: 6379 }): Promise<Hosts> {
  removeLeftovers();
  const id = tag();
  const bridge = `sbb${id}`;
  const namespaces: string[] = [];
  let bridgeMade = false;
  let relay: net.Server | undefined;
  const cleanup = () => {
    for (const ns of namespaces) spawnSync(ipBinary()!, ['netns', 'del', ns], { stdio: 'ignore' });
    if (bridgeMade) spawnSync(ipBinary()!, ['link', 'del', bridge], { stdio: 'ignore' });
    namespaces.length = 0;
    bridgeMade = false;
  };
  process.once('exit', cleanup);
  try {
    const subnet = freeSubnet();
    const gateway = `${subnet}.1`;
    ip('link', 'add', bridge, 'type', 'bridge');
    bridgeMade = true;
    ip('addr', 'add', `${gateway}/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    const addresses: string[] = [];
    for (let i = 0; i < count; i++) {
      const ns = `sbt-${id}-${i}`;
      ip('netns', 'add', ns);
      namespaces.push(ns);
      // The host's end is created in its namespace directly: no name clash in the root one.
      ip('link', 'add', `sbv${id}${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip('link', 'set', `sbv${id}${i}`, 'master', bridge, 'up');
      const address = `${subnet}.${11 + i}`;
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      addresses.push(address);
    }
    // Redis listens on the root namespace's loopback, which other namespaces cannot reach.
    const open = new Set<net.Socket>();
    const server = net.createServer((conn) => {
      const upstream = net.connect(redis.port, redis.host);
      for (const end of [conn, upstream]) {
        open.add(end);
        end.once('close', () => open.delete(end));
      }
      conn.pipe(upstream).pipe(conn);
      conn.on('error', () => upstream.destroy());
      upstream.on('error', () => conn.destroy());
    });
    relay = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, gateway, () => resolve());
    });
    const redisUrl = `redis://${gateway}:${(server.address() as net.AddressInfo).port}`;
    return {
      addresses,
      gateway,
      redisUrl,
      wrap: (i) => [ipBinary()!, 'netns', 'exec', namespaces[i]!],
      async close() {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const end of open) end.destroy();
        });
        cleanup();
        process.off('exit', cleanup);
      },
    };
  } catch (err) {
    relay?.close();
    cleanup();
    process.off('exit', cleanup);
    throw err;
  }
}
