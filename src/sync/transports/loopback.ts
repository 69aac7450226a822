/** A transport that calls a sync handler in this process: the path transport's core, and a test double. */
import type {Transport} from '../../core/transport.js'
import type {SyncHandler} from '../server.js'

export function loopbackTransport(remote: string, handler: SyncHandler, onClose?: () => Promise<void>): Transport {
  return {
    remote,
    // The request is copied, so the server never sees a buffer the client may reuse: bytes
    // cross as they would over a wire. The response needs no copy: the handler encodes each
    // one into a fresh buffer it never touches again (and the client copies out what it keeps).
    request: async (message) => handler.handle(new Uint8Array(message)),
    async close() {
      await handler.close()
      await onClose?.()
    },
  }
}
