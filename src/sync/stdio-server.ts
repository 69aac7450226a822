/** Serve sync over a pair of byte streams (the remote end of SSH): preamble, then one answer per message. */
import type {Readable, Writable} from 'node:stream'
import {UserError} from '../core/errors.js'
import {FramingError, MessageReader, PREAMBLE, frameHead, frameMessage} from './framing.js'
import type {Runtime} from '../runtime.js'
import {createSyncHandler, type SyncHandler} from './server.js'
import {MAX_MESSAGE, T, encode} from './wire.js'

/** `sync-serve --stdio`: this process is the sole writer of the runtime's store while it serves. */
export async function serveRuntimeStdio(rt: Runtime, readOnly: boolean): Promise<void> {
  const handler = createSyncHandler({store: rt.store, clock: rt.clock, saveClock: () => rt.saveClock(), skewMs: rt.config.skewSeconds * 1000, readOnly, soleWriter: true})
  try {
    await serveStreams(handler, process.stdin, process.stdout)
  } finally {
    await handler.close()
  }
}

/**
 * Answer each length-prefixed message on `input` on `output`. A length over MAX_MESSAGE cannot be
 * skipped (nothing after it can be trusted to be a message boundary): the peer gets an ERROR
 * `too_large` as the answer, and serving ends with a UserError (exit 1), not a bug. Garbage in
 * place of a length ends it the same way, as `malformed`.
 */
export async function serveStreams(handler: SyncHandler, input: Readable, output: Writable): Promise<{requests: number}> {
  const reader = new MessageReader(false)
  let requests = 0
  const write = (b: Uint8Array | string) => new Promise<void>((resolve, reject) => output.write(b, (e) => (e ? reject(e) : resolve())))
  await write(PREAMBLE)
  for await (const chunk of input as AsyncIterable<Buffer>) {
    let msgs: Uint8Array[]
    try {
      msgs = reader.push(chunk)
    } catch (e) {
      if (!(e instanceof FramingError)) throw e
      const code = e.length !== undefined ? 'too_large' : 'malformed'
      const message = e.length !== undefined ? `the peer announced a message of ${e.length} bytes, over the bound of ${MAX_MESSAGE}` : `the peer sent ${e.message}`
      await write(frameMessage(encode([{t: T.Error, code, message}]))).catch(() => undefined)
      throw new UserError(`sync-serve: ${message}; stopped serving`, {code: code === 'too_large' ? 'too_large' : 'remote', exit: 1, hint: 'the peer is not a compatible steme sync client: use the same steme version on both sides'})
    }
    for (const m of msgs) {
      // The length, then the response as encoded (a response is up to 16 MiB: not copied again).
      const res = await handler.handle(m)
      output.write(frameHead(res))
      await write(res)
      requests++
    }
  }
  return {requests}
}
