/** Records in (hlc, id) order, optionally for one subject. */
import type {SignedRecord} from '../core/record.js'
import type {Deps} from './deps.js'

export interface LogInput {
  subject?: string
  since?: string
  limit?: number
}

export async function logOp(deps: Pick<Deps, 'store'>, input: LogInput): Promise<{records: SignedRecord[]}> {
  const records: SignedRecord[] = []
  for await (const batch of deps.store.scan({subject: input.subject, since: input.since, limit: input.limit})) {
    for (const s of batch) records.push(s.record)
  }
  return {records}
}
