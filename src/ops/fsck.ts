/**
 * Integrity check: recompute every id and verify every signature (on all cores), and compare the
 * typed columns stored beside each record with the record; report each bad record.
 */
import {initHash} from '../core/hash.js'
import {recordLine} from '../core/seal.js'
import type {ColumnMismatch} from '../core/store.js'
import type {Deps} from './deps.js'
import type {ChunkResult} from './ingest-check.js'
import {startRunner} from './verify-pool.js'

export interface FsckResult {
  checked: number
  /** One entry per bad record, its reasons joined; `columns` lists the typed columns that disagree with it. */
  bad: Array<{id: string; reason: string; columns?: ColumnMismatch[]}>
}

export async function fsckOp(deps: Pick<Deps, 'store'>, input: {onProgress?: (checked: number) => void; threads?: number} = {}): Promise<FsckResult> {
  const [runner] = await Promise.all([startRunner(undefined, {threads: input.threads}), initHash()])
  const bad: FsckResult['bad'] = []
  const columns: FsckResult['bad'] = []
  let checked = 0
  let seq = 0
  const inflight = new Set<Promise<void>>()
  try {
    for await (const batch of deps.store.scan({batch: 4096, columns: true})) {
      // A typed column that disagrees with its record makes queries by that column miss the
      // record (or find it where it does not belong), however sound the record itself is.
      for (const s of batch) if (s.mismatches) columns.push({id: s.record.id, reason: columnsReason(s.mismatches), columns: s.mismatches})
      while (inflight.size >= runner.parallelism * 2) await Promise.race(inflight)
      // Each stored record goes through the same check as a record arriving from outside,
      // rebuilt from the stored bytes; the stored text must also be exactly canonical.
      const ids = batch.map((s) => s.record.id)
      const stored = batch.map((s) => s.canonical)
      const job = {seq: seq++, lines: batch.map((s) => recordLine(s.canonical, s.record.id, s.record.sig)), lineNos: {first: 0}, nowMs: Number.MAX_SAFE_INTEGER, skewMs: 0}
      const p = runner.run(job).then((r: ChunkResult) => {
        for (const e of r.errors) bad.push({id: ids[e.line], reason: e.reason})
        r.ok.forEach((s, i) => {
          if (s.canonical !== stored[ids.indexOf(s.record.id, i)]) bad.push({id: s.record.id, reason: 'stored text is not the canonical encoding of the record'})
        })
        checked += batch.length
        input.onProgress?.(checked)
      })
      const tracked = p.finally(() => inflight.delete(tracked))
      inflight.add(tracked)
    }
    await Promise.all(inflight)
  } finally {
    await runner.close()
  }
  return {checked, bad: merged([...bad, ...columns])}
}

const columnsReason = (ms: readonly ColumnMismatch[]): string =>
  `typed columns disagree with the record: ${ms.map((m) => `${m.column} is stored as ${JSON.stringify(m.stored)}, the record says ${JSON.stringify(m.expected)}`).join('; ')}`

/** One entry per record, in id order, its reasons joined in the order given. */
function merged(bad: FsckResult['bad']): FsckResult['bad'] {
  const byId = new Map<string, FsckResult['bad'][number]>()
  for (const b of bad) {
    const seen = byId.get(b.id)
    if (!seen) byId.set(b.id, {...b})
    else {
      seen.reason += `; ${b.reason}`
      if (b.columns) seen.columns = b.columns
    }
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1))
}
