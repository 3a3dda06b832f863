// The Redis server the adapter tests share: where it is (REDIS_URL) and whether it answers. Without
// one, those tests skip with the reason instead of waiting for a connection that never comes; under
// CI (which starts Redis in .ci/run) a missing server fails the file at once.
import { spawnSync } from 'node:child_process';
import net from 'node:net';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PROBE_TIMEOUT_MS = 2000;

/** Resolves with whether a Redis server at `url` answers a PING (an auth error counts: it is there). */
export function redisAnswers(url = REDIS_URL): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(port) || 6379 });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (reply) => done(/^(\+PONG|-NOAUTH|-ERR)/.test(reply.toString('latin1'))));
  });
}

function skipOrFail(reason: string, remedy: string): string {
  if (process.env.CI) throw new Error(`${reason}; CI must provide it (.ci/run installs and starts redis-server)`);
  return `${reason} (${remedy}); CI runs these`;
}

/** `false` when Redis answers at REDIS_URL; else a skip reason. Under CI, throws instead. */
export async function redisSkip(): Promise<string | false> {
  if (await redisAnswers()) return false;
  return skipOrFail(`no Redis server answers at ${REDIS_URL}`, 'start one, e.g. `redis-server --daemonize yes`, or set REDIS_URL');
}

/** `false` when the `redis-server` binary can be started (fault tests run private servers); else a skip reason. */
export function redisServerBinarySkip(): string | false {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0) return false;
  return skipOrFail('the redis-server binary is not on PATH', 'apt-get install redis-server');
}
