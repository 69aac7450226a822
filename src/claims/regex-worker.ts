/** Worker thread for regex extraction: scans files one by one, saying which one it is on, so a runaway regex can be stopped. */
import {workerData} from 'node:worker_threads'
import {scanSafely, type WorkerInit, type WorkerJob, type WorkerReply} from './regex-scan.js'

const {port, state, epoch} = workerData as WorkerInit
const running = new Int32Array(state)

port.on('message', (jobs: WorkerJob[]) => {
  for (const job of jobs) {
    Atomics.store(running, 1, Date.now() - epoch)
    Atomics.store(running, 0, job.id + 1)
    const outcome = scanSafely(job)
    Atomics.store(running, 0, 0)
    port.postMessage({id: job.id, ...outcome} satisfies WorkerReply)
  }
})
