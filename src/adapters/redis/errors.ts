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
import { ClusterAdapterError, type ClusterAdapterErrorCode } from '../errors.js';

/** The codes of {@link RedisAdapterError}: those of every cluster adapter, plus Redis's own. */
export type RedisAdapterErrorCode =
  | ClusterAdapterErrorCode
  /** Redis cannot be reached (at start, or the connection dropped and is being retried). */
  | 'REDIS_UNREACHABLE'
  /** A Redis command failed for another reason (wrong type, out of memory, ...). */
  | 'REDIS_COMMAND_FAILED'
  /** A message could not be sent to the other nodes (pub/sub adapter while Redis is down). */
  | 'PUBLISH_FAILED';

export class RedisAdapterError extends ClusterAdapterError<RedisAdapterErrorCode> {
  override readonly name: string = 'RedisAdapterError';
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
