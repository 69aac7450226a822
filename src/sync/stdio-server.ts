/** Serve sync over a pair of byte streams (the remote end of SSH): preamble, then one answer per message. */
import type {Readable, Writable} from 'node:stream'
import {UserError} from '../core/errors.js'
import {FramingError, MessageReader, PREAMBLE, frameHead, frameMessage} from './framing.js'
import type {Runtime} from '../runtime.js'
import {createSyncHandler, type SyncHandler} from './server.js'
import {MAX_MESSAGE, T, encode} from './wire.js'

/**
 * How long `sync-serve --stdio` waits for a client that makes no progress (default 10 minutes).
 * A client is silent between requests only while it stores what it received or reads what it
 * sends (seconds; a minute for 16 MiB of records on a slow machine), and before its first
 * request while it opens its own store (a schema migration of a large store included). A
 * network that drops without closing (a laptop shut, Wi-Fi lost) leaves the SSH session open
 * for hours, and this process holding the store's write lock all that time.
 */
export const DEFAULT_IDLE_TIMEOUT_S = 600

/**
 * How long `sync-serve --stdio` keeps the store open while its client is silent (default 10 s):
 * it then lets go of it, and opens it again for the next request. A session whose network
 * dropped is silent for good, and would otherwise keep every other writer out (the client's own
 * reconnect included) until its idle timeout. A healthy client is silent longer than this only
 * while it stores a large answer, and then pays one reopen (tens of milliseconds).
 */
export const DEFAULT_RELEASE_AFTER_S = 10

/**
 * How long `sync-serve --stdio` waits for a store another steme process holds, when it starts and
 * when it opens the store again: long enough for a lost session's steme (silent, so it lets go
 * after DEFAULT_RELEASE_AFTER_S) or another sync's request to finish.
 */
export const STORE_WAIT_MS = 30_000

/**
 * Bytes of an answer per write: the watchdog counts each one taken by the peer as progress, so
 * a slow link (16 MiB of answer at 200 kbit/s take over ten minutes) is never taken for a dead one.
 */
const WRITE_PIECE = 1 << 20

/** What a remote's stderr holds when its `sync-serve --stdio` stopped after its idle timeout (the client's SSH transport reads it). */
export const IDLE_EXIT = /^error: sync-serve: (no request from the client|the client took none of the answer) for /m

/** The peer made no progress for the idle timeout: serving ended, and the process should end too. */
export class IdleTimeout extends UserError {
  constructor(message: string, hint: string) {
    super(message, {code: 'remote', exit: 1, hint})
    this.name = 'IdleTimeout'
  }
}

export interface ServeStdioOptions {
  readOnly?: boolean
  /** Stop when the peer makes no progress for this long (ms); 0 or absent: never. */
  idleMs?: number
  /** What set idleMs, for the message when it ends serving (default `--idle-timeout`). */
  idleSetting?: string
  /** Let go of the store when the peer is silent this long (ms), to open it again for the next request; 0: hold it to the end. */
  releaseMs?: number
  /** The preamble was written already (before the store was opened). */
  preambleSent?: boolean
}

/**
 * `sync-serve --stdio` over `first`, a runtime it now owns: while it holds the store it is its
 * sole writer. It lets go of the store while the client is silent (`releaseMs`), and `reopen`s
 * it for the next request.
 */
export async function serveRuntimeStdio(first: Runtime, reopen: () => Promise<Runtime>, opts: ServeStdioOptions = {}): Promise<void> {
  const lease = new StoreLease(first, reopen, !!opts.readOnly)
  try {
    await serveStreams(lease, process.stdin, process.stdout, {idleMs: opts.idleMs, idleSetting: opts.idleSetting, quietMs: opts.releaseMs, onQuiet: () => lease.release(), preambleSent: opts.preambleSent})
  } finally {
    await lease.close()
  }
}

/**
 * A sync handler over a store held only while it is wanted: `release` closes the store (its
 * caches go with it: another process may write while it is let go), and the next request opens
 * it again. Requests never overlap a release: one waits for the release to end, and a release
 * asked for during a request is not done.
 */
export class StoreLease implements SyncHandler {
  private held: Promise<{rt: Runtime; handler: SyncHandler}> | undefined
  private letGo: Promise<void> = Promise.resolve()
  private busy = 0

  constructor(
    first: Runtime,
    private readonly reopen: () => Promise<Runtime>,
    private readonly readOnly: boolean,
  ) {
    this.held = Promise.resolve(this.serve(first))
  }

  private serve(rt: Runtime): {rt: Runtime; handler: SyncHandler} {
    return {rt, handler: createSyncHandler({store: rt.store, clock: rt.clock, saveClock: () => rt.saveClock(), skewMs: rt.config.skewSeconds * 1000, readOnly: this.readOnly, soleWriter: true})}
  }

  async handle(request: Uint8Array): Promise<Uint8Array> {
    this.busy++
    try {
      await this.letGo
      this.held ??= this.reopen().then((rt) => this.serve(rt))
      const {handler} = await this.held
      return await handler.handle(request)
    } finally {
      this.busy--
    }
  }

  /** Close the store now unless a request is using it; a failure to close surfaces at the next request or at close(). */
  release(): void {
    const held = this.held
    if (!held || this.busy > 0) return
    this.held = undefined
    this.letGo = held.then(
      async ({rt, handler}) => {
        await handler.close()
        await rt.close()
      },
      () => undefined, // it never opened: that error was the request's
    )
    // Released from a timer, with no one awaiting it yet: a failure to close (the clock not
    // saved, a disk full) would otherwise be an unhandled rejection, which ends the process with
    // a stack trace instead of an error said to the client.
    this.letGo.catch(() => undefined)
  }

  async close(): Promise<void> {
    this.release()
    await this.letGo
  }
}

/**
 * Times the peer's silence: armed while this side waits on the peer (for a request, or for an
 * answer to be taken), paused while this side works on a request. `expired` rejects with
 * IdleTimeout when the peer made no progress for `idleMs`.
 */
class Watchdog {
  private timer: NodeJS.Timeout | undefined
  private quietTimer: NodeJS.Timeout | undefined
  private waitingFor: 'request' | 'answer' = 'request'
  private fail!: (e: IdleTimeout) => void
  private stopped = false
  readonly expired: Promise<never>
  fired = false

  constructor(
    private readonly idleMs: number,
    private readonly setting = '--idle-timeout',
    /** Called once the peer has been silent `quietMs` (each time: a new silence calls it again); 0: never. */
    private readonly quiet: {ms: number; then: () => void} = {ms: 0, then: () => undefined},
  ) {
    this.expired = new Promise<never>((_, reject) => (this.fail = reject))
    // Awaited only in races: it must not be reported as unhandled when serving ends first.
    this.expired.catch(() => undefined)
  }

  /** The peer made progress; from now on this side waits for `what`. */
  touch(what: 'request' | 'answer'): void {
    this.waitingFor = what
    this.pause()
    // Once stopped, never again: a write the peer takes late (after the timeout fired) must not
    // start a timer that keeps the process alive for another whole period.
    if (this.stopped) return
    if (this.idleMs > 0) this.timer = setTimeout(() => this.expire(), this.idleMs)
    if (this.quiet.ms > 0) this.quietTimer = setTimeout(this.quiet.then, this.quiet.ms)
  }

  /** This side is working: its own time never counts. */
  pause(): void {
    clearTimeout(this.timer)
    clearTimeout(this.quietTimer)
  }

  stop(): void {
    this.stopped = true
    this.pause()
  }

  /** `p`, unless the peer falls silent first. */
  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.expired])
  }

  private expire(): void {
    this.fired = true
    const secs = `${Number((this.idleMs / 1000).toFixed(3))} s`
    const why =
      this.waitingFor === 'request'
        ? `no request from the client for ${secs}`
        : `the client took none of the answer for ${secs}`
    this.fail(
      new IdleTimeout(`sync-serve: ${why} (${this.setting}): the client is gone (a network that dropped leaves its SSH session open) or stalled; stopped serving and let go of the store`, 'nothing to do here: a client still running sends its next request again on a new connection; --idle-timeout, or `[sync] idle_timeout_seconds` in the store\'s config.toml, sets how long sync-serve waits (0: for ever)'),
    )
  }
}

/**
 * Answer each length-prefixed message on `input` on `output`. A length over MAX_MESSAGE cannot be
 * skipped (nothing after it can be trusted to be a message boundary): the peer gets an ERROR
 * `too_large` as the answer, and serving ends with a UserError (exit 1), not a bug. Garbage in
 * place of a length ends it the same way, as `malformed`. With `idleMs`, a peer that makes no
 * progress for that long (sends no byte while a request is awaited, takes no byte of an answer)
 * ends serving with IdleTimeout; `input` is then destroyed, and a write the peer never took
 * may still be pending on `output`. With `onQuiet`, each silence of the peer `quietMs` long
 * (measured the same way) calls it once.
 */
export async function serveStreams(handler: SyncHandler, input: Readable, output: Writable, opts: {idleMs?: number; idleSetting?: string; quietMs?: number; onQuiet?: () => void; preambleSent?: boolean} = {}): Promise<{requests: number}> {
  const reader = new MessageReader(false)
  let requests = 0
  const watch = new Watchdog(opts.idleMs ?? 0, opts.idleSetting, {ms: opts.onQuiet ? (opts.quietMs ?? 0) : 0, then: opts.onQuiet ?? (() => undefined)})
  const write = (b: Uint8Array | string) => new Promise<void>((resolve, reject) => output.write(b, (e) => (e ? reject(e) : resolve())))
  const chunks = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
  try {
    if (!opts.preambleSent) {
      watch.touch('answer')
      await watch.race(write(PREAMBLE))
    }
    watch.touch('request')
    for (;;) {
      const next = await watch.race(chunks.next())
      if (next.done) break
      watch.pause()
      let msgs: Uint8Array[]
      try {
        msgs = reader.push(next.value)
      } catch (e) {
        if (!(e instanceof FramingError)) throw e
        const code = e.length !== undefined ? 'too_large' : 'malformed'
        const message = e.length !== undefined ? `the peer announced a message of ${e.length} bytes, over the bound of ${MAX_MESSAGE}` : `the peer sent ${e.message}`
        watch.touch('answer')
        await watch.race(write(frameMessage(encode([{t: T.Error, code, message}])))).catch(() => undefined)
        throw new UserError(`sync-serve: ${message}; stopped serving`, {code: code === 'too_large' ? 'too_large' : 'remote', exit: 1, hint: 'the peer is not a compatible steme sync client: use the same steme version on both sides'})
      }
      for (const m of msgs) {
        watch.pause()
        // The length, then the response as encoded (a response is up to 16 MiB: not copied
        // again), in pieces, each taken by the peer counting as its progress.
        const res = await handler.handle(m)
        watch.touch('answer')
        // One piece at a time: a pipe or socket hands every write queued behind a busy one to a
        // single writev, whose callbacks all fire when the whole batch has gone, so pieces queued
        // at once would show no progress until the end of the answer.
        output.write(frameHead(res))
        for (let at = 0; at < res.length; at += WRITE_PIECE) {
          await watch.race(write(res.subarray(at, at + WRITE_PIECE)))
          watch.touch('answer')
        }
        requests++
      }
      watch.touch('request')
    }
  } finally {
    watch.stop()
    // Ends reading (and, when the peer fell silent, drops the input, which would otherwise keep
    // the process alive): what the for-await loop this replaced did on its way out.
    if (watch.fired) input.destroy()
    else await chunks.return?.()
  }
  return {requests}
}
