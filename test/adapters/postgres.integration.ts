import {afterAll, beforeAll} from 'vitest'
import {PostgresStore} from '../../src/adapters/postgres/index.js'
import {storeContract} from '../contracts/store.js'
import {startPostgres, type PgServer} from '../helpers/pg-server.js'

let server: PgServer
let base: string
let n = 0

beforeAll(async () => {
  server = await startPostgres()
  base = await server.database()
})
afterAll(async () => {
  await server?.stop()
})

// Each test gets its own schema in one database: as isolated as a new database, and much faster.
storeContract('postgres', async () => {
  const url = `${base}?schema=contract_${process.pid}_${n++}`
  let store = await PostgresStore.open(url, {create: true})
  return {
    store,
    async reopen() {
      await store.close()
      store = await PostgresStore.open(url)
      return store
    },
    async teardown() {
      await store.close().catch(() => undefined)
    },
  }
})
