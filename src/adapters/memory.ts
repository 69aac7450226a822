/** The in-memory reference adapter: the simplest correct Store, for tests and as the oracle. */
import type {Assertion, Kind, Retract, SignedAssertion, SignedRecord} from '../core/record.js'
import type {Sealed} from '../core/seal.js'
import {MOD, bucketOf, idValue, valueId} from '../core/bucket.js'
import {compareRecords, contestedBatches, type DerivedProblem, type DerivedRepair, type ContestedPairs, type BucketId, type BucketSpan, type BucketSum, type CascadeGraph, type CascadeSeed, type InsertResult, type ScanOptions, type Store, type StoreStats} from '../core/store.js'

export class MemoryStore implements Store {
  readonly location = 'memory:'
  private readonly records = new Map<string, Sealed>()
  private readonly meta = new Map<string, string>()
  private readonly buckets = new Map<number, {count: number; sum: bigint; ids: string[]}>()

  private writes = 0

  changeCounter(): number {
    return this.writes
  }

  async insert(batch: readonly Sealed[]): Promise<InsertResult> {
    this.writes++
    let added = 0
    for (const s of batch) {
      if (this.records.has(s.record.id)) continue
      this.records.set(s.record.id, s)
      const b = bucketOf(s.record.hlc)
      const agg = this.buckets.get(b) ?? {count: 0, sum: 0n, ids: []}
      agg.count++
      agg.sum = (agg.sum + idValue(s.record.id)) % MOD
      agg.ids.push(s.record.id)
      this.buckets.set(b, agg)
      added++
    }
    return {added, present: batch.length - added}
  }

  async get(ids: readonly string[]): Promise<Sealed[]> {
    const out: Sealed[] = []
    for (const id of new Set(ids)) {
      const s = this.records.get(id)
      if (s) out.push(s)
    }
    return out
  }

  async has(ids: readonly string[]): Promise<Set<string>> {
    return new Set(ids.filter((id) => this.records.has(id)))
  }

  async idsWithPrefix(prefix: string, limit: number): Promise<string[]> {
    return [...this.records.keys()].filter((id) => id.startsWith(prefix)).sort().slice(0, limit)
  }

  async assertions(subject: string, predicate?: string, until?: string): Promise<Assertion[]> {
    const out: Assertion[] = []
    for (const {record: r} of this.records.values()) {
      if (r.kind !== 'assertion' || r.subject !== subject) continue
      if (predicate !== undefined && r.predicate !== predicate) continue
      if (until !== undefined && r.hlc > until) continue
      out.push(r)
    }
    return out.sort(compareRecords)
  }

  async referencing(ids: readonly string[]): Promise<SignedRecord[]> {
    const want = new Set(ids)
    const out: SignedRecord[] = []
    for (const {record: r} of this.records.values()) {
      if ((r.kind === 'vote' || r.kind === 'trust' || r.kind === 'retract') && r.target !== undefined && want.has(r.target)) out.push(r)
      else if (r.kind === 'assertion' && (r.evidence?.some((e) => want.has(e)) || r.supersedes?.some((e) => want.has(e)))) out.push(r)
    }
    return out.sort(compareRecords)
  }

  async lineage(ids: readonly string[], until?: string): Promise<Assertion[]> {
    const found = new Map<string, Assertion>()
    const start = ids.map((id) => this.records.get(id)?.record).filter((r): r is SignedAssertion => r?.kind === 'assertion')
    let frontier = start.flatMap((a) => a.evidence ?? [])
    while (frontier.length) {
      const next: string[] = []
      for (const id of frontier) {
        const r = this.records.get(id)?.record
        if (!r || r.kind !== 'assertion' || found.has(id) || (until !== undefined && r.hlc > until)) continue
        found.set(id, r)
        next.push(...(r.evidence ?? []))
      }
      frontier = next
    }
    return [...found.values()].sort(compareRecords)
  }

  async cascadeGraph(seed: CascadeSeed, until?: string): Promise<CascadeGraph> {
    const inScope = (r: SignedRecord): r is SignedAssertion => r.kind === 'assertion' && (until === undefined || r.hlc <= until)
    const sources = new Set(seed.sources ?? [])
    const roots = new Set<string>()
    const dependents = new Map<string, Assertion[]>()
    for (const {record: r} of this.records.values()) {
      if (!inScope(r)) continue
      if (r.source !== undefined && sources.has(r.source)) roots.add(r.id)
      for (const e of new Set(r.evidence ?? [])) {
        const list = dependents.get(e)
        if (list) list.push(r)
        else dependents.set(e, [r])
      }
    }
    for (const id of seed.ids ?? []) {
      const r = this.records.get(id)?.record
      if (r && inScope(r)) roots.add(id)
    }
    const nodes = new Map<string, Assertion>()
    const queue = [...roots]
    for (let i = 0; i < queue.length; i++) {
      for (const d of dependents.get(queue[i]) ?? []) {
        if (nodes.has(d.id)) continue
        nodes.set(d.id, d)
        queue.push(d.id)
      }
    }
    return {roots: [...roots].sort(), nodes: [...nodes.values()].sort(compareRecords).map((a) => ({id: a.id, evidence: [...(a.evidence ?? [])]}))}
  }

  async sourceRetractions(sources: readonly string[], until?: string): Promise<Retract[]> {
    const want = new Set(sources)
    const out: Retract[] = []
    for (const {record: r} of this.records.values()) {
      if (r.kind === 'retract' && r.source !== undefined && want.has(r.source) && (until === undefined || r.hlc <= until)) out.push(r)
    }
    return out.sort(compareRecords)
  }

  async ofKinds(kinds: readonly Kind[], until?: string): Promise<SignedRecord[]> {
    const out: SignedRecord[] = []
    for (const {record: r} of this.records.values()) {
      if (kinds.includes(r.kind) && (until === undefined || r.hlc <= until)) out.push(r)
    }
    return out.sort(compareRecords)
  }

  async contested(opts: {until?: string; batch?: number} = {}): Promise<ContestedPairs> {
    const byPair = new Map<string, Assertion[]>()
    for (const {record: r} of this.records.values()) {
      if (r.kind !== 'assertion' || (opts.until !== undefined && r.hlc > opts.until)) continue
      const k = `${r.subject}\u0000${r.predicate}`
      const g = byPair.get(k)
      if (g) g.push(r)
      else byPair.set(k, [r])
    }
    const targets = new Set<string>()
    // Who supersedes what, by the superseding assertion's pair: ids superseded from another pair.
    const supersededFrom = new Map<string, Set<string>>()
    for (const {record: r} of this.records.values()) {
      if ((r.kind === 'vote' || r.kind === 'retract') && r.target !== undefined) targets.add(r.target)
      if (r.kind !== 'assertion' || !r.supersedes) continue
      for (const old of r.supersedes) {
        const from = supersededFrom.get(old)
        if (from) from.add(`${r.subject}\u0000${r.predicate}`)
        else supersededFrom.set(old, new Set([`${r.subject}\u0000${r.predicate}`]))
      }
    }
    const elsewhere = (a: Assertion) => [...(supersededFrom.get(a.id) ?? [])].some((k) => k !== `${a.subject}\u0000${a.predicate}`)
    const keys = [...byPair.keys()].sort()
    async function* rows(): AsyncIterable<Array<{run: string; record: Assertion; targeted: boolean; supersededElsewhere: boolean}>> {
      for (const k of keys) yield byPair.get(k)!.sort(compareRecords).map((record) => ({run: k, record, targeted: targets.has(record.id), supersededElsewhere: elsewhere(record)}))
    }
    return {pairs: byPair.size, batches: contestedBatches(rows(), opts.batch ?? 2048)}
  }

  async *scan(opts: ScanOptions = {}): AsyncIterable<Sealed[]> {
    const rows = [...this.records.values()]
      .filter(({record: r}) => {
        if (opts.kinds && !opts.kinds.includes(r.kind)) return false
        if (opts.subject !== undefined && (r.kind !== 'assertion' || r.subject !== opts.subject)) return false
        if (opts.predicate !== undefined && (r.kind !== 'assertion' || r.predicate !== opts.predicate)) return false
        if (opts.since !== undefined && r.hlc <= opts.since) return false
        if (opts.after !== undefined && compareRecords(r, opts.after) <= 0) return false
        if (opts.until !== undefined && r.hlc > opts.until) return false
        return true
      })
      .sort((a, b) => compareRecords(a.record, b.record))
      .slice(0, opts.limit ?? Infinity)
    const size = opts.batch ?? 1000
    for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size)
  }

  async stats(): Promise<StoreStats> {
    const byKind: Record<Kind, number> = {assertion: 0, vote: 0, retract: 0, epoch: 0, trust: 0}
    const agents = new Set<string>()
    const subjects = new Set<string>()
    for (const {record: r} of this.records.values()) {
      byKind[r.kind]++
      agents.add(r.agent)
      if (r.kind === 'assertion') subjects.add(r.subject)
    }
    return {records: this.records.size, byKind, agents: agents.size, subjects: subjects.size}
  }

  async maxHlc(): Promise<string | undefined> {
    let max: string | undefined
    for (const {record: r} of this.records.values()) if (max === undefined || r.hlc > max) max = r.hlc
    return max
  }

  async bucketSums(from: number, to: number): Promise<BucketSum[]> {
    const out: BucketSum[] = []
    for (const [bucket, {count, sum}] of this.buckets) if (bucket >= from && bucket <= to) out.push({bucket, count, sum})
    return out.sort((a, b) => a.bucket - b.bucket)
  }

  async bucketIds(spans: readonly BucketSpan[]): Promise<BucketId[]> {
    const out: BucketId[] = []
    const inSpans = (b: number) => spans.some((s) => b >= s.from && b <= s.to)
    for (const bucket of [...this.buckets.keys()].filter(inSpans).sort((a, b) => a - b)) {
      for (const id of [...this.buckets.get(bucket)!.ids].sort()) out.push({bucket, id})
    }
    return out
  }

  /** The sync buckets as the records give them: what `buckets` keeps up to date as records arrive. */
  private recount(): Map<number, {count: number; sum: bigint; ids: string[]}> {
    const out = new Map<number, {count: number; sum: bigint; ids: string[]}>()
    for (const [id, {record}] of this.records) {
      const b = bucketOf(record.hlc)
      const agg = out.get(b) ?? {count: 0, sum: 0n, ids: []}
      agg.count++
      agg.sum = (agg.sum + idValue(id)) % MOD
      agg.ids.push(id)
      out.set(b, agg)
    }
    return out
  }

  /** The buckets are this store's one derived index (it keeps no typed columns or refs). */
  async derivedProblems(): Promise<DerivedProblem[]> {
    const want = this.recount()
    const tally = (a?: {count: number; sum: bigint}) => (a ? {count: a.count, sum: valueId(a.sum)} : null)
    const out: DerivedProblem[] = []
    for (const bucket of [...new Set([...want.keys(), ...this.buckets.keys()])].sort((a, b) => a - b)) {
      const stored = this.buckets.get(bucket)
      const expected = want.get(bucket)
      if (stored && expected && stored.count === expected.count && stored.sum === expected.sum && stored.ids.length === expected.ids.length) continue
      out.push({table: 'sync_buckets', bucket, stored: tally(stored), expected: tally(expected)})
    }
    return out
  }

  /** Rebuilds the buckets; there are no columns to rewrite, so `records` (never any with mismatches here) is ignored. */
  async repairDerived(_records: readonly SignedRecord[]): Promise<DerivedRepair> {
    const buckets = (await this.derivedProblems()).length
    const want = this.recount()
    this.buckets.clear()
    for (const [b, agg] of want) this.buckets.set(b, agg)
    this.writes++
    return {records: 0, refsRemoved: 0, buckets}
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.meta.get(key)
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.meta.set(key, value)
  }

  async close(): Promise<void> {}
}
