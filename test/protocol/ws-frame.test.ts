import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import {
  FrameParser,
  applyMask,
  encodeFrame,
  frameHeaderLength,
  writeFrameHeader,
  OPCODE_BINARY,
  OPCODE_CLOSE,
  OPCODE_CONTINUATION,
  OPCODE_PING,
  OPCODE_PONG,
  OPCODE_TEXT,
  type FrameHandler,
} from '../../src/protocol/ws-frame.js';
import { WebSocketProtocolError } from '../../src/protocol/ws-errors.js';

type Event =
  | ['message', boolean, boolean, string]
  | ['ping' | 'pong', string]
  | ['close', number, string]
  | ['error', string, number];

function recorder(): { events: Event[]; handler: FrameHandler } {
  const events: Event[] = [];
  const hex = (d: Uint8Array): string => Buffer.from(d.buffer, d.byteOffset, d.length).toString('hex');
  return {
    events,
    handler: {
      onMessage: (data, isBinary, compressed) => events.push(['message', isBinary, compressed, hex(data)]),
      onPing: (data) => events.push(['ping', hex(data)]),
      onPong: (data) => events.push(['pong', hex(data)]),
      onClose: (code, reason) => events.push(['close', code, hex(reason)]),
      onProtocolError: (error) => {
        assert.ok(error instanceof WebSocketProtocolError);
        events.push(['error', error.code, error.closeCode]);
      },
    },
  };
}

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const MASK = 0x37fa213d;

function frame(opcode: number, payload: Uint8Array | string, opts: { fin?: boolean; rsv?: number; mask?: number | null } = {}): Uint8Array {
  const data = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const out = encodeFrame(opcode, data, { fin: opts.fin ?? true, mask: opts.mask === null ? undefined : (opts.mask ?? MASK) });
  out[0]! |= (opts.rsv ?? 0) << 4;
  return out;
}

function parse(chunks: Uint8Array[], options: Partial<ConstructorParameters<typeof FrameParser>[1]> = {}): Event[] {
  const { events, handler } = recorder();
  const parser = new FrameParser(handler, { expectMasked: true, isUtf8, ...options });
  for (const chunk of chunks) parser.push(chunk);
  return events;
}

const concat = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));
const oneByteChunks = (data: Uint8Array): Uint8Array[] => Array.from(data, (b) => bytes(b));

test('encodes the RFC 6455 §5.7 examples', () => {
  assert.deepEqual([...encodeFrame(OPCODE_TEXT, new TextEncoder().encode('Hello'))], [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
  assert.deepEqual(
    [...encodeFrame(OPCODE_TEXT, new TextEncoder().encode('Hello'), { mask: 0x37fa213d })],
    [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58],
  );
  assert.deepEqual([...encodeFrame(OPCODE_TEXT, new TextEncoder().encode('Hel'), { fin: false })], [0x01, 0x03, 0x48, 0x65, 0x6c]);
  const header = new Uint8Array(10);
  assert.equal(writeFrameHeader(header, 0, OPCODE_BINARY, 256, true, false), 4);
  assert.deepEqual([...header.subarray(0, 4)], [0x82, 0x7e, 0x01, 0x00]);
  assert.equal(writeFrameHeader(header, 0, OPCODE_BINARY, 65536, true, false), 10);
  assert.deepEqual([...header], [0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
  assert.equal(frameHeaderLength(125, false), 2);
  assert.equal(frameHeaderLength(126, true), 8);
  assert.equal(frameHeaderLength(65535, false), 4);
  assert.equal(frameHeaderLength(65536, true), 14);
});

test('parses the masked "Hello" example and unmasks in place', () => {
  const input = bytes(0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58);
  assert.deepEqual(parse([input]), [['message', false, false, Buffer.from('Hello').toString('hex')]]);
});

test('hands out a view of the received chunk (no copy) for a message inside one chunk', () => {
  const input = frame(OPCODE_BINARY, bytes(1, 2, 3, 4, 5));
  let got: Uint8Array | undefined;
  const parser = new FrameParser({ ...recorder().handler, onMessage: (data) => (got = data) }, { expectMasked: true });
  parser.push(input);
  assert.equal(got!.buffer, input.buffer);
});

test('applyMask in pieces at any offset equals masking in one go', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 0xffffffff }), fc.array(fc.nat(300)), (data, mask, cuts) => {
      const whole = Uint8Array.from(data);
      applyMask(whole, mask);
      // Unaligned views exercise the word-at-a-time path's alignment handling.
      const backing = new Uint8Array(data.length + 3);
      const pieces = backing.subarray(3);
      pieces.set(data);
      const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
      let start = 0;
      for (const p of [...points, data.length]) {
        applyMask(pieces.subarray(start, p), mask, start);
        start = p;
      }
      assert.deepEqual(pieces, whole);
    }),
  );
});

// ------------------------------------------------------------------ property: random frames, random splits

interface Msg {
  binary: boolean;
  payload: Uint8Array;
  fragments: number[];
  pings: string[];
}
const messageArb: fc.Arbitrary<Msg> = fc.record({
  binary: fc.boolean(),
  text: fc.string({ unit: 'binary', maxLength: 300 }),
  bin: fc.uint8Array({ maxLength: 70000 }).filter((b) => b.length < 200 || b.length > 65535 || b.length % 7 === 0),
  fragments: fc.array(fc.nat(400), { maxLength: 4 }),
  pings: fc.array(fc.string({ maxLength: 20 }), { maxLength: 2 }),
}).map(({ binary, text, bin, fragments, pings }) => ({
  binary,
  payload: binary ? bin : new TextEncoder().encode(text),
  fragments,
  pings,
}));

function encodeMessage(msg: Msg, mask: number | undefined): Uint8Array[] {
  const { payload } = msg;
  const cuts = [...new Set(msg.fragments.map((f) => f % (payload.length + 1)))].sort((a, b) => a - b);
  const bounds = [0, ...cuts.filter((c) => c > 0 && c < payload.length), payload.length];
  const frames: Uint8Array[] = [];
  for (let i = 0; i + 1 < bounds.length || i === 0; i++) {
    const piece = payload.subarray(bounds[i]!, bounds[i + 1] ?? payload.length);
    const opcode = i === 0 ? (msg.binary ? OPCODE_BINARY : OPCODE_TEXT) : OPCODE_CONTINUATION;
    const fin = i + 2 >= bounds.length;
    frames.push(encodeFrame(opcode, piece, { fin, mask }));
    // Control frames may be interleaved between fragments (RFC 6455 §5.4).
    if (!fin && i < msg.pings.length) frames.push(encodeFrame(OPCODE_PING, new TextEncoder().encode(msg.pings[i]!), { mask }));
    if (fin) break;
  }
  return frames;
}

function expectedEvents(msg: Msg): Event[] {
  const cuts = [...new Set(msg.fragments.map((f) => f % (msg.payload.length + 1)))].filter((c) => c > 0 && c < msg.payload.length);
  const pings = msg.pings.slice(0, cuts.length).map((p): Event => ['ping', Buffer.from(p).toString('hex')]);
  return [...pings, ['message', msg.binary, false, Buffer.from(msg.payload).toString('hex')]];
}

for (const role of ['server', 'client'] as const) {
  test(`random messages split at random byte boundaries parse back the same (${role} side)`, () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 20 }), (messages, cutSeeds) => {
        const mask = role === 'server' ? 0x11223344 : undefined;
        const wire = concat(messages.flatMap((m) => encodeMessage(m, mask)));
        const cuts = [...new Set(cutSeeds.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let start = 0;
        for (const p of [...cuts, wire.length]) {
          chunks.push(wire.slice(start, p));
          start = p;
        }
        const events = parse(chunks, { expectMasked: role === 'server', maxPayload: 1 << 20 });
        assert.deepEqual(events, messages.flatMap(expectedEvents));
      }),
      { numRuns: 150 },
    );
  });
}

test('random bytes never throw, never hang, and stop at the first error', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }), fc.boolean(), (chunks, expectMasked) => {
      const events = parse(chunks, { expectMasked, maxPayload: 4096 });
      const errors = events.filter((e) => e[0] === 'error' || e[0] === 'close');
      assert.ok(errors.length <= 1, 'nothing is reported after an error or a close');
      if (errors.length === 1) assert.equal(events.at(-1), errors[0]);
    }),
    { numRuns: 3000 },
  );
});

test('memory stays bounded with endless tiny fragments (parts are merged, capacity tracks real bytes)', () => {
  const { handler } = recorder();
  const parser = new FrameParser(handler, { expectMasked: true, maxPayload: 1 << 20 });
  parser.push(frame(OPCODE_BINARY, bytes(1), { fin: false }));
  for (let i = 0; i < 5000; i++) {
    parser.push(frame(OPCODE_CONTINUATION, bytes(i & 0xff), { fin: false }));
    // The pieces are gathered in the parser's state for rare cases.
    const internal = (parser as unknown as { rare: { parts: unknown[] | null; merged: Uint8Array | null } | null }).rare;
    if (i > 0) assert.ok(internal !== null && (internal.parts !== null || internal.merged !== null));
    assert.ok((internal?.parts?.length ?? 0) <= 65);
    assert.ok((internal?.merged?.length ?? 0) <= Math.max(4096, 2 * (i + 2)));
  }
  // A header announcing a huge frame allocates nothing up front.
  const parser2 = new FrameParser(handler, { expectMasked: false, maxPayload: 1 << 30 });
  const header = new Uint8Array(10);
  writeFrameHeader(header, 0, OPCODE_BINARY, 1 << 29, true, false);
  parser2.push(header);
  for (let i = 0; i < 100; i++) parser2.push(new Uint8Array(1));
  assert.ok(((parser2 as unknown as { rare: { merged: Uint8Array | null } | null }).rare?.merged?.length ?? 0) <= 4096);
});

test('fragmented message with interleaved ping, split 1 byte at a time (Autobahn 5.8, 5.19)', () => {
  const wire = concat([
    frame(OPCODE_TEXT, 'fragment1', { fin: false }),
    frame(OPCODE_PING, 'ping payload'),
    frame(OPCODE_CONTINUATION, 'fragment2'),
  ]);
  assert.deepEqual(parse(oneByteChunks(wire)), [
    ['ping', Buffer.from('ping payload').toString('hex')],
    ['message', false, false, Buffer.from('fragment1fragment2').toString('hex')],
  ]);
});

test('empty messages and empty fragments (Autobahn 6.1.x)', () => {
  const wire = concat([
    frame(OPCODE_TEXT, ''),
    frame(OPCODE_TEXT, '', { fin: false }),
    frame(OPCODE_CONTINUATION, '', { fin: false }),
    frame(OPCODE_CONTINUATION, ''),
    frame(OPCODE_BINARY, new Uint8Array(0)),
  ]);
  assert.deepEqual(parse([wire]), [
    ['message', false, false, ''],
    ['message', false, false, ''],
    ['message', true, false, ''],
  ]);
});

test('length boundaries 0, 125, 126, 127, 128, 65535, 65536 (Autobahn 1.x)', () => {
  for (const n of [0, 125, 126, 127, 128, 65535, 65536]) {
    const payload = new Uint8Array(n).fill(0xfe);
    for (const chunks of [[frame(OPCODE_BINARY, payload)], chunk(frame(OPCODE_BINARY, payload), 997)]) {
      const events = parse(chunks, { maxPayload: 1 << 20 });
      assert.equal(events.length, 1);
      assert.equal((events[0] as ['message', boolean, boolean, string])[3].length, n * 2);
    }
  }
});

function chunk(data: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.slice(i, i + size));
  return out;
}

// ------------------------------------------------------------------ protocol rules → close codes

const violations: Array<[string, Uint8Array[], string, number, Partial<ConstructorParameters<typeof FrameParser>[1]>?]> = [
  ['unmasked frame on a server', [frame(OPCODE_TEXT, 'x', { mask: null })], 'WS_ERR_EXPECTED_MASK', 1002],
  ['masked frame on a client', [frame(OPCODE_TEXT, 'x')], 'WS_ERR_UNEXPECTED_MASK', 1002, { expectMasked: false }],
  ['RSV1 without extension', [frame(OPCODE_TEXT, 'x', { rsv: 4 })], 'WS_ERR_UNEXPECTED_RSV_1', 1002],
  ['RSV2', [frame(OPCODE_TEXT, 'x', { rsv: 2 })], 'WS_ERR_UNEXPECTED_RSV_2_3', 1002],
  ['RSV3 on close', [frame(OPCODE_CLOSE, '', { rsv: 7 })], 'WS_ERR_UNEXPECTED_RSV_2_3', 1002],
  ['RSV1 on continuation', [frame(OPCODE_TEXT, 'a', { fin: false }), frame(OPCODE_CONTINUATION, 'b', { rsv: 4 })], 'WS_ERR_UNEXPECTED_RSV_1', 1002, { allowCompression: true }],
  ['RSV1 on ping', [frame(OPCODE_PING, '', { rsv: 4 })], 'WS_ERR_UNEXPECTED_RSV_1', 1002, { allowCompression: true }],
  ['reserved opcode 3', [frame(3, '')], 'WS_ERR_INVALID_OPCODE', 1002],
  ['reserved opcode 7', [frame(7, 'x')], 'WS_ERR_INVALID_OPCODE', 1002],
  ['reserved opcode 11', [frame(11, '')], 'WS_ERR_INVALID_OPCODE', 1002],
  ['reserved opcode 15', [frame(15, 'x')], 'WS_ERR_INVALID_OPCODE', 1002],
  ['ping of 126 bytes', [frame(OPCODE_PING, new Uint8Array(126))], 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 1002],
  ['fragmented ping', [frame(OPCODE_PING, 'a', { fin: false })], 'WS_ERR_EXPECTED_FIN', 1002],
  ['fragmented pong', [frame(OPCODE_PONG, 'a', { fin: false })], 'WS_ERR_EXPECTED_FIN', 1002],
  ['close with 1-byte payload', [frame(OPCODE_CLOSE, 'a')], 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 1002],
  ['continuation without start', [frame(OPCODE_CONTINUATION, 'x')], 'WS_ERR_UNEXPECTED_CONTINUATION', 1002],
  ['text inside a fragmented message', [frame(OPCODE_TEXT, 'a', { fin: false }), frame(OPCODE_TEXT, 'b')], 'WS_ERR_EXPECTED_CONTINUATION', 1002],
  ['invalid UTF-8', [frame(OPCODE_TEXT, bytes(0xce, 0xba, 0xed, 0xa0, 0x80))], 'WS_ERR_INVALID_UTF8', 1007],
  ['text ending mid code point', [frame(OPCODE_TEXT, bytes(0xce))], 'WS_ERR_INVALID_UTF8', 1007],
  ['invalid close code', [frame(OPCODE_CLOSE, bytes(0x03, 0xed))], 'WS_ERR_INVALID_CLOSE_CODE', 1002],
  ['close code 5000', [frame(OPCODE_CLOSE, bytes(0x13, 0x88))], 'WS_ERR_INVALID_CLOSE_CODE', 1002],
  ['invalid UTF-8 close reason', [frame(OPCODE_CLOSE, bytes(0x03, 0xe8, 0xed, 0xa0, 0x80))], 'WS_ERR_INVALID_UTF8', 1007],
  ['message over maxPayload', [frame(OPCODE_BINARY, new Uint8Array(101))], 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009, { maxPayload: 100 }],
  ['fragments over maxPayload', [frame(OPCODE_BINARY, new Uint8Array(60), { fin: false }), frame(OPCODE_CONTINUATION, new Uint8Array(41))], 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009, { maxPayload: 100 }],
  ['64-bit length with the top bit set', [bytes(0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4)], 'WS_ERR_INVALID_PAYLOAD_LENGTH', 1002],
  ['64-bit length beyond 2^53', [bytes(0x82, 0xff, 0x7f, 0xff, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4)], 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009],
];

for (const [name, chunks, code, closeCode, options] of violations) {
  test(`fails with ${closeCode}: ${name} (whole and split into single bytes)`, () => {
    for (const input of [chunks, oneByteChunks(concat(chunks))]) {
      const events = parse(input.map((c) => Uint8Array.from(c)), options);
      assert.deepEqual(events.at(-1), ['error', code, closeCode]);
      assert.equal(events.filter((e) => e[0] === 'message').length, 0);
    }
  });
}

test('maxPayload exactly reached is accepted', () => {
  assert.equal(parse([frame(OPCODE_BINARY, new Uint8Array(100))], { maxPayload: 100 })[0]![0], 'message');
});

test('invalid UTF-8 fails mid-frame, before the rest of the frame arrives (Autobahn 6.4.3)', () => {
  const wire = frame(OPCODE_TEXT, bytes(0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xf4, 0x90, 0x80, 0x80, 0x65, 0x64));
  const { events, handler } = recorder();
  const parser = new FrameParser(handler, { expectMasked: true });
  parser.push(wire.slice(0, 6 + 11)); // header + κόσμε
  assert.deepEqual(events, []);
  parser.push(wire.slice(17, 19)); // f4 90: invalid now
  assert.deepEqual(events, [['error', 'WS_ERR_INVALID_UTF8', 1007]]);
  assert.equal(parser.stopped, true);
});

test('a parser stopped while paused is no longer paused: input is ignored, not queued', () => {
  const { events, handler } = recorder();
  const parser = new FrameParser(handler, { expectMasked: true });
  parser.pause();
  parser.stop();
  assert.equal(parser.paused, false);
  parser.push(frame(OPCODE_TEXT, 'ignored'));
  assert.equal(parser.queuedBytes, 0);
  assert.deepEqual(events, []);
});

test('a close frame stops the parser; later frames are ignored (Autobahn 7.1.3/7.1.4)', () => {
  const wire = concat([frame(OPCODE_CLOSE, bytes(0x03, 0xe8, 0x68, 0x69)), frame(OPCODE_PING, 'x'), frame(OPCODE_TEXT, 'y')]);
  assert.deepEqual(parse([wire]), [['close', 1000, '6869']]);
  assert.deepEqual(parse([frame(OPCODE_CLOSE, '')]), [['close', 1005, '']]);
});

test('a close inside a fragmented message is accepted (Autobahn 7.1.5)', () => {
  const wire = concat([frame(OPCODE_TEXT, 'frag1', { fin: false }), frame(OPCODE_CLOSE, bytes(0x03, 0xe8)), frame(OPCODE_CONTINUATION, 'frag2')]);
  assert.deepEqual(parse([wire]), [['close', 1000, '']]);
});

test('compressed messages are passed through with compressed=true and RSV1 only on the first frame', () => {
  const wire = concat([frame(OPCODE_TEXT, bytes(0xff, 0xfe), { fin: false, rsv: 4 }), frame(OPCODE_CONTINUATION, bytes(0x01))]);
  assert.deepEqual(parse([wire], { allowCompression: true }), [['message', false, true, 'fffe01']]);
});

test('pause queues input and resume delivers it in order', () => {
  const { events, handler } = recorder();
  let parser!: FrameParser;
  const pausing: FrameHandler = { ...handler, onMessage: (d, b, c) => { handler.onMessage(d, b, c); parser.pause(); } };
  parser = new FrameParser(pausing, { expectMasked: true });
  parser.push(concat([frame(OPCODE_TEXT, 'a'), frame(OPCODE_TEXT, 'b'), frame(OPCODE_TEXT, 'c')]));
  assert.equal(events.length, 1);
  assert.ok(parser.queuedBytes > 0);
  parser.resume();
  assert.equal(events.length, 2);
  parser.resume();
  parser.resume();
  assert.deepEqual(events.map((e) => e[3]), ['61', '62', '63']);
});

test('skipUtf8Validation lets invalid text through', () => {
  assert.deepEqual(parse([frame(OPCODE_TEXT, bytes(0xff))], { skipUtf8Validation: true }), [['message', false, false, 'ff']]);
});

// Growth policy (issue 12, item 2): receive cost is linear in the input. Allocations are counted
// through the parser's alloc hook, so these checks are deterministic (no timing).
function countingParser(maxPayload: number, expectMasked = true) {
  const stats = { allocs: 0, allocated: 0, messages: [] as Uint8Array[] };
  const { handler } = recorder();
  const parser = new FrameParser({ ...handler, onMessage: (data) => stats.messages.push(data) }, {
    expectMasked,
    maxPayload,
    alloc: (size) => {
      stats.allocs++;
      stats.allocated += size;
      return new Uint8Array(size);
    },
  });
  return { parser, stats };
}

function fragmentedWire(total: number, fragment: number, mask: number | null): { wire: Uint8Array; payload: Uint8Array } {
  const payload = Uint8Array.from({ length: total }, (_, i) => (i * 31) & 0xff);
  const frames: Uint8Array[] = [];
  for (let at = 0; at < total; at += fragment) {
    const piece = payload.subarray(at, Math.min(total, at + fragment));
    frames.push(frame(at === 0 ? OPCODE_BINARY : OPCODE_CONTINUATION, piece, { fin: at + fragment >= total, mask }));
  }
  return { wire: concat(frames), payload };
}

for (const [total, fragment] of [[4 << 20, 1024], [1 << 20, 64]] as const) {
  test(`${total} bytes in ${fragment}-byte fragments: O(log n) allocations, at most 4x the message allocated in all`, () => {
    for (const mask of [MASK, null]) {
      const { wire, payload } = fragmentedWire(total, fragment, mask);
      const { parser, stats } = countingParser(64 << 20, mask !== null);
      parser.push(wire);
      assert.equal(stats.messages.length, 1);
      assert.ok(Buffer.from(stats.messages[0]!).equals(Buffer.from(payload)));
      // Doubling from 4096: log2(total / 4096) + 2 buffers. Growing by what was announced so far
      // (before the fix) allocated once per fragment: 4096 times for the first case.
      assert.ok(stats.allocs <= Math.log2(total / 4096) + 2, `${stats.allocs} allocations`);
      assert.ok(stats.allocated <= 4 * total, `${stats.allocated} bytes allocated`);
    }
  });
}

test('fragments arriving one per chunk grow the same way (and the retained views stay bounded)', () => {
  const total = 1 << 20;
  const { parser, stats } = countingParser(8 << 20);
  for (let at = 0; at < total; at += 512) {
    parser.push(frame(at === 0 ? OPCODE_BINARY : OPCODE_CONTINUATION, new Uint8Array(512), { fin: at + 512 >= total }));
  }
  assert.equal(stats.messages.length, 1);
  assert.equal(stats.messages[0]!.length, total);
  assert.ok(stats.allocs <= Math.log2(total / 4096) + 2, `${stats.allocs} allocations`);
});

test('one large frame split into small chunks: O(log n) allocations', () => {
  const total = 4 << 20;
  const wire = frame(OPCODE_BINARY, new Uint8Array(total));
  const { parser, stats } = countingParser(8 << 20);
  for (let at = 0; at < wire.length; at += 1000) parser.push(wire.subarray(at, at + 1000));
  assert.equal(stats.messages[0]!.length, total);
  assert.ok(stats.allocs <= Math.log2(total / 4096) + 2, `${stats.allocs} allocations`);
  assert.ok(stats.allocated <= 4 * total);
});

test('many small frames in one chunk are views of it: no allocation at all', () => {
  const count = 20_000;
  const wire = concat(Array.from({ length: count }, (_, i) => frame(OPCODE_BINARY, bytes(i & 0xff, 1, 2, 3))));
  const { parser, stats } = countingParser(1 << 20);
  parser.push(wire);
  assert.equal(stats.messages.length, count);
  assert.equal(stats.allocs, 0);
});

test('a hostile header buys no memory: growth follows the bytes that arrived, never the announced length', () => {
  for (const fin of [true, false]) {
    const { parser, stats } = countingParser(1 << 30, false);
    const header = new Uint8Array(10);
    writeFrameHeader(header, 0, OPCODE_BINARY, 1 << 29, fin, false);
    parser.push(header);
    let arrived = 0;
    for (let i = 0; i < 200; i++) {
      parser.push(new Uint8Array(100));
      arrived += 100;
      // Everything allocated so far is within a constant factor of what arrived (4096 floor).
      assert.ok(stats.allocated <= 4 * Math.max(4096, arrived), `${stats.allocated} bytes for ${arrived} received`);
    }
  }
});
