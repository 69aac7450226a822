import {beforeAll, describe, expect, it} from 'vitest'
import {Readable} from 'node:stream'
import {MemoryStore} from '../../src/adapters/memory.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import {RecordError} from '../../src/core/errors.js'
import {initHash} from '../../src/core/hash.js'
import {Hlc} from '../../src/core/hlc.js'
import {checkRecord, recordLine} from '../../src/core/seal.js'
import {ingestOp} from '../../src/ops/ingest.js'
import {testKey} from '../helpers/records.js'
import {report} from '../helpers/report.js'
import {tamperSamples, tamperVariants} from '../helpers/tamper.js'

beforeAll(() => initHash())

const samples = tamperSamples

describe('tampering: every field of every kind, and bits of id and sig', () => {
  it('every variant is rejected with a reason, and ingest stores none of them', async () => {
    let faults = 0
    const lines: string[] = []
    for (const s of samples()) {
      for (const v of tamperVariants(s)) {
        faults++
        let reason = ''
        try {
          checkRecord(v.record, {nowMs: Date.now(), skewMs: 60_000})
        } catch (e) {
          expect(e, v.name).toBeInstanceOf(RecordError)
          reason = (e as Error).message
        }
        expect(reason, `${s.record.kind}: ${v.name} was accepted`).not.toBe('')
        lines.push(JSON.stringify(v.record))
      }
    }
    const store = new MemoryStore()
    const good = samples()
    await store.insert(good)
    const before = (await store.stats()).records
    const res = await ingestOp(
      {store, clock: new Hlc(undefined), config: DEFAULT_CONFIG, key: () => testKey(9), saveClock: async () => undefined},
      {input: Readable.from([lines.join('\n')]), maxErrors: 10_000},
    )
    expect(res.added).toBe(0)
    expect(res.rejected + res.present).toBe(lines.length)
    // "present" only when the tampering left the content and signature intact (e.g. nothing to flip).
    expect(res.present).toBe(0)
    expect((await store.stats()).records).toBe(before)
    report({suite: 'tamper (ingest)', faults, inputs: lines.length, invalidStored: res.added, lost: 0, crashes: 0})
  })

  it('the untampered records pass (the control)', () => {
    for (const s of samples()) expect(checkRecord(JSON.parse(recordLine(s.canonical, s.record.id, s.record.sig)), {nowMs: Date.now(), skewMs: 60_000}).record.id).toBe(s.record.id)
  })
})
