/** Export records as signed NDJSON, re-ingestable anywhere. */
import {recordLine} from '../core/seal.js'
import type {ScanOptions} from '../core/store.js'
import type {Deps} from './deps.js'

export interface ExportInput extends Pick<ScanOptions, 'since' | 'until' | 'subject' | 'kinds'> {
  write(chunk: string): Promise<void> | void
}

export async function exportOp(deps: Pick<Deps, 'store'>, input: ExportInput): Promise<{records: number}> {
  let records = 0
  for await (const batch of deps.store.scan({since: input.since, until: input.until, subject: input.subject, kinds: input.kinds, batch: 4096})) {
    let out = ''
    for (const {record: r, canonical} of batch) out += recordLine(canonical, r.id, r.sig) + '\n'
    records += batch.length
    await input.write(out)
  }
  return {records}
}
