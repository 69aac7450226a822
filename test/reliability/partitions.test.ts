/**
 * Partitions and convergence: peers write concurrently and sync through a simulated network that
 * partitions, heals, delays, reorders, drops and replays messages; once healed, every peer holds
 * the same records, the same root fingerprint and gives the same lens answers. And merge (a sync)
 * is commutative, associative and idempotent.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import {initHash} from '../../src/core/hash.js'
import {Hlc} from '../../src/core/hlc.js'
import type {RecordBody} from '../../src/core/record.js'
import {checkRecord, recordLine, seal, type Sealed} from '../../src/core/seal.js'
import type {KeyPair} from '../../src/core/sign.js'
import type {Store} from '../../src/core/store.js'
import {TransportError} from '../../src/core/transport.js'
import {queryOp} from '../../src/ops/query.js'
import {openStore} from '../../src/runtime.js'
import {runSync, type SyncMode} from '../../src/sync/client.js'
import {createSyncHandler, type SyncHandler} from '../../src/sync/server.js'
import {fc} from '../helpers/fc.js'
import {FULL, report} from '../helpers/report.js'
import {SimNet, prng} from '../helpers/simnet.js'
import {allIds, keyFor, memoryWith, root, syncPair} from '../sync/helpers.js'

await initHash()

const SUBJECTS = ['drug:a', 'drug:b', 'drug:c', 'drug:d']
const LENSES = ['recency', 'votes', 'trust', 'skeptic', 'confidence']
/** Every peer answers with the same local policy and the same "now", so answers can be compared. */
const SELF = keyFor(10).publicHex
const NOW = Date.now()

/** What each subject resolves to under each lens: the comparable part of a query. */
async function answers(store: Store): Promise<string> {
  const out: unknown[] = []
  for (const subject of SUBJECTS) for (const lens of LENSES) out.push((await queryOp({store, config: DEFAULT_CONFIG, self: SELF}, {subject, lens, now: NOW})).resolutions)
  return JSON.stringify(out)
}

interface Peer {
  store: Store
  clock: Hlc
  key: KeyPair
  handler: SyncHandler
  deps: {store: Store; clock: Hlc; saveClock: () => Promise<void>; skewMs: number}
}

/** One random local write: an assertion, or a vote, retraction or trust record about what this peer has seen. */
async function write(p: Peer, rand: () => number, agents: string[], seen: string[]): Promise<Sealed> {
  const base = {v: 1, agent: p.key.publicHex, hlc: p.clock.tick()}
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]
  const r = rand()
  let body: Record<string, unknown>
  if (r < 0.6 || seen.length === 0) {
    body = {...base, kind: 'assertion', subject: pick(SUBJECTS), predicate: pick(['p', 'q']), value: Math.floor(rand() * 4), confidence: Math.round(rand() * 100) / 100, source: `src:${Math.floor(rand() * 5)}`}
  } else if (r < 0.8) body = {...base, kind: 'vote', target: pick(seen), weight: pick([1, -1, 0])}
  else if (r < 0.9) body = {...base, kind: 'retract', target: pick(seen), reason: 'wrong'}
  else body = {...base, kind: 'trust', target: pick(agents), weight: Math.round(rand() * 100) / 100}
  const s = seal(body as unknown as RecordBody, p.key)
  await p.store.insert([s])
  return s
}

interface Outcome {
  faults: number
  written: number
  lost: number
  invalidStored: number
  crashes: string[]
}

/** One random schedule: concurrent writes and syncs under partitions, then heal, settle, and check. */
async function schedule(seed: number, makeStore: (i: number) => Promise<Store>): Promise<Outcome> {
  const rand = prng(seed)
  const n = 3 + Math.floor(rand() * 2)
  const net = new SimNet(n, rand, {drop: rand() * 0.15, replay: rand() * 0.1})
  const peers: Peer[] = []
  for (let i = 0; i < n; i++) {
    const store = await makeStore(i)
    const clock = new Hlc(undefined)
    const deps = {store, clock, saveClock: async () => {}, skewMs: 60_000}
    peers.push({store, clock, key: keyFor(10 + i), handler: createSyncHandler(deps), deps})
  }
  const agents = peers.map((p) => p.key.publicHex)
  const written = new Set<string>()
  const crashes: string[] = []
  let transportFailures = 0
  const retry = {retries: 3, baseMs: 1, maxMs: 4, random: rand, sleep: () => new Promise<void>((r) => setImmediate(r))}
  const sync = async (a: number, b: number, mode: SyncMode) => {
    try {
      await runSync(peers[a].deps, net.transport(a, b, peers[b].handler), {mode, threads: 0, retry})
    } catch (e) {
      // A link that stays down long enough spends the retries: expected, and reported as such.
      if (e instanceof TransportError) transportFailures++
      else crashes.push(`seed ${seed}: sync ${a}->${b} (${mode}) threw ${(e as Error)?.stack ?? e}`)
    }
  }
  const inflight = new Set<Promise<void>>()
  const steps = 25 + Math.floor(rand() * 30)
  for (let s = 0; s < steps; s++) {
    const r = rand()
    if (r < 0.4) {
      const i = Math.floor(rand() * n)
      const seen = [...written]
      for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) written.add((await write(peers[i], rand, agents, seen)).record.id)
    } else if (r < 0.5) {
      if (rand() < 0.5) net.partition()
      else net.heal()
    } else if (r < 0.85) {
      const a = Math.floor(rand() * n)
      const b = (a + 1 + Math.floor(rand() * (n - 1))) % n
      const p = sync(a, b, (['sync', 'pull', 'push'] as const)[Math.floor(rand() * 3)])
      inflight.add(p)
      void p.finally(() => inflight.delete(p))
    } else if (inflight.size) await [...inflight][Math.floor(rand() * inflight.size)]
    else await new Promise<void>((r) => setImmediate(r))
  }
  await Promise.all(inflight)
  // Heal for good, then settle along a chain and back: the last peer gathers everything, then hands it back.
  net.calm()
  for (let i = 0; i + 1 < n; i++) await sync(i, i + 1, 'sync')
  for (let i = n - 2; i > 0; i--) await sync(i - 1, i, 'sync')

  const ids = await Promise.all(peers.map((p) => allIds(p.store)))
  const roots = await Promise.all(peers.map((p) => root(p.store)))
  const lensAnswers = await Promise.all(peers.map((p) => answers(p.store)))
  // Every record held was written by a peer and checks out (peer 0 stands for all: the sets are equal).
  let invalidStored = 0
  for await (const batch of peers[0].store.scan({batch: 1000})) for (const s of batch) {
    try {
      checkRecord(JSON.parse(recordLine(s.canonical, s.record.id, s.record.sig)), {nowMs: Date.now(), skewMs: 60_000})
      if (!written.has(s.record.id)) invalidStored++
    } catch {
      invalidStored++
    }
  }
  const lost = [...written].filter((id) => !ids[0].includes(id)).length
  for (let i = 1; i < n; i++) {
    expect(ids[i], `seed ${seed}: peer ${i} holds a different set`).toEqual(ids[0])
    expect(roots[i], `seed ${seed}: peer ${i} root`).toEqual(roots[0])
    expect(lensAnswers[i], `seed ${seed}: peer ${i} lens answers`).toBe(lensAnswers[0])
  }
  for (const p of peers) await p.handler.close()
  return {faults: net.faults.dropped + net.faults.replayed + net.faults.splits + transportFailures, written: written.size, lost, invalidStored, crashes}
}

const SCHEDULES = FULL ? 1000 : 100
const DUCKDB_SCHEDULES = FULL ? 12 : 2

describe('partitions and convergence', () => {
  const dirs: string[] = []
  afterAll(() => {
    for (const d of dirs) rmSync(d, {recursive: true, force: true})
  })

  /** Run `count` schedules, check the totals, and report them as one suite. */
  async function runMany(suite: string, count: number, makeStores: (k: number) => {make: (i: number) => Promise<Store>; done: () => Promise<void>}) {
    const t = {faults: 0, written: 0, lost: 0, invalidStored: 0, crashes: [] as string[]}
    // The seeds of the schedules that lost a record or stored one no peer wrote: the totals alone
    // would say that something went wrong, not which schedule to replay.
    const losing: number[] = []
    const storingInvalid: number[] = []
    // STEME_PARTITION_SEED replays a failing schedule (its seed is in the failure message).
    const base = Number(process.env.STEME_PARTITION_SEED ?? Math.floor(Math.random() * 1e9))
    for (let k = 0; k < count; k++) {
      const stores = makeStores(k)
      const o = await schedule(base + k, stores.make)
      await stores.done()
      t.faults += o.faults
      t.written += o.written
      t.lost += o.lost
      t.invalidStored += o.invalidStored
      t.crashes.push(...o.crashes)
      if (o.lost) losing.push(base + k)
      if (o.invalidStored) storingInvalid.push(base + k)
    }
    expect(t.crashes).toEqual([])
    expect(t.lost, `records lost in the schedules of seeds ${losing.join(', ')} (STEME_PARTITION_SEED=<seed> replays one)`).toBe(0)
    expect(t.invalidStored, `records no peer wrote stored in the schedules of seeds ${storingInvalid.join(', ')} (STEME_PARTITION_SEED=<seed> replays one)`).toBe(0)
    // The network really misbehaved: messages were lost, replayed and cut off by partitions.
    expect(t.faults).toBeGreaterThan(count)
    report({suite, faults: t.faults, inputs: t.written, schedules: count, lost: t.lost, invalidStored: t.invalidStored, crashes: t.crashes.length})
  }

  it(`${SCHEDULES} random schedules of 3-4 peers (memory stores) converge`, async () => {
    await runMany('partitions (memory)', SCHEDULES, () => ({make: async () => new MemoryStore(), done: async () => {}}))
  }, 600_000)

  it(`${DUCKDB_SCHEDULES} random schedules with real DuckDB files converge`, async () => {
    await runMany('partitions (DuckDB)', DUCKDB_SCHEDULES, () => {
      const dir = mkdtempSync(join(tmpdir(), 'steme-partition-'))
      dirs.push(dir)
      const stores: Store[] = []
      return {
        make: async (i) => {
          const s = await openStore(join(dir, `peer${i}.duckdb`), {create: true})
          stores.push(s)
          return s
        },
        done: async () => {
          for (const s of stores) await s.close()
        },
      }
    })
  }, 600_000)
})

describe('merge is a set union: commutative, associative, idempotent', () => {
  // A pool of records of every kind the lenses read, by three agents; stores are random subsets.
  const POOL: Sealed[] = (() => {
    const rand = prng(42)
    const clocks = [0, 1, 2].map(() => new Hlc(undefined))
    const keys = [0, 1, 2].map((i) => keyFor(30 + i))
    const out: Sealed[] = []
    for (let i = 0; i < 90; i++) {
      const k = i % 3
      const base = {v: 1, agent: keys[k].publicHex, hlc: clocks[k].tick()}
      const assertions = out.filter((s) => s.record.kind === 'assertion')
      const r = rand()
      const body =
        r < 0.6 || assertions.length === 0
          ? {...base, kind: 'assertion', subject: SUBJECTS[i % SUBJECTS.length], predicate: 'p', value: Math.floor(rand() * 3), confidence: 0.5 + Math.floor(rand() * 5) / 10}
          : r < 0.85
            ? {...base, kind: 'vote', target: assertions[Math.floor(rand() * assertions.length)].record.id, weight: rand() < 0.7 ? 1 : -1}
            : r < 0.93
              ? {...base, kind: 'retract', target: assertions[Math.floor(rand() * assertions.length)].record.id}
              : {...base, kind: 'trust', target: keys[(k + 1) % 3].publicHex, weight: 0.8}
      out.push(seal(body as unknown as RecordBody, keys[k]))
    }
    return out
  })()
  const subset = fc.subarray(POOL.map((_, i) => i)).map((xs) => xs.map((i) => POOL[i]))
  const RUNS = FULL ? 200 : 25
  const state = async (s: Store) => ({ids: await allIds(s), root: await root(s), answers: await answers(s)})
  let cases = 0

  it('commutative: A merged with B equals B merged with A', async () => {
    await fc.assert(
      fc.asyncProperty(subset, subset, async (a, b) => {
        cases++
        const x = await memoryWith(a)
        await syncPair(x, await memoryWith(b), 'pull')
        const y = await memoryWith(b)
        await syncPair(y, await memoryWith(a), 'pull')
        expect(await state(x)).toEqual(await state(y))
      }),
      {numRuns: RUNS},
    )
  })

  it('associative: (A with B) with C equals A with (B with C)', async () => {
    await fc.assert(
      fc.asyncProperty(subset, subset, subset, async (a, b, c) => {
        cases++
        const left = await memoryWith(a)
        await syncPair(left, await memoryWith(b), 'sync')
        await syncPair(left, await memoryWith(c), 'sync')
        const bc = await memoryWith(b)
        await syncPair(bc, await memoryWith(c), 'sync')
        const right = await memoryWith(a)
        await syncPair(right, bc, 'sync')
        expect(await state(left)).toEqual(await state(right))
      }),
      {numRuns: RUNS},
    )
  })

  it('idempotent: merging with itself, or merging again, changes nothing and moves nothing', async () => {
    await fc.assert(
      fc.asyncProperty(subset, subset, async (a, b) => {
        cases++
        const x = await memoryWith(a)
        const before = await state(x)
        const self = await syncPair(x, await memoryWith(a), 'sync')
        expect(self.sent + self.received).toBe(0)
        expect(await state(x)).toEqual(before)
        const y = await memoryWith(b)
        await syncPair(x, y, 'sync')
        const merged = await state(x)
        const again = await syncPair(x, y, 'sync')
        expect(again.sent + again.received).toBe(0)
        expect(again.rounds).toBe(1)
        expect(await state(x)).toEqual(merged)
        expect(await state(y)).toEqual(merged)
      }),
      {numRuns: RUNS},
    )
    report({suite: 'merge properties', inputs: cases, lost: 0, invalidStored: 0, crashes: 0})
  })
})
