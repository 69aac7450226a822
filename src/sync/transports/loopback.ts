/** A transport that calls a sync handler in this process: the path transport's core, and a test double. */
import type {Transport} from '../../core/transport.js'
import type {SyncHandler} from '../server.js'

export function loopbackTransport(remote: string, handler: SyncHandler, onClose?: () => Promise<void>): Transport {
  return {
    remote,
    // Copy, so neither side can see the other's buffers: bytes cross as they would over a wire.
    request: async (message) => Uint8Array.from(await handler.handle(Uint8Array.from(message))),
    async close() {
      await handler.close()
      await onClose?.()
    },
  }
}
