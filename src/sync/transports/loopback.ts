/** A transport that calls a sync handler in this process: the path transport's core, and a test double. */
import type {Transport} from '../../core/transport.js'
import type {SyncHandler} from '../server.js'

export function loopbackTransport(remote: string, handler: SyncHandler, onClose?: () => Promise<void>): Transport {
  return {
    remote,
    // Copy, so neither side can see the other's buffers: bytes cross as they would over a wire.
    // (`new Uint8Array(view)` is one memory copy; `Uint8Array.from` iterates byte by byte.)
    request: async (message) => new Uint8Array(await handler.handle(new Uint8Array(message))),
    async close() {
      await handler.close()
      await onClose?.()
    },
  }
}
