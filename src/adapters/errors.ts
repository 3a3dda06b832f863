/**
 * Typed errors of the cluster adapters (node:cluster IPC, Redis). Every failure an adapter reports
 * (to an `error` listener, as a rejected request, or as a process warning) carries a `code`.
 *
 * @example
 * ```ts
 * io.of('/').adapter.on('error', (err: ClusterAdapterError) => {
 *   if (err.code === 'REQUEST_TIMEOUT') metrics.slowNodes.inc();
 * });
 * ```
 */

/** Codes every transport may report. */
export type ClusterAdapterErrorCode =
  /** Messages between nodes were lost (transport down, stream trimmed before it was read). */
  | 'MESSAGES_LOST'
  /** A cluster request (fetchSockets, serverSideEmit with ack, ...) did not get every answer in time. */
  | 'REQUEST_TIMEOUT'
  /** The adapter was closed while the operation was pending. */
  | 'ADAPTER_CLOSED'
  /** A message from another node could not be decoded (corrupt, or written by an incompatible version). */
  | 'BAD_MESSAGE'
  /** A value cannot be sent between nodes (bigint, circular structure, too deep). */
  | 'UNENCODABLE';

/** A failure of a cluster adapter; transports narrow `Code` to their own list. */
export class ClusterAdapterError<Code extends string = ClusterAdapterErrorCode> extends Error {
  override readonly name: string = 'ClusterAdapterError';
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
