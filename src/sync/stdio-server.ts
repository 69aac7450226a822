/** Serve sync over a pair of byte streams (the remote end of SSH): preamble, then one answer per message. */
import type {Readable, Writable} from 'node:stream'
import {FramingError, MessageReader, PREAMBLE, frameHead} from './framing.js'
import type {Runtime} from '../runtime.js'
import {createSyncHandler, type SyncHandler} from './server.js'

/** `sync-serve --stdio`: this process is the sole writer of the runtime's store while it serves. */
export async function serveRuntimeStdio(rt: Runtime, readOnly: boolean): Promise<void> {
  const handler = createSyncHandler({store: rt.store, clock: rt.clock, saveClock: () => rt.saveClock(), skewMs: rt.config.skewSeconds * 1000, readOnly, soleWriter: true})
  try {
    await serveStreams(handler, process.stdin, process.stdout)
  } finally {
    await handler.close()
  }
}

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
      if (e instanceof FramingError) throw new Error(`sync-serve: ${e.message}`)
      throw e
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
