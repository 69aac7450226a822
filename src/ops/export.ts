/** Export records as signed NDJSON, re-ingestable anywhere. */
import type {SignedAssertion} from '../core/record.js'
import {recordLine} from '../core/seal.js'
import {compareRecords, type ScanOptions} from '../core/store.js'
import type {Deps} from './deps.js'

/** About how much text one write carries. */
const WRITE_CHARS = 1 << 20

export interface ExportInput extends Pick<ScanOptions, 'since' | 'until' | 'kinds'> {
  /**
   * Only what decides this subject's answers: its assertions, then the records that bear on them
   * (see subjectContext), so the export queried elsewhere answers as this store does.
   */
  subject?: string
  write(chunk: string): Promise<void> | void
  /** Counted up as writes return: how many records went out, for a caller told of a failure part way. */
  written?: {records: number}
}

/** `subjectAssertions`, with `subject`: how many assertions about it the store holds, whatever --since kept. */
export async function exportOp(deps: Pick<Deps, 'store'>, input: ExportInput): Promise<{records: number; subjectAssertions?: number}> {
  let records = 0
  let pending = 0
  const written = input.written ?? {records: 0}
  const write = async (text: string, n: number) => {
    await input.write(text)
    written.records += n
  }
  const kept = (hlc: string) => (input.since === undefined || hlc > input.since) && (input.until === undefined || hlc <= input.until)
  // A subject's own assertions are found whatever --since says: what bears on them may be newer.
  const scan = input.subject === undefined ? {since: input.since, until: input.until, kinds: input.kinds} : {subject: input.subject}
  const own: string[] = []
  const sources = new Set<string>()
  for await (const batch of deps.store.scan({...scan, batch: 4096})) {
    let out = ''
    for (const {record: r, canonical} of batch) {
      if (input.subject !== undefined) {
        own.push(r.id)
        if (r.kind === 'assertion' && r.source !== undefined) sources.add(r.source)
      }
      if (!kept(r.hlc)) continue
      out += recordLine(canonical, r.id, r.sig) + '\n'
      records++
      pending++
      // Written in pieces: a batch of big records is not one big text as well.
      if (out.length >= WRITE_CHARS) {
        await write(out, pending)
        out = ''
        pending = 0
      }
    }
    if (out) await write(out, pending)
    pending = 0
  }
  if (input.subject === undefined) return {records}
  const subjectAssertions = own.length
  const ids = await subjectContext(deps, own, sources)
  for (let i = 0; i < ids.length; i += 4096) {
    const part = (await deps.store.get(ids.slice(i, i + 4096))).filter((s) => kept(s.record.hlc)).sort((a, b) => compareRecords(a.record, b.record))
    if (!part.length) continue
    await write(part.map(({record: r, canonical}) => recordLine(canonical, r.id, r.sig) + '\n').join(''), part.length)
    records += part.length
  }
  return {records, subjectAssertions}
}

/**
 * The ids of the records besides a subject's own assertions (`own`, citing `sources`) that a query
 * of the subject reads (ops/context.ts gatherContext), in (hlc, id) order: the assertions they
 * derive from through `evidence` (a retraction cascades down to them); the assertions, about any
 * subject, that supersede them, with what those derive from; the votes and retractions that target
 * any of these, and the retractions of those votes; the retractions of every source they cite; and
 * the store-wide policy, every trust and epoch record with the retractions of them. All by index:
 * lineage by id, the rest by target, edge and source. Assertions that only cite the subject's own
 * do not change its answers, and are left out.
 */
async function subjectContext(deps: Pick<Deps, 'store'>, own: readonly string[], sources: Set<string>): Promise<string[]> {
  const {store} = deps
  const found = new Map<string, {hlc: string; id: string}>()
  const add = (rs: ReadonlyArray<{hlc: string; id: string}>) => {
    for (const r of rs) found.set(r.id, {hlc: r.hlc, id: r.id})
  }
  const ownIds = new Set(own)
  const ancestors = own.length ? await store.lineage(own) : []
  const nodes = new Set([...own, ...ancestors.map((a) => a.id)])
  const pointing = await store.referencing([...nodes])
  const superseders = pointing.filter((r): r is SignedAssertion => r.kind === 'assertion' && !nodes.has(r.id) && !!r.supersedes?.some((id) => ownIds.has(id)))
  const further = superseders.some((a) => a.evidence?.length) ? await store.lineage(superseders.map((a) => a.id)) : []
  const added = [...superseders, ...further].filter((a) => !nodes.has(a.id))
  const targeting = pointing.filter((r) => r.kind === 'vote' || r.kind === 'retract')
  add([...ancestors, ...added, ...targeting])
  for (const a of [...ancestors, ...added]) if (a.source !== undefined) sources.add(a.source)
  // One step further out: retractions of the votes, and of the superseding assertions.
  const outer = [...targeting.filter((r) => r.kind === 'vote').map((r) => r.id), ...added.map((a) => a.id)]
  if (outer.length) add((await store.referencing(outer)).filter((r) => r.kind === 'retract'))
  if (sources.size) add(await store.sourceRetractions([...sources]))
  const policy = await store.ofKinds(['trust', 'epoch'])
  add(policy)
  if (policy.length) add((await store.referencing(policy.map((r) => r.id))).filter((r) => r.kind === 'retract'))
  return [...found.values()]
    .filter((r) => !ownIds.has(r.id))
    .sort(compareRecords)
    .map((r) => r.id)
}
