// Connections share frame parsers: one holds a parser only while bytes are in flight and gives it
// back between frames. What one connection has half received must never reach another, and a
// parser that served a connection must parse the next one from a clean start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { OPCODE_BINARY, OPCODE_CONTINUATION, OPCODE_PING, OPCODE_TEXT } from '../../src/protocol/ws-frame.js';
import type { WebSocket } from '../../src/websocket/index.js';
import { RawClient, delay, startServer } from './helpers.js';

test('connections with frames, headers and messages half received keep them apart', async (t) => {
  const { wss, port } = await startServer(t);
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  const [a, b, c] = await Promise.all([RawClient.connect(port), RawClient.connect(port), RawClient.connect(port)]);
  t.after(() => {
    for (const client of [a, b, c]) client.socket.destroy();
  });
  const messages = (client: RawClient): string[] => client.events.filter((e) => e[0] === 'message').map((e) => e[2] as string);
  const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 30));

  const whole = a.frame(OPCODE_TEXT, 'from a, whole');
  a.send(whole.subarray(0, 1)); // half a header
  const split = b.frame(OPCODE_TEXT, 'from b, split in its payload');
  b.send(split.subarray(0, 10));
  c.sendFrame(OPCODE_TEXT, 'from c, first', { fin: false }); // a fragmented message begins
  await settle();
  c.sendFrame(OPCODE_PING, 'between'); // a control frame in the middle of it
  a.send(whole.subarray(1));
  b.send(split.subarray(10));
  await settle();
  c.sendFrame(OPCODE_CONTINUATION, ', last');
  const d = await RawClient.connect(port);
  t.after(() => d.socket.destroy());
  d.sendFrame(OPCODE_TEXT, 'from d');

  await a.until(() => messages(a).length === 1, 'a echo');
  await c.until(() => messages(c).length === 1, 'c echo');
  await d.until(() => messages(d).length === 1, 'd echo');
  await b.until(() => messages(b).length === 1, 'b echo');
  assert.deepEqual(messages(a), ['from a, whole']);
  assert.deepEqual(messages(c), ['from c, first, last']);
  assert.deepEqual(messages(d), ['from d']);
  assert.deepEqual(messages(b), ['from b, split in its payload']);
  assert.ok(c.events.some((e) => e[0] === 'pong' && e[1] === 'between'));
});

test('a connection paused between messages keeps its state and resumes where it was', async (t) => {
  const { wss, port } = await startServer(t);
  const received: string[] = [];
  wss.on('connection', (ws) => ws.on('message', (data) => received.push(String(data))));
  const a = await RawClient.connect(port);
  const [serverA] = [...wss.clients];
  const b = await RawClient.connect(port);
  t.after(() => {
    a.socket.destroy();
    b.socket.destroy();
  });
  serverA!.pause();
  a.sendFrame(OPCODE_TEXT, 'a1');
  b.sendFrame(OPCODE_TEXT, 'b1');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(received, ['b1']);
  serverA!.resume();
  a.sendFrame(OPCODE_TEXT, 'a2');
  const deadline = Date.now() + 5000;
  while (received.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(received, ['b1', 'a1', 'a2']);
});

// ---------------------------------------------------------------- many connections, random bytes

interface PooledParser {
  idle: boolean;
  handler: unknown;
}
/** The pooled parsers of a connection's server (internal: the pool is not public API). */
function pooledParsers(ws: WebSocket): PooledParser[] {
  const pools = (ws as unknown as { _settings: { parserPools: ({ free: PooledParser[] } | undefined)[] } })._settings.parserPools;
  return pools.flatMap((pool) => pool?.free ?? []);
}
/** Every parser in the pool is idle and bound to no connection. */
function assertPoolsClean(ws: WebSocket): void {
  for (const parser of pooledParsers(ws)) {
    assert.equal(parser.idle, true);
    assert.equal(typeof (parser.handler as { _onSocketData?: unknown })._onSocketData, 'undefined', 'a pooled parser still bound to a connection');
  }
}

interface PlannedMessage {
  binary: boolean;
  payload: Uint8Array;
  /** Frames the message is sent in. */
  pieces: number;
  compress: boolean;
  /** Pings sent before each frame of the message, by frame index. */
  pings: number[];
}
type Hostile = 'utf8' | 'oversize' | 'opcode' | 'unmasked' | 'control-fragmented';
interface PlannedConnection {
  deflate: boolean;
  messages: PlannedMessage[];
  /** A frame that fails the connection, sent after the messages (and a message after it that must not arrive). */
  hostile: Hostile | null;
  /** The server pauses the connection after this many messages, for `pauseMs`. */
  pauseAfter: number | null;
  pauseMs: number;
}
const EXPECTED_CODE: Record<Hostile, number> = { utf8: 1007, oversize: 1009, opcode: 1002, unmasked: 1002, 'control-fragmented': 1002 };
const MAX_PAYLOAD = 2048;

const plannedMessage = fc.record({
  binary: fc.boolean(),
  text: fc.string({ unit: 'binary', maxLength: 200 }),
  bytes: fc.uint8Array({ maxLength: 600 }),
  pieces: fc.integer({ min: 1, max: 3 }),
  compress: fc.boolean(),
  pings: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 3, maxLength: 3 }),
}).map(({ binary, text, bytes, pieces, compress, pings }): PlannedMessage => ({
  binary, payload: binary ? bytes : Buffer.from(text), pieces, compress, pings,
}));
const plannedConnection = fc.record({
  deflate: fc.boolean(),
  messages: fc.array(plannedMessage, { maxLength: 5 }),
  hostile: fc.constantFrom<Hostile | null>(null, null, null, 'utf8', 'oversize', 'opcode', 'unmasked', 'control-fragmented'),
  pauseAfter: fc.option(fc.integer({ min: 0, max: 5 })),
  pauseMs: fc.integer({ min: 0, max: 15 }),
});

function deflated(payload: Uint8Array): Buffer {
  // RFC 7692 §7.2.1: compress with a sync flush and drop its trailing 00 00 ff ff.
  return deflateRawSync(payload, { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4);
}

/** The bytes a client sends for its plan; the pings in the order it sends them. */
function clientBytes(client: RawClient, plan: PlannedConnection): { bytes: Buffer; pings: string[] } {
  const frames: Buffer[] = [];
  const pings: string[] = [];
  const ping = (): void => {
    const text = `p${pings.length}`;
    pings.push(text);
    frames.push(client.frame(OPCODE_PING, text));
  };
  for (const message of plan.messages) {
    const compress = plan.deflate && message.compress;
    const body = compress ? deflated(message.payload) : Buffer.from(message.payload);
    const step = Math.ceil(body.length / message.pieces) || 1;
    for (let i = 0, offset = 0; i < message.pieces; i++, offset += step) {
      for (let n = 0; n < message.pings[i]!; n++) ping();
      const last = i === message.pieces - 1;
      frames.push(client.frame(i === 0 ? (message.binary ? OPCODE_BINARY : OPCODE_TEXT) : OPCODE_CONTINUATION,
        body.subarray(offset, last ? body.length : offset + step), { fin: last, rsv: compress && i === 0 ? 4 : 0 }));
    }
  }
  switch (plan.hostile) {
    case null:
      break;
    case 'utf8': {
      const bad = Buffer.from([0x61, 0xff, 0x62]);
      const compress = plan.deflate;
      frames.push(client.frame(OPCODE_TEXT, compress ? deflated(bad) : bad, { rsv: compress ? 4 : 0 }));
      break;
    }
    case 'oversize':
      frames.push(client.frame(OPCODE_BINARY, Buffer.alloc(MAX_PAYLOAD + 1)));
      break;
    case 'opcode':
      frames.push(client.frame(0x3, 'reserved opcode'));
      break;
    case 'unmasked':
      frames.push(client.frame(OPCODE_TEXT, 'not masked', { mask: null }));
      break;
    case 'control-fragmented':
      frames.push(client.frame(OPCODE_PING, 'in pieces', { fin: false }));
      break;
  }
  if (plan.hostile !== null) frames.push(client.frame(OPCODE_TEXT, 'after the failure: never delivered'));
  return { bytes: Buffer.concat(frames), pings };
}

/** A small seeded generator for the cuts and the interleaving, so that a failing case replays. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ServerSide {
  messages: string[];
  pings: string[];
  closeCode: number | null;
}
const describeMessage = (data: Uint8Array, binary: boolean): string => `${binary ? 'b' : 't'}:${Buffer.from(data).toString('hex')}`;

test('property: many connections with random messages, cut and interleaved at random, each get exactly their own; a hostile one fails alone', async (t) => {
  const { wss, port } = await startServer(t, { perMessageDeflate: true, maxPayload: MAX_PAYLOAD });
  const sides = new Map<string, ServerSide>();
  const plans = new Map<string, PlannedConnection>();
  wss.on('connection', (ws: WebSocket, request) => {
    const side: ServerSide = { messages: [], pings: [], closeCode: null };
    const plan = plans.get(request.url!)!;
    sides.set(request.url!, side);
    lastServerSide = ws;
    ws.on('error', () => {});
    ws.on('ping', (data) => side.pings.push(String(data)));
    ws.on('close', (code) => (side.closeCode = code));
    ws.on('message', (data, isBinary) => {
      side.messages.push(describeMessage(data as Buffer, isBinary));
      if (side.messages.length === plan.pauseAfter) {
        ws.pause();
        setTimeout(() => ws.resume(), plan.pauseMs);
      }
    });
    if (plan.pauseAfter === 0) {
      ws.pause();
      setTimeout(() => ws.resume(), plan.pauseMs);
    }
  });
  let run = 0;
  let lastServerSide: WebSocket | null = null;
  await fc.assert(
    fc.asyncProperty(fc.array(plannedConnection, { minLength: 2, maxLength: 24 }), fc.integer(), async (planned, seed) => {
      const random = seededRandom(seed);
      run++;
      const paths = planned.map((_, i) => `/run${run}/c${i}`);
      planned.forEach((plan, i) => plans.set(paths[i]!, plan));
      const clients = await Promise.all(planned.map((plan, i) => RawClient.connect(port, paths[i],
        plan.deflate ? 'Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n' : '')));
      try {
        const outgoing = clients.map((client, i) => {
          const { bytes, pings } = clientBytes(client, planned[i]!);
          const chunks: Buffer[] = [];
          for (let offset = 0; offset < bytes.length;) {
            // Mostly short cuts, so headers and masks split too; now and then a long one.
            const size = random() < 0.8 ? 1 + Math.floor(random() * 12) : 1 + Math.floor(random() * 800);
            chunks.push(bytes.subarray(offset, offset + size));
            offset += size;
          }
          return { client, chunks, pings };
        });
        const pending = outgoing.filter((o) => o.chunks.length > 0);
        while (pending.length > 0) {
          const index = Math.floor(random() * pending.length);
          const next = pending[index]!;
          next.client.send(next.chunks.shift()!);
          if (next.chunks.length === 0) pending.splice(index, 1);
          if (random() < 0.3) await new Promise(setImmediate);
        }
        const expected = planned.map((plan) => plan.messages.map((m) => describeMessage(m.payload, m.binary)));
        const done = (): boolean => planned.every((plan, i) => {
          const side = sides.get(paths[i]!);
          if (side === undefined) return false;
          return plan.hostile === null ? side.messages.length >= expected[i]!.length : side.closeCode !== null;
        });
        const deadline = Date.now() + 5000;
        while (!done() && Date.now() < deadline) await delay(5);
        planned.forEach((plan, i) => {
          const side = sides.get(paths[i]!)!;
          const label = `connection ${i} (${plan.hostile ?? 'well-behaved'})`;
          assert.deepEqual(side.messages, expected[i], label);
          assert.deepEqual(side.pings, outgoing[i]!.pings, label);
          if (plan.hostile === null) {
            assert.equal(side.closeCode, null, label);
            assert.ok(!clients[i]!.events.some((e) => e[0] === 'close'), label);
          } else {
            assert.equal(side.closeCode, EXPECTED_CODE[plan.hostile], label);
          }
        });
        // The close frame the client got says the same.
        for (const [i, plan] of planned.entries()) {
          if (plan.hostile === null) continue;
          const client = clients[i]!;
          await client.until(() => client.events.some((e) => e[0] === 'close'), `close frame of connection ${i}`);
          assert.deepEqual(client.events.find((e) => e[0] === 'close')?.[1], EXPECTED_CODE[plan.hostile]);
        }
        assertPoolsClean(lastServerSide!);
      } finally {
        for (const client of clients) client.destroy();
        for (const path of paths) {
          plans.delete(path);
          sides.delete(path);
        }
      }
    }),
    // A failing run waits out its deadline: report the first one found rather than shrink.
    { numRuns: 30, endOnFailure: true },
  );
});

for (const [how, deflate] of [['terminate', false], ['close', false], ['peer drop', false], ['terminate', true], ['peer drop', true]] as const) {
  test(`a connection ended mid-frame (${how}${deflate ? ', deflate' : ''}) leaves no parser with its state in the pool`, async (t) => {
    const { wss, port } = await startServer(t, { perMessageDeflate: deflate });
    const received = new Map<string, string[]>();
    const closed = new Map<string, Promise<unknown>>();
    wss.on('connection', (ws, request) => {
      const list: string[] = [];
      received.set(request.url!, list);
      closed.set(request.url!, new Promise((resolve) => ws.on('close', resolve)));
      ws.on('error', () => {});
      ws.on('message', (data) => list.push(String(data)));
      if (request.url === '/a') wss.emit('a', ws);
    });
    const extensions = deflate ? 'Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n' : '';
    const serverA = new Promise<WebSocket>((resolve) => wss.once('a' as 'connection', resolve));
    const a = await RawClient.connect(port, '/a', extensions);
    t.after(() => a.destroy());
    const wsA = await serverA;
    // A fragmented message begun, then half a header and half a payload of its continuation.
    a.sendFrame(OPCODE_TEXT, 'a, first piece', { fin: false });
    const continuation = a.frame(OPCODE_CONTINUATION, 'a, the piece never finished');
    a.send(continuation.subarray(0, 1));
    await delay(20);
    a.send(continuation.subarray(1, 12));
    await delay(20);
    if (how === 'terminate') wsA.terminate();
    else if (how === 'close') wsA.close(1000);
    else a.destroy();
    if (how === 'close') {
      // The peer finishes its message after our close frame: delivered to its own connection only (as ws, while closing).
      a.send(continuation.subarray(12));
      a.destroy();
    }
    await closed.get('/a');
    assertPoolsClean(wsA);
    // The connections after it parse from a clean start, whichever parser they get.
    const clients = await Promise.all([1, 2, 3].map((n) => RawClient.connect(port, `/b${n}`, extensions)));
    t.after(() => clients.forEach((client) => client.destroy()));
    clients.forEach((client, n) => client.send(client.frame(OPCODE_TEXT, `b${n + 1}`), 1));
    const deadline = Date.now() + 5000;
    while ([1, 2, 3].some((n) => (received.get(`/b${n}`)?.length ?? 0) < 1) && Date.now() < deadline) await delay(10);
    await delay(20);
    for (const n of [1, 2, 3]) assert.deepEqual(received.get(`/b${n}`), [`b${n}`]);
    assert.deepEqual(received.get('/a'), how === 'close' ? ['a, first piecea, the piece never finished'] : []);
    assert.ok(pooledParsers(wsA).length > 0, 'the parsers of the later connections went back to the pool');
    assertPoolsClean(wsA);
  });
}
