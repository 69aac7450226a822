/** Schema migration 3 fills the sync bucket sums of a store created before sync existed. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {DuckDBInstance} from '@duckdb/node-api'
import {afterEach, expect, it} from 'vitest'
import {DuckDBStore} from '../../src/adapters/duckdb/index.js'
import {MIGRATIONS} from '../../src/adapters/duckdb/schema.js'
import {MemoryStore} from '../../src/adapters/memory.js'
import {MAX_BUCKET} from '../../src/core/bucket.js'
import {makeRecords} from '../sync/helpers.js'

let dir: string
afterEach(() => rmSync(dir, {recursive: true, force: true}))

it('backfills bucket sums when a store from before sync is opened', async () => {
  dir = mkdtempSync(join(tmpdir(), 'steme-mig-'))
  const file = join(dir, 'store.duckdb')
  const recs = await makeRecords(500, {tag: 'mig'})
  const inst = await DuckDBInstance.create(file)
  const c = await inst.connect()
  for (const sql of MIGRATIONS[0]) await c.run(sql)
  await c.run('CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP DEFAULT current_timestamp)')
  await c.run('INSERT INTO schema_version (version) VALUES (1)')
  const app = await c.createAppender('records')
  for (const {record: r, canonical} of recs) {
    app.appendBlob(Buffer.from(r.id, 'hex'))
    app.appendVarchar(r.kind)
    app.appendVarchar(r.agent)
    app.appendVarchar(r.hlc)
    app.appendVarchar((r as {subject: string}).subject)
    app.appendVarchar((r as {predicate: string}).predicate)
    app.appendNull()
    app.appendNull()
    app.appendVarchar(canonical)
    app.appendBlob(Buffer.from(r.sig, 'hex'))
    app.endRow()
  }
  app.flushSync()
  app.closeSync()
  c.closeSync()
  inst.closeSync()

  const store = await DuckDBStore.open(file)
  const reference = new MemoryStore()
  await reference.insert(recs)
  expect(await store.bucketSums(0, MAX_BUCKET)).toEqual(await reference.bucketSums(0, MAX_BUCKET))
  await store.close()
})
