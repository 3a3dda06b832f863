/**
 * CORS for the polling transport (WebSocket is not subject to CORS; use `allowRequest` there).
 * Closed unless configured: without the option no Access-Control-* header is ever sent, so
 * browsers on other origins cannot read polling responses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * One allowed origin: the exact origin string (`https://app.example.com`), or a RegExp tested
 * against it.
 */
export type OriginMatcher = string | RegExp;

/**
 * Cross-origin access (CORS) for polling requests, and the Origin check of WebSocket upgrades.
 * Closed until configured.
 */
export interface CorsOptions {
  /**
   * Allowed origins: `'*'` (any, without credentials), one origin, a list of origins or
   * patterns, a pattern, `true` to reflect any origin, or a function deciding per request.
   */
  origin:
    | boolean
    | OriginMatcher
    | OriginMatcher[]
    | ((origin: string | undefined, cb: (err: Error | null, allow?: boolean) => void) => void);
  /** Send `Access-Control-Allow-Credentials: true` (cookies, `withCredentials`). */
  credentials?: boolean;
  /** Methods announced in preflight answers (default `GET,POST`). */
  methods?: string | string[];
  /** Headers allowed in preflight answers (default: echo what the browser asks for). */
  allowedHeaders?: string | string[];
  /** Response headers exposed to scripts. */
  exposedHeaders?: string | string[];
  /** Seconds browsers may cache a preflight answer. */
  maxAge?: number;
}

const list = (value: string | string[]): string => (Array.isArray(value) ? value.join(',') : value);

function matches(matcher: OriginMatcher, origin: string): boolean {
  if (typeof matcher === 'string') return matcher === origin;
  matcher.lastIndex = 0; // a /g pattern keeps state between calls
  return matcher.test(origin);
}

function decide(options: CorsOptions, origin: string | undefined, cb: (allowed: string | null) => void): void {
  const rule = options.origin;
  if (rule === '*') return cb('*');
  if (origin === undefined) return cb(null);
  if (typeof rule === 'function') {
    let settled = false;
    const done = (err: Error | null, allow?: boolean) => {
      if (settled) return;
      settled = true;
      cb(!err && allow ? origin : null);
    };
    try {
      rule(origin, done);
    } catch {
      done(new Error('origin callback threw'));
    }
    return;
  }
  if (rule === true) return cb(origin);
  if (rule === false) return cb(null);
  const allowed = Array.isArray(rule) ? rule.some((m) => matches(m, origin)) : matches(rule, origin);
  cb(allowed ? origin : null);
}

/** True when `origin` names the site the request was sent to (scheme aside): the page's own server. */
export function isSameOrigin(origin: string, req: IncomingMessage): boolean {
  const host = req.headers.host;
  if (host === undefined) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/** Whether a cross-origin page may open a session: only when `cors.origin` allows it. */
export function originAllowed(options: CorsOptions | undefined, origin: string, cb: (ok: boolean) => void): void {
  if (!options) return cb(false);
  decide(options, origin, (allowed) => cb(allowed !== null));
}

/**
 * Sets the CORS headers for this request on `res`. Calls `next(true)` when the request was a
 * preflight and has been answered, `next(false)` when the request should proceed.
 */
export function applyCors(options: CorsOptions, req: IncomingMessage, res: ServerResponse, next: (answered: boolean) => void): void {
  const origin = req.headers.origin;
  decide(options, origin, (allowed) => {
    if (allowed !== '*') res.setHeader('Vary', 'Origin');
    if (allowed !== null) {
      res.setHeader('Access-Control-Allow-Origin', allowed);
      if (options.credentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
      if (options.exposedHeaders) res.setHeader('Access-Control-Expose-Headers', list(options.exposedHeaders));
    }
    if (req.method !== 'OPTIONS') return next(false);
    if (allowed !== null) {
      res.setHeader('Access-Control-Allow-Methods', list(options.methods ?? 'GET,POST'));
      const headers = options.allowedHeaders ?? req.headers['access-control-request-headers'];
      if (headers) res.setHeader('Access-Control-Allow-Headers', list(headers));
      if (options.maxAge !== undefined) res.setHeader('Access-Control-Max-Age', String(options.maxAge));
    }
    res.writeHead(204, { 'Content-Length': '0' });
    res.end();
    next(true);
  });
}
