// docs/scaling.md's nginx configuration for the hub, run as written in front of a real hub: only
// the addresses, ports and certificate paths are replaced. TLS ends at nginx on a non-default port,
// the pages and Socket.IO (WebSocket and polling) pass through, and a browser Origin with that port
// is accepted; the same file with `$host` instead of `$http_host` is refused, as the page warns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connectClient } from 'socket.io-client';
import { once, root, startTestHub } from './helpers.js';

const NGINX = process.env.NGINX_PATH ?? '/usr/sbin/nginx';
const present = spawnSync(NGINX, ['-v'], { stdio: 'ignore' }).status === 0;
if (!present && process.env.CI) throw new Error(`nginx not found at ${NGINX}; CI must install it (.ci/run installs nginx-light)`);
const skip = !present && `nginx not found at ${NGINX} (apt-get install nginx-light); CI runs this`;
const certPath = join(root, 'test/websocket/fixtures/cert.pem');
const keyPath = join(root, 'test/websocket/fixtures/key.pem');
const ca = readFileSync(certPath, 'utf8');

/** The first ```nginx block after the "nginx in front of the hub" heading. */
function documentedConfig(): string {
  const page = readFileSync(join(root, 'docs/scaling.md'), 'utf8');
  const section = page.slice(page.indexOf('### nginx in front of the hub'));
  const block = /```nginx\n([\s\S]*?)```/.exec(section);
  assert.ok(block, 'docs/scaling.md has an nginx block for the hub');
  return block[1]!;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts nginx with `site` inside a minimal main configuration; resolves once it accepts connections. */
async function startNginx(dir: string, site: string, port: number): Promise<ChildProcess> {
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `
    pid ${join(dir, 'nginx.pid')};
    error_log ${join(dir, 'error.log')} warn;
    events { worker_connections 256; }
    http {
      access_log off;
      client_body_temp_path ${join(dir, 'body')};
      proxy_temp_path ${join(dir, 'proxy')};
      fastcgi_temp_path ${join(dir, 'fastcgi')};
      uwsgi_temp_path ${join(dir, 'uwsgi')};
      scgi_temp_path ${join(dir, 'scgi')};
      ${site}
    }
  `);
  const child = spawn(NGINX, ['-p', dir, '-c', conf, '-g', 'daemon off; master_process off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  for (let tries = 0; ; tries++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}${readFileSync(join(dir, 'error.log'), 'utf8')}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = createServer().listen(port, '127.0.0.1');
      socket.once('listening', () => socket.close(() => resolve(false)));
      socket.once('error', () => resolve(true)); // the port is taken: nginx listens
    });
    if (up) return child;
    assert.ok(tries < 100, 'nginx did not start listening');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function getPage(port: number, path: string): Promise<{ status: number | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    httpsGet({ host: '127.0.0.1', port, path, ca, servername: 'localhost', headers: { host: `localhost:${port}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

test('the documented nginx configuration in front of the hub: TLS, pages, WebSocket and polling, Origin with a port', { skip }, async (t) => {
  const hub = await startTestHub({ trustProxy: ['loopback'] });
  t.after(() => hub.close());
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-nginx-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [httpsPort, httpPort, hostPort] = [await freePort(), await freePort(), await freePort()];
  const site = (config: string, port: number, plainPort: number) => config
    .replace('listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`)
    .replace('listen 80;', `listen 127.0.0.1:${plainPort};`)
    .replace(/ssl_certificate\s+\S+;/, `ssl_certificate ${certPath};`)
    .replace(/ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${keyPath};`)
    .replaceAll('http://127.0.0.1:3000', `http://127.0.0.1:${hub.port}`);
  const config = documentedConfig();
  assert.match(config, /proxy_set_header Host \$http_host;/);

  const nginx = await startNginx(dir, site(config, httpsPort, httpPort), httpsPort);
  t.after(() => nginx.kill('SIGKILL'));
  const origin = `https://localhost:${httpsPort}`; // a non-default port, as a browser sends it

  assert.equal((await getPage(httpsPort, '/')).status, 200);
  const dashboard = await getPage(httpsPort, '/dashboard');
  assert.equal(dashboard.status, 200);
  assert.match(dashboard.body, /dashboard/);

  for (const transports of [['websocket'], ['polling']] as const) {
    const client = connectClient(origin, { ca, transports: [...transports], extraHeaders: { Origin: origin }, reconnection: false, forceNew: true });
    t.after(() => client.disconnect());
    await once(client, 'connect');
    assert.equal(await client.timeout(5000).emitWithAck('echo', transports[0]), transports[0]);
    client.disconnect();
  }

  // The same site with nginx's $host, which drops the port: the hub refuses that Origin.
  const hostDir = mkdtempSync(join(tmpdir(), 'switchboard-nginx-host-'));
  t.after(() => rmSync(hostDir, { recursive: true, force: true }));
  const withHost = site(config, hostPort, await freePort()).replaceAll('proxy_set_header Host $http_host;', 'proxy_set_header Host $host;');
  const nginxWithHost = await startNginx(hostDir, withHost, hostPort);
  t.after(() => nginxWithHost.kill('SIGKILL'));
  const refusedOrigin = `https://localhost:${hostPort}`;
  const refused = connectClient(refusedOrigin, { ca, transports: ['polling'], extraHeaders: { Origin: refusedOrigin }, reconnection: false, forceNew: true });
  t.after(() => refused.disconnect());
  const [err] = await once<[Error & { description?: unknown }]>(refused, 'connect_error');
  assert.equal(err.description, 403, `refused with 403 Origin not allowed (${err.message} ${String(err.description)})`);
});
