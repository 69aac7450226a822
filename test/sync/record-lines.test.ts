/** Records served by sync straight from the stored bytes are exactly the lines the parsed records give. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, expect, it} from 'vitest'
import {DuckDBStore} from '../../src/adapters/duckdb/index.js'
import {recordLine, seal} from '../../src/core/seal.js'
import {storedLines} from '../../src/sync/server.js'
import {keyFor, makeRecords, memoryWith} from './helpers.js'

let dir: string
afterEach(() => rmSync(dir, {recursive: true, force: true}))

it('DuckDB recordLines equals recordLine of each stored record, non-ASCII and nested bodies included', async () => {
  dir = mkdtempSync(join(tmpdir(), 'steme-lines-'))
  const key = keyFor(3)
  const odd = seal({v: 1, kind: 'assertion', agent: key.publicHex, hlc: '0000019aa3c4d5e6-0001', subject: 'drug:é✓', predicate: 'p', value: {a: [1, {b: 'ü'}]}, confidence: 0.5, valid: {from: '2024-01-01'}}, key)
  const recs = [...(await makeRecords(300, {tag: 'lines'})), odd]
  const store = await DuckDBStore.open(join(dir, 'store.duckdb'), {create: true})
  try {
    await store.insert(recs)
    const ids = [...recs.map((r) => r.record.id), 'ab'.repeat(32)]
    // UTF-8 bytes, as they go on the wire.
    const text = (lines: Uint8Array[]) => lines.map((l) => Buffer.from(l).toString('utf8')).sort()
    const got = text(await store.recordLines(ids))
    const want = recs.map((r) => recordLine(r.canonical, r.record.id, r.record.sig))
    expect(got).toEqual([...want].sort())
    // The fallback for stores without the method gives the same lines.
    expect(text(await storedLines(await memoryWith(recs), ids))).toEqual([...want].sort())
  } finally {
    await store.close()
  }
})
