/**
 * Serves the browser bundles over HTTP (Node only; the server's `serveClient` uses it).
 *
 * One table of served files, URL → build, read at start with its ETag and headers. With the
 * default paths it answers:
 *   /switchboard/client.js             minified script (global `switchboard`)
 *   /switchboard/client.esm.js         minified ES module
 *   /switchboard/client.msgpack.js     minified script whose default parser is msgpack
 *   /switchboard/client.xhr.esm.js     opt-in modules (ES modules importing ./client.esm.js)
 *   /switchboard/client.options.esm.js
 *   /switchboard/client.parser.esm.js
 *   /socket.io/socket.io.js            readable script, global `io` (socket.io-client's URLs)
 *   /socket.io/socket.io.min.js        minified script, global `io`
 *   /socket.io/socket.io.esm.min.js    minified ES module
 *   /socket.io/socket.io.msgpack.min.js  global `io`, msgpack parser
 *   ...and `.map` for each script (source maps)
 * The scripts name their map in a `SourceMap` response header (ECMA-426, "Linking through HTTP
 * headers"; every browser's devtools read it) instead of the trailing `//# sourceMappingURL=` comment,
 * which costs the default bundle ~30 B gzipped; the ES modules keep the comment, as Chromium reads the
 * header for classic scripts only.
 * Each with a strong ETag (content hash), `Cache-Control: public, max-age=0, must-revalidate`, 304s,
 * brotli / gzip / deflate by `Accept-Encoding` (each compressed once, on first demand), and CORS
 * headers when `cors` is configured. Other `.js` / `.map` names under the socket.io path get 400,
 * as socket.io answers them.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, deflateSync, gzipSync } from 'node:zlib';
import { applyCors, type CorsOptions } from '../engine/cors.js';

export interface ClientBundleOptions {
  /** URL of the script bundle (default `/switchboard/client.js`); the others sit next to it (`.esm.js`, ...). */
  path?: string;
  /** Also serve socket.io-client's file names under this path (e.g. `/socket.io/`); off when absent. */
  socketioPath?: string;
  /** Directory holding the built bundles (default: the package's `dist/browser`). */
  dir?: string;
  /** CORS for the files (the server's `cors` option); no CORS header without it. */
  cors?: CorsOptions;
}

type Encoding = 'br' | 'gzip' | 'deflate';

interface ServedFile {
  body: Buffer;
  etag: string;
  headers: Record<string, string>;
  /** Compressed bodies, made on first demand. */
  encoded: Partial<Record<Encoding, Buffer>>;
}

const COMPRESS: Record<Encoding, (body: Buffer) => Buffer> = {
  br: (body) => brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }),
  gzip: (body) => gzipSync(body, { level: 9 }),
  deflate: (body) => deflateSync(body, { level: 9 }),
};

function moduleDir(): string {
  // ESM build and tsx: import.meta.url; CommonJS build: __dirname.
  if (typeof __dirname === 'string') return __dirname;
  return dirname(fileURLToPath(import.meta.url));
}

/** dist/esm/client → dist/browser; src/client → dist/browser. */
function defaultDir(): string {
  const here = moduleDir();
  const candidates = [join(here, '../../browser'), join(here, '../../dist/browser')];
  return candidates.find((dir) => existsSync(join(dir, 'switchboard.min.js'))) ?? candidates[0]!;
}

const basename = (url: string) => url.slice(url.lastIndexOf('/') + 1);

/** URL → build file for every served script (maps are added next to each). */
function scriptTable(opts: ClientBundleOptions): Record<string, string> {
  const script = opts.path ?? '/switchboard/client.js';
  const base = script.endsWith('.js') ? script.slice(0, -3) : script;
  const table: Record<string, string> = {
    [script]: 'switchboard.min.js',
    [base + '.esm.js']: 'switchboard.esm.min.js',
    [base + '.msgpack.js']: 'switchboard.msgpack.min.js',
    [base + '.xhr.esm.js']: 'xhr.esm.min.js',
    [base + '.options.esm.js']: 'options.esm.min.js',
    [base + '.parser.esm.js']: 'parser.esm.min.js',
  };
  if (opts.socketioPath !== undefined) {
    const dir = opts.socketioPath.replace(/\/?$/, '/');
    for (const name of ['socket.io.js', 'socket.io.min.js', 'socket.io.msgpack.min.js']) table[dir + name] = name;
    table[dir + 'socket.io.esm.min.js'] = 'switchboard.esm.min.js';
  }
  return table;
}

/** Reads every file of the table once; files not built are left out. */
function loadTable(opts: ClientBundleOptions): Map<string, ServedFile> {
  const dir = opts.dir ?? defaultDir();
  const table = scriptTable(opts);
  // The opt-in modules import the core ES module by its file name: point them at its URL.
  const esmUrl = Object.keys(table).find((url) => table[url] === 'switchboard.esm.min.js')!;
  const files = new Map<string, ServedFile>();
  const add = (url: string, body: Buffer, type: string, extra?: Record<string, string>) =>
    files.set(url, {
      body,
      etag: '"' + createHash('sha1').update(body).digest('base64url') + '"',
      headers: { 'content-type': type + '; charset=utf-8', 'cache-control': 'public, max-age=0, must-revalidate', vary: 'Accept-Encoding', ...extra },
      encoded: {},
    });
  for (const [url, file] of Object.entries(table)) {
    let code: string;
    let map: Buffer;
    // The bundle names its map after the file on disk; point at the URL we serve the map at.
    const mapUrl = basename(url) + '.map';
    const esm = file.endsWith('.esm.min.js');
    try {
      code = readFileSync(join(dir, file), 'utf8')
        .replace(/\/\/# sourceMappingURL=\S+\s*$/, esm ? `//# sourceMappingURL=${mapUrl}\n` : '')
        .replaceAll('"./switchboard.esm.min.js"', JSON.stringify('./' + basename(esmUrl)));
      map = readFileSync(join(dir, file + '.map'));
    } catch {
      continue; // not built: answered with a 404 and a hint
    }
    add(url, Buffer.from(code), 'application/javascript', esm ? undefined : { sourcemap: mapUrl });
    add(url + '.map', map, 'application/json');
  }
  return files;
}

/** The encoding to answer with: the client's preference (q-values), ties in br, gzip, deflate order. */
function chooseEncoding(header: string | string[] | undefined): Encoding | undefined {
  if (typeof header !== 'string') return undefined;
  let best: Encoding | undefined;
  let bestQ = 0;
  const accepted = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    accepted.set(name!, q ? Number(q.slice(2)) || 0 : 1);
  }
  for (const encoding of ['br', 'gzip', 'deflate'] as const) {
    const q = accepted.get(encoding) ?? accepted.get('*') ?? 0;
    if (q > bestQ) [best, bestQ] = [encoding, q];
  }
  return best;
}

/**
 * Returns a request handler that answers the bundle URLs and returns false for anything else.
 * The table is built when the handler is created.
 *
 * @example
 * ```ts
 * const serveClient = createClientBundleHandler({ path: '/switchboard/client.js', socketioPath: '/socket.io/' });
 * http.createServer((req, res) => { if (!serveClient(req, res)) app(req, res); });
 * ```
 */
export function createClientBundleHandler(
  opts: ClientBundleOptions = {},
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const files = loadTable(opts);
  const urls = new Set(Object.keys(scriptTable(opts)).flatMap((url) => [url, url + '.map']));
  const socketioDir = opts.socketioPath?.replace(/\/?$/, '/');

  const serve = (req: IncomingMessage, res: ServerResponse, pathname: string) => {
    const file = files.get(pathname);
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('client bundle not built (run npm run build)');
      return;
    }
    const headers: Record<string, string | number> = { ...file.headers, etag: file.etag };
    const match = req.headers['if-none-match'];
    if (match && match.split(/\s*,\s*/).some((tag) => tag === file.etag || tag === 'W/' + file.etag || tag === '*')) {
      res.writeHead(304, headers).end();
      return;
    }
    const encoding = chooseEncoding(req.headers['accept-encoding']);
    let body = file.body;
    if (encoding) {
      body = file.encoded[encoding] ??= COMPRESS[encoding](file.body);
      headers['content-encoding'] = encoding;
    }
    res.writeHead(200, { ...headers, 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  return (req, res) => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    if (!urls.has(pathname)) {
      // socket.io answers 400 for other script names under its path (the engine refuses them).
      if (socketioDir && pathname.startsWith(socketioDir) && /\.(js|map)$/.test(pathname)) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 0, message: 'Transport unknown' }));
        return true;
      }
      return false;
    }
    const answer = () => {
      if (req.method === 'GET' || req.method === 'HEAD') serve(req, res, pathname);
      else res.writeHead(405, { allow: 'GET, HEAD' }).end();
    };
    if (opts.cors) applyCors(opts.cors, req, res, (answered) => answered || answer());
    else answer();
    return true;
  };
}
