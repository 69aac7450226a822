/** The one thing sync needs from a transport: send a request message, get the response message. */

/**
 * A request/response channel to one remote peer. Messages are opaque bytes (the sync protocol
 * encodes them, see docs/sync-protocol.md); every transport carries them unchanged, so the
 * protocol is identical over a path, SSH and HTTP. The server side is stateless, so a request
 * may be retried after a transport failure.
 */
export interface Transport {
  /** The remote as the user named it, for messages. */
  readonly remote: string
  request(message: Uint8Array): Promise<Uint8Array>
  close(): Promise<void>
}

/** A transport failure worth retrying (connection reset, timeout, 5xx): the request may be resent. */
export class TransientError extends Error {
  constructor(message: string, opts: {cause?: unknown} = {}) {
    super(message, opts.cause === undefined ? undefined : {cause: opts.cause})
    this.name = 'TransientError'
  }
}
