// The browser bundle in a real Chromium (Debian's, driven by playwright-core): a page loads the
// served script and talks to the official socket.io@4 server and to ours.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createClientBundleHandler } from '../../src/client/serve.js';
import { serverKinds, startServer, type TestServer } from '../client/helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM} (apt-get install chromium); CI installs it`;
const root = new URL('../..', import.meta.url).pathname;

const PAGE = `<!doctype html><meta charset="utf-8"><title>switchboard client test</title>
<script src="/switchboard/client.js"></script>`;

/** A page migrated from socket.io: socket.io-client's script URL and its global `io`. */
const SOCKET_IO_PAGE = `<!doctype html><meta charset="utf-8"><title>socket.io page</title>
<script src="/socket.io/socket.io.js"></script>`;

/** ES modules without a bundler: the core module and the opt-in XHR transport and options. */
const MODULE_PAGE = `<!doctype html><meta charset="utf-8"><title>module page</title>
<script type="module">
import { io } from '/switchboard/client.esm.js';
import { XHR } from '/switchboard/client.xhr.esm.js';
import '/switchboard/client.options.esm.js';
window.sb = { io, XHR };
</script>`;

describe('browser client (Chromium)', { skip }, () => {
  let browser: Browser;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'switchboard-browser-'));
    execFileSync(process.execPath, [join(root, 'scripts/build-client.mjs'), '--outdir', dir], { stdio: 'inherit' });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A server of `kind` that also serves the test page and the bundle. */
  const serve = async (kind: (typeof serverKinds)[number], refuseUpgrades = false) => {
    const server = await startServer(
      kind,
      // A tolerant heartbeat: on a loaded machine Chromium's timers and requests can lag by more
      // than the 300 ms window the Node client tests use, which ends sessions by ping timeout.
      { pingInterval: 1000, pingTimeout: 3000 },
      (io) => {
        io.on('connection', (socket: any) => {
          socket.on('echo', (...args: any[]) => {
            const ack = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
            ack?.(...args);
          });
          socket.on('join', (room: string, ack: () => void) => {
            socket.join(room);
            ack();
          });
          socket.on('shout', (room: string, text: string) => io.to(room).emit('shout', text));
          socket.on('transport', (ack: (name: string) => void) => ack(socket.conn.transport.name));
        });
      },
      (http) => {
        const bundle = createClientBundleHandler({ dir, socketioPath: '/socket.io/' });
        http.on('request', (req, res) => {
          if (bundle(req, res)) return;
          if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
          else if (req.url === '/socket.io.html') res.writeHead(200, { 'content-type': 'text/html' }).end(SOCKET_IO_PAGE);
          else if (req.url === '/module.html') res.writeHead(200, { 'content-type': 'text/html' }).end(MODULE_PAGE);
          else if (!req.url?.startsWith('/socket.io/')) res.writeHead(404).end();
        });
      },
    );
    if (refuseUpgrades) {
      // Like a proxy that does not pass WebSocket upgrades through.
      server.http.removeAllListeners('upgrade');
      server.http.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n'));
    }
    return server;
  };

  for (const kind of serverKinds) {
    describe(`against the ${kind} server`, () => {
      let server: TestServer;
      let page: Page;
      before(async () => {
        server = await serve(kind);
        page = await browser.newPage();
        await page.goto(server.url + '/');
      });
      after(async () => {
        await page?.close();
        await server?.close();
      });

      test('connects, emits with ack, upgrades to WebSocket', async () => {
        const result = await page.evaluate(async () => {
          const socket = (window as any).switchboard.io({ reconnectionDelay: 50, reconnectionDelayMax: 200 });
          (window as any).main = socket;
          await new Promise((resolve) => socket.on('connect', resolve));
          const reply = await socket.timeout(5000).emitWithAck('echo', { hello: 'world' });
          if (socket.io.engine.transport.name !== 'websocket') await new Promise((r) => socket.io.engine.once('upgrade', r));
          return { reply, id: typeof socket.id, transport: await socket.timeout(5000).emitWithAck('transport') };
        });
        assert.deepEqual(result, { reply: { hello: 'world' }, id: 'string', transport: 'websocket' });
      });

      test('binary both ways: ArrayBuffer, typed array and Blob', async () => {
        const result = await page.evaluate(async () => {
          const socket = (window as any).main;
          const [buffer, view, blob] = await new Promise<any[]>((resolve) =>
            socket.timeout(5000).emit(
              'echo',
              new Uint8Array([1, 2, 3]).buffer,
              new Uint16Array([0xffff, 2]),
              new Blob([new Uint8Array([7, 8, 9])]),
              (_err: unknown, ...args: any[]) => resolve(args),
            ),
          );
          // (no named helper functions in here: tsx would inject a `__name` call the page lacks)
          return {
            types: [buffer, view, blob].map((x) => x?.constructor?.name),
            values: [buffer, view, blob].map((x) => Array.from(new Uint8Array(x))),
          };
        });
        assert.deepEqual(result.types, ['ArrayBuffer', 'ArrayBuffer', 'ArrayBuffer']);
        assert.deepEqual(result.values, [[1, 2, 3], [255, 255, 2, 0], [7, 8, 9]]);
      });

      test('rooms: a broadcast reaches the members only', async () => {
        const heard = await page.evaluate(async () => {
          const { io } = (window as any).switchboard;
          const alice = io({ forceNew: true });
          const bob = io({ forceNew: true });
          await Promise.all([alice, bob].map((s) => new Promise((r) => s.on('connect', r))));
          await alice.emitWithAck('join', 'room 1');
          const log: string[] = [];
          bob.on('shout', (t: string) => log.push('bob ' + t));
          const got = new Promise((resolve) => alice.on('shout', (t: string) => resolve('alice ' + t)));
          bob.emit('shout', 'room 1', 'hi');
          log.push((await got) as string);
          await new Promise((r) => setTimeout(r, 50));
          alice.disconnect();
          bob.disconnect();
          return log;
        });
        assert.deepEqual(heard, ['alice hi']);
      });

      test('reconnects after the server restarts; offline emits are delivered', async () => {
        await page.evaluate(() => {
          const w = window as any;
          w.events = [];
          w.main.on('disconnect', (reason: string) => w.events.push('disconnect ' + reason));
          w.main.io.on('reconnect', () => w.events.push('reconnect'));
        });
        await server.stop();
        await page.waitForFunction(() => (window as any).events.some((e: string) => e.startsWith('disconnect')));
        const queued = page.evaluate(() => (window as any).main.timeout(5000).emitWithAck('echo', 'sent while offline'));
        await server.start();
        assert.equal(await queued, 'sent while offline');
        const events = await page.evaluate(() => (window as any).events);
        assert.match(events[0], /^disconnect (transport close|transport error|ping timeout)$/);
        assert.ok(events.includes('reconnect'));
      });
    });

    test(`${kind}: a page with <script src="/socket.io/socket.io.js"> connects with the global io`, async () => {
      const server = await serve(kind);
      // In front of the endpoint, as the server's serveClient puts it (the engine claims the path).
      const previous = server.http.listeners('request') as ((...args: any[]) => void)[];
      server.http.removeAllListeners('request');
      const bundle = createClientBundleHandler({ dir, socketioPath: '/socket.io/' });
      server.http.on('request', (req, res) => {
        if (!bundle(req, res)) for (const listener of previous) listener.call(server.http, req, res);
      });
      const page = await browser.newPage();
      try {
        await page.goto(server.url + '/socket.io.html');
        const result = await page.evaluate(async () => {
          const io = (window as any).io;
          const socket = io();
          await new Promise((resolve) => socket.on('connect', resolve));
          const reply = await socket.timeout(5000).emitWithAck('echo', 'from io');
          const shape = [typeof io.Manager, typeof io.Socket, io.protocol, io.connect === io];
          socket.disconnect();
          return { reply, shape };
        });
        assert.deepEqual(result, { reply: 'from io', shape: ['function', 'function', 5, true] });
      } finally {
        await page.close();
        await server.close();
      }
    });

    test(`${kind}: XHR long-polling (switchboard/client/xhr) and timestampRequests (options module)`, async () => {
      const server = await serve(kind);
      const urls: string[] = [];
      server.http.prependListener('request', (req) => urls.push(req.url!));
      const page = await browser.newPage();
      try {
        await page.goto(server.url + '/module.html');
        await page.waitForFunction(() => (window as any).sb);
        // The page's own fetch is gone: only XMLHttpRequest can carry the polling requests.
        const result = await page.evaluate(async () => {
          const { io, XHR } = (window as any).sb;
          (window as any).fetch = undefined;
          const socket = io({ transports: [XHR], timestampParam: 'ts' });
          await new Promise((resolve) => socket.on('connect', resolve));
          const reply = await socket.timeout(5000).emitWithAck('echo', { via: 'xhr' });
          const transport = await socket.timeout(5000).emitWithAck('transport');
          socket.disconnect();
          return { reply, transport, engine: socket.io.engine.transport?.constructor?.name };
        });
        assert.deepEqual(result.reply, { via: 'xhr' });
        assert.equal(result.transport, 'polling');
        const polls = urls.filter((u) => u.includes('transport=polling'));
        assert.ok(polls.length >= 2 && polls.every((u) => /[?&]ts=/.test(u)), polls.join(' '));
      } finally {
        await page.close();
        await server.close();
      }
    });

    test(`${kind}: falls back to long-polling when WebSocket upgrades are refused`, async () => {
      const server = await serve(kind, true);
      const page = await browser.newPage();
      try {
        await page.goto(server.url + '/');
        const result = await page.evaluate(async () => {
          const socket = (window as any).switchboard.io();
          const upgradeError = new Promise((resolve) => socket.io.engine.once('upgradeError', resolve));
          await new Promise((resolve) => socket.on('connect', resolve));
          await upgradeError;
          const reply = await socket.timeout(5000).emitWithAck('echo', 'polling', new Blob([new Uint8Array([5])]));
          const [text, bytes] = await new Promise<any[]>((resolve) =>
            socket.timeout(5000).emit('echo', 'polling', new Blob([new Uint8Array([5])]), (_e: unknown, ...a: any[]) => resolve(a)),
          );
          return { reply, text, bytes: Array.from(new Uint8Array(bytes)), transport: socket.io.engine.transport.name };
        });
        assert.deepEqual(result, { reply: 'polling', text: 'polling', bytes: [5], transport: 'polling' });
      } finally {
        await page.close();
        await server.close();
      }
    });
  }
});
