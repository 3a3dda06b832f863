/**
 * The client's address: the one place that reads `X-Forwarded-For` or `Forwarded` (RFC 7239).
 * The engine computes it once per handshake request and every limit, log line and
 * `socket.handshake.address` reads the stored value.
 *
 * Proxies append the address they saw to the right of the header, so the list read from the
 * right, starting at the TCP peer, is a chain of hops. We walk it only while the hop we stand on is
 * trusted: everything left of the first untrusted hop was written by someone we do not trust (the
 * client can send any header it likes). The model is Express's `trust proxy`.
 */
import { BlockList, isIP } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Which proxies to believe about the client's address (Express's `trust proxy` values):
 * - `false` (default): none; the address is the TCP peer's.
 * - `true`: all of them; the left-most address of the header. Only when the server cannot be
 *   reached except through proxies that overwrite the header.
 * - a number `n`: `n` proxies stand in front of the server; the client is the `n`-th address
 *   from the right of the header (1: the one the proxy facing the server added).
 * - addresses and CIDR ranges (an array, or one comma-separated string), and the names
 *   `loopback`, `linklocal`, `uniquelocal`: the hops to trust, wherever they are in the chain.
 * - a function `(address, hop) => boolean`, `hop` 0 being the TCP peer.
 */
export type TrustProxy = boolean | number | string | readonly string[] | ((address: string, hop: number) => boolean);

/** The header trusted proxies write: `x-forwarded-for` (default; nginx, HAProxy, cloud balancers) or `forwarded` (RFC 7239). */
export type ProxyHeader = 'x-forwarded-for' | 'forwarded';

/** A compiled {@link TrustProxy}; null trusts nobody. */
export type TrustFunction = ((address: string, hop: number) => boolean) | null;

const NAMED_RANGES: Record<string, readonly string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** Checks a `trustProxy` option once, at construction; a wrong one throws there, never per request. */
export function compileTrust(trust: TrustProxy | undefined): TrustFunction {
  if (trust === undefined || trust === false) return null;
  if (trust === true) return () => true;
  if (typeof trust === 'function') return trust;
  if (typeof trust === 'number') {
    if (!Number.isInteger(trust) || trust < 0) throw new RangeError('trustProxy: a hop count must be a whole number ≥ 0');
    const hops = trust;
    return hops === 0 ? null : (_address, hop) => hop < hops;
  }
  const entries = (typeof trust === 'string' ? trust.split(',') : [...trust]).map((e) => String(e).trim()).filter(Boolean);
  const list = new BlockList();
  for (const entry of entries) {
    for (const range of NAMED_RANGES[entry] ?? [entry]) {
      const slash = range.indexOf('/');
      const ip = slash === -1 ? range : range.slice(0, slash);
      const family = isIP(ip);
      const prefix = slash === -1 ? (family === 6 ? 128 : 32) : Number(range.slice(slash + 1));
      if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32) || slash === range.length - 1) {
        throw new TypeError(`trustProxy: "${entry}" is not an IP address, a CIDR range, loopback, linklocal or uniquelocal`);
      }
      list.addSubnet(ip, prefix, family === 6 ? 'ipv6' : 'ipv4');
    }
  }
  if (entries.length === 0) return null;
  return (address) => {
    const v4 = unmapIPv4(address);
    const family = isIP(v4);
    return family !== 0 && list.check(v4, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/**
 * The client's address for a request: the TCP peer's, or, when the peer is a trusted proxy, the
 * address the trusted chain of proxies reports. Never throws; always a string (empty when the
 * socket has no address, e.g. already closed). Addresses read from the header come back without
 * port or brackets; a hop that is not an IP address (`unknown`, an obfuscated name, garbage)
 * ends the walk at the last address we could read.
 */
export function clientAddress(
  peer: string | undefined,
  headers: IncomingHttpHeaders,
  trust: TrustFunction,
  header: ProxyHeader = 'x-forwarded-for',
): string {
  let result = peer ?? '';
  if (trust === null || !peer) return result;
  const raw = headers[header];
  if (typeof raw !== 'string' || raw.length === 0) return result;
  const hops = header === 'forwarded' ? forwardedFor(raw) : raw.split(',');
  let current = peer;
  for (let hop = 0; hop < hops.length; hop++) {
    if (!trusts(trust, current, hop)) break;
    const next = hopAddress(hops[hops.length - 1 - hop]!);
    if (next === null) break;
    result = current = next;
  }
  return result;
}

function trusts(trust: Exclude<TrustFunction, null>, address: string, hop: number): boolean {
  try {
    return trust(address, hop) === true;
  } catch {
    return false; // a throwing user function trusts nobody
  }
}

/** An IP address out of one header hop: `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]`, `[::1]:80`; else null. */
export function hopAddress(entry: string | null): string | null {
  if (entry === null) return null;
  let text = entry.trim();
  if (text.length > 64) return null; // longer than any address with port and zone
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end === -1 || (end + 1 < text.length && !/^:\d{1,5}$/.test(text.slice(end + 1)))) return null;
    text = text.slice(1, end);
    return isIP(text) === 6 ? text : null;
  }
  if (isIP(text) !== 0) return text;
  const port = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(text);
  return port !== null && isIP(port[1]!) === 4 ? port[1]! : null;
}

/**
 * The `for` parameter of each element of a `Forwarded` header (RFC 7239 §4), in order; null for an
 * element without one or that does not parse. Quoted strings may hold `,` and `;` (§4: a value is a
 * token or a quoted-string, RFC 9110 §5.6.4), so the header is scanned rather than split.
 */
export function forwardedFor(value: string): (string | null)[] {
  const out: (string | null)[] = [];
  let i = 0;
  const n = value.length;
  while (i <= n) {
    let forValue: string | null = null;
    let broken = false;
    // One element: pairs separated by ';' up to an unquoted ','.
    while (i < n && value[i] !== ',') {
      const stop = nextDelimiter(value, i);
      const eq = value.slice(i, stop).indexOf('=') + i; // within this pair only: linear overall
      if (eq < i) {
        broken = true;
        i = stop;
        if (value[i] === ';') i++;
        continue;
      }
      const name = value.slice(i, eq).trim().toLowerCase();
      i = eq + 1;
      while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
      let parsed: string;
      if (value[i] === '"') {
        let text = '';
        i++;
        let closed = false;
        while (i < n) {
          const c = value[i]!;
          if (c === '\\' && i + 1 < n) { text += value[i + 1]; i += 2; continue; }
          i++;
          if (c === '"') { closed = true; break; }
          text += c;
        }
        if (!closed) broken = true;
        parsed = text;
        const after = nextDelimiter(value, i);
        if (value.slice(i, after).trim() !== '') broken = true;
        i = after;
      } else {
        const stop2 = nextDelimiter(value, i);
        parsed = value.slice(i, stop2).trim();
        i = stop2;
      }
      if (name === 'for') {
        if (forValue !== null) broken = true; // §4: a parameter at most once per element
        forValue = parsed;
      }
      if (value[i] === ';') i++;
    }
    out.push(broken ? null : forValue);
    i++; // past ','
  }
  return out;
}

/** Index of the next unquoted ';' or ',' at or after `from` (or the end). */
function nextDelimiter(value: string, from: number): number {
  for (let i = from; i < value.length; i++) {
    const c = value[i];
    if (c === ';' || c === ',') return i;
  }
  return value.length;
}

/** `::ffff:10.0.0.1` → `10.0.0.1`, so an IPv4 range matches a peer seen through a dual-stack socket. */
function unmapIPv4(address: string): string {
  return address.length > 7 && /^::ffff:/i.test(address) && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
