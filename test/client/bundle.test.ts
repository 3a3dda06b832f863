// The browser bundles: built by scripts/build-client.mjs, free of Node-only code, within the size
// budget (half of socket.io-client's minified+gzipped script), and served with caching headers.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClientBundleHandler } from '../../src/client/serve.js';
import { existsSync } from 'node:fs';

const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'switchboard-bundle-'));

before(() => {
  execFileSync(process.execPath, [join(root, 'scripts/build-client.mjs'), '--outdir', dir], { stdio: 'inherit' });
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('browser bundles', () => {
  test('script, minified script and ESM exist with source maps, nothing Node-only inside', () => {
    for (const file of ['switchboard.js', 'switchboard.min.js', 'switchboard.esm.min.js']) {
      const code = readFileSync(join(dir, file), 'utf8');
      assert.match(code, new RegExp(`//# sourceMappingURL=${file.replace(/\./g, '\\.')}\\.map\\s*$`));
      const map = JSON.parse(readFileSync(join(dir, file + '.map'), 'utf8'));
      assert.ok(map.sources.some((s: string) => s.includes('src/client/socket.ts')));
      assert.doesNotMatch(code, /\brequire\(|node:|from"ws"|\bBuffer\b|process\./, file);
    }
    const script = readFileSync(join(dir, 'switchboard.js'), 'utf8');
    assert.match(script, /^\(\(\) => \{/);
    assert.match(script, /globalThis\.switchboard = \{ io, connect: io, Manager, Socket, protocol \}/);
    const esm = readFileSync(join(dir, 'switchboard.esm.min.js'), 'utf8');
    assert.match(esm, /export\{[^}]*as io[,}]/);
  });

  test('size budget: at most half of socket.io-client (min+gzip), measured by scripts/bundle-size.mjs', () => {
    const run = spawnSync(process.execPath, [join(root, 'scripts/bundle-size.mjs'), '--json', '--dir', dir], { encoding: 'utf8' });
    const result = JSON.parse(run.stdout);
    assert.ok(result.socketio.gzip > 10000, 'measured the real socket.io-client bundle');
    assert.ok(
      result.ours.gzip <= result.budget,
      `switchboard.min.js is ${result.ours.gzip} B gzipped, budget ${result.budget} B (socket.io.min.js ${result.socketio.gzip} B)`,
    );
    assert.equal(run.status, 0);
  });
});

describe('createClientBundleHandler', () => {
  const fetchRaw = (url: string, headers: Record<string, string> = {}, method = 'GET') =>
    new Promise<{ res: IncomingMessage; body: string }>((resolve, reject) => {
      const req = get(url, { headers, method }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ res, body }));
      });
      req.on('error', reject);
    });
  let base = '';
  const server = createServer((req, res) => {
    if (handler(req, res)) return;
    if (custom(req, res)) return;
    res.writeHead(404).end('app');
  });
  let handler: ReturnType<typeof createClientBundleHandler>;
  let custom: ReturnType<typeof createClientBundleHandler>;
  before(async () => {
    handler = createClientBundleHandler({ dir });
    custom = createClientBundleHandler({ dir, path: '/assets/rt.js' });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('serves the script with ETag and revalidation, 304 on a match', async () => {
    const { res, body } = await fetchRaw(base + '/switchboard/client.js?v=1');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /javascript/);
    assert.equal(body, readFileSync(join(dir, 'switchboard.min.js'), 'utf8').replace(/switchboard\.min\.js\.map\s*$/, 'client.js.map\n'));
    assert.match(body, /sourceMappingURL=client\.js\.map\n$/);
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(body));
    const etag = String(res.headers.etag);
    assert.match(etag, /^".+"$/);
    assert.match(String(res.headers['cache-control']), /must-revalidate/);
    const again = await fetchRaw(base + '/switchboard/client.js', { 'if-none-match': etag });
    assert.equal(again.res.statusCode, 304);
    assert.equal(again.body, '');
  });

  test('serves the ESM bundle and both source maps; HEAD; 405 for other methods', async () => {
    const esm = await fetchRaw(base + '/switchboard/client.esm.js');
    assert.equal(esm.res.statusCode, 200);
    assert.match(esm.body, /sourceMappingURL=client\.esm\.js\.map\n$/);
    for (const path of ['/switchboard/client.js.map', '/switchboard/client.esm.js.map']) {
      const map = await fetchRaw(base + path);
      assert.equal(map.res.statusCode, 200);
      assert.ok(JSON.parse(map.body).mappings.length > 100);
    }
    const head = await fetchRaw(base + '/switchboard/client.js', {}, 'HEAD');
    assert.equal(head.res.statusCode, 200);
    assert.equal(head.body, '');
    const post = await fetchRaw(base + '/switchboard/client.js', {}, 'POST');
    assert.equal(post.res.statusCode, 405);
  });

  test('configurable path; other URLs are left to the application', async () => {
    assert.equal((await fetchRaw(base + '/assets/rt.js')).res.statusCode, 200);
    assert.equal((await fetchRaw(base + '/assets/rt.esm.js')).res.statusCode, 200);
    const other = await fetchRaw(base + '/switchboard/client.jsx');
    assert.equal(other.res.statusCode, 404);
    assert.equal(other.body, 'app');
  });

  test('missing bundle → 404 with a hint, not a crash', async () => {
    const missing = createClientBundleHandler({ dir: join(dir, 'nope') });
    const srv = createServer((req, res) => void (missing(req, res) || res.writeHead(500).end()));
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const { res, body } = await fetchRaw(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/switchboard/client.js`);
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    assert.equal(res.statusCode, 404);
    assert.match(body, /npm run build/);
  });
});

describe('switchboard Server serveClient (default path, dist/browser)', () => {
  const built = existsSync(join(root, 'dist/browser/switchboard.min.js'));
  const hasServer = existsSync(join(root, 'src/server/index.ts'));
  const skip = !hasServer ? 'src/server not present' : !built ? 'dist/browser not built (npm run build)' : false;
  test('serves /switchboard/client.js and its ESM twin; serveClient:false turns it off', { skip }, async () => {
    const { Server } = await import('../../src/server/index.js');
    for (const serveClient of [true, false]) {
      const http = createServer((_req, res) => res.writeHead(404).end('app'));
      const io = new (Server as any)(http, { serveClient });
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
      try {
        for (const path of ['/switchboard/client.js', '/switchboard/client.esm.js', '/switchboard/client.js.map']) {
          const status = await new Promise<number>((resolve, reject) =>
            get(base + path, (res) => {
              res.resume();
              resolve(res.statusCode!);
            }).on('error', reject),
          );
          assert.equal(status, serveClient ? 200 : 404, `${path} with serveClient ${serveClient}`);
        }
      } finally {
        await new Promise<void>((resolve) => io.close(() => resolve()));
      }
    }
  });
});
