/** Copy every record of one store into another (any adapters), re-verifying each record on the way. */
import {UserError} from '../core/errors.js'
import {initHash} from '../core/hash.js'
import {recordLine} from '../core/seal.js'
import type {Store} from '../core/store.js'
import type {ChunkResult} from './ingest-check.js'
import {startRunner} from './verify-pool.js'

export interface MigrateProgress {
  scanned: number
  added: number
  present: number
  bad: number
}

export interface MigrateResult extends MigrateProgress {
  from: string
  to: string
  /** The first bad records (all are counted in `bad`): they were not copied. */
  errors: Array<{id?: string; reason: string}>
  seconds: number
  /** Stopped by `signal` before every record was read: the counts say what was copied; a rerun copies the rest. */
  interrupted?: true
}

export interface MigrateInput {
  /** Records per batch read, verified and inserted (default 5,000). */
  batch?: number
  /** Verification threads (default: one per core). */
  threads?: number
  maxErrors?: number
  onProgress?: (p: MigrateProgress) => void
  /** Stop reading the source: the batches already read are still checked and committed. */
  signal?: AbortSignal
}

/**
 * Records are re-checked exactly as ingest checks them (shape, id from the canonical body,
 * signature) on a worker pool, then inserted one batch per transaction, so an interrupted copy
 * keeps what it committed and a rerun skips it. The clock-skew bound does not
 * apply: the source store accepted these records when they arrived.
 */
export async function migrateOp(deps: {from: Store; to: Store}, input: MigrateInput = {}): Promise<MigrateResult> {
  const {from, to} = deps
  if (from.location === to.location && from.location !== 'memory:') {
    throw new UserError(`--from and --to are the same store (${from.location})`, {hint: 'name two different stores'})
  }
  const started = performance.now()
  await initHash()
  const runner = await startRunner(undefined, {threads: input.threads, noKeyReason: 'migrate copies signed records only'})
  const maxErrors = input.maxErrors ?? 100
  const progress: MigrateProgress = {scanned: 0, added: 0, present: 0, bad: 0}
  const errors: MigrateResult['errors'] = []
  let inserting: Promise<void> = Promise.resolve()
  let failure: unknown
  const inflight = new Set<Promise<void>>()
  const limit = runner.parallelism * 2
  let seq = 0
  let interrupted = false

  // Resolves once the batch is committed (its failure goes to `failure`): a batch stays in flight
  // until then, so memory holds a few batches, not every batch read ahead of a slower target, and a
  // stop leaves only those few to commit.
  const onResult = (r: ChunkResult): Promise<void> => {
    progress.bad += r.errors.length
    for (const e of r.errors) if (errors.length < maxErrors) errors.push({id: e.id, reason: e.reason})
    const ok = r.ok
    inserting = inserting.then(async () => {
      if (ok.length) {
        const res = await to.insert(ok)
        progress.added += res.added
        progress.present += res.present
      }
      input.onProgress?.({...progress})
    })
    return inserting.then(
      () => undefined,
      (e) => void (failure ??= e),
    )
  }

  try {
    // A damaged row (stored text that is no record) is a bad record like one that fails its
    // checks: counted and reported, and the rest is copied. Copying the sound records out is how
    // a damaged store is recovered, so one bad row must not stop it.
    for await (const scanned of from.scan({batch: input.batch ?? 5000, damaged: true})) {
      if (failure) throw failure
      while (inflight.size >= limit) await Promise.race(inflight)
      if (input.signal?.aborted) {
        interrupted = true
        break
      }
      const batch = scanned.filter((s) => s.damaged === undefined)
      for (const s of scanned) {
        if (s.damaged === undefined) continue
        progress.scanned++
        progress.bad++
        if (errors.length < maxErrors) errors.push({id: s.record.id, reason: s.damaged})
      }
      const lines = batch.map(({record: r, canonical}) => recordLine(canonical, r.id, r.sig))
      const job = {seq: seq++, lines, lineNos: {first: progress.scanned + 1}, nowMs: Date.now(), skewMs: Number.POSITIVE_INFINITY}
      progress.scanned += batch.length
      const p = runner.run(job).then(onResult, (e) => {
        failure ??= e
      })
      const tracked = p.finally(() => inflight.delete(tracked))
      inflight.add(tracked)
    }
    await Promise.all(inflight)
    await inserting
    if (failure) throw failure
  } finally {
    await Promise.allSettled(inflight)
    await inserting.catch(() => undefined)
    await runner.close()
  }
  return {from: from.location, to: to.location, ...progress, errors, seconds: Math.round(performance.now() - started) / 1000, ...(interrupted ? {interrupted: true as const} : {})}
}
