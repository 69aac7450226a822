/** Worker thread for ingest: parses and verifies chunks of lines off the main thread. */
import {parentPort, workerData} from 'node:worker_threads'
import {initHash} from '../core/hash.js'
import {useLibsodium} from '../core/sign.js'
import {keyFromSeedHex, processChunk, type ChunkJob} from './ingest-check.js'

const {seedHex, noKeyReason} = workerData as {seedHex?: string; noKeyReason?: string}
// This thread signs and verifies in bulk: worth libsodium's load time.
const crypto = useLibsodium()
const key = keyFromSeedHex(seedHex)
await initHash()

parentPort!.on('message', (job: ChunkJob) => {
  try {
    const r = processChunk(job, key, noKeyReason)
    parentPort!.postMessage(r, r.cols ? [r.cols.ids.buffer as ArrayBuffer, r.cols.sigs.buffer as ArrayBuffer] : [])
  } catch (e) {
    // Said apart: the error's words go into the message the user sees, its stack only where a bug is looked into.
    parentPort!.postMessage({seq: job.seq, fatal: String(e), stack: (e as Error | undefined)?.stack})
  }
})
parentPort!.postMessage({ready: true, crypto})
