/** A small pool of ingest worker threads (one per core); falls back to inline work where workers cannot load. */
import {existsSync} from 'node:fs'
import {availableParallelism} from 'node:os'
import {fileURLToPath} from 'node:url'
import {Worker} from 'node:worker_threads'
import {BugError} from '../core/errors.js'
import type {KeyPair} from '../core/sign.js'
import {toHex} from '../core/hash.js'
import {processChunk, type ChunkJob, type ChunkResult} from './ingest-check.js'

export interface ChunkRunner {
  run(job: ChunkJob): Promise<ChunkResult>
  readonly parallelism: number
  close(): Promise<void>
}

type Pending = {resolve: (r: ChunkResult) => void; reject: (e: Error) => void}

/**
 * Jobs queued per worker: the next ones wait in its message queue, so a worker goes straight on
 * to the next chunk while the main thread is busy appending (and cannot hand out work).
 */
const DEPTH = 3

class WorkerPool implements ChunkRunner {
  private readonly queued = new Map<Worker, number>()
  private readonly waiting: Array<() => void> = []
  private readonly pending = new Map<number, Pending & {seq: number}>()
  /** Messages carry the pool's own ids: several ingests (the daemon's requests) share one pool. */
  private nextId = 0

  constructor(private readonly workers: Worker[]) {
    // Every worker has said it is ready (startRunner waits for that) and starts idle.
    for (const w of workers) {
      this.queued.set(w, 0)
      w.on('message', (m: ChunkResult & {fatal?: string}) => {
        const p = this.pending.get(m.seq)
        if (!p) return
        this.pending.delete(m.seq)
        this.release(w)
        if (m.fatal) p.reject(new BugError(`ingest worker failed: ${m.fatal}`))
        else p.resolve({...m, seq: p.seq})
      })
      w.on('error', (e) => {
        for (const p of this.pending.values()) p.reject(e)
        this.pending.clear()
      })
    }
  }

  get parallelism() {
    return this.workers.length
  }

  private release(w: Worker) {
    this.queued.set(w, this.queued.get(w)! - 1)
    this.waiting.shift()?.()
  }

  /** The worker with the fewest queued jobs, if one has room. */
  private pick(): Worker | undefined {
    let best: Worker | undefined
    for (const [w, n] of this.queued) if (n < DEPTH && (best === undefined || n < this.queued.get(best)!)) best = w
    return best
  }

  async run(job: ChunkJob): Promise<ChunkResult> {
    let w = this.pick()
    while (!w) {
      await new Promise<void>((r) => this.waiting.push(r))
      w = this.pick()
    }
    this.queued.set(w, this.queued.get(w)! + 1)
    const id = this.nextId++
    const worker = w
    return new Promise((resolve, reject) => {
      this.pending.set(id, {resolve, reject, seq: job.seq})
      // Input bytes move to the worker instead of being copied.
      worker.postMessage({...job, seq: id}, job.text ? [job.text.buffer as ArrayBuffer] : [])
    })
  }

  async close() {
    await Promise.all(this.workers.map((w) => w.terminate()))
  }
}

class InlineRunner implements ChunkRunner {
  readonly parallelism = 1
  constructor(
    private readonly key: KeyPair | undefined,
    private readonly noKeyReason?: string,
  ) {}
  async run(job: ChunkJob) {
    return processChunk(job, this.key, this.noKeyReason)
  }
  async close() {}
}

/** Start one worker per core (or `threads`); inline when the compiled worker is not present (tests from source). */
export async function startRunner(key: KeyPair | undefined, opts: {threads?: number; noKeyReason?: string} = {}): Promise<ChunkRunner> {
  const url = new URL('./ingest-worker.js', import.meta.url)
  const threads = opts.threads ?? availableParallelism()
  if (threads <= 0 || !existsSync(fileURLToPath(url))) return new InlineRunner(key, opts.noKeyReason)
  const seedHex = key ? toHex(key.seed()) : undefined
  const workers = Array.from({length: threads}, () => new Worker(url, {workerData: {seedHex, noKeyReason: opts.noKeyReason}}))
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.once('message', () => resolve())
          w.once('error', reject)
        }),
    ),
  )
  return new WorkerPool(workers)
}
