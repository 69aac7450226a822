/** Records arriving from a peer: verified on worker threads, stored batch by batch, the clock moved past them. */
import type {Hlc} from '../core/hlc.js'
import type {Store} from '../core/store.js'
import type {ChunkJob, ChunkResult} from '../ops/ingest-check.js'
import {startRunner, type ChunkRunner} from '../ops/verify-pool.js'

export interface ReceiveDeps {
  store: Store
  clock: Pick<Hlc, 'receive'>
  saveClock(): Promise<void>
  /** Records stamped further ahead than this are refused. */
  skewMs: number
  /** When set, records signed by any other agent are refused (the daemon's allowlist). */
  allowAgents?: string[]
}

export interface Received {
  added: number
  present: number
  rejected: number
  errors: {id?: string; reason: string}[]
  /** The ids of all the rejected records that had one (errors keeps only the first few). */
  rejectedIds: string[]
}

const CHUNK = 1024

interface Chunk {
  lines?: string[]
  /** NDJSON bytes in a buffer of their own (it is transferred to a worker thread). */
  text?: Uint8Array
  first: number
}

/**
 * Received record frames laid out as NDJSON chunks of up to CHUNK lines, each chunk in its own
 * buffer (handed to a verify worker without a copy). A frame holding a line break would be cut
 * into two lines; it is refused here instead, so every frame counts as one record.
 */
export class RecordChunks {
  private parts: Uint8Array[] = []
  private bytes = 0
  private readonly done: Uint8Array[] = []
  records = 0
  recordBytes = 0
  refused = 0

  add(line: Uint8Array): void {
    this.records++
    this.recordBytes += line.length
    if (line.indexOf(0x0a) !== -1) {
      this.refused++
      return
    }
    this.parts.push(line)
    this.bytes += line.length + 1
    if (this.parts.length === CHUNK) this.cut()
  }

  private cut(): void {
    if (this.parts.length === 0) return
    const out = Buffer.allocUnsafeSlow(this.bytes)
    let at = 0
    for (const p of this.parts) {
      out.set(p, at)
      at += p.length
      out[at++] = 0x0a
    }
    this.done.push(out)
    this.parts = []
    this.bytes = 0
  }

  /** The chunks laid out so far (copies: the frames' message may be dropped after this). */
  take(): Uint8Array[] {
    this.cut()
    return this.done.splice(0)
  }
}
const MAX_ERRORS = 100

/** One per sync (or per serving process): the worker pool starts on the first records. */
export class Receiver {
  private runner?: Promise<ChunkRunner>
  private seq = 0
  /** The last batch's commit: a batch taken while another is verified commits after it. */
  private committed: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly deps: ReceiveDeps,
    private readonly opts: {threads?: number} = {},
  ) {}

  /**
   * Verify and store one batch of record lines; returns when it is committed. Bad records are
   * counted, never stored. Batches may be taken while earlier ones are still verified (their
   * chunks queue on the workers); they commit in the order they were taken.
   */
  take(lines: readonly string[]): Promise<Received> {
    const chunks: Chunk[] = []
    for (let i = 0; i < lines.length; i += CHUNK) chunks.push({lines: lines.slice(i, i + CHUNK), first: i + 1})
    return this.takeChunks(chunks)
  }

  /** The same for record lines already laid out as NDJSON bytes (see RecordChunks): no string per record on this thread. */
  takeText(texts: readonly Uint8Array[]): Promise<Received> {
    return this.takeChunks(texts.map((text) => ({text, first: 1})))
  }

  private takeChunks(chunks: readonly Chunk[]): Promise<Received> {
    const prev = this.committed
    const done = this.verifyAndStore(chunks, prev)
    this.committed = done.catch(() => undefined)
    return done
  }

  private pool(): Promise<ChunkRunner> {
    return (this.runner ??= startRunner(undefined, {threads: this.opts.threads, noKeyReason: 'a record received by sync must carry its signature'}))
  }

  /**
   * Start the verify workers now, when records are known to be on their way: loading them takes
   * a few hundred ms of CPU, better spent while waiting for a response than when the records
   * are already here. A failure to start surfaces from the first take.
   */
  warm(): void {
    this.pool().catch(() => undefined)
  }

  private async verifyAndStore(chunks: readonly Chunk[], prev: Promise<unknown>): Promise<Received> {
    const res: Received = {added: 0, present: 0, rejected: 0, errors: [], rejectedIds: []}
    if (chunks.length === 0) return res
    const runner = await this.pool()
    const nowMs = Date.now()
    const store = this.deps.store
    // Columns when the store can append them (no record objects rebuilt on this thread).
    const columnar = typeof store.insertColumns === 'function'
    const jobs: Promise<ChunkResult>[] = []
    for (const c of chunks) {
      const job: ChunkJob = {seq: this.seq++, ...(c.text ? {text: c.text} : {lines: c.lines}), lineNos: {first: c.first}, nowMs, skewMs: this.deps.skewMs, columnar, ...(this.deps.allowAgents ? {allowAgents: this.deps.allowAgents} : {})}
      jobs.push(runner.run(job))
    }
    const results = await Promise.all(jobs)
    await prev
    let good = 0
    for (const r of results) {
      good += r.cols ? r.cols.n : r.ok.length
      res.rejected += r.errors.length
      for (const e of r.errors) {
        if (res.errors.length < MAX_ERRORS) res.errors.push({id: e.id, reason: e.reason})
        if (e.id) res.rejectedIds.push(e.id)
      }
    }
    if (good) {
      const ins = columnar ? await store.insertColumns!(results.map((r) => r.cols!)) : await store.insert(results.flatMap((r) => r.ok))
      res.added = ins.added
      res.present = ins.present
      let max: string | undefined
      for (const r of results) if (r.maxHlc && (max === undefined || r.maxHlc > max)) max = r.maxHlc
      if (max) {
        this.deps.clock.receive(max)
        await this.deps.saveClock()
      }
    }
    return res
  }

  async close(): Promise<void> {
    if (this.runner) await (await this.runner).close()
    this.runner = undefined
  }
}
