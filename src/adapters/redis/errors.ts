/**
 * Typed errors of the Redis adapters. Every failure the adapters report (to an `error` listener,
 * as a rejected request, or as a process warning) is a {@link RedisAdapterError} with a code.
 *
 * @example
 * ```ts
 * io.of('/').adapter.on('error', (err: RedisAdapterError) => {
 *   if (err.code === 'REDIS_UNREACHABLE') metrics.redisDown.inc();
 * });
 * ```
 */

export type RedisAdapterErrorCode =
  /** Redis cannot be reached (at start, or the connection dropped and is being retried). */
  | 'REDIS_UNREACHABLE'
  /** A Redis command failed for another reason (wrong type, out of memory, ...). */
  | 'REDIS_COMMAND_FAILED'
  /** A message could not be sent to the other nodes (pub/sub adapter while Redis is down). */
  | 'PUBLISH_FAILED'
  /** Messages between nodes were lost (stream trimmed before it was read, or dropped while Redis was down). */
  | 'MESSAGES_LOST'
  /** A cluster request (fetchSockets, serverSideEmit with ack, ...) did not get every answer in time. */
  | 'REQUEST_TIMEOUT'
  /** The adapter was closed while the operation was pending. */
  | 'ADAPTER_CLOSED'
  /** A message from another node could not be decoded (corrupt, or written by an incompatible version). */
  | 'BAD_MESSAGE'
  /** A value cannot be sent between nodes (bigint, circular structure, too deep). */
  | 'UNENCODABLE';

export class RedisAdapterError extends Error {
  override readonly name = 'RedisAdapterError';
  constructor(
    readonly code: RedisAdapterErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Wraps whatever a Redis client threw into a typed error (connection failures become REDIS_UNREACHABLE). */
export function toAdapterError(cause: unknown, what: string): RedisAdapterError {
  if (cause instanceof RedisAdapterError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  const unreachable =
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|closed|offline|Socket|disconnect/i.test(message);
  return new RedisAdapterError(
    unreachable ? 'REDIS_UNREACHABLE' : 'REDIS_COMMAND_FAILED',
    `${what}: ${unreachable ? 'Redis is unreachable' : 'Redis command failed'} (${message})`,
    { cause },
  );
}
