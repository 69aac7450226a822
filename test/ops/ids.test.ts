/** Records named by people: full ids in either case, unique prefixes; short, non-hex, unknown and ambiguous ones refused. */
import {describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {UserError} from '../../src/core/errors.js'
import {findStored, MIN_ID_PREFIX} from '../../src/ops/ids.js'
import {many} from '../helpers/records.js'

const refusal = async (p: Promise<unknown>): Promise<UserError> => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(UserError)
  return e as UserError
}

describe('findStored', () => {
  it('takes a full id in any case, and a unique prefix such as `steme log` prints', async () => {
    const store = new MemoryStore()
    const rs = many(50)
    await store.insert(rs)
    const deps = {store}
    const id = rs[17].record.id
    expect((await findStored(deps, id.toUpperCase(), 'show')).record.id).toBe(id)
    expect((await findStored(deps, ` ${id.slice(0, 12)}\n`, 'show')).record.id).toBe(id)
    expect((await findStored(deps, id.slice(0, MIN_ID_PREFIX), 'show')).canonical).toBe(rs[17].canonical)
  })

  it('refuses what is not an id, and says what to type', async () => {
    const store = new MemoryStore()
    await store.insert(many(5))
    for (const bad of ['abc', 'xyz123456', 'a'.repeat(65), '']) {
      const e = await refusal(findStored({store}, bad, 'vote on'))
      expect(e.exit).toBe(2)
      expect(e.message).toContain('is not a record id')
      expect(e.hint).toMatch(/^vote on a record by its id: 64 hex chars, or the first 6 or more/)
    }
    const unknown = await refusal(findStored({store}, 'f'.repeat(64), 'show'))
    expect([unknown.code, unknown.exit]).toEqual(['not_found', 1])
  })

  it('refuses a prefix that starts several ids, naming them', async () => {
    // Deterministic keys and contents: the first two ids sharing six leading digits are always the same.
    const store = new MemoryStore()
    const rs = many(12_000)
    await store.insert(rs)
    const seen = new Map<string, string>()
    let pair: [string, string] | undefined
    for (const r of rs) {
      const p = r.record.id.slice(0, MIN_ID_PREFIX)
      const other = seen.get(p)
      if (other) {
        pair = [other, r.record.id]
        break
      }
      seen.set(p, r.record.id)
    }
    expect(pair).toBeDefined()
    const [a, b] = pair!
    const e = await refusal(findStored({store}, a.slice(0, MIN_ID_PREFIX), 'retract'))
    expect(e.exit).toBe(2)
    expect(e.message).toContain('more than one record id')
    expect(e.message).toContain(a)
    expect(e.message).toContain(b)
    // Enough digits to tell them apart find each one.
    let n = MIN_ID_PREFIX
    while (a.slice(0, n) === b.slice(0, n)) n++
    expect((await findStored({store}, a.slice(0, n), 'retract')).record.id).toBe(a)
    expect((await findStored({store}, b.slice(0, n), 'retract')).record.id).toBe(b)
  })
})
