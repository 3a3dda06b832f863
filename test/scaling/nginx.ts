// A real nginx in front of the test's nodes: round-robin by default (every request to the next
// node, no ip_hash, no cookies), or sticky on the client address (`ip_hash`) for comparison.
// Runs as a foreground child with its configuration, logs and temp files in a folder of its own.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NGINX = ['/usr/sbin/nginx', 'nginx'];

/** The nginx binary, or undefined when none runs here. */
export function nginxBinary(): string | undefined {
  for (const candidate of NGINX) {
    if (spawnSync(candidate, ['-v'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  return undefined;
}

/** `false` when nginx is installed; else a skip reason. Under CI, throws: CI must have it. */
export function nginxSkip(): string | false {
  if (nginxBinary()) return false;
  const reason = 'nginx is not installed';
  if (process.env.CI) throw new Error(`${reason}; CI must provide it (.ci/run installs nginx-light)`);
  return `${reason} (apt-get install -y nginx-light); CI runs these`;
}

export interface BalancerOptions {
  /** Upstream addresses, `host:port`. */
  upstreams: string[];
  /** Where nginx listens (`host`, port chosen free unless given). */
  host?: string;
  port?: number;
  /** Hash on the client address: the sticky setup the no-sticky router replaces. */
  sticky?: boolean;
}

export interface Balancer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startBalancer(options: BalancerOptions): Promise<Balancer> {
  const binary = nginxBinary();
  if (!binary) throw new Error('nginx is not installed');
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort(host));
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-nginx-'));
  const conf = `
worker_processes 1;
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream nodes {
    ${options.sticky ? 'ip_hash;' : '# round-robin: each request to the next node'}
    ${options.upstreams.map((u) => `server ${u} max_fails=0;`).join('\n    ')}
  }
  server {
    listen ${host.includes(':') ? `[${host}]` : host}:${port};
    location / {
      proxy_pass http://nodes;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_read_timeout 75s;
      proxy_next_upstream off;
    }
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child: ChildProcess = spawn(binary, ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(host, port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      const log = safeRead(join(dir, 'error.log'));
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`nginx did not start: ${stderr}${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGQUIT'); // graceful: lets open connections finish their current request
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function freePort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
