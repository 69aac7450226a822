import {beforeAll, describe, expect, it} from 'vitest'
import fc from 'fast-check'
import {Readable} from 'node:stream'
import {MemoryStore} from '../../src/adapters/memory.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import {UserError} from '../../src/core/errors.js'
import {initHash} from '../../src/core/hash.js'
import {Hlc} from '../../src/core/hlc.js'
import {checkRecord, recordLine} from '../../src/core/seal.js'
import {ingestOp, type IngestFormat} from '../../src/ops/ingest.js'
import {assertion, record, testKey} from '../helpers/records.js'
import {FULL, report} from '../helpers/report.js'

beforeAll(() => initHash())

const valid = [assertion({value: {a: [1, 'x']}, source: 's'}), record({kind: 'vote', target: 'ab'.repeat(32), weight: 1}), record({kind: 'epoch', name: 'e', starts: '2024-01-01'})].map((s) =>
  recordLine(s.canonical, s.record.id, s.record.sig),
)
const FIELDS = ['v', 'kind', 'agent', 'hlc', 'id', 'sig', 'subject', 'predicate', 'value', 'confidence', 'source', 'epoch', 'evidence', 'supersedes', 'valid', 'target', 'weight', 'name', 'starts']

const mutated = fc
  .tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.nat({max: 3}), fc.string({maxLength: 3})), {minLength: 1, maxLength: 4}))
  .map(([line, edits]) => {
    let s = line
    for (const [pos, op, text] of edits) {
      const i = pos % (s.length + 1)
      s = op === 0 ? s.slice(0, i) + text + s.slice(i + 1) : op === 1 ? s.slice(0, i) + text + s.slice(i) : op === 2 ? s.slice(0, i) + s.slice(i + 1) : s
    }
    return s
  })
const recordish = fc.dictionary(fc.constantFrom(...FIELDS), fc.oneof(fc.jsonValue(), fc.string({unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64}), fc.constantFrom('assertion', 'vote', 'retract', 'epoch', 'trust', 1, 0.5, '2024-01-01')), {maxKeys: 10}).map((o) => JSON.stringify(o))
const line = fc.oneof(fc.string({maxLength: 80}), fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'), mutated, recordish, fc.constantFrom(...valid))
const csvCell = fc.oneof(fc.string({maxLength: 12}), fc.constantFrom('0.5', '1', '"quoted, cell"', '{"a":1}', '', '2'))
const csv = fc.array(fc.array(csvCell, {minLength: 1, maxLength: 6}), {minLength: 1, maxLength: 8}).map((rows) => 'subject,predicate,value,confidence,source\n' + rows.map((r) => r.join(',')).join('\n'))

async function ingestText(text: string, format: IngestFormat, wholeFailureOk = true) {
  const store = new MemoryStore()
  const deps = {store, clock: new Hlc(undefined), config: DEFAULT_CONFIG, key: () => testKey(5), saveClock: async () => undefined}
  let crashed = false
  let res
  try {
    res = await ingestOp(deps, {input: Readable.from([text]), format, maxErrors: 1000})
  } catch (e) {
    // A whole-input failure (a broken CSV or JSON array) must be a clean user error.
    if (!(e instanceof UserError)) crashed = true
    else expect(e.message).not.toMatch(/\n\s+at /)
    // A CSV with a good header never fails as a whole: a row that does not parse is one rejected line.
    if (!wholeFailureOk) expect.fail(`failed as a whole: ${(e as Error).message}`)
  }
  let invalid = 0
  for await (const batch of store.scan()) {
    for (const s of batch) {
      try {
        checkRecord(JSON.parse(recordLine(s.canonical, s.record.id, s.record.sig)), {nowMs: Date.now(), skewMs: 60_000})
      } catch {
        invalid++
      }
    }
  }
  for (const e of res?.errors ?? []) {
    expect(e.line).toBeGreaterThan(0)
    expect(e.reason.length).toBeGreaterThan(0)
    expect(e.reason).not.toMatch(/\n\s+at /)
  }
  return {crashed, invalid}
}

const RUNS = FULL ? 2000 : 500
const PER = 20

describe('fuzzing the ingest parsers', () => {
  it(`NDJSON: ${RUNS * PER} generated lines, no crash, nothing invalid stored, clean errors`, async () => {
    let crashes = 0
    let invalid = 0
    await fc.assert(
      fc.asyncProperty(fc.array(line, {minLength: PER, maxLength: PER}), async (lines) => {
        const r = await ingestText(lines.join('\n'), 'ndjson')
        crashes += r.crashed ? 1 : 0
        invalid += r.invalid
        return !r.crashed && r.invalid === 0
      }),
      {numRuns: RUNS},
    )
    report({suite: 'fuzz ingest NDJSON', inputs: RUNS * PER, crashes, invalidStored: invalid})
  })

  it(`CSV: ${RUNS} generated files, no crash, nothing invalid stored, a bad row never fails the file`, async () => {
    let crashes = 0
    let invalid = 0
    await fc.assert(
      fc.asyncProperty(csv, async (text) => {
        const r = await ingestText(text, 'csv', false)
        crashes += r.crashed ? 1 : 0
        invalid += r.invalid
        return !r.crashed && r.invalid === 0
      }),
      {numRuns: RUNS * (FULL ? 5 : 2)},
    )
    report({suite: 'fuzz ingest CSV', inputs: RUNS * (FULL ? 5 : 2), crashes, invalidStored: invalid})
  })

  it(`JSON arrays: generated documents, no crash, nothing invalid stored`, async () => {
    let crashes = 0
    let invalid = 0
    await fc.assert(
      fc.asyncProperty(fc.array(line, {maxLength: 10}), fc.boolean(), async (items, broken) => {
        const text = '[' + items.map((l) => (l.trim().startsWith('{') ? l : JSON.stringify(l))).join(',') + (broken ? '' : ']')
        const r = await ingestText(text, 'json')
        crashes += r.crashed ? 1 : 0
        invalid += r.invalid
        return !r.crashed && r.invalid === 0
      }),
      {numRuns: RUNS},
    )
    report({suite: 'fuzz ingest JSON array', inputs: RUNS, crashes, invalidStored: invalid})
  })
})
