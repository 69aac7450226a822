/** The path transport: another store on this machine, opened in-process and served by the same handler. */
import {existsSync} from 'node:fs'
import {UserError} from '../../core/errors.js'
import type {Transport} from '../../core/transport.js'
import {openRuntime} from '../../runtime.js'
import {remoteStoreError, REMOTE_HINTS} from '../remote-errors.js'
import {createSyncHandler, SYNC_SERVER_DB_THREADS} from '../server.js'
import {loopbackTransport} from './loopback.js'
import {STORE_WAIT_MS} from '../stdio-server.js'

/** `onWait`: called once if the store is held by another steme and the wait has lasted a second (commands say so on a terminal). */
export async function openPathTransport(remote: string, path: string, env: NodeJS.ProcessEnv = process.env, onWait?: (waitMs: number) => void): Promise<Transport> {
  if (!existsSync(path)) throw new UserError(`remote ${remote}: no store at ${path}`, {code: 'no_store', hint: REMOTE_HINTS.no_store})
  let rt
  try {
    // As long as a remote steme waits: the store may be held by an SSH session that lets go
    // once its client has been silent for its release time.
    rt = await openRuntime({store: path, env, dbThreads: SYNC_SERVER_DB_THREADS, wait: {atLeastMs: STORE_WAIT_MS, onWait}})
  } catch (e) {
    throw remoteStoreError(remote, e) ?? e
  }
  const handler = createSyncHandler({store: rt.store, clock: rt.clock, saveClock: () => rt.saveClock(), skewMs: rt.config.skewSeconds * 1000, soleWriter: true})
  return loopbackTransport(remote, handler, () => rt.close())
}
