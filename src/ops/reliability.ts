/** Learn witness reliability for a predicate across every subject in the store (truth discovery), cached in store meta until the store changes. */
import type {Assertion} from '../core/record.js'
import {compareRecords} from '../core/store.js'
import {discoverTruth, type TruthResult} from '../lenses/truth-discovery.js'
import type {WitnessQuality} from '../lenses/types.js'
import {witnessOf} from '../lenses/values.js'
import type {Deps} from './deps.js'

export interface LearnedReliability {
  table: Map<string, WitnessQuality>
  iterations: number
  converged: boolean
  cached: boolean
}

/** Each witness's latest claim per (subject, predicate), as truth-discovery input. */
export function claimsOf(assertions: Iterable<Assertion>) {
  const latest = new Map<string, Assertion>()
  for (const a of assertions) {
    const k = `${a.subject}\u0000${a.predicate}\u0000${witnessOf(a)}`
    const prev = latest.get(k)
    if (!prev || compareRecords(prev, a) < 0) latest.set(k, a)
  }
  return [...latest.values()].map((a) => ({object: `${a.subject}\u0000${a.predicate}`, witness: witnessOf(a), value: a.value}))
}

export function toTable(res: TruthResult): Map<string, WitnessQuality> {
  const table = new Map(res.quality)
  table.set('*', res.pooled)
  return table
}

/**
 * Per store, per (predicate, as-of): the learned table while the store's change counter stays
 * put. Without it every reliability query paid for store.stats() (full-table counts, tens of
 * ms on 1M records) and a JSON parse of the cached table.
 */
const learnedMemo = new WeakMap<object, Map<string, {counter: number; value: Promise<LearnedReliability>}>>()

export function learnReliability(deps: Pick<Deps, 'store'>, predicate: string, asOf?: string): Promise<LearnedReliability> {
  const counter = deps.store.changeCounter?.()
  if (counter === undefined) return learnFromStore(deps, predicate, asOf)
  let memo = learnedMemo.get(deps.store)
  if (!memo) learnedMemo.set(deps.store, (memo = new Map()))
  const key = `${predicate}\u0000${asOf ?? ''}`
  const hit = memo.get(key)
  if (hit && hit.counter === counter) return hit.value.then((r) => ({...r, cached: true}))
  const value = learnFromStore(deps, predicate, asOf)
  if (memo.size > 256) memo.clear()
  memo.set(key, {counter, value})
  value.catch(() => memo!.delete(key))
  return value
}

async function learnFromStore(deps: Pick<Deps, 'store'>, predicate: string, asOf?: string): Promise<LearnedReliability> {
  // The store is a grow-only set: its record count changes with every new record, so it is a
  // sufficient fingerprint (with the as-of bound) for the cached training.
  const fingerprint = `${(await deps.store.stats()).records}:${asOf ?? ''}`
  const key = `reliability:v2:${predicate}`
  const cached = await deps.store.getMeta(key)
  if (cached) {
    const c = JSON.parse(cached) as {fingerprint: string; iterations: number; converged: boolean; table: Array<[string, WitnessQuality]>}
    if (c.fingerprint === fingerprint) return {table: new Map(c.table), iterations: c.iterations, converged: c.converged, cached: true}
  }
  const all: Assertion[] = []
  for await (const batch of deps.store.scan({kinds: ['assertion'], predicate, until: asOf, batch: 8192})) {
    for (const s of batch) if (s.record.kind === 'assertion' && s.record.predicate === predicate) all.push(s.record)
  }
  const res = discoverTruth(claimsOf(all))
  const table = toTable(res)
  // The cache is best-effort: a store this user cannot write, or a table too large for one
  // string (V8 stops near 512 MiB; two camps of 10,000 witnesses already make ~110 MB), only
  // means the next query trains again. The answer stands either way.
  let text: string | undefined
  try {
    text = JSON.stringify({fingerprint, iterations: res.iterations, converged: res.converged, table: [...table]})
  } catch {
    text = undefined
  }
  if (text !== undefined) await deps.store.setMeta(key, text).catch(() => undefined)
  return {table, iterations: res.iterations, converged: res.converged, cached: false}
}
