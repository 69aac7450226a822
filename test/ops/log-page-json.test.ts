/** A daemon's log page as JSON text in pieces: the bytes of the page built whole, whatever the piece size. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {DuckDBStore} from '../../src/adapters/duckdb/index.js'
import {MemoryStore} from '../../src/adapters/memory.js'
import {initHash} from '../../src/core/hash.js'
import type {Sealed} from '../../src/core/seal.js'
import type {Store} from '../../src/core/store.js'
import {logOp, logPageJson, positionText, type LogInput} from '../../src/ops/log.js'
import {assertion, record, stamp, testKey} from '../helpers/records.js'

/** Records of several kinds and awkward text, some sharing a stamp. */
function records(): Sealed[] {
  const out: Sealed[] = []
  for (let i = 0; i < 40; i++) {
    const hlc = stamp(1_760_000_000_000 + Math.floor(i / 3) * 1000, 0)
    out.push(assertion({subject: `s:${i % 4}`, predicate: 'p"\\', value: i % 5 === 0 ? {nested: ['é', '\u0000', '\u{1F600}', i]} : 'x'.repeat(i * 37), hlc}, testKey(1 + (i % 3))))
  }
  out.push(record({kind: 'vote', target: out[0].record.id, weight: 1}))
  out.push(record({kind: 'retract', target: out[1].record.id, reason: 'wrong'}))
  return out
}

describe('logPageJson', () => {
  const dir = mkdtempSync(join(tmpdir(), 'steme-log-json-'))
  const stores: Store[] = []
  beforeAll(async () => {
    await initHash()
    const duck = await DuckDBStore.open(join(dir, 'store.duckdb'), {create: true})
    stores.push(new MemoryStore(), duck)
    for (const s of stores) await s.insert(records())
  })
  afterAll(async () => {
    for (const s of stores) await s.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('joined, gives JSON.stringify of logOp for every limit, filter and piece size; a long page comes in many pieces', async () => {
    for (const store of stores) {
      const all = (await logOp({store}, {})).records
      const inputs: LogInput[] = [{}, {limit: 1}, {limit: 7}, {limit: all.length}, {limit: all.length + 1}, {subject: 's:1', limit: 3}, {subject: 'none', limit: 5}, {since: all[10].hlc, limit: 4}, {after: all[20], limit: 10}, {after: all[all.length - 1], limit: 2}]
      for (const input of inputs) {
        const whole = JSON.stringify(await logOp({store}, input))
        for (const size of [1, 100, 64 * 1024]) {
          const pieces: string[] = []
          for await (const p of logPageJson({store}, input, size)) pieces.push(p)
          expect(pieces.join(''), `${store.location} ${JSON.stringify(input)} in pieces of ${size}`).toBe(whole)
          if (size === 1) expect(pieces.length).toBe((await logOp({store}, input)).records.length + 1)
        }
      }
      // A full page names its last record as the next page's start, as logOp does.
      const full = JSON.parse((await collect(logPageJson({store}, {limit: 5})))) as {next?: string; records: Array<{hlc: string; id: string}>}
      expect(full.next).toBe(positionText(full.records[4]))
    }
  })

  it('ended early (a client went away), it ends the store read: no further batch is read', async () => {
    const store = stores[1]
    let batches = 0
    let ended = false
    const counting: Store = Object.create(store, {
      scan: {
        value: async function* (opts: Parameters<Store['scan']>[0]) {
          try {
            for await (const b of store.scan({...opts, batch: 5})) {
              batches++
              yield b
            }
          } finally {
            ended = true
          }
        },
      },
    })
    const pieces = logPageJson({store: counting}, {limit: 1000}, 1)
    await pieces.next()
    await pieces.next()
    await pieces.return(undefined)
    expect(ended).toBe(true)
    expect(batches).toBe(1)
  })
})

async function collect(pieces: AsyncIterable<string>): Promise<string> {
  let out = ''
  for await (const p of pieces) out += p
  return out
}
