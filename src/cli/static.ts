// Serves the demo pages from memory: a fixed set of files read once at startup (no path handling at
// request time, so no traversal), with strict security headers.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

interface Asset { body: Buffer; type: string; etag: string }

/** Routes: `/` → index.html (chat), `/dashboard` → dashboard.html, `/<file>` → any other file. */
export class StaticPages {
  private readonly assets = new Map<string, Asset>();

  /** `vars` replace `%NAME%` placeholders in HTML files (HTML-escaped). */
  constructor(dir: string, vars: Record<string, string>) {
    for (const name of readdirSync(dir)) {
      const type = TYPES[extname(name)];
      if (!type) continue;
      let body = readFileSync(join(dir, name));
      if (name.endsWith('.html')) {
        body = Buffer.from(body.toString('utf8').replace(/%([A-Z_]+)%/g, (m, key: string) => (key in vars ? escapeHtml(vars[key]!) : m)));
      }
      const etag = `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"`;
      const asset = { body, type, etag };
      this.assets.set(`/${name}`, asset);
      if (name === 'index.html') this.assets.set('/', asset);
      if (name.endsWith('.html')) this.assets.set(`/${name.slice(0, -5)}`, asset);
    }
  }

  /** Answers the request if it names a page; returns false to let others (404) handle it. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = (req.url ?? '/').split('?')[0]!;
    const asset = this.assets.get(path);
    if (!asset) return false;
    const headers: Record<string, string | number> = {
      'Content-Type': asset.type,
      'Content-Length': asset.body.length,
      ETag: asset.etag,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Content-Security-Policy':
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, { ETag: asset.etag, 'Cache-Control': 'no-cache' }).end();
      return true;
    }
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : asset.body);
    return true;
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
