import {afterEach, beforeAll, describe, expect, it, vi} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import {initHash} from '../../src/core/hash.js'
import type {Deps} from '../../src/ops/deps.js'
import {queryOp} from '../../src/ops/query.js'
import {AnswerCache} from '../../src/serve/routes/read.js'
import {assertion, record, testKey} from '../helpers/records.js'

beforeAll(() => initHash())
afterEach(() => vi.useRealTimers())

const setup = () => {
  const store = new MemoryStore()
  const deps = {store, config: DEFAULT_CONFIG, key: () => testKey(1)} as unknown as Deps
  let computed = 0
  const cache = new AnswerCache(deps)
  const ask = (input: Parameters<typeof queryOp>[1]) =>
    cache.get(input, async () => {
      computed++
      return JSON.stringify(await queryOp(deps, input))
    })
  return {store, ask, computed: () => computed}
}

describe("the daemon's answer cache", () => {
  it('answers a repeated query from memory until any record is stored, then recomputes', async () => {
    const {store, ask, computed} = setup()
    await store.insert([assertion({subject: 's', predicate: 'p', value: 1})])
    const first = await ask({subject: 's'})
    expect(await ask({subject: 's'})).toBe(first)
    expect(computed()).toBe(1)
    await ask({subject: 's', lens: 'consensus'})
    expect(computed()).toBe(2) // another lens is another answer
    await store.insert([assertion({subject: 's', predicate: 'p', value: 2})])
    const second = JSON.parse(await ask({subject: 's'}))
    expect(computed()).toBe(3)
    expect(second.resolutions[0].winner.value).toBe(2)
  })

  it('keeps an answer that depends on the clock only until the next epoch starts', async () => {
    vi.useFakeTimers({toFake: ['Date']})
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'))
    const {store, ask, computed} = setup()
    const old = assertion({subject: 's', predicate: 'p', value: 'old', hlc: '0000019b00000000-0000'})
    await store.insert([old, record({kind: 'epoch', name: 'next', starts: '2026-06-01T00:00:00Z'}, testKey(1))])
    const before = JSON.parse(await ask({subject: 's', lens: 'epoch:current, then recency'}))
    expect(before.resolutions[0].winner).toBeUndefined() // no epoch current yet
    vi.setSystemTime(new Date('2026-05-31T00:00:00Z'))
    await ask({subject: 's', lens: 'epoch:current, then recency'})
    expect(computed()).toBe(1)
    vi.setSystemTime(new Date('2026-06-02T00:00:00Z'))
    await ask({subject: 's', lens: 'epoch:current, then recency'})
    expect(computed()).toBe(2)
  })

  it('is bounded in size as well as count: oldest answers go first, huge answers are never kept', async () => {
    const store = new MemoryStore()
    const deps = {store, config: DEFAULT_CONFIG, key: () => testKey(1)} as unknown as Deps
    const cache = new AnswerCache(deps, 4096, 3_000)
    const computed: string[] = []
    const ask = (subject: string, size = 1_000) =>
      cache.get({subject}, async () => {
        computed.push(subject)
        return subject.repeat(size)
      })
    for (const s of ['a', 'b', 'c', 'd']) await ask(s) // 4,000 characters against a 3,000 budget
    await ask('d')
    await ask('b')
    expect(computed).toEqual(['a', 'b', 'c', 'd']) // b, c, d still cached
    await ask('a')
    expect(computed).toEqual(['a', 'b', 'c', 'd', 'a']) // a was evicted first
    await ask('h', 2_000_000)
    await ask('h', 2_000_000)
    expect(computed.filter((x) => x === 'h')).toHaveLength(2) // over 1 MiB: not cached
  })
})
