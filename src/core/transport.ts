/** The one thing sync needs from a transport: send a request message, get the response message. */
import {UserError} from './errors.js'

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
  /**
   * Start opening the connection now, if it is not open (optional: `request` opens it anyway).
   * The caller's own preparation then overlaps the connection set-up and the remote's start; a
   * failure surfaces from the next `request`.
   */
  connect?(): void
  close(): Promise<void>
}

/** A transport failure worth retrying (connection reset, timeout, 5xx): the request may be resent. */
export class TransientError extends Error {
  constructor(message: string, opts: {cause?: unknown} = {}) {
    super(message, opts.cause === undefined ? undefined : {cause: opts.cause})
    this.name = 'TransientError'
  }
}

/**
 * The transport gave out (the retries of a TransientError are spent): the connection, not the
 * remote steme, failed. Distinct from an error the remote answered with, so the user is told to
 * check the network and rerun, not to upgrade or fix the remote.
 */
export class TransportError extends UserError {
  /**
   * `kept`: records this run stored before the failure, when known (the hint then says how
   * many): `here`, received by a pull or sync; `there`, pushed and stored by the remote.
   */
  constructor(
    readonly remote: string,
    cause: Error,
    readonly attempts: number,
    kept?: {here?: number; there?: number},
  ) {
    const what = cause.message.includes(remote) ? cause.message : `remote ${remote}: ${cause.message}`
    const n = (k: number) => `${k.toLocaleString('en-US')} record${k === 1 ? '' : 's'}`
    const here = kept?.here === undefined ? undefined : `the ${n(kept.here)} received are kept`
    const there = kept?.there === undefined ? undefined : `the ${n(kept.there)} the remote stored are kept there`
    const saved = here && there ? `${here} here, ${there.replace(/^the /, 'and the ')}` : (here ?? there ?? 'what was already stored is kept')
    super(`${what} (transport failed; gave up after ${attempts} attempt${attempts === 1 ? '' : 's'})`, {
      code: 'remote',
      exit: 1,
      hint: `check the network and that the remote is up, then run the command again: ${saved}, and the rerun continues from there`,
      cause,
    })
    this.name = 'TransportError'
  }

  /** The same failure, saying how many records were stored on each side. */
  keeping(kept: {here?: number; there?: number}): TransportError {
    return new TransportError(this.remote, this.cause as Error, this.attempts, kept)
  }
}
