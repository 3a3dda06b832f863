/**
 * Reads a Redis stream forever on a dedicated connection (XREAD BLOCK holds its connection), and
 * survives Redis going away: on any failure it reports a typed error, waits (exponential backoff,
 * capped), re-synchronises and resumes from the last entry id it delivered, so nothing written to
 * the stream in the meantime is skipped.
 *
 * Re-synchronisation handles a Redis that came back empty (restart without persistence, or the
 * stream was deleted): if the stream is missing or its last generated id is older than ours, the
 * stream was recreated and every entry in it is new to us, so reading restarts from `0-0`. If
 * MAXLEN trimming removed entries we had not read yet, a MESSAGES_LOST error says how many: the
 * reader counts the entries the stream ever received up to its position (XINFO `entries-added`,
 * Redis >= 7), and trimming removes the oldest first, so `entries-added - length` above that count
 * is the number removed unread. The check runs after a failure (while connected, a reader that
 * falls more than the stream's length behind is only seen at the next check; its count never
 * exceeds what was really lost, since it grows only with entries delivered).
 *
 * @example
 * ```ts
 * const reader = new StreamReader(client.duplicate(), {
 *   key: 'app:stream', field: 'm', readCount: 100, blockMs: 1000,
 *   onEntries: (entries) => entries.forEach(handle), onError: console.warn, onHealthy: () => {},
 * });
 * await reader.start();
 * ```
 */
import { RedisAdapterError, toAdapterError } from './errors.js';
import {
  BUFFER_REPLIES,
  type RedisCommandClient,
  type StreamEntry,
  compareIds,
  optionalNumber,
  parseXRead,
  streamInfo,
} from './redis-client.js';

export interface StreamReaderOptions {
  key: string;
  /** Name of the entry field holding the payload. */
  field: string;
  /** Entries fetched per XREAD. */
  readCount: number;
  /** How long one XREAD blocks waiting for entries (ms). */
  blockMs: number;
  /** Longest wait between two attempts after a failure (ms). */
  maxBackoffMs?: number;
  onEntries(entries: StreamEntry[]): void;
  onError(err: RedisAdapterError): void;
  /** Called when reading works again after a failure. */
  onHealthy(): void;
}

export class StreamReader {
  /** Id of the last entry delivered (or the stream's tail when reading started). */
  lastId = '0-0';
  /** How many entries the stream ever received up to {@link lastId}; undefined before Redis 7. */
  private addedThroughLast: number | undefined = 0;
  private running = false;
  private failures = 0;
  private wake: (() => void) | null = null;
  private sleepTimer: NodeJS.Timeout | null = null;
  private loop: Promise<void> | null = null;
  private readonly onClientError = (err: unknown) => {
    // node-redis emits one error per failed reconnect attempt; the loop reports state changes itself.
    if (this.failures > 0 || !this.running) return;
    this.failures = 1;
    this.options.onError(toAdapterError(err, `reading stream "${this.options.key}"`));
  };

  /** `client` becomes owned by the reader: it is destroyed by {@link stop}. */
  constructor(
    private readonly client: RedisCommandClient,
    private readonly options: StreamReaderOptions,
  ) {
    client.on('error', this.onClientError);
  }

  /** Starts reading after the current tail of the stream; resolves once that position is known. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    let positioned!: () => void;
    const ready = new Promise<void>((resolve) => (positioned = resolve));
    this.loop = this.run(positioned);
    await ready;
  }

  private async run(positioned: () => void): Promise<void> {
    let needsPosition = true;
    let needsResync = false;
    while (this.running) {
      try {
        if (!this.client.isOpen) await this.client.connect();
        if (needsPosition) {
          const info = await streamInfo(this.client, this.options.key);
          this.lastId = info === null ? '0-0' : String(info('last-generated-id') ?? '0-0');
          this.addedThroughLast = info === null ? 0 : optionalNumber(info('entries-added'));
          needsPosition = false;
          positioned();
        } else if (needsResync) {
          await this.resync();
        }
        needsResync = false;
        const reply = await this.client.sendCommand(
          ['XREAD', 'COUNT', String(this.options.readCount), 'BLOCK', String(this.options.blockMs), 'STREAMS', this.options.key, this.lastId],
          BUFFER_REPLIES,
        );
        if (this.failures > 0) {
          this.failures = 0;
          this.options.onHealthy();
        }
        const entries = parseXRead(reply, this.options.key, this.options.field);
        if (entries.length > 0) {
          this.lastId = entries[entries.length - 1]!.id;
          if (this.addedThroughLast !== undefined) this.addedThroughLast += entries.length;
          this.options.onEntries(entries);
        }
      } catch (err) {
        if (!this.running) break;
        if (this.failures === 0) this.options.onError(toAdapterError(err, `reading stream "${this.options.key}"`));
        this.failures++;
        needsResync = true;
        const cap = this.options.maxBackoffMs ?? 2000;
        await this.sleep(Math.min(cap, 50 * 2 ** Math.min(this.failures, 10)));
      }
    }
    positioned();
  }

  /** After a failure: detect a recreated stream, or entries trimmed before we could read them. */
  private async resync(): Promise<void> {
    const info = await streamInfo(this.client, this.options.key);
    if (info === null || compareIds(String(info('last-generated-id') ?? '0-0'), this.lastId) < 0) {
      // Missing, or its ids restarted below ours: a new stream, every entry in it unread.
      this.lastId = '0-0';
      this.addedThroughLast = 0;
      return;
    }
    this.reportTrimmed(info);
  }

  /** Reports entries that trimming removed before this reader got to them (see the file comment). */
  private reportTrimmed(field: (key: string) => unknown): void {
    const added = optionalNumber(field('entries-added'));
    const length = optionalNumber(field('length'));
    let lost: string | null = null;
    if (added !== undefined && length !== undefined && this.addedThroughLast !== undefined) {
      const removed = added - length;
      if (removed > this.addedThroughLast) lost = `${removed - this.addedThroughLast} entries`;
      // Reading resumes at the first entry left, so the count continues from there.
      this.addedThroughLast = Math.max(this.addedThroughLast, removed);
    } else if (this.lastId !== '0-0') {
      // Redis < 7 has no counter: if even the first entry left is newer than ours, entries may have
      // been removed unread (a loss is also reported when only our own last entry was trimmed).
      const firstEntry = field('first-entry');
      const firstId = Array.isArray(firstEntry) ? String(firstEntry[0]) : undefined;
      if (firstId !== undefined && compareIds(firstId, this.lastId) > 0) lost = 'entries';
    }
    if (lost !== null) {
      this.options.onError(
        new RedisAdapterError('MESSAGES_LOST', `stream "${this.options.key}" was trimmed: ${lost} after ${this.lastId} removed before this node read them; raise maxLen`),
      );
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
    });
  }

  /** Stops reading and closes the dedicated connection (a blocked XREAD is aborted). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wake?.();
    try {
      this.client.destroy();
    } catch {
      // already closed
    }
    await this.loop;
    this.client.off('error', this.onClientError);
  }
}
