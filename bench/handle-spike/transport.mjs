// A WebSocket echo server on libuv's TCP handle, without net.Socket: the handle classes of
// process.binding('tcp_wrap') and process.binding('stream_wrap') (DEP0111, internal API), with
// switchboard's own protocol core (src/protocol: frame parser and encoder, handshake checks) on top.
// A measured spike for bench/README.md ("A JavaScript transport on the TCP handle"); switchboard
// does not use it and nothing outside bench/handle-spike/ imports it.
//
// What the handle gives and what it leaves to us (Node 20):
// - read: handle.onread(arrayBuffer) is called with `this` = the handle; the byte count (or a
//   negative libuv error, UV_EOF at the end) is in streamBaseState[kReadBytesOrError] and the data
//   starts at streamBaseState[kArrayBufferOffset] in arrayBuffer, which is fresh for each read;
//   after handle.useUserBuffer(buffer), arrayBuffer is undefined and the data starts at buffer[0].
// - write: handle.writeBuffer(req, buffer) / handle.writev(req, chunks, true) with a WriteWrap; the
//   call returns a libuv error code (0 = dispatched); streamBaseState[kLastWriteWasAsync] says
//   whether bytes are still queued, in which case the buffer must stay alive until
//   req.oncomplete(status) runs (libuv points at it) and handle.writeQueueSize says how much waits.
// - close: handle.close(callback); a ShutdownWrap sends FIN once queued writes are out.
import { isUtf8 } from 'node:buffer';
import { fileURLToPath } from 'node:url';

// process.binding prints nothing unless --pending-deprecation is given (DEP0111 is documentation-only).
const { TCP, constants: TCPConstants } = process.binding('tcp_wrap');
const { WriteWrap, ShutdownWrap, streamBaseState, kReadBytesOrError, kArrayBufferOffset, kLastWriteWasAsync } =
  process.binding('stream_wrap');

// Our protocol core, from the build (dist/) or, with BENCH_FROM_SRC=1 under tsx, from src/.
const fromSrc = Boolean(process.env.BENCH_FROM_SRC);
const protocolModule = (name) =>
  import(fileURLToPath(new URL(fromSrc ? `../../src/protocol/${name}.ts` : `../../dist/esm/protocol/${name}.js`, import.meta.url)));
const { FrameParser, writeFrameHeader, frameHeaderLength, OPCODE_TEXT, OPCODE_BINARY, OPCODE_CLOSE, OPCODE_PONG } =
  await protocolModule('ws-frame');
const { checkUpgradeRequest, buildUpgradeResponse, buildErrorResponse } = await protocolModule('ws-handshake');
const { buildClosePayload, CLOSE_NO_STATUS } = await protocolModule('ws-close');

/** The largest request head accepted before the upgrade is refused (431 in spirit; 400 here). */
const MAX_HEAD_BYTES = 8 * 1024;
/** Bytes queued in libuv for one client before it is dropped (our WebSocket's default maxBufferedAmount). */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** Frames up to this size are copied into the shared output slab; longer ones go out by writev. */
const SLAB_FRAME_LIMIT = 16 * 1024;
const SLAB_SIZE = 64 * 1024;

const allocUnsafe = (size) => Buffer.allocUnsafe(size);

// Outgoing frames of one read are gathered in a slab shared by every connection and leave in one
// write after the read is parsed (a cork per read, no timer). A write libuv completes at once
// leaves the slab free for the next one; a queued write keeps its bytes and the slab moves on.
let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
let slabStart = 0;
let slabEnd = 0;

let openClients = 0;

// Every handle reads into this one buffer (handle.useUserBuffer, what net's `onread` option uses):
// no ArrayBuffer is made per read. A read is parsed in place when it leaves no frame or fragmented
// message unfinished, since then the parser keeps no view of it once push() returns; otherwise it
// is copied first. HANDLE_FRESH_READS=1 keeps libuv's fresh buffer per read instead, for comparison.
const FRESH_READS = Boolean(process.env.HANDLE_FRESH_READS);
const sharedRead = new Uint8Array(64 * 1024);

/**
 * One connection: its handle, the request head until the upgrade, then the frame parser, whose
 * FrameHandler it is. The handle points back at it (`handle.connection`).
 */
class Connection {
  constructor(handle) {
    this.handle = handle;
    /** The request head read so far (latin1), null once answered. */
    this.head = '';
    this.upgraded = false;
    /** Made when the first frame arrives, so that a connection that stays idle holds none. */
    this.parser = null;
    this.closing = false;
    // Where the input stands between frames, tracked apart from the parser (endsAtMessageBoundary):
    // payload bytes left of the current frame, a header split across reads, a fragmented message.
    this.frameLeft = 0;
    this.splitHeader = null;
    this.fragmented = false;
  }

  onMessage(data, isBinary) {
    queueFrame(this, isBinary ? OPCODE_BINARY : OPCODE_TEXT, data);
  }
  onPing(data) {
    queueFrame(this, OPCODE_PONG, data);
  }
  onPong() {}
  onClose(code) {
    // RFC 6455 §5.5.1: answer a close with a close (echoing the status), then close the TCP
    // connection; the server closes first (§7.1.1).
    queueFrame(this, OPCODE_CLOSE, code === CLOSE_NO_STATUS ? buildClosePayload() : buildClosePayload(code));
    this.closing = true;
  }
  onProtocolError(error) {
    queueFrame(this, OPCODE_CLOSE, buildClosePayload(error.closeCode));
    this.closing = true;
  }
}

function queueFrame(conn, opcode, payload) {
  const headerSize = frameHeaderLength(payload.length, false);
  if (headerSize + payload.length > SLAB_FRAME_LIMIT) return writeLargeFrame(conn, opcode, payload, headerSize);
  if (slabEnd + headerSize + payload.length > SLAB_SIZE) {
    flush(conn);
    if (slabEnd + headerSize + payload.length > SLAB_SIZE) newSlab();
  }
  const p = slabEnd + writeFrameHeader(slab, slabEnd, opcode, payload.length, true, false);
  slab.set(payload, p);
  slabEnd = p + payload.length;
}

/** A frame too large to copy: what the slab holds goes first, then header and payload by writev. */
function writeLargeFrame(conn, opcode, payload, headerSize) {
  flush(conn);
  if (conn.handle === null) return;
  const header = Buffer.allocUnsafe(headerSize);
  writeFrameHeader(header, 0, opcode, payload.length, true, false);
  // libuv may hold the payload until the write completes: a view of the shared read buffer is
  // copied, a buffer of its own (a copied read, a merged message) is not.
  const chunks = [header, payload.buffer === sharedRead.buffer ? payload.slice() : payload];
  const req = new WriteWrap();
  req.oncomplete = onWriteComplete;
  req.connection = conn;
  if (conn.handle.writev(req, chunks, true) !== 0) return destroy(conn);
  if (streamBaseState[kLastWriteWasAsync]) req.buffer = chunks;
}

function newSlab() {
  slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
  slabStart = slabEnd = 0;
}

function onWriteComplete(status) {
  // `this` is the WriteWrap; its `buffer` kept the bytes alive while libuv held them.
  if (status < 0) destroy(this.connection);
}

// A WriteWrap whose write libuv finished at once is not referenced by anything: the next write
// reuses it. One that is left queued keeps its bytes and callback, and a fresh one takes its place.
let spareReq = new WriteWrap();

/** Writes `bytes` for `conn`; true when libuv took them all at once, false when some wait in its queue. */
function writeBytes(conn, bytes) {
  const req = spareReq;
  const err = conn.handle.writeBuffer(req, bytes);
  if (err !== 0) {
    destroy(conn);
    return true;
  }
  if (streamBaseState[kLastWriteWasAsync] === 0) return true;
  req.oncomplete = onWriteComplete;
  req.connection = conn;
  req.buffer = bytes;
  spareReq = new WriteWrap();
  return false;
}

/** Writes the slab bytes the current read produced for `conn`, in one write. */
function flush(conn) {
  const handle = conn.handle;
  if (slabEnd > slabStart && handle !== null) {
    if (!writeBytes(conn, new Uint8Array(slab.buffer, slab.byteOffset + slabStart, slabEnd - slabStart))) {
      slabStart = slabEnd; // libuv holds these bytes until the write completes
      if (SLAB_SIZE - slabEnd < SLAB_FRAME_LIMIT) newSlab();
    }
  }
  slabEnd = slabStart; // written, queued in libuv, or dropped with a destroyed connection
  // Backpressure, the bluntest way: a client that does not read what it is sent is dropped.
  if (conn.handle !== null && conn.handle.writeQueueSize > MAX_QUEUED_BYTES) destroy(conn);
}

function onShutdown() {
  destroy(this.connection);
}

/** Half-closes once queued writes are out (libuv orders the shutdown after them), then closes. */
function endConnection(conn) {
  const req = new ShutdownWrap();
  req.oncomplete = onShutdown;
  req.connection = conn;
  conn.handle.readStop();
  if (conn.handle.shutdown(req) !== 0) destroy(conn);
}

function onHandleClosed() {}

function destroy(conn) {
  if (conn.handle === null) return;
  if (conn.upgraded) openClients--;
  conn.handle.close(onHandleClosed);
  conn.handle.connection = null;
  conn.handle = null;
}

// One function for every handle: `this` is the handle (as in lib/net.js).
function onRead(arrayBuffer) {
  const conn = this.connection;
  if (conn === null || conn.handle === null) return;
  const nread = streamBaseState[kReadBytesOrError];
  if (nread === 0) return; // libuv's EAGAIN
  if (nread < 0) return destroy(conn); // UV_EOF (-4095) or another libuv error: the client is gone
  let chunk = FRESH_READS ? new Uint8Array(arrayBuffer, streamBaseState[kArrayBufferOffset], nread) : sharedRead.subarray(0, nread);
  if (conn.head !== null) return readHead(conn, chunk.slice());
  if (!conn.upgraded) return; // refused: only the shutdown is left
  if (!FRESH_READS && !endsAtMessageBoundary(conn, chunk)) chunk = chunk.slice();
  (conn.parser ??= newParser(conn)).push(chunk);
  flush(conn);
  if (conn.closing && conn.handle !== null) endConnection(conn);
}

/**
 * Walks the frame headers of `chunk` (RFC 6455 §5.2 lengths) and tells whether it ends at a
 * message boundary: no frame cut off and no fragmented message (FIN clear, §5.4) still open.
 * Linear in the number of frames; a header split across reads is gathered (at most 14 bytes).
 * Malformed headers need no care here: the parser fails the connection on them.
 */
function endsAtMessageBoundary(conn, chunk) {
  const end = chunk.length;
  let pos = 0;
  let left = conn.frameLeft;
  let fragmented = conn.fragmented;
  while (pos < end) {
    if (left > 0) {
      const n = Math.min(left, end - pos);
      left -= n;
      pos += n;
      continue;
    }
    let b = chunk;
    let o = pos;
    if (conn.splitHeader !== null || end - pos < 2 || end - pos < headerSize(chunk[pos + 1])) {
      const split = (conn.splitHeader ??= { bytes: new Uint8Array(14), length: 0 });
      while (pos < end && (split.length < 2 || split.length < headerSize(split.bytes[1]))) split.bytes[split.length++] = chunk[pos++];
      if (split.length < 2 || split.length < headerSize(split.bytes[1])) break;
      b = split.bytes;
      o = 0;
      conn.splitHeader = null;
    } else {
      pos += headerSize(chunk[pos + 1]);
    }
    const b0 = b[o];
    if ((b0 & 0x0f) < 0x8) fragmented = (b0 & 0x80) === 0; // a data frame opens, continues or ends a message
    const len7 = b[o + 1] & 0x7f;
    if (len7 < 126) left = len7;
    else if (len7 === 126) left = (b[o + 2] << 8) | b[o + 3];
    else {
      const high = ((b[o + 2] << 24) | (b[o + 3] << 16) | (b[o + 4] << 8) | b[o + 5]) >>> 0;
      const low = ((b[o + 6] << 24) | (b[o + 7] << 16) | (b[o + 8] << 8) | b[o + 9]) >>> 0;
      left = high * 0x100000000 + low;
    }
  }
  conn.frameLeft = left;
  conn.fragmented = fragmented;
  return left === 0 && conn.splitHeader === null && !fragmented;
}

/** Bytes of a frame header given its second byte: length field and masking key (RFC 6455 §5.2). */
function headerSize(secondByte) {
  const len7 = secondByte & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (secondByte & 0x80 ? 4 : 0);
}

function readHead(conn, chunk) {
  conn.head += Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).latin1Slice();
  const end = conn.head.indexOf('\r\n\r\n');
  if (end === -1) {
    if (conn.head.length > MAX_HEAD_BYTES) refuse(conn, 400);
    return;
  }
  if (end > MAX_HEAD_BYTES) return refuse(conn, 400);
  const request = parseHead(conn.head.slice(0, end));
  const rest = conn.head.length - (end + 4); // bytes after the head: the first frames, if sent early
  conn.head = null;
  const check = request === null ? { ok: false, status: 400, reason: 'Malformed request' } : checkUpgradeRequest(request);
  if (!check.ok) return refuse(conn, check.status, check.reason, check.headers);
  // §4.2.2: no subprotocol or extension is selected; the 101 goes out before any frame.
  queueString(conn, buildUpgradeResponse({ key: check.key }));
  conn.upgraded = true;
  openClients++;
  if (rest > 0) {
    const early = chunk.subarray(chunk.length - rest); // `chunk` is a copy here: no boundary matters
    endsAtMessageBoundary(conn, early);
    (conn.parser = newParser(conn)).push(early);
  }
  flush(conn);
  if (conn.closing && conn.handle !== null) endConnection(conn);
}

function newParser(conn) {
  return new FrameParser(conn, { expectMasked: true, alloc: allocUnsafe, isUtf8 });
}

function queueString(conn, text) {
  if (slabEnd + text.length > SLAB_SIZE) newSlab();
  slabEnd += slab.latin1Write(text, slabEnd);
}

function refuse(conn, status, reason = '', headers = {}) {
  conn.head = null;
  queueString(conn, buildErrorResponse(status, reason, headers));
  flush(conn);
  if (conn.handle !== null) endConnection(conn);
}

/**
 * The request line and header fields of an HTTP/1.1 head (RFC 9112 §3, §5), enough for
 * checkUpgradeRequest; null when a line is malformed. Repeated fields are joined with ", ".
 */
function parseHead(head) {
  const lines = head.split('\r\n');
  const requestLine = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/(\d\.\d)$/.exec(lines[0]);
  if (requestLine === null) return null;
  const headers = Object.create(null);
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0) return null;
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { method: requestLine[1], url: requestLine[2], httpVersion: requestLine[3], headers };
}

function onConnection(err, clientHandle) {
  if (err) return; // accept failed (EMFILE and the like); libuv keeps listening
  const conn = new Connection(clientHandle);
  clientHandle.connection = conn;
  clientHandle.onread = onRead;
  clientHandle.setNoDelay(true);
  if (!FRESH_READS) clientHandle.useUserBuffer(sharedRead);
  const readErr = clientHandle.readStart();
  if (readErr !== 0) destroy(conn);
}

/**
 * Listens on `host`:`port` (IPv4) and serves WebSocket echo on every connection. Returns the bound
 * port and the number of upgraded connections still open.
 */
export function listenEcho(host, port = 0) {
  const server = new TCP(TCPConstants.SERVER);
  let err = server.bind(host, port);
  if (err === 0) err = server.listen(511);
  if (err !== 0) throw new Error(`listen on ${host}:${port} failed: libuv error ${err}`);
  server.onconnection = onConnection;
  const address = {};
  server.getsockname(address);
  return { port: address.port, clients: () => openClients };
}
