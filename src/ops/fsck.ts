/**
 * Integrity check: recompute every id and verify every signature (on all cores), compare the
 * typed columns stored beside each record with the record, and check the derived tables (refs
 * rows of no record, sync buckets that drifted from the records); report each problem, and with
 * `repair` rewrite the derived data from the records, in one transaction.
 */
import {initHash} from '../core/hash.js'
import {HLC_META, HLC_RE} from '../core/hlc.js'
import {UserError} from '../core/errors.js'
import {BUCKET_BITS, bucketFloor} from '../core/bucket.js'
import type {SignedRecord} from '../core/record.js'
import {recordLine} from '../core/seal.js'
import type {ColumnMismatch, DerivedProblem, DerivedRepair} from '../core/store.js'
import {plural} from '../core/words.js'
import type {Deps} from './deps.js'
import type {ChunkResult} from './ingest-check.js'
import {startRunner} from './verify-pool.js'

/**
 * The clock saved in the store's meta table (the last stamp issued, so stamps never repeat across
 * restarts) when it is no HLC stamp: every command that stamps records refuses to run.
 */
export interface ClockProblem {
  table: 'meta'
  key: typeof HLC_META
  stored: string
}

/** A derived-table problem, with which row, what is wrong and what it breaks in words. */
export type DerivedFinding = (DerivedProblem | ClockProblem) & {reason: string}

export interface FsckResult {
  checked: number
  /**
   * One entry per bad record, its reasons joined; `columns` lists the typed columns that disagree
   * with it; `unsound`, that the record itself failed a check (its stored text, id, signature or
   * canonical encoding), which nothing derived from it can mend.
   */
  bad: Array<{id: string; reason: string; columns?: ColumnMismatch[]; unsound?: true}>
  /** Rows of derived tables that no record accounts for (refs from ids not stored, sync buckets that disagree with the records), and a saved clock that is no stamp. */
  derived: DerivedFinding[]
  /**
   * With `repair`: what was rewritten (in one transaction), the ids of the bad records it mended
   * (those whose only fault was their typed columns or refs rows), the stamp a damaged saved
   * clock was reset to (`clock`), and what a check of the derived tables afterwards still found
   * (nothing, when the repair took).
   */
  repaired?: DerivedRepair & {ids: string[]; remaining: DerivedFinding[]; clock?: string}
  /** Nothing is left wrong: no bad record and no derived problem, or only what the repair mended. */
  ok: boolean
}

export async function fsckOp(deps: Pick<Deps, 'store'>, input: {onProgress?: (checked: number) => void; threads?: number; repair?: boolean} = {}): Promise<FsckResult> {
  const {store} = deps
  if (input.repair && !store.repairDerived) throw new UserError(`${store.location} keeps no derived data that fsck can rewrite`, {code: 'config', hint: 'run `steme fsck` without --repair'})
  const [runner] = await Promise.all([startRunner(undefined, {threads: input.threads}), initHash()])
  const bad: FsckResult['bad'] = []
  const columns: FsckResult['bad'] = []
  /** The records whose columns disagree with them, for the repair. */
  const mismatched: SignedRecord[] = []
  let checked = 0
  let seq = 0
  const inflight = new Set<Promise<void>>()
  try {
    for await (const batch of store.scan({batch: 4096, columns: true, damaged: true, anyOrder: true})) {
      // A typed column that disagrees with its record makes queries by that column miss the
      // record (or find it where it does not belong), however sound the record itself is.
      // A row whose stored text is no record at all has nothing to verify or compare its columns
      // with: it is reported as it is, and the scan goes on.
      for (const s of batch) if (s.damaged !== undefined) bad.push({id: s.record.id, reason: s.damaged})
      const sound = batch.filter((s) => s.damaged === undefined)
      for (const s of sound) {
        if (!s.mismatches) continue
        columns.push({id: s.record.id, reason: columnsReason(s.mismatches), columns: s.mismatches})
        mismatched.push(s.record)
      }
      while (inflight.size >= runner.parallelism * 2) await Promise.race(inflight)
      // Each stored record goes through the same check as a record arriving from outside,
      // rebuilt from the stored bytes; the stored text must also be exactly canonical.
      const ids = sound.map((s) => s.record.id)
      const stored = sound.map((s) => s.canonical)
      const job = {seq: seq++, lines: sound.map((s) => recordLine(s.canonical, s.record.id, s.record.sig)), lineNos: {first: 0}, nowMs: Number.MAX_SAFE_INTEGER, skewMs: 0}
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
    // A scan that failed part way (a lost server, an I/O error) leaves chunks in the workers:
    // they settle before the pool stops, or stopping it fails them as a bug nobody awaits, and
    // that crash would hide the scan's own error.
    await Promise.allSettled(inflight)
    await runner.close()
  }
  // After the scan, so the CPU goes to one thing at a time: each table in one statement.
  const tables = store.derivedProblems ? (await store.derivedProblems()).map(finding) : []
  const derived = [...tables, ...(await clockProblem(store))]
  const all = merged([...bad.map((b) => ({...b, unsound: true as const})), ...columns])
  if (!input.repair) return {checked, bad: all, derived, ok: all.length === 0 && derived.length === 0}
  // A record that fails its own checks (id, signature, canonical text) is no source to derive
  // anything from: its columns stay as they are, and it stays bad.
  const unsound = new Set(bad.map((b) => b.id))
  const fix = mismatched.filter((r) => !unsound.has(r.id))
  let repaired: NonNullable<FsckResult['repaired']> = {records: 0, refsRemoved: 0, buckets: 0, ids: [], remaining: []}
  if (fix.length || tables.length) {
    const done = await store.repairDerived!(fix).catch((e: unknown) => {
      if (e instanceof UserError) throw e
      throw new UserError(`fsck --repair failed and was rolled back, so ${store.location} is as it was: ${e instanceof Error ? e.message : String(e)}`, {
        code: 'integrity',
        exit: 1,
        hint: 'to rebuild every table from the records instead: `steme export -o all.ndjson`, then `steme ingest all.ndjson` into a new store (`steme init`)',
        cause: e,
      })
    })
    const remaining = store.derivedProblems ? (await store.derivedProblems()).map(finding) : []
    repaired = {...done, ids: fix.map((r) => r.id).sort(), remaining}
  }
  if (derived.some((d) => d.table === 'meta')) {
    // After the columns are mended, so the latest stamp is read from sound typed columns. The
    // clock resumes above the saved stamp, every stored record and the wall clock, so the latest
    // stored stamp loses nothing a stored record needs. (If a damaged hlc column could not be
    // mended, no stored stamp can be trusted: the saved clock starts from zero, the clock from the
    // wall clock, and the check of the records still reports that column.)
    const top = await store.maxHlc()
    const clock = top !== undefined && HLC_RE.test(top) ? top : ZERO_STAMP
    await store.setMeta(HLC_META, clock)
    repaired = {...repaired, clock, remaining: [...repaired.remaining, ...(await clockProblem(store))]}
  }
  const mended = new Set(repaired.ids)
  return {checked, bad: all, derived, repaired, ok: all.every((b) => mended.has(b.id)) && repaired.remaining.length === 0}
}

function columnsReason(ms: readonly ColumnMismatch[]): string {
  const typed = ms.filter((m) => m.column !== 'refs')
  const refs = ms.find((m) => m.column === 'refs')
  const parts: string[] = []
  if (typed.length) parts.push(`typed columns disagree with the record: ${typed.map((m) => `${m.column} is stored as ${JSON.stringify(m.stored)}, the record says ${JSON.stringify(m.expected)}`).join('; ')}`)
  // The refs "column" is the record's rows in the refs table: say so.
  if (refs) parts.push(`its refs table rows disagree with the record: they hold ${JSON.stringify(refs.stored)}, the record declares ${JSON.stringify(refs.expected)}`)
  return parts.join('; ')
}

const ZERO_STAMP = '0000000000000000-0000'

/** The saved clock, when it is there and no stamp (an empty value counts as none, as the runtime reads it). */
async function clockProblem(store: Deps['store']): Promise<DerivedFinding[]> {
  const stored = await store.getMeta(HLC_META)
  if (!stored || HLC_RE.test(stored)) return []
  return [{table: 'meta', key: HLC_META, stored, reason: `meta: the clock saved under "${HLC_META}" is ${JSON.stringify(stored)}, which is no HLC stamp: commands that stamp records (assert, vote, retract, epoch, trust, ingest of plain facts) refuse to run`}]
}

/** The reason of a derived-table problem: which row, what is wrong, and what it breaks. */
function finding(p: DerivedProblem): DerivedFinding {
  if (p.table === 'refs') {
    return {...p, reason: `refs: ${plural(p.edges.length, 'row')} from ${p.src}, which is not a stored record (${p.edges.join(', ')}): "cited by" lookups and retraction cascades follow edges no record declares`}
  }
  const {stored, expected} = p
  const where = `bucket ${p.bucket}${bucketTime(p.bucket)}`
  let what: string
  if (!stored) what = `no row for ${where}, which holds ${plural(expected!.count, 'record')}`
  else if (!expected) what = `the row for ${where} counts ${plural(stored.count, 'record')}, but no record is stamped in it`
  else if (stored.count !== expected.count) what = `the row for ${where} counts ${plural(stored.count, 'record')}, the records stamped in it are ${expected.count}`
  else what = `the row for ${where} counts the right ${plural(stored.count, 'record')}, but its id sum is ${stored.sum}, theirs is ${expected.sum}`
  return {...p, reason: `sync_buckets: ${what}: sync compares this bucket with peers wrongly`}
}

/** When a bucket starts, for people (nothing for a bucket past any date). */
function bucketTime(bucket: number): string {
  const ms = bucket * 2 ** BUCKET_BITS
  return ms >= 0 && ms <= 8.64e15 ? ` (hlc ${bucketFloor(bucket).slice(0, 11)}…, from ${new Date(ms).toISOString()})` : ''
}

/** One entry per record, in id order, its reasons joined in the order given. */
function merged(bad: FsckResult['bad']): FsckResult['bad'] {
  const byId = new Map<string, FsckResult['bad'][number]>()
  for (const b of bad) {
    const seen = byId.get(b.id)
    if (!seen) byId.set(b.id, {...b})
    else {
      seen.reason += `; ${b.reason}`
      if (b.columns) seen.columns = b.columns
      if (b.unsound) seen.unsound = true
    }
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1))
}
