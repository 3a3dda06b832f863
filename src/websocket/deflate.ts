/**
 * permessage-deflate (RFC 7692) data path: raw DEFLATE streams from `node:zlib`, one compressor and
 * one decompressor per connection created lazily, with a process-wide cap on concurrent zlib jobs
 * (unbounded async zlib fragments memory badly; see ws#1202 / node#8871) and an inflate output cap
 * so a compression bomb is stopped as soon as it crosses `maxPayload`.
 */
import * as zlib from 'node:zlib';
import type { DeflateNegotiationOptions, DeflateParams } from '../protocol/ws-extensions.js';
import { WebSocketProtocolError, maxPayloadError } from '../protocol/ws-errors.js';

/** permessage-deflate options for {@link WebSocketServer} and {@link WebSocket}. */
export interface PerMessageDeflateOptions extends DeflateNegotiationOptions {
  /** Messages smaller than this many bytes are sent uncompressed. Default 1024. */
  threshold?: number;
  /** Process-wide number of concurrent zlib operations. Default 10 (the first value set wins). */
  concurrencyLimit?: number;
  /** Options for the compressor (level, memLevel, ...); windowBits comes from negotiation. */
  zlibDeflateOptions?: zlib.ZlibOptions;
  /** Options for the decompressor; windowBits comes from negotiation. */
  zlibInflateOptions?: zlib.ZlibOptions;
}

/** The trailing bytes of a sync flush, stripped on send and restored on receive (RFC 7692 §7.2.1/§7.2.2). */
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const EMPTY = Buffer.alloc(0);

type Job = () => void;

/** Runs at most `limit` zlib jobs at once, queueing the rest. */
class Limiter {
  private running = 0;
  private readonly queue: Job[] = [];
  constructor(readonly limit: number) {}
  run(job: Job): void {
    if (this.running < this.limit) {
      this.running++;
      job();
    } else {
      this.queue.push(job);
    }
  }
  done(): void {
    const next = this.queue.shift();
    if (next !== undefined) next();
    else this.running--;
  }
}

let limiter: Limiter | null = null;

/** Result callback of {@link PerMessageDeflate.compress} and {@link PerMessageDeflate.decompress}. */
export type ZlibCallback = (error: Error | null, data?: Buffer) => void;

/**
 * The compressor and decompressor of one connection.
 *
 * @example
 * const pmd = new PerMessageDeflate(params, true, { maxPayload: 1 << 20 });
 * pmd.compress(Buffer.from('hello'), true, (err, data) => { ... });
 */
export class PerMessageDeflate {
  readonly threshold: number;
  private readonly sendWindowBits: number;
  private readonly sendNoContextTakeover: boolean;
  private readonly receiveWindowBits: number;
  private readonly receiveNoContextTakeover: boolean;
  private readonly maxPayload: number;
  private readonly deflateOptions: zlib.ZlibOptions | undefined;
  private readonly inflateOptions: zlib.ZlibOptions | undefined;
  private deflater: zlib.DeflateRaw | null = null;
  private inflater: zlib.InflateRaw | null = null;
  /** Recent inflated output, kept only for a peer that ends its streams with context takeover on. */
  private window: Buffer | null = null;
  private closed = false;
  /** Settles the running jobs; used on close so no limiter slot is ever leaked. */
  private readonly jobs = new Set<ZlibCallback>();

  constructor(
    readonly params: DeflateParams,
    isServer: boolean,
    options: PerMessageDeflateOptions & { maxPayload: number },
  ) {
    this.threshold = options.threshold ?? 1024;
    // zlib cannot use a 256-byte window for raw streams; 9 is the smallest it produces.
    const server = Math.max(9, params.serverMaxWindowBits);
    const client = Math.max(9, params.clientMaxWindowBits);
    this.sendWindowBits = isServer ? server : client;
    this.receiveWindowBits = isServer ? client : server;
    this.sendNoContextTakeover = isServer ? params.serverNoContextTakeover : params.clientNoContextTakeover;
    this.receiveNoContextTakeover = isServer ? params.clientNoContextTakeover : params.serverNoContextTakeover;
    this.maxPayload = options.maxPayload;
    this.deflateOptions = options.zlibDeflateOptions;
    this.inflateOptions = options.zlibInflateOptions;
    limiter ??= new Limiter(options.concurrencyLimit ?? 10);
  }

  /** Compresses one message (or fragment; `fin` ends the message). */
  compress(data: Buffer, fin: boolean, callback: ZlibCallback): void {
    this.schedule(callback, (settle) => this.runCompress(data, fin, settle));
  }

  /** Decompresses one received message (or fragment; `fin` ends the message). */
  decompress(data: Buffer, fin: boolean, callback: ZlibCallback): void {
    this.schedule(callback, (settle) => this.runDecompress(data, fin, settle));
  }

  private schedule(callback: ZlibCallback, job: (settle: ZlibCallback) => void): void {
    limiter!.run(() => {
      let settled = false;
      const settle: ZlibCallback = (error, out) => {
        if (settled) return;
        settled = true;
        this.jobs.delete(settle);
        limiter!.done();
        callback(error, out);
      };
      this.jobs.add(settle);
      job(settle);
    });
  }

  /** Releases the zlib streams; pending operations report an error. */
  close(): void {
    this.closed = true;
    for (const settle of [...this.jobs]) settle(new Error('The connection is closed'));
    this.deflater?.close();
    this.inflater?.close();
    this.deflater = this.inflater = null;
    this.window = null;
  }

  private runCompress(data: Buffer, fin: boolean, callback: ZlibCallback): void {
    if (this.closed) return callback(new Error('The connection is closed'));
    const deflater = (this.deflater ??= zlib.createDeflateRaw({
      ...this.deflateOptions,
      windowBits: this.sendWindowBits,
    }));
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      length += chunk.length;
    };
    deflater.on('data', onData);
    deflater.write(data);
    deflater.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      deflater.off('data', onData);
      if (this.closed) return callback(new Error('The connection is closed'));
      let out = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
      // RFC 7692 §7.2.1: remove the 0x00 0x00 0xff 0xff tail of the final flush.
      if (fin) {
        out = out.subarray(0, out.length - 4);
        if (this.sendNoContextTakeover) deflater.reset();
      }
      callback(null, out);
    });
  }

  private runDecompress(data: Buffer, fin: boolean, callback: ZlibCallback): void {
    if (this.closed) return callback(new Error('The connection is closed'));
    const inflater = (this.inflater ??= zlib.createInflateRaw({
      ...this.inflateOptions,
      windowBits: this.receiveWindowBits,
      // The sliding window of a DEFLATE stream the peer ended (see streamEnded).
      ...(this.window !== null && this.window.length > 0 && { dictionary: this.window }),
    }));
    const before = inflater.bytesWritten;
    const chunks: Buffer[] = [];
    let length = 0;
    let failed = false;
    const finish = (error: Error | null): void => {
      inflater.off('data', onData);
      inflater.off('error', onError);
      // zlib stops consuming at the end of a stream; an ended stream also ends the readable side.
      const consumed = inflater.bytesWritten - before;
      const ended = error === null && (inflater.readableEnded || consumed < data.length + (fin ? TRAILER.length : 0));
      if (ended) error = this.streamEnded(data, fin, consumed);
      if (error !== null) {
        failed = true;
        // The stream state is unusable now; the connection is being failed anyway.
        this.inflater = null;
        inflater.close();
        return callback(error);
      }
      const out = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
      if (ended) {
        // A stream that reached its end takes no more input: the next message starts a new one.
        this.inflater = null;
        inflater.close();
      } else if (fin && this.receiveNoContextTakeover) {
        inflater.reset();
      }
      if (this.window !== null || (ended && !this.receiveNoContextTakeover)) this.keepWindow(out);
      callback(null, out);
    };
    const onData = (chunk: Buffer): void => {
      if (failed) return;
      length += chunk.length;
      if (length > this.maxPayload) {
        // Stop at once: the rest of a compression bomb is never inflated.
        return finish(maxPayloadError(this.maxPayload));
      }
      chunks.push(chunk);
    };
    const onError = (error: Error): void => {
      if (failed) return;
      finish(new WebSocketProtocolError('WS_ERR_INVALID_COMPRESSED_DATA', `invalid compressed data: ${error.message}`));
    };
    inflater.on('data', onData);
    inflater.on('error', onError);
    inflater.write(data);
    if (fin) inflater.write(TRAILER);
    inflater.flush(() => {
      if (failed) return;
      if (this.closed) {
        failed = true;
        return callback(new Error('The connection is closed'));
      }
      finish(null);
    });
  }

  /**
   * The peer ended its DEFLATE stream (a block with BFINAL=1) inside this message, which RFC 7692
   * §7.2.3.3 allows at the end of any message. What follows the final block must be nothing of
   * the sender's but our 00 00 ff ff tail, or the one 0x00 octet of §7.2.3.3's example (with the
   * tail, an empty stored block); more data after the end of the stream is invalid (1007).
   */
  private streamEnded(data: Buffer, fin: boolean, consumed: number): WebSocketProtocolError | null {
    const extra = data.length - consumed;
    if (extra <= 0 && fin) return null;
    if (extra === 1 && fin && data[data.length - 1] === 0) return null;
    return new WebSocketProtocolError('WS_ERR_INVALID_COMPRESSED_DATA', 'invalid compressed data: data after the end of the DEFLATE stream');
  }

  /**
   * Keeps the last window of inflated output once the peer ends streams with BFINAL while context
   * takeover is on: RFC 7692 §7.2.2 says the next message is inflated with the sliding window of
   * the last one, so the next stream is seeded with it as a preset dictionary. Output from before
   * the first ended stream is not kept (it would cost a window per connection for every peer); a
   * reference that far back fails as invalid data (1007), never as wrong data.
   */
  private keepWindow(out: Buffer): void {
    const size = 1 << this.receiveWindowBits;
    if (out.length >= size) {
      this.window = Buffer.from(out.subarray(out.length - size));
      return;
    }
    const previous = this.window ?? EMPTY;
    const keep = Math.min(previous.length, size - out.length);
    const window = Buffer.allocUnsafe(keep + out.length);
    previous.copy(window, 0, previous.length - keep);
    out.copy(window, keep);
    this.window = window;
  }
}
