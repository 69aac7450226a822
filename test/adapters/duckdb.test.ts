import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {DuckDBStore} from '../../src/adapters/duckdb/index.js'
import {storeContract} from '../contracts/store.js'

storeContract('duckdb', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'steme-duck-'))
  const path = join(dir, 'store.duckdb')
  let store = await DuckDBStore.open(path, {create: true})
  return {
    store,
    async reopen() {
      await store.close()
      store = await DuckDBStore.open(path)
      return store
    },
    async teardown() {
      await store.close().catch(() => undefined)
      rmSync(dir, {recursive: true, force: true})
    },
  }
})
