/** Store a verify run as signed assertions: the observations that bear on claims, and each verdict citing them. */
import type {VerifyResult} from './verify.js'
import type {AssertionBody, Json} from '../core/record.js'
import {seal, type Sealed} from '../core/seal.js'
import type {Deps} from './deps.js'
import {sealOrExplain} from './sealing.js'
import {initHash} from '../core/hash.js'

export interface RecordVerifyResult {
  observations: number
  verdicts: number
  ids: string[]
}

/**
 * File observations become assertions with a `file:<path>#L<line>` source; each verdict is an assertion
 * about `claim:<id>` / `verdict` whose evidence is those observations (and the store assertions a lens
 * picked), so a verdict's provenance can be followed back with `steme show`.
 */
export async function recordVerifyOp(deps: Deps, res: Pick<VerifyResult, 'verdicts' | 'staged'>): Promise<RecordVerifyResult> {
  await initHash()
  const key = deps.key()
  const batch: Sealed[] = []
  const body = (subject: string, predicate: string, value: Json, source: string, evidence?: string[]): AssertionBody => {
    const b: AssertionBody = {v: 1, kind: 'assertion', agent: key.publicHex, hlc: deps.clock.tick(), subject, predicate, value, confidence: 1, source}
    if (evidence?.length) b.evidence = [...new Set(evidence)].slice(0, 256)
    return b
  }
  let observations = 0
  for (const v of res.verdicts) {
    const evidence: string[] = []
    for (const o of v.observed) {
      if (o.via === 'store') {
        evidence.push(...(o.ids ?? []))
        continue
      }
      const source = o.file ? `file:${o.file}${o.line ? `#L${o.line}` : ''}` : `steme:${o.via}`
      const s = sealOrExplain(() => seal(body(o.subject, o.predicate, o.value, source), key), 'verify')
      batch.push(s)
      evidence.push(s.record.id)
      observations++
    }
    const value: Json = {status: v.status, compare: v.compare, severity: v.severity, observed: v.observed.map((o) => o.value), message: v.message}
    if (v.expect !== undefined) (value as Record<string, Json>).expect = v.expect
    batch.push(sealOrExplain(() => seal(body(`claim:${v.id}`, 'verdict', value, `steme:verify${res.staged ? ':staged' : ''}`, evidence), key), 'verify'))
  }
  await deps.store.insert(batch)
  await deps.saveClock()
  return {observations, verdicts: res.verdicts.length, ids: batch.map((s) => s.record.id)}
}
