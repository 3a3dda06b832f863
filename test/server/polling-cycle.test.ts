// The HTTP exchanges of a polling-only client's short life (connect, one acknowledged event,
// disconnect), recorded on the client side and compared with socket.io 4 in the same test: the
// server must not add a round trip (a reply left for a later poll, a close that needs one more
// request), and every reply must travel in the response that is waiting for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, createServer, type ClientRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { io as ioc } from 'socket.io-client';
import { Server as PeerServer } from 'socket.io';
import { Server } from '../../src/server/index.js';

interface Exchange {
  method: string;
  request: string;
  status: number;
  response: string;
}

/** An http.Agent (no keep-alive, as the client's own default) that records each request and its response. */
class RecordingAgent extends Agent {
  readonly exchanges: Exchange[] = [];
  private open = 0;
  private idleWaiter: (() => void) | null = null;

  // Not in the type declarations, but the hook http.request calls on its agent.
  addRequest(req: ClientRequest, options: object): void {
    this.open++;
    const exchange: Exchange = { method: req.method, request: '', status: 0, response: '' };
    this.exchanges.push(exchange);
    // The body the client writes (xmlhttprequest-ssl writes it once, then ends).
    const write = req.write;
    req.write = function (this: ClientRequest, chunk: unknown, ...rest: unknown[]) {
      exchange.request += String(chunk);
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as ClientRequest['write'];
    req.once('response', (res: IncomingMessage) => {
      exchange.status = res.statusCode ?? 0;
      res.on('data', (chunk: Buffer) => (exchange.response += chunk.toString('utf8')));
    });
    req.once('close', () => {
      if (--this.open === 0) this.idleWaiter?.();
    });
    (Agent.prototype as unknown as { addRequest(r: ClientRequest, o: object): void }).addRequest.call(this, req, options);
  }

  /** Every request made so far is over. */
  idle(): Promise<void> {
    return this.open === 0 ? Promise.resolve() : new Promise((resolve) => (this.idleWaiter = resolve));
  }
}

type AnyServer = { on(ev: 'connection', fn: (s: any) => void): unknown; close(): unknown };

/** One cycle against a server built by `make`; returns the exchanges in the order they were made. */
async function cycle(make: (http: ReturnType<typeof createServer>) => AnyServer): Promise<Exchange[]> {
  const http = createServer();
  const io = make(http);
  io.on('connection', (socket) => socket.on('echo', (data: unknown, ack: (d: unknown) => void) => ack(data)));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const agent = new RecordingAgent();
  try {
    const socket = ioc(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, {
      transports: ['polling'], forceNew: true, reconnection: false, agent: agent as unknown as string,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    assert.equal(await socket.timeout(5000).emitWithAck('echo', 'hello'), 'hello');
    socket.disconnect();
    await agent.idle();
    return agent.exchanges;
  } finally {
    await io.close();
    http.close();
  }
}

/** The exchanges without ids: `0{…}` and `40{…}` keep their type, JSON sids are blanked. */
const shape = (exchanges: Exchange[]) =>
  exchanges.map((e) => `${e.method} ${e.request.replace(/\{.*\}/, '{}')} -> ${e.status} ${e.response.replace(/\{.*\}/, '{}')}`).sort();

test('a polling-only connect, acked event and disconnect take as many HTTP requests as with socket.io, each reply in the response waiting for it', async () => {
  const ours = await cycle((http) => new Server(http, { transports: ['polling'] }));
  const peer = await cycle((http) => new PeerServer(http, { transports: ['polling'] }));
  assert.deepEqual(shape(ours), shape(peer));
  assert.deepEqual(shape(ours), [
    'GET  -> 200 0{}', // handshake: the open packet alone (the client sends CONNECT after it)
    'GET  -> 200 40{}', // the CONNECT reply, on the poll that waits while CONNECT is posted
    'GET  -> 200 430["hello"]', // the ack, on the next poll
    'GET  -> 200 6', // the waiting poll released when the session closes
    'POST 1 -> 200 ok',
    'POST 40 -> 200 ok',
    'POST 41 -> 200 ok',
    'POST 420["echo","hello"] -> 200 ok',
  ].sort());
});
