// The browser bundles: built by scripts/build-client.mjs, free of Node-only code, within the size
// budget (half of socket.io-client's minified+gzipped script), and served with caching headers.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runInNewContext } from 'node:vm';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import msgpackParser from 'socket.io-msgpack-parser';
import { createClientBundleHandler } from '../../src/client/serve.js';
import { existsSync } from 'node:fs';

const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'switchboard-bundle-'));

before(() => {
  execFileSync(process.execPath, [join(root, 'scripts/build-client.mjs'), '--outdir', dir], { stdio: 'inherit' });
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('browser bundles', () => {
  test('scripts, ES module and msgpack builds exist with source maps, nothing Node-only inside', () => {
    const scripts = ['switchboard.js', 'switchboard.min.js', 'switchboard.esm.min.js', 'switchboard.msgpack.min.js'];
    for (const file of [...scripts, 'socket.io.js', 'socket.io.min.js', 'socket.io.msgpack.min.js']) {
      const code = readFileSync(join(dir, file), 'utf8');
      assert.match(code, new RegExp(`//# sourceMappingURL=${file.replace(/\./g, '\\.')}\\.map\\s*$`));
      const map = JSON.parse(readFileSync(join(dir, file + '.map'), 'utf8'));
      assert.ok(map.sources.some((s: string) => s.includes('src/client/socket.ts')));
      // (msgpack's encoder has an error message that says "Buffer too large")
      assert.doesNotMatch(code, /\brequire\(|node:|from"ws"|\bBuffer[.(]|process\./, file);
      if (!file.includes('msgpack')) assert.doesNotMatch(code, /\bBuffer\b/, file);
    }
    for (const file of ['switchboard.msgpack.min.js', 'socket.io.msgpack.min.js']) {
      const map = JSON.parse(readFileSync(join(dir, file + '.map'), 'utf8'));
      assert.ok(map.sources.some((s: string) => s.includes('notepack')), `${file} bundles the msgpack parser`);
    }
    const script = readFileSync(join(dir, 'switchboard.js'), 'utf8');
    assert.match(script, /^\(\(\) => \{/);
    assert.match(script, /globalThis\.switchboard = \{ io, connect: io, Manager, Socket, protocol \}/);
    const esm = readFileSync(join(dir, 'switchboard.esm.min.js'), 'utf8');
    assert.match(esm, /export\{[^}]*as io[,}]/);
    // The opt-in modules import the core ES module instead of carrying a copy of it.
    for (const file of ['xhr.esm.min.js', 'options.esm.min.js', 'parser.esm.min.js']) {
      const code = readFileSync(join(dir, file), 'utf8');
      assert.match(code, /import\{[^}]+\}from"\.\/switchboard\.esm\.min\.js"/, file);
      assert.ok(code.length < 2000, `${file} is ${code.length} bytes`);
    }
  });

  test('the parser option: opt-in for the ES module (a clear error without the import), built into the msgpack scripts', async () => {
    const options = { autoConnect: false, parser: msgpackParser };
    const core = await import(pathToFileURL(join(dir, 'switchboard.esm.min.js')).href);
    assert.throws(() => new core.Manager('http://127.0.0.1:1', options), /import "switchboard\/client\/parser"/);
    await import(pathToFileURL(join(dir, 'parser.esm.min.js')).href);
    assert.equal(new core.Manager('http://127.0.0.1:1', options).opts.parser, msgpackParser);
    for (const file of ['switchboard.msgpack.min.js', 'socket.io.msgpack.min.js']) {
      const context: Record<string, any> = {};
      runInNewContext(readFileSync(join(dir, file), 'utf8'), context);
      const { Manager } = context.switchboard ?? context.io;
      assert.equal(new Manager('http://127.0.0.1:1', options).opts.parser, msgpackParser, file);
    }
  });

  test('socket.io.js, socket.io.min.js and socket.io.msgpack.min.js define the global io as socket.io-client does', () => {
    for (const file of ['socket.io.js', 'socket.io.min.js', 'socket.io.msgpack.min.js', 'switchboard.min.js']) {
      const context: Record<string, any> = {};
      runInNewContext(readFileSync(join(dir, file), 'utf8'), context);
      if (file.startsWith('switchboard')) {
        assert.equal(context.io, undefined, 'our own script leaves the name io alone');
        assert.equal(typeof context.switchboard.io, 'function');
        continue;
      }
      const { io } = context;
      assert.equal(typeof io, 'function', file);
      assert.equal(io.io, io);
      assert.equal(io.connect, io);
      assert.equal(io.protocol, 5);
      assert.equal(typeof io.Manager, 'function');
      assert.equal(typeof io.Socket, 'function');
      assert.equal(context.switchboard, undefined);
    }
  });

  test('size budget: at most half of socket.io-client (min+gzip) and 7,000 B served, measured by scripts/bundle-size.mjs', () => {
    const run = spawnSync(process.execPath, [join(root, 'scripts/bundle-size.mjs'), '--json', '--dir', dir], { encoding: 'utf8' });
    const result = JSON.parse(run.stdout);
    assert.ok(result.socketio.gzip > 10000, 'measured the real socket.io-client bundle');
    assert.ok(
      result.ours.gzip <= result.budget,
      `switchboard.min.js is ${result.ours.gzip} B gzipped, budget ${result.budget} B (socket.io.min.js ${result.socketio.gzip} B)`,
    );
    assert.equal(result.ceiling, 7000);
    assert.ok(result.ours.served <= 7000, `served as /switchboard/client.js: ${result.ours.served} B gzip -9, ceiling 7,000 B`);
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
    // The map is named by the SourceMap header instead of the file's trailing comment.
    assert.equal(body, readFileSync(join(dir, 'switchboard.min.js'), 'utf8').replace(/\/\/# sourceMappingURL=\S+\s*$/, ''));
    assert.doesNotMatch(body, /sourceMappingURL/);
    assert.equal(res.headers.sourcemap, 'client.js.map');
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(body));
    const etag = String(res.headers.etag);
    assert.match(etag, /^".+"$/);
    assert.match(String(res.headers['cache-control']), /must-revalidate/);
    const again = await fetchRaw(base + '/switchboard/client.js', { 'if-none-match': etag });
    assert.equal(again.res.statusCode, 304);
    assert.equal(again.body, '');
  });

  test('the default script as served gzip -9 (Accept-Encoding: gzip): at most 7,000 bytes; the msgpack script too', async () => {
    const gzipped = (path: string) =>
      new Promise<{ res: IncomingMessage; length: number }>((resolve, reject) =>
        get(base + path, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
          let length = 0;
          res.on('data', (chunk: Buffer) => (length += chunk.length));
          res.on('end', () => resolve({ res, length }));
        }).on('error', reject),
      );
    const script = await gzipped('/switchboard/client.js');
    assert.equal(script.res.headers['content-encoding'], 'gzip');
    assert.ok(script.length <= 7000, `/switchboard/client.js is ${script.length} B gzipped, ceiling 7,000 B`);
    const msgpack = await gzipped('/switchboard/client.msgpack.js');
    assert.equal(msgpack.res.statusCode, 200);
    assert.equal(msgpack.res.headers.sourcemap, 'client.msgpack.js.map');
    assert.ok(msgpack.length > script.length, 'the msgpack script carries the msgpack parser');
  });

  test('serves the ESM bundle and both source maps; HEAD; 405 for other methods', async () => {
    const esm = await fetchRaw(base + '/switchboard/client.esm.js');
    assert.equal(esm.res.statusCode, 200);
    // ES modules keep the comment: Chromium reads the header for classic scripts only.
    assert.match(esm.body, /sourceMappingURL=client\.esm\.js\.map\n$/);
    assert.equal(esm.res.headers.sourcemap, undefined);
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

describe('createClientBundleHandler: socket.io-client URLs', () => {
  type Reply = { res: IncomingMessage; body: Buffer };
  const fetchRaw = (url: string, headers: Record<string, string> = {}, method = 'GET') =>
    new Promise<Reply>((resolve, reject) => {
      get(url, { headers, method }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ res, body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });
  let base = '';
  let handler: ReturnType<typeof createClientBundleHandler>;
  const server = createServer((req, res) => void (handler(req, res) || res.writeHead(404).end('app')));
  before(async () => {
    handler = createClientBundleHandler({ dir, socketioPath: '/socket.io/', cors: { origin: 'https://good.example' } });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const files = {
    'socket.io.js': 'socket.io.js',
    'socket.io.min.js': 'socket.io.min.js',
    'socket.io.esm.min.js': 'switchboard.esm.min.js',
    'socket.io.msgpack.min.js': 'socket.io.msgpack.min.js',
  };

  test('each file and its map: content type, ETag, Cache-Control; the query string is ignored', async () => {
    for (const [name, built] of Object.entries(files)) {
      const { res, body } = await fetchRaw(`${base}/socket.io/${name}?buster=${Date.now()}`);
      assert.equal(res.statusCode, 200, name);
      assert.equal(res.headers['content-type'], 'application/javascript; charset=utf-8');
      assert.match(String(res.headers.etag), /^"[\w-]+"$/);
      assert.match(String(res.headers['cache-control']), /^public, max-age=0/);
      assert.equal(res.headers['content-encoding'], undefined);
      const esm = name.includes('.esm.');
      const expected = readFileSync(join(dir, built), 'utf8').replace(/\/\/# sourceMappingURL=\S+\s*$/, esm ? `//# sourceMappingURL=${name}.map\n` : '');
      assert.equal(body.toString(), expected);
      assert.equal(res.headers.sourcemap, esm ? undefined : `${name}.map`);
      const map = await fetchRaw(`${base}/socket.io/${name}.map`);
      assert.equal(map.res.statusCode, 200);
      assert.equal(map.res.headers['content-type'], 'application/json; charset=utf-8');
      assert.ok(JSON.parse(map.body.toString()).mappings.length > 100);
    }
  });

  test('304 for a matching strong or weak ETag', async () => {
    const { res } = await fetchRaw(base + '/socket.io/socket.io.js');
    const etag = String(res.headers.etag);
    for (const tag of [etag, 'W/' + etag, `"other", ${etag}`]) {
      const again = await fetchRaw(base + '/socket.io/socket.io.js', { 'if-none-match': tag });
      assert.equal(again.res.statusCode, 304, tag);
      assert.equal(again.body.length, 0);
    }
    assert.equal((await fetchRaw(base + '/socket.io/socket.io.js', { 'if-none-match': '"other"' })).res.statusCode, 200);
  });

  test('br, gzip or deflate by Accept-Encoding (preference and q-values), same bytes once decoded', async () => {
    const plain = (await fetchRaw(base + '/socket.io/socket.io.min.js')).body;
    const cases: [string, string | undefined, (b: Buffer) => Buffer][] = [
      ['gzip, deflate, br', 'br', brotliDecompressSync],
      ['br', 'br', brotliDecompressSync],
      ['gzip', 'gzip', gunzipSync],
      ['gzip;q=1, br;q=0.5', 'gzip', gunzipSync],
      ['deflate', 'deflate', inflateSync],
      ['identity', undefined, (b) => b],
      ['br;q=0, gzip;q=0', undefined, (b) => b],
    ];
    for (const [accept, encoding, decode] of cases) {
      const { res, body } = await fetchRaw(base + '/socket.io/socket.io.min.js', { 'accept-encoding': accept });
      assert.equal(res.headers['content-encoding'], encoding, accept);
      assert.equal(res.headers.vary, 'Accept-Encoding');
      assert.equal(Number(res.headers['content-length']), body.length);
      assert.ok(decode(body).equals(plain), accept);
      if (encoding) assert.ok(body.length < plain.length / 2);
    }
  });

  test('CORS headers for an allowed origin (none for others); preflight answered', async () => {
    const good = await fetchRaw(base + '/socket.io/socket.io.js', { origin: 'https://good.example' });
    assert.equal(good.res.statusCode, 200);
    assert.equal(good.res.headers['access-control-allow-origin'], 'https://good.example');
    const bad = await fetchRaw(base + '/socket.io/socket.io.js', { origin: 'https://evil.example' });
    assert.equal(bad.res.headers['access-control-allow-origin'], undefined);
    const preflight = await fetchRaw(base + '/socket.io/socket.io.js', { origin: 'https://good.example', 'access-control-request-method': 'GET' }, 'OPTIONS');
    assert.equal(preflight.res.statusCode, 204);
    assert.match(String(preflight.res.headers['access-control-allow-methods']), /GET/);
  });

  test('unknown script names under the path get 400; other URLs stay with the application', async () => {
    for (const path of ['/socket.io/socket.io.slim.js', '/socket.io/nope.js.map', '/socket.io/socket.io.min.js.map.map']) {
      assert.equal((await fetchRaw(base + path)).res.statusCode, 400, path);
    }
    for (const path of ['/socket.io/', '/socket.io/?EIO=4&transport=polling', '/socket.iox/socket.io.js', '/other/socket.io.js']) {
      const { res, body } = await fetchRaw(base + path);
      assert.equal(res.statusCode, 404, path);
      assert.equal(body.toString(), 'app');
    }
  });

  test('the opt-in modules import the core ES module at its served URL', async () => {
    const { body } = await fetchRaw(base + '/switchboard/client.xhr.esm.js');
    assert.match(body.toString(), /from"\.\/client\.esm\.js"/);
    const msgpack = await fetchRaw(base + '/switchboard/client.msgpack.js');
    assert.equal(msgpack.res.statusCode, 200);
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

  test('socket.io-client URLs under the endpoint path, with the cors option; 400 for unknown names', { skip: hasServer ? false : 'src/server not present' }, async () => {
    const { Server } = await import('../../src/server/index.js');
    const http = createServer((_req, res) => res.writeHead(404).end('app'));
    const io = new (Server as any)(http, { path: '/rt/', cors: { origin: 'https://good.example' } });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const fetchRaw = (path: string) =>
      new Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>((resolve, reject) =>
        get(base + path, { headers: { origin: 'https://good.example' } }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        }).on('error', reject),
      );
    try {
      const script = await fetchRaw('/rt/socket.io.js');
      if (existsSync(join(root, 'dist/browser/socket.io.js'))) {
        assert.equal(script.status, 200);
        assert.match(script.body, /globalThis\.io = /);
      } else {
        assert.equal(script.status, 404);
        assert.match(script.body, /npm run build/, 'answered by the client handler, not the application');
      }
      assert.equal(script.headers['access-control-allow-origin'], 'https://good.example');
      assert.equal((await fetchRaw('/rt/socket.io.slim.js')).status, 400);
      assert.equal((await fetchRaw('/socket.io/socket.io.js')).body, 'app', 'only under the configured path');
    } finally {
      await new Promise<void>((resolve) => io.close(() => resolve()));
    }
  });
});
