/**
 * Serves the browser bundles over HTTP (Node only; the server's `serveClient` uses it).
 *
 * With the default path `/switchboard/client.js` it answers:
 *   /switchboard/client.js          minified script (global `switchboard`)
 *   /switchboard/client.esm.js      minified ES module
 *   ...and `.map` for each (source maps)
 * with a strong ETag (content hash), `Cache-Control: public, max-age=0, must-revalidate` and 304s.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ClientBundleOptions {
  /** URL of the script bundle (default `/switchboard/client.js`); the ESM bundle sits next to it as `.esm.js`. */
  path?: string;
  /** Directory holding the built bundles (default: the package's `dist/browser`). */
  dir?: string;
}

interface Asset {
  body: Buffer;
  etag: string;
  type: string;
}

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

/**
 * Returns a request handler that answers the bundle URLs and returns false for anything else.
 * Files are read once, on first request.
 *
 * @example
 * ```ts
 * const serveClient = createClientBundleHandler({ path: '/switchboard/client.js' });
 * http.createServer((req, res) => { if (!serveClient(req, res)) app(req, res); });
 * ```
 */
export function createClientBundleHandler(
  opts: ClientBundleOptions = {},
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const script = opts.path ?? '/switchboard/client.js';
  const base = script.endsWith('.js') ? script.slice(0, -3) : script;
  const esm = base + '.esm.js';
  const files: Record<string, [file: string, servedMapName: string]> = {
    [script]: ['switchboard.min.js', script.slice(script.lastIndexOf('/') + 1) + '.map'],
    [esm]: ['switchboard.esm.min.js', esm.slice(esm.lastIndexOf('/') + 1) + '.map'],
  };
  let assets: Map<string, Asset> | undefined;

  const load = (): Map<string, Asset> => {
    const dir = opts.dir ?? defaultDir();
    const out = new Map<string, Asset>();
    const add = (url: string, body: Buffer, type: string) =>
      out.set(url, { body, type, etag: '"' + createHash('sha1').update(body).digest('base64url') + '"' });
    for (const [url, [file, mapName]] of Object.entries(files)) {
      // The bundle names its map after the file on disk; point it at the URL we serve the map at.
      const code = readFileSync(join(dir, file), 'utf8').replace(/\/\/# sourceMappingURL=\S+\s*$/, `//# sourceMappingURL=${mapName}\n`);
      add(url, Buffer.from(code), 'application/javascript; charset=utf-8');
      add(url + '.map', readFileSync(join(dir, file + '.map')), 'application/json; charset=utf-8');
    }
    return out;
  };

  return (req, res) => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    if (!(pathname === script || pathname === esm || pathname === script + '.map' || pathname === esm + '.map')) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    try {
      assets ??= load();
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('client bundle not built (run npm run build)');
      return true;
    }
    const asset = assets.get(pathname)!;
    const headers = { etag: asset.etag, 'cache-control': 'public, max-age=0, must-revalidate' };
    const match = req.headers['if-none-match'];
    if (match && match.split(/\s*,\s*/).some((tag) => tag === asset.etag || tag === 'W/' + asset.etag || tag === '*')) {
      res.writeHead(304, headers).end();
      return true;
    }
    res.writeHead(200, { ...headers, 'content-type': asset.type, 'content-length': asset.body.length });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
    return true;
  };
}
