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

class WorkerPool implements ChunkRunner {
  private readonly idle: Worker[] = []
  private readonly waiting: Array<() => void> = []
  private readonly pending = new Map<number, Pending & {seq: number}>()
  /** Messages carry the pool's own ids: several ingests (the daemon's requests) share one pool. */
  private nextId = 0

  constructor(private readonly workers: Worker[]) {
    // Every worker has said it is ready (startRunner waits for that) and starts idle.
    this.idle.push(...workers)
    for (const w of workers) {
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
    const next = this.waiting.shift()
    this.idle.push(w)
    next?.()
  }

  async run(job: ChunkJob): Promise<ChunkResult> {
    while (this.idle.length === 0) await new Promise<void>((r) => this.waiting.push(r))
    const w = this.idle.pop()!
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, {resolve, reject, seq: job.seq})
      w.postMessage({...job, seq: id})
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
