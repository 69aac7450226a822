/** Lens vectors: fixtures/lenses/*.json cases built into signed records and resolved through queryOp. */
import {readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {MemoryStore} from '../../src/adapters/memory.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import {formatHlc} from '../../src/core/hlc.js'
import type {RecordBody} from '../../src/core/record.js'
import {seal, type Sealed} from '../../src/core/seal.js'
import {queryOp, type QueryResult} from '../../src/ops/query.js'
import {testKey} from '../helpers/records.js'

export interface VectorRecord {
  ref?: string
  by: string
  /** Seconds after the base time: the record's hlc. */
  at: number
  /** The hlc's counter (default: the record's position), so two records can share one stamp. */
  counter?: number
  kind?: RecordBody['kind']
  [field: string]: unknown
}

export interface Vector {
  name: string
  lens: string
  subject?: string
  predicate?: string
  agents?: Record<string, number>
  records: VectorRecord[]
  context?: {self?: string; pretrusted?: string[]; params?: Record<string, Record<string, unknown>>; asOf?: string | number; validAt?: string; now?: string; includeRetracted?: boolean}
  expected: {
    status?: string
    /** The winning value, or null for none. */
    winner?: unknown
    /** Values best first. */
    ranking?: unknown[]
    decidedBy?: string
    conflict?: number
    conflictAtLeast?: number
    conflictAtMost?: number
    retracted?: string[]
    live?: string[]
    superseded?: string[]
    /** [ref, ref of the assertion that supersedes it], as `--all` names it. */
    supersededBy?: Array<[string, string]>
    /** Set aside because their valid range does not cover --valid-at. */
    notValid?: string[]
    /** Text the explanation holds; `@ref` stands for the first 12 characters of that record's id, `@agent:name` for those of that agent's key. */
    explainIncludes?: string[]
    /** Text the explanation must not hold (a reason that is not the real one). */
    explainExcludes?: string[]
    /** Each value's probability, best first, as [value, probability]. */
    probabilities?: Array<[unknown, number]>
    error?: string
  }
}

export const BASE = Date.parse('2026-01-01T00:00:00Z')

export function loadVectors(dir = join(import.meta.dirname, '../../fixtures/lenses')): Array<{file: string; vector: Vector}> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((file) => (JSON.parse(readFileSync(join(dir, file), 'utf8')) as Vector[]).map((vector) => ({file, vector})))
}

/** Build the vector's records, replacing "@ref" strings (and arrays of them) with record ids and agent names with keys. */
export function buildRecords(v: Vector): {records: Sealed[]; ids: Map<string, string>; agent: (name: string) => string} {
  const agents = v.agents ?? {alice: 1, bob: 2, carol: 3, dave: 4, erin: 5}
  const key = (name: string) => {
    if (!(name in agents)) throw new Error(`vector "${v.name}": unknown agent ${name}`)
    return testKey(agents[name])
  }
  const ids = new Map<string, string>()
  const deref = (x: unknown): unknown => {
    if (typeof x === 'string' && x.startsWith('@')) {
      const id = ids.get(x.slice(1))
      if (!id) throw new Error(`vector "${v.name}": ${x} is not defined before use`)
      return id
    }
    if (typeof x === 'string' && x.startsWith('agent:') && x.slice(6) in agents) return key(x.slice(6)).publicHex
    if (Array.isArray(x)) return x.map(deref)
    return x
  }
  const records = v.records.map((r, i) => {
    const {ref, by, at, kind = 'assertion', counter, ...fields} = r
    const body: Record<string, unknown> = {v: 1, kind, agent: key(by).publicHex, hlc: formatHlc({wall: BASE + at * 1000, counter: counter ?? i})}
    if (kind === 'assertion') Object.assign(body, {subject: v.subject ?? 's:x', predicate: v.predicate ?? 'p', confidence: 1})
    for (const [k, val] of Object.entries(fields)) body[k] = k === 'value' ? val : deref(val)
    const sealed = seal(body as unknown as RecordBody, key(by))
    if (ref) ids.set(ref, sealed.record.id)
    return sealed
  })
  return {records, ids, agent: (name) => key(name).publicHex}
}

export async function runVector(v: Vector, order?: (records: Sealed[]) => Sealed[]): Promise<{res: QueryResult; ids: Map<string, string>; agent: (name: string) => string}> {
  const {records, ids, agent} = buildRecords(v)
  const store = new MemoryStore()
  await store.insert(order ? order(records) : records)
  const c = v.context ?? {}
  const self = c.self === undefined ? undefined : agent(c.self)
  const asOf = typeof c.asOf === 'number' ? formatHlc({wall: BASE + c.asOf * 1000, counter: 0xffff}) : c.asOf
  const res = await queryOp(
    {store, config: {...DEFAULT_CONFIG, pretrusted: (c.pretrusted ?? []).map(agent), raw: {lenses: c.params ?? {}}}, self},
    {subject: v.subject ?? 's:x', predicate: v.predicate ?? 'p', lens: v.lens, asOf, validAt: c.validAt, now: c.now ? Date.parse(c.now) : BASE + 1e9, includeRetracted: c.includeRetracted},
  )
  return {res, ids, agent}
}
