/** A small pool of ingest worker threads (one per core); falls back to inline work where workers cannot load. */
import {existsSync} from 'node:fs'
import {availableParallelism} from 'node:os'
import {fileURLToPath} from 'node:url'
import {Worker} from 'node:worker_threads'
import {BugError} from '../core/errors.js'
import {cryptoBackend, type CryptoBackend, type KeyPair} from '../core/sign.js'
import {toHex} from '../core/hash.js'
import {processChunk, type ChunkJob, type ChunkResult} from './ingest-check.js'

export interface ChunkRunner {
  run(job: ChunkJob): Promise<ChunkResult>
  readonly parallelism: number
  /** The Ed25519 backend the jobs sign and verify with. */
  readonly crypto: CryptoBackend
  close(): Promise<void>
}

type Pending = {resolve: (r: ChunkResult) => void; reject: (e: Error) => void; seq: number; worker: Worker}

/**
 * Jobs queued per worker: the next ones wait in its message queue, so a worker goes straight on
 * to the next chunk while the main thread is busy appending (and cannot hand out work).
 */
const DEPTH = 3

/** Replacements started over a pool's life: a worker that dies on start-up must not respawn forever. */
const RESPAWNS_PER_THREAD = 4

class WorkerPool implements ChunkRunner {
  /** Live workers and how many jobs each holds. */
  private readonly queued = new Map<Worker, number>()
  private readonly waiting: Array<() => void> = []
  private readonly pending = new Map<number, Pending>()
  /** Messages carry the pool's own ids: several ingests (the daemon's requests) share one pool. */
  private nextId = 0
  private respawnsLeft: number
  private closing = false

  constructor(
    workers: Worker[],
    private readonly spawn: () => Worker,
    readonly crypto: CryptoBackend,
  ) {
    this.respawnsLeft = workers.length * RESPAWNS_PER_THREAD
    // Every worker has said it is ready (startRunner waits for that) and starts idle.
    for (const w of workers) this.adopt(w)
  }

  private adopt(w: Worker) {
    this.queued.set(w, 0)
    // Read now: a worker that has exited reports -1.
    const thread = w.threadId
    w.on('message', (m: ChunkResult & {fatal?: string; stack?: string}) => {
      const p = this.pending.get(m.seq)
      if (!p) return
      this.pending.delete(m.seq)
      this.release(w)
      if (m.fatal) p.reject(new BugError(`ingest worker failed: ${m.fatal}`, {cause: m.stack ? Object.assign(new Error(m.fatal), {stack: m.stack}) : undefined}))
      else p.resolve({...m, seq: p.seq})
    })
    // The error's own words in the message, which the user sees; its stack only where a bug is looked into (STEME_DEBUG).
    w.on('error', (e) => this.lost(w, `ingest worker ${thread} failed: ${String(e)}`, e))
    w.on('exit', (code) => this.lost(w, `ingest worker ${thread} exited (code ${code})`))
  }

  /**
   * A worker died (an uncaught error, an exit, out of memory): its jobs cannot finish, so they fail
   * as the bug they are, and the rest of the pool carries on (with a replacement while allowed).
   */
  private lost(w: Worker, how: string, cause?: Error) {
    if (!this.queued.delete(w)) return
    for (const [id, p] of this.pending) {
      if (p.worker !== w) continue
      this.pending.delete(id)
      p.reject(new BugError(`${how} while checking a chunk of input`, {cause}))
    }
    if (!this.closing && this.respawnsLeft > 0) {
      this.respawnsLeft--
      // A new worker takes messages at once: they wait in its port until it has loaded.
      this.adopt(this.spawn())
    }
    // Waiters pick again: a replacement has room, or there is no worker left and they fail.
    for (const wake of this.waiting.splice(0)) wake()
  }

  get parallelism() {
    return Math.max(1, this.queued.size)
  }

  /** The live worker threads (tests stop one to check that the pool survives it). */
  get threads(): Worker[] {
    return [...this.queued.keys()]
  }

  private release(w: Worker) {
    if (!this.queued.has(w)) return
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
      if (this.queued.size === 0) throw new BugError(this.closing ? 'the ingest worker pool is closed' : 'every ingest worker died and none could be replaced')
      await new Promise<void>((r) => this.waiting.push(r))
      w = this.pick()
    }
    this.queued.set(w, this.queued.get(w)! + 1)
    const id = this.nextId++
    const worker = w
    return new Promise((resolve, reject) => {
      this.pending.set(id, {resolve, reject, seq: job.seq, worker})
      // Input bytes move to the worker instead of being copied.
      worker.postMessage({...job, seq: id}, job.text ? [job.text.buffer as ArrayBuffer] : [])
    })
  }

  async close() {
    this.closing = true
    await Promise.all(this.threads.map((w) => w.terminate()))
  }
}

class InlineRunner implements ChunkRunner {
  readonly parallelism = 1
  get crypto() {
    return cryptoBackend()
  }
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
  const spawn = () => new Worker(url, {workerData: {seedHex, noKeyReason: opts.noKeyReason}})
  const workers = Array.from({length: threads}, spawn)
  const ready = await Promise.all(
    workers.map(
      (w) =>
        new Promise<CryptoBackend>((resolve, reject) => {
          w.once('message', (m: {crypto: CryptoBackend}) => resolve(m.crypto))
          w.once('error', reject)
        }),
    ),
  )
  return new WorkerPool(workers, spawn, ready.every((c) => c === 'libsodium') ? 'libsodium' : 'openssl')
}
