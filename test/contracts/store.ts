/** The contract every Store adapter passes: call storeContract with only setup and teardown. */
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import type {Json} from '../../src/core/record.js'
import type {BucketTally, Scanned, Store} from '../../src/core/store.js'
import type {Sealed} from '../../src/core/seal.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import {ColumnBuilder} from '../../src/ops/ingest-check.js'
import {conflictRow, conflictsOp} from '../../src/ops/conflicts.js'
import {queryOp} from '../../src/ops/query.js'
import {MOD, bucketOf, idValue, valueId} from '../../src/core/bucket.js'
import {assertion, many, record, stamp, testKey} from '../helpers/records.js'
import {DamagedRecordError} from '../../src/core/stored.js'

export interface StoreFixture {
  store: Store
  /** Close and reopen the same store (for persistence checks); memory adapters return the same store. */
  reopen?: () => Promise<Store>
  /**
   * Change the stored rows behind the store's back with SQL on its own tables (`records`, `refs`),
   * as someone with the database file or server could; returns the store to go on with. Only
   * adapters that keep typed columns beside the records have it.
   */
  tamper?: (sql: string) => Promise<Store>
  teardown(): Promise<void>
}

/** Sync buckets are 2^20 ms wide: stamps this far apart fall in different buckets. */
const BUCKET_MS = 2 ** 21
const BUCKET_T0 = 1_700_000_000_000

export function storeContract(name: string, setup: () => Promise<StoreFixture>): void {
  describe(`Store contract: ${name}`, () => {
    let fx: StoreFixture
    let store: Store
    beforeEach(async () => {
      fx = await setup()
      store = fx.store
    })
    afterEach(async () => {
      await fx.teardown()
    })

    it('starts empty', async () => {
      const s = await store.stats()
      expect(s.records).toBe(0)
      expect(await store.maxHlc()).toBeUndefined()
    })

    it('stores records and returns them verbatim by id', async () => {
      const a = assertion({value: {nested: [1, 'two', null]}, source: 'doi:10.1/x'})
      const res = await store.insert([a])
      expect(res).toEqual({added: 1, present: 0})
      const [got] = await store.get([a.record.id])
      expect(got.canonical).toBe(a.canonical)
      expect(got.record).toEqual(a.record)
    })

    it('is idempotent: re-inserting stores nothing twice, within and across batches', async () => {
      const rs = many(50)
      expect(await store.insert(rs)).toEqual({added: 50, present: 0})
      expect(await store.insert([...rs.slice(0, 10), ...rs.slice(0, 10)])).toEqual({added: 0, present: 20})
      const extra = assertion({value: 'new'})
      expect(await store.insert([extra, extra, rs[0]])).toEqual({added: 1, present: 2})
      expect((await store.stats()).records).toBe(51)
    })

    it('reports which ids it has', async () => {
      const [a, b] = [assertion({value: 1}), assertion({value: 2})]
      await store.insert([a])
      const has = await store.has([a.record.id, b.record.id])
      expect([...has]).toEqual([a.record.id])
    })

    it('finds assertions by subject and predicate, in (hlc, id) order, bounded by as-of', async () => {
      const t = (w: number) => stamp(1_700_000_000_000 + w, 0)
      const x1 = assertion({subject: 's:x', predicate: 'p', value: 1, hlc: t(3)})
      const x2 = assertion({subject: 's:x', predicate: 'p', value: 2, hlc: t(1)})
      const x3 = assertion({subject: 's:x', predicate: 'q', value: 3, hlc: t(2)})
      const y = assertion({subject: 's:y', predicate: 'p', value: 4, hlc: t(0)})
      await store.insert([x1, x2, x3, y])
      expect((await store.assertions('s:x')).map((a) => a.value)).toEqual([2, 3, 1])
      expect((await store.assertions('s:x', 'p')).map((a) => a.value)).toEqual([2, 1])
      expect((await store.assertions('s:x', undefined, t(2))).map((a) => a.value)).toEqual([2, 3])
      expect(await store.assertions('s:none')).toEqual([])
      // Each one whole and under its own id; a store may leave the signature out, never alter it.
      const [got] = await store.assertions('s:y')
      const {sig, ...rest} = got
      const {sig: stored, ...want} = y.record
      expect(rest).toEqual(want)
      if (sig !== undefined) expect(sig).toBe(stored)
    })

    it('lists the stored ids that start with a prefix, in order, up to a limit', async () => {
      const rs = many(40)
      await store.insert(rs)
      const all = rs.map((r) => r.record.id).sort()
      for (const prefix of ['0', '8', 'f', all[7].slice(0, 3), all[20].slice(0, 12), all[33]]) {
        const want = all.filter((id) => id.startsWith(prefix))
        expect(await store.idsWithPrefix(prefix, 100)).toEqual(want)
        expect(await store.idsWithPrefix(prefix, 1)).toEqual(want.slice(0, 1))
      }
      // A prefix of a stored id with one more digit that none has.
      const id = all[5]
      const other = id.slice(0, 9) + ((parseInt(id[9], 16) + 1) % 16).toString(16)
      expect(await store.idsWithPrefix(other, 10)).toEqual(all.filter((x) => x.startsWith(other)))
    })

    it('finds records that reference ids: votes, retractions, trust, evidence and supersedes', async () => {
      const base = assertion({value: 'base'})
      const other = assertion({value: 'other'})
      const vote = record({kind: 'vote', target: base.record.id, weight: 1})
      const retract = record({kind: 'retract', target: base.record.id, reason: 'wrong'})
      const derived = assertion({value: 'derived', evidence: [base.record.id]})
      const newer = assertion({value: 'newer', supersedes: [base.record.id]})
      const unrelated = record({kind: 'vote', target: other.record.id, weight: -1})
      await store.insert([base, other, vote, retract, derived, newer, unrelated])
      const refs = await store.referencing([base.record.id])
      expect(new Set(refs.map((r) => r.id))).toEqual(new Set([vote, retract, derived, newer].map((s) => s.record.id)))
    })

    it('lists records of given kinds, bounded by as-of', async () => {
      const e = record({kind: 'epoch', name: 'post-2024', starts: '2024-01-01', hlc: stamp(1_700_000_000_100, 0)})
      const tr = record({kind: 'trust', target: testKey(2).publicHex, weight: 0.5, hlc: stamp(1_700_000_000_200, 0)})
      await store.insert([e, tr, assertion()])
      expect((await store.ofKinds(['epoch', 'trust'])).map((r) => r.kind)).toEqual(['epoch', 'trust'])
      expect((await store.ofKinds(['epoch', 'trust'], stamp(1_700_000_000_150, 0))).map((r) => r.kind)).toEqual(['epoch'])
    })

    it('scans everything in (hlc, id) order, in batches, with filters', async () => {
      const rs = many(120)
      await store.insert([...rs].reverse())
      const seen: string[] = []
      let batches = 0
      for await (const b of store.scan({batch: 50})) {
        batches++
        for (const s of b) seen.push(s.record.hlc + s.record.id)
      }
      expect(batches).toBe(3)
      expect(seen).toEqual([...seen].sort())
      expect(seen.length).toBe(120)
      const since: string[] = []
      for await (const b of store.scan({since: rs[99].record.hlc})) for (const s of b) since.push(s.record.id)
      expect(since).toEqual(rs.slice(100).map((s) => s.record.id))
      let n = 0
      for await (const b of store.scan({subject: 's:3'})) n += b.length
      expect(n).toBe(rs.filter((s) => s.record.kind === 'assertion' && s.record.subject === 's:3').length)
      let limited = 0
      for await (const b of store.scan({limit: 7})) limited += b.length
      expect(limited).toBe(7)
    })

    it('scan after a position gives exactly the records after it in (hlc, id) order, however many share its stamp', async () => {
      // Runs of 5 records sharing a stamp (agents stamp independently), over two sync buckets.
      const rs = Array.from({length: 40}, (_, i) => assertion({subject: `s:${i % 3}`, value: i, hlc: stamp(BUCKET_T0 + Math.floor(i / 5) * (i < 20 ? 1 : BUCKET_MS), 7)}, testKey(1 + (i % 5))))
      await store.insert([...rs].reverse())
      const all: Sealed['record'][] = []
      for await (const b of store.scan()) for (const s of b) all.push(s.record)
      const ids = all.map((r) => r.id)
      // Ids of both halves of the byte range, so a signed byte comparison would show.
      expect(ids.some((id) => id < '80')).toBe(true)
      expect(ids.some((id) => id >= '80')).toBe(true)
      const scanned = async (opts: Parameters<Store['scan']>[0]) => {
        const out: string[] = []
        for await (const b of store.scan(opts)) for (const s of b) out.push(s.record.id)
        return out
      }
      for (let i = 0; i < all.length; i++) {
        const after = {hlc: all[i].hlc, id: all[i].id}
        expect(await scanned({after}), `after record ${i}`).toEqual(ids.slice(i + 1))
        expect(await scanned({after, limit: 3}), `after record ${i}, 3 of them`).toEqual(ids.slice(i + 1, i + 4))
      }
      // A position no record holds: before, between and after the ids of one stamp.
      const h = all[10].hlc
      const run = all.filter((r) => r.hlc === h).map((r) => r.id)
      expect(await scanned({after: {hlc: h, id: '00'.repeat(32)}})).toEqual(ids.slice(ids.indexOf(run[0])))
      expect(await scanned({after: {hlc: h, id: 'ff'.repeat(32)}})).toEqual(ids.slice(ids.indexOf(run[run.length - 1]) + 1))
      // With the other filters: each narrows as it does alone.
      const pos = {hlc: all[7].hlc, id: all[7].id}
      expect(await scanned({after: pos, subject: 's:1'})).toEqual(all.slice(8).filter((r) => r.kind === 'assertion' && r.subject === 's:1').map((r) => r.id))
      expect(await scanned({after: pos, since: all[22].hlc})).toEqual(all.filter((r) => r.hlc > all[22].hlc).map((r) => r.id))
      expect(await scanned({after: {hlc: all[30].hlc, id: all[30].id}, since: all[2].hlc})).toEqual(ids.slice(31))
    })

    it('scan with columns finds the typed columns of every kind of record, however inserted, in agreement with it', async () => {
      const a = assertion({subject: 's:nul\u0000x', predicate: 'p\u0000', source: 'doi:1', evidence: ['ab'.repeat(32), 'cd'.repeat(32)], supersedes: ['ef'.repeat(32)]})
      const rs = [
        a,
        assertion({subject: 's:plain', predicate: 'p', value: 1}),
        record({kind: 'vote', target: a.record.id, weight: 1}),
        record({kind: 'retract', target: a.record.id, reason: 'wrong'}),
        record({kind: 'retract', source: 'doi:1'}),
        record({kind: 'epoch', name: 'e1', starts: '2024-01-01'}),
        record({kind: 'trust', target: testKey(2).publicHex, weight: 0.5}),
      ]
      await store.insert(rs.slice(0, 4))
      const rest = rs.slice(4).map((r) => ({...r, record: {...r.record}}))
      if (store.insertColumns) {
        const cols = new ColumnBuilder(rest.length)
        for (const r of rest) cols.add(r)
        await store.insertColumns([cols.done()])
      } else await store.insert(rest)
      const scanned: Scanned[] = []
      for await (const b of store.scan({columns: true})) scanned.push(...b)
      expect(scanned.length).toBe(rs.length)
      expect(scanned.filter((s) => s.mismatches)).toEqual([])
    })

    it('scan with columns reports each typed column that disagrees with its record: which, stored and expected', async (ctx) => {
      if (!fx.tamper) return ctx.skip()
      const base = assertion({subject: 't:x', predicate: 'p', value: 'A'})
      const derived = assertion({subject: 't:y', predicate: 'p', value: 'B', evidence: [base.record.id]})
      const vote = record({kind: 'vote', target: base.record.id, weight: 1})
      await store.insert([base, derived, vote])
      store = await fx.tamper(
        `UPDATE records SET subject = 't:evil' WHERE subject = 't:x';
         UPDATE records SET target = '${'00'.repeat(32)}', hlc = '0000000000000000-0000' WHERE kind = 'vote';
         DELETE FROM refs`,
      )
      const found = new Map<string, unknown>()
      for await (const b of store.scan({columns: true})) for (const s of b) if (s.mismatches) found.set(s.record.id, s.mismatches)
      expect(found).toEqual(
        new Map<string, unknown>([
          [base.record.id, [{column: 'subject', stored: 't:evil', expected: 't:x'}]],
          [derived.record.id, [{column: 'refs', stored: '', expected: `evidence:${base.record.id}`}]],
          [
            vote.record.id,
            [
              {column: 'hlc', stored: '0000000000000000-0000', expected: vote.record.hlc},
              {column: 'target', stored: '00'.repeat(32), expected: base.record.id},
            ],
          ],
        ]),
      )
      // Without the option, a scan reads no more than the records.
      for await (const b of store.scan()) for (const s of b) expect(s.mismatches).toBeUndefined()
    })

    it('a row whose stored text is no record: scan with damaged yields it marked and goes on; every other read stops at it, naming it', async (ctx) => {
      if (!fx.tamper) return ctx.skip()
      const sound = assertion({subject: 't:ok', predicate: 'p', value: 'A'})
      const notJson = assertion({subject: 't:broken', predicate: 'p', value: 'B'})
      const notRecord = assertion({subject: 't:array', predicate: 'p', value: 'C'})
      const noKind = assertion({subject: 't:kind', predicate: 'p', value: 'D'})
      const rival = assertion({subject: 't:broken', predicate: 'p', value: 'E'})
      await store.insert([sound, notJson, notRecord, noKind, rival])
      store = await fx.tamper(
        `UPDATE records SET canonical = '{' WHERE subject = 't:broken' AND canonical LIKE '%"value":"B"%';
         UPDATE records SET canonical = '[1]' WHERE subject = 't:array';
         UPDATE records SET canonical = '{"kind":"nope"}' WHERE subject = 't:kind'`,
      )
      const scanned: Scanned[] = []
      for await (const b of store.scan({columns: true, damaged: true})) scanned.push(...b)
      expect(scanned.length).toBe(5)
      const damaged = new Map(scanned.filter((s) => s.damaged !== undefined).map((s) => [s.record.id, s.damaged]))
      expect(damaged).toEqual(
        new Map([
          [notJson.record.id, expect.stringMatching(/^its stored text is not JSON \(.*\): "\{"$/)],
          [notRecord.record.id, 'its stored text is JSON but no record (a record is an object): "[1]"'],
          [noKind.record.id, 'its stored text is no record of a known kind (kind "nope"; known kinds: assertion, vote, retract, epoch, trust)'],
        ]),
      )
      expect(scanned.find((s) => s.record.id === sound.record.id)?.record).toEqual(sound.record)
      // In clock order, whole or a page (read by row id where the adapter does), the same rows come marked.
      for (const opts of [{damaged: true}, {damaged: true, limit: 4}]) {
        const marked: string[] = []
        for await (const b of store.scan(opts)) for (const s of b) if (s.damaged !== undefined) marked.push(s.record.id)
        expect(marked.sort()).toEqual([notJson, notRecord, noKind].map((r) => r.record.id).sort())
      }
      const fails = async (p: Promise<unknown>, ...ids: string[]) => {
        const e = await p.then(() => undefined, (err: unknown) => err)
        expect(e).toBeInstanceOf(DamagedRecordError)
        const id = (e as DamagedRecordError).id
        expect(ids).toContain(id)
        expect((e as DamagedRecordError).message).toContain(`record ${id} in the store is damaged: `)
        expect((e as DamagedRecordError).exit).toBe(1)
        expect((e as DamagedRecordError).hint).toContain('steme fsck')
      }
      await fails(store.get([notJson.record.id]), notJson.record.id)
      await fails(store.assertions('t:array'), notRecord.record.id)
      await fails(store.assertions('t:broken', 'p'), notJson.record.id)
      for (const opts of [{}, {columns: true}, {limit: 4}]) {
        await fails((async () => {
          for await (const b of store.scan(opts)) void b
        })(), notJson.record.id, notRecord.record.id, noKind.record.id)
      }
      await fails((async () => {
        for await (const b of (await store.contested()).batches) void b
      })(), notJson.record.id)
      // The sound record reads as before.
      expect((await store.get([sound.record.id]))[0].record).toEqual(sound.record)
    })

    it('derived tables agree with the records however they were inserted, and a repair of a sound store changes nothing', async () => {
      // Every adapter here keeps derived data (memory: its sync buckets), so each can be checked.
      if (!store.derivedProblems || !store.repairDerived) expect.fail(`${name} does not check its derived data`)
      const a = assertion({subject: 's:a', evidence: ['ab'.repeat(32), 'ef'.repeat(32)], supersedes: ['cd'.repeat(32)], hlc: stamp(BUCKET_T0, 1)})
      const rs = [a, record({kind: 'vote', target: a.record.id, weight: 1, hlc: stamp(BUCKET_T0 + BUCKET_MS * 3, 0)}), ...many(30)]
      await store.insert(rs.slice(0, 10))
      const rest = rs.slice(10).map((r) => ({...r, record: {...r.record}}))
      if (store.insertColumns) {
        const cols = new ColumnBuilder(rest.length)
        for (const r of rest) cols.add(r)
        await store.insertColumns([cols.done()])
      } else await store.insert(rest)
      expect(await store.derivedProblems()).toEqual([])
      const sums = await store.bucketSums(0, 2 ** 44 - 1)
      expect(await store.repairDerived([])).toEqual({records: 0, refsRemoved: 0, buckets: 0})
      expect(await store.bucketSums(0, 2 ** 44 - 1)).toEqual(sums)
    })

    it('derivedProblems finds refs of no record and every kind of sync bucket drift; repairDerived mends them from the records, records untouched', async (ctx) => {
      if (!fx.tamper) return ctx.skip()
      const at = (k: number, c = 0) => stamp(BUCKET_T0 + k * BUCKET_MS, c)
      const base = assertion({subject: 't:base', hlc: at(0, 1)})
      const gone = assertion({subject: 't:gone', evidence: [base.record.id], supersedes: ['cd'.repeat(32)], hlc: at(0, 2)})
      const cites = assertion({subject: 't:cites', evidence: [base.record.id], hlc: at(1)})
      const vote = record({kind: 'vote', target: base.record.id, weight: 1, hlc: at(2)})
      const [x, y] = [assertion({subject: 't:x', hlc: at(3)}), assertion({subject: 't:y', hlc: at(4)})]
      await store.insert([base, gone, cites, vote, x, y])
      const b = (r: Sealed) => bucketOf(r.record.hlc)
      // Portable SQL (DuckDB and PostgreSQL): a record deleted behind the store's back leaves its
      // refs rows and its bucket count; bucket rows moved, dropped and swapped; a column and a
      // record's refs rows changed.
      store = await fx.tamper(
        `DELETE FROM records WHERE subject = 't:gone';
         UPDATE sync_buckets SET bucket = bucket + 1000 WHERE bucket = ${b(cites)};
         DELETE FROM sync_buckets WHERE bucket = ${b(vote)};
         UPDATE sync_buckets SET bucket = -1 WHERE bucket = ${b(x)};
         UPDATE sync_buckets SET bucket = ${b(x)} WHERE bucket = ${b(y)};
         UPDATE sync_buckets SET bucket = ${b(y)} WHERE bucket = -1;
         UPDATE records SET subject = 't:evil' WHERE subject = 't:base';
         DELETE FROM refs WHERE src IN (SELECT id FROM records WHERE subject = 't:cites')`,
      )
      const t = (...rs: Sealed[]): BucketTally => ({count: rs.length, sum: valueId(rs.reduce((s, r) => (s + idValue(r.record.id)) % MOD, 0n))})
      expect(await store.derivedProblems!()).toEqual([
        {table: 'refs', src: gone.record.id, edges: [`evidence:${base.record.id}`, `supersedes:${'cd'.repeat(32)}`]},
        {table: 'sync_buckets', bucket: b(base), stored: t(base, gone), expected: t(base)},
        {table: 'sync_buckets', bucket: b(cites), stored: null, expected: t(cites)},
        {table: 'sync_buckets', bucket: b(vote), stored: null, expected: t(vote)},
        {table: 'sync_buckets', bucket: b(x), stored: t(y), expected: t(x)},
        {table: 'sync_buckets', bucket: b(y), stored: t(x), expected: t(y)},
        {table: 'sync_buckets', bucket: b(cites) + 1000, stored: t(cites), expected: null},
      ])
      const kept = [base, cites, vote, x, y]
      expect(await store.repairDerived!([base.record, cites.record])).toEqual({records: 2, refsRemoved: 2, buckets: 6})
      expect(await store.derivedProblems!()).toEqual([])
      for await (const batch of store.scan({columns: true})) for (const s of batch) expect(s.mismatches).toBeUndefined()
      expect((await store.assertions('t:base')).map((r) => r.id)).toEqual([base.record.id])
      expect((await store.referencing([base.record.id])).map((r) => r.id).sort()).toEqual([cites.record.id, vote.record.id].sort())
      const sums = await store.bucketSums(0, 2 ** 44 - 1)
      expect(sums.map((s) => ({bucket: s.bucket, count: s.count, sum: valueId(s.sum)}))).toEqual(kept.map((r) => ({bucket: b(r), ...t(r)})))
      // The records themselves are exactly as they were.
      const got = await store.get(kept.map((r) => r.record.id))
      expect(new Map(got.map((s) => [s.record.id, [s.canonical, s.record.sig]]))).toEqual(new Map(kept.map((r) => [r.record.id, [r.canonical, r.record.sig]])))
    })

    it('a typed hlc column that is no stamp takes its record out of its bucket, without failing the check; the repair puts it back', async (ctx) => {
      if (!fx.tamper) return ctx.skip()
      const [x, y] = [assertion({subject: 't:x', hlc: stamp(BUCKET_T0, 1)}), assertion({subject: 't:y', hlc: stamp(BUCKET_T0, 2)})]
      await store.insert([x, y])
      store = await fx.tamper(`UPDATE records SET hlc = 'garbage' WHERE subject = 't:x'`)
      const [drift] = await store.derivedProblems!()
      expect(drift).toMatchObject({table: 'sync_buckets', bucket: bucketOf(x.record.hlc), stored: {count: 2}, expected: {count: 1}})
      // The bucket row was right all along: only the column is rewritten.
      expect(await store.repairDerived!([x.record])).toEqual({records: 1, refsRemoved: 0, buckets: 0})
      expect(await store.derivedProblems!()).toEqual([])
      expect(await store.maxHlc()).toBe(y.record.hlc)
    })

    it('counts by kind, agents and subjects', async () => {
      await store.insert([assertion({subject: 'a'}), assertion({subject: 'b'}, testKey(2)), record({kind: 'vote', target: 'ab'.repeat(32), weight: 1})])
      const s = await store.stats()
      expect(s.records).toBe(3)
      expect(s.byKind.assertion).toBe(2)
      expect(s.byKind.vote).toBe(1)
      expect(s.agents).toBe(2)
      expect(s.subjects).toBe(2)
    })

    it('keeps meta values and the highest hlc', async () => {
      expect(await store.getMeta('k')).toBeUndefined()
      await store.setMeta('k', 'v1')
      await store.setMeta('k', 'v2')
      expect(await store.getMeta('k')).toBe('v2')
      // The highest across buckets, and within the newest bucket (records in no stamp order).
      const hi = assertion({hlc: stamp(1_800_000_000_500, 0)})
      await store.insert([assertion({hlc: stamp(1_800_000_000_000, 9)}), assertion({hlc: stamp(1_700_000_000_000, 1)}), hi, assertion({hlc: stamp(1_800_000_000_000, 5)})])
      expect(await store.maxHlc()).toBe(hi.record.hlc)
    })

    it('survives concurrent inserts of overlapping batches without duplicates', async () => {
      const rs = many(300)
      const results = await Promise.all([store.insert(rs.slice(0, 200)), store.insert(rs.slice(100, 300)), store.insert(rs.slice(50, 250))])
      expect(results.reduce((t, r) => t + r.added, 0)).toBe(300)
      expect((await store.stats()).records).toBe(300)
    })

    it('persists across reopen', async () => {
      if (!fx.reopen) return
      const rs = many(20)
      await store.insert(rs)
      await store.setMeta('hlc', 'x')
      store = await fx.reopen()
      expect((await store.stats()).records).toBe(20)
      expect(await store.getMeta('hlc')).toBe('x')
      expect((await store.get([rs[7].record.id]))[0].canonical).toBe(rs[7].canonical)
    })

    it('keeps sync bucket sums equal to the sum of the stored ids, duplicates counted once', async () => {
      const t0 = 1_700_000_000_000
      const rs = Array.from({length: 60}, (_, i) => assertion({value: i, hlc: stamp(t0 + i * 200_000, i)}))
      await store.insert(rs.slice(0, 40))
      await Promise.all([store.insert(rs.slice(20, 60)), store.insert(rs.slice(30, 50))])
      const want = new Map<number, {count: number; sum: bigint}>()
      for (const r of rs) {
        const b = bucketOf(r.record.hlc)
        const w = want.get(b) ?? {count: 0, sum: 0n}
        w.count++
        w.sum = (w.sum + idValue(r.record.id)) % MOD
        want.set(b, w)
      }
      const got = await store.bucketSums(0, 2 ** 44 - 1)
      expect(got.map((g) => g.bucket)).toEqual([...want.keys()].sort((a, b) => a - b))
      for (const g of got) expect({count: g.count, sum: g.sum}).toEqual(want.get(g.bucket))
      const some = got.slice(1, 3)
      expect(await store.bucketSums(some[0].bucket, some[1].bucket)).toEqual(some)
    })

    it('lists ids of a bucket range in (bucket, id) order', async () => {
      const t0 = 1_700_000_000_000
      const rs = Array.from({length: 30}, (_, i) => assertion({value: i, hlc: stamp(t0 + (i % 3) * 2_000_000, i)}))
      await store.insert(rs)
      const all = rs.map((r) => ({bucket: bucketOf(r.record.hlc), id: r.record.id})).sort((a, b) => a.bucket - b.bucket || (a.id < b.id ? -1 : 1))
      expect(await store.bucketIds([{from: 0, to: 2 ** 44 - 1}])).toEqual(all)
      const b1 = all[10].bucket
      expect(await store.bucketIds([{from: b1, to: b1}])).toEqual(all.filter((x) => x.bucket === b1))
      const [lo, , hi] = [...new Set(all.map((x) => x.bucket))]
      expect(await store.bucketIds([{from: lo, to: lo}, {from: hi, to: hi}])).toEqual(all.filter((x) => x.bucket === lo || x.bucket === hi))
      expect(await store.bucketIds([])).toEqual([])
    })

    it('keeps bucket sums across reopen', async () => {
      if (!fx.reopen) return
      await store.insert(many(25))
      const before = await store.bucketSums(0, 2 ** 44 - 1)
      store = await fx.reopen()
      expect(await store.bucketSums(0, 2 ** 44 - 1)).toEqual(before)
    })

    it('walks lineage up through evidence, bounded by until', async () => {
      const r1 = assertion({subject: 's:raw', value: 1, hlc: stamp(1_700_000_000_000, 1)})
      const r2 = assertion({subject: 's:raw', value: 2, hlc: stamp(1_700_000_000_000, 2)})
      const m = assertion({subject: 's:mid', value: 3, evidence: [r1.record.id, r2.record.id], hlc: stamp(1_700_000_001_000, 0)})
      const d = assertion({value: 4, evidence: [m.record.id], hlc: stamp(1_700_000_002_000, 0)})
      const other = assertion({value: 5, hlc: stamp(1_700_000_002_000, 1)})
      await store.insert([r1, r2, m, d, other])
      expect((await store.lineage([d.record.id])).map((a) => a.id)).toEqual([r1.record.id, r2.record.id, m.record.id])
      expect((await store.lineage([d.record.id], stamp(1_700_000_000_500, 0))).map((a) => a.id)).toEqual([])
      expect(await store.lineage([other.record.id])).toEqual([])
    })

    it('returns the evidence graph below a seed of ids or sources, with full evidence lists', async () => {
      const r1 = assertion({subject: 's:raw', value: 1, source: 'lab:1', hlc: stamp(1_700_000_000_000, 1)})
      const r2 = assertion({subject: 's:raw', value: 2, source: 'lab:2', hlc: stamp(1_700_000_000_000, 2)})
      const d1 = assertion({value: 3, evidence: [r1.record.id], hlc: stamp(1_700_000_001_000, 0)})
      const d2 = assertion({value: 4, evidence: [r1.record.id, r2.record.id], hlc: stamp(1_700_000_001_000, 1)})
      const d3 = assertion({value: 5, evidence: [d1.record.id], hlc: stamp(1_700_000_002_000, 0)})
      await store.insert([r1, r2, d1, d2, d3])
      const bySource = await store.cascadeGraph({sources: ['lab:1']})
      expect(bySource.roots).toEqual([r1.record.id])
      const nodes = new Map(bySource.nodes.map((n) => [n.id, [...n.evidence].sort()]))
      expect([...nodes.keys()].sort()).toEqual([d1.record.id, d2.record.id, d3.record.id].sort())
      expect(nodes.get(d2.record.id)).toEqual([r1.record.id, r2.record.id].sort())
      const byId = await store.cascadeGraph({ids: [d1.record.id, 'f'.repeat(64)]})
      expect(byId.roots).toEqual([d1.record.id])
      expect(byId.nodes.map((n) => n.id)).toEqual([d3.record.id])
      const early = await store.cascadeGraph({sources: ['lab:1']}, stamp(1_700_000_001_500, 0))
      expect(early.nodes.map((n) => n.id).sort()).toEqual([d1.record.id, d2.record.id].sort())
      expect((await store.cascadeGraph({sources: ['nobody']})).roots).toEqual([])
    })

    it('finds retractions of sources', async () => {
      const a = assertion({source: 'lab:1'})
      const rs = record({kind: 'retract', source: 'lab:1', reason: 'bad', hlc: stamp(1_700_000_005_000, 0)})
      const rt = record({kind: 'retract', target: a.record.id})
      const other = record({kind: 'retract', source: 'lab:2'})
      await store.insert([a, rs, rt, other])
      expect((await store.sourceRetractions(['lab:1'])).map((r) => r.id)).toEqual([rs.record.id])
      expect(await store.sourceRetractions(['lab:1'], stamp(1_700_000_004_000, 0))).toEqual([])
      expect((await store.sourceRetractions(['lab:1', 'lab:2'])).length).toBe(2)
    })

    it('scans the assertions of one predicate', async () => {
      const a = assertion({predicate: 'p1', value: 1})
      const b = assertion({predicate: 'p2', value: 2})
      const c = assertion({subject: 's:other', predicate: 'p1', value: 3})
      await store.insert([a, b, c, record({kind: 'retract', target: a.record.id})])
      const got: string[] = []
      for await (const batch of store.scan({predicate: 'p1'})) for (const s of batch) got.push(s.record.id)
      expect(got.sort()).toEqual([a.record.id, c.record.id].sort())
    })

    it('hands over the pairs holding more than one value, with all their assertions, in batches of whole pairs, bounded by until', async () => {
      const at = (n: number) => stamp(1_700_000_100_000 + n, 0)
      const one = (subject: string, value: Json, n: number, predicate = 'p') => assertion({subject, predicate, value, hlc: at(n)}, testKey((n % 3) + 1))
      const split = [one('s:split', 1, 1), one('s:split', 1, 2), one('s:split', 2, 3)]
      const nested = [one('s:nested', {value: 1}, 4), one('s:nested', {b: 2, value: 1}, 5)]
      const late = [one('s:late', 'x', 6), one('s:late', 'y', 9)]
      // Keys a database may store alike (NUL is not valid in PostgreSQL text) stay two pairs of one value each.
      const nul = [one('s:nul\u0000', 'a', 7, 'q'), one('s:nul\uFFFD', 'b', 8, 'q')]
      await store.insert([...split, ...nested, ...late, ...nul, one('s:agree', true, 10), one('s:agree', true, 11), one('s:lone', 5, 12), record({kind: 'vote', target: split[0].record.id, weight: 1})])
      const read = async (until?: string, batch?: number) => {
        const {pairs, batches: parts} = await store.contested({until, batch})
        const batches: string[][][] = []
        const targeted: string[] = []
        for await (const b of parts) {
          batches.push(b.groups.map((g) => g.map((a) => a.id)))
          targeted.push(...b.targeted)
        }
        return {pairs, batches, targeted}
      }
      const ids = (xs: typeof split) => xs.map((s) => s.record.id)
      const all = await read(undefined, 1)
      expect(all.pairs).toBe(7)
      expect(all.batches.every((b) => b.length === 1)).toBe(true)
      expect(all.batches.flat().sort()).toEqual([ids(late), ids(nested), ids(split)].sort())
      // Only the voted-on assertion needs a lookup of what points at it.
      expect(all.targeted).toEqual([split[0].record.id])
      const early = await read(at(8))
      expect(early.pairs).toBe(5)
      expect(early.batches.flat().sort()).toEqual([ids(nested), ids(split)].sort())
    })

    it('hands over every contested pair of a store of many exactly once, each whole and in (hlc, id) order, in any batch size', async () => {
      const keys = [1, 2, 3].map((n) => testKey(n))
      const at = (n: number) => stamp(1_700_000_300_000 + (n % 89) * 1000, n % 5)
      const rs: Sealed[] = []
      // Subjects whose order differs in UTF-16 and in UTF-8 bytes, several predicates each; pairs of one to five values.
      const subjects = [...Array.from({length: 40}, (_, i) => `s:${i}`), 'é', 'z', '\uFFFF', '\u{1F600}', 'a b']
      let n = 0
      subjects.forEach((subject, i) => {
        for (const predicate of ['p', 'q', 'p\u00e9', '\u{1F600}'].slice(0, 1 + (i % 4))) {
          const values = 1 + ((i + predicate.length) % 5)
          for (let k = 0; k < 2 + (i % 3); k++) rs.push(assertion({subject, predicate, value: (k * 7 + i) % values, hlc: at(n++)}, keys[n % 3]))
        }
      })
      await store.insert(rs)
      const want = new Map<string, Sealed[]>()
      for (const s of rs) {
        const a = s.record as Extract<Sealed['record'], {kind: 'assertion'}>
        const k = JSON.stringify([a.subject, a.predicate])
        want.set(k, [...(want.get(k) ?? []), s])
      }
      const contested = [...want.values()]
        .filter((g) => new Set(g.map((s) => JSON.stringify((s.record as {value: Json}).value))).size > 1)
        .map((g) => g.map((s) => s.record).sort((a, b) => (a.hlc < b.hlc ? -1 : a.hlc > b.hlc ? 1 : a.id < b.id ? -1 : 1)).map((r) => r.id))
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      expect(contested.length).toBeGreaterThan(50)
      expect(contested.length).toBeLessThan(want.size)
      for (const batch of [1, 7, 10_000]) {
        const {pairs, batches} = await store.contested({batch})
        const got: string[][] = []
        for await (const b of batches) got.push(...b.groups.map((g) => g.map((a) => a.id)))
        expect(pairs, `batch ${batch}`).toBe(want.size)
        expect(got.sort((a, b) => (a[0] < b[0] ? -1 : 1)), `batch ${batch}`).toEqual(contested)
      }
    })

    it('flags the contested assertions that an assertion about another pair supersedes, whatever its hlc', async () => {
      const at = (n: number) => stamp(1_700_000_200_000 + n, 0)
      const one = (subject: string, predicate: string, value: Json, n: number, supersedes?: string[]) => assertion({subject, predicate, value, hlc: at(n), ...(supersedes ? {supersedes} : {})})
      const [a1, a2, a3, a4] = [1, 2, 3, 4].map((v) => one('s:a', 'p', v, v))
      // Keys PostgreSQL text stores alike (NUL as U+FFFD) are still two pairs.
      const [n1, n2] = [one('s:n\u0000', 'q', 'x', 5), one('s:n\u0000', 'q', 'y', 6)]
      await store.insert([
        a1, a2, a3, a4, n1, n2,
        one('s:x', 'p', 1, 10, [a1.record.id]), // another subject
        one('s:a', 'q', 2, 11, [a2.record.id]), // the same subject, another predicate
        one('s:a', 'p', 5, 12, [a3.record.id]), // the same pair: seen in the pair itself
        one('s:a', 'p', 6, 14, [a3.record.id, a2.record.id]), // the same pair again, and a2's second superseder
        one('s:w', 'p', 4, 30, [a4.record.id]), // another subject, after the bound below
        one('s:n\uFFFD', 'q', 'z', 13, [n1.record.id]),
      ])
      const flagged = async (until?: string) => {
        const out: string[] = []
        for await (const b of (await store.contested({until})).batches) out.push(...b.supersededElsewhere)
        return out.sort()
      }
      const want = [a1, a2, a4, n1].map((s) => s.record.id).sort()
      expect(await flagged()).toEqual(want)
      expect(await flagged(at(20))).toEqual(want)
    })

    it('query --valid-at: a superseder, about the same pair or another, supersedes only at dates its valid range covers', async () => {
      const at = (n: number) => stamp(1_700_000_300_000 + n, 0)
      const say = (subject: string, predicate: string, value: Json, n: number, more: {valid?: {from?: string; to?: string}; supersedes?: string[]} = {}) => assertion({subject, predicate, value, hlc: at(n), ...more})
      const tls = say('svc:api', 'tls-min', '1.0', 1, {valid: {from: '2020-01-01'}})
      const tls12 = say('svc:api', 'tls-min', '1.2', 2, {valid: {from: '2025-01-01'}, supersedes: [tls.record.id]})
      // Superseded from another subject and predicate, by a record whose range ended in 2024.
      const port = say('svc:api', 'port', 80, 3)
      const moved = say('svc:edge', 'listen', 443, 4, {valid: {from: '2021-01-01', to: '2024-01-01'}, supersedes: [port.record.id]})
      await store.insert([tls, tls12, port, moved])
      const deps = {store, config: {...DEFAULT_CONFIG}, self: testKey().publicHex}
      const ask = async (predicate: string, validAt?: string) => {
        const res = await queryOp(deps, {subject: 'svc:api', predicate, lens: 'recency', validAt, now: 1_800_000_000_000})
        return {winner: res.resolutions[0].winner?.value, states: Object.fromEntries(res.candidates.map((c) => [c.value as string, c.state]))}
      }
      expect(await ask('tls-min', '2022-06-01')).toEqual({winner: '1.0', states: {'1.0': 'live', '1.2': 'not-valid'}})
      expect(await ask('tls-min', '2025-06-01')).toEqual({winner: '1.2', states: {'1.0': 'superseded', '1.2': 'live'}})
      expect(await ask('tls-min')).toEqual({winner: '1.2', states: {'1.0': 'superseded', '1.2': 'live'}})
      expect(await ask('port', '2019-06-01')).toEqual({winner: 80, states: {80: 'live'}})
      expect(await ask('port', '2022-06-01')).toEqual({winner: undefined, states: {80: 'superseded'}})
      expect(await ask('port', '2025-06-01')).toEqual({winner: 80, states: {80: 'live'}})
      expect(await ask('port')).toEqual({winner: undefined, states: {80: 'superseded'}})
    })

    it('conflicts --valid-at: the pairs contested at a date, each as query --valid-at resolves it, superseders about other pairs included', async () => {
      const at = (n: number) => stamp(1_700_000_400_000 + n, 0)
      const other = testKey(2)
      const say = (subject: string, predicate: string, value: Json, n: number, more: {valid?: {from?: string; to?: string}; supersedes?: string[]} = {}, key = testKey()) => assertion({subject, predicate, value, hlc: at(n), ...more}, key)
      // tls-min: 1.0 from 2020, another agent's 1.1 beside it 2021 to 2023, 1.2 replacing 1.0 from 2025.
      const tls = say('svc:api', 'tls-min', '1.0', 1, {valid: {from: '2020-01-01'}})
      const side = say('svc:api', 'tls-min', '1.1', 2, {valid: {from: '2021-01-01', to: '2023-01-01'}}, other)
      const tls12 = say('svc:api', 'tls-min', '1.2', 3, {valid: {from: '2025-01-01'}, supersedes: [tls.record.id]})
      // port: 80 against 8080, except while a record about another subject replaced 80 (2021 to 2024).
      const port = say('svc:api', 'port', 80, 4)
      const alt = say('svc:api', 'port', 8080, 5, {}, other)
      const moved = say('svc:edge', 'listen', 443, 6, {valid: {from: '2021-01-01', to: '2024-01-01'}, supersedes: [port.record.id]})
      await store.insert([tls, side, tls12, port, alt, moved])
      // The store flags 80 whatever the superseder's range: the date is the op's to apply.
      const flagged: string[] = []
      for await (const b of (await store.contested()).batches) flagged.push(...b.supersededElsewhere)
      expect(flagged).toEqual([port.record.id])
      const deps = {store, config: {...DEFAULT_CONFIG}, key: () => testKey()}
      const listed = async (validAt?: string) => {
        const res = await conflictsOp(deps, {validAt, now: 1_800_000_000_000})
        expect(res.validAt).toBe(validAt)
        for (const row of res.conflicts) {
          const [r] = (await queryOp({...deps, self: testKey().publicHex}, {subject: row.subject, predicate: row.predicate, lens: 'consensus', validAt, now: 1_800_000_000_000})).resolutions
          expect(row, `${row.predicate} at ${validAt ?? 'any date'}`).toEqual(conflictRow(r))
        }
        return res.conflicts.map((c) => `${c.predicate} ${c.top.map((t) => t.value).sort().join(' ')}`).sort()
      }
      expect(await listed('2020-06-01')).toEqual(['port 80 8080'])
      expect(await listed('2022-06-01')).toEqual(['tls-min "1.0" "1.1"'])
      expect(await listed('2024-06-01')).toEqual(['port 80 8080'])
      expect(await listed('2025-06-01')).toEqual(['port 80 8080'])
      // Undated, the score is the highest any date gives (80 against 8080 before 2021 and from 2024;
      // 1.0 against 1.1 from 2021 to 2023), while the values and camps are the answer over all
      // dates, where 1.2 replaces 1.0 and the record about svc:edge replaces 80.
      expect(await listed()).toEqual(['port 8080', 'tls-min "1.1" "1.2"'])
      for (const row of (await conflictsOp(deps, {now: 1_800_000_000_000})).conflicts) {
        expect(row.conflictAt, row.predicate).toBeDefined()
        const then = (await conflictsOp(deps, {validAt: row.conflictAt, now: 1_800_000_000_000})).conflicts.find((c) => c.predicate === row.predicate)
        expect(then?.conflict, `${row.predicate} at ${row.conflictAt}`).toBe(row.conflict)
      }
    })

    it('conflicts without --valid-at: the score is the highest query --valid-at gives at any date, and skeptic holds it against its threshold', async () => {
      let n = 0
      const say = (subject: string, value: Json, who: number, valid?: {from?: string; to?: string}) =>
        assertion({subject, predicate: 'tls', value, source: `w:${who}`, hlc: stamp(1_700_000_600_000 + ++n, 0), ...(valid ? {valid} : {})}, testKey(who))
      await store.insert([
        // "v" from two witnesses (2020 to 2022) and a third (from 2024); "u" from a fourth throughout.
        say('svc:later', 'v', 1, {from: '2020-01-01', to: '2022-01-01'}),
        say('svc:later', 'v', 2, {from: '2020-01-01', to: '2022-01-01'}),
        say('svc:later', 'v', 3, {from: '2024-01-01'}),
        say('svc:later', 'u', 4),
        // Two witnesses switch "x" to "y" in July 2025; two more say "y", one "x".
        say('svc:switch', 'x', 5, {to: '2025-07-01'}),
        say('svc:switch', 'x', 6, {to: '2025-07-01'}),
        say('svc:switch', 'y', 5, {from: '2025-07-01'}),
        say('svc:switch', 'y', 6, {from: '2025-07-01'}),
        say('svc:switch', 'y', 7),
        say('svc:switch', 'y', 8),
        say('svc:switch', 'x', 9),
      ])
      const deps = {store, config: {...DEFAULT_CONFIG}, key: () => testKey()}
      const now = 1_800_000_000_000
      const ask = async (subject: string, lens: string, validAt?: string) => (await queryOp({...deps, self: testKey().publicHex}, {subject, predicate: 'tls', lens, validAt, now})).resolutions[0]
      const res = await conflictsOp(deps, {minScore: 0.5, now})
      expect(res.conflicts.map((c) => `${c.subject} ${c.conflict}`)).toEqual(['svc:later 1', 'svc:switch 0.8'])
      for (const row of res.conflicts) expect(row).toEqual(conflictRow(await ask(row.subject, 'consensus')))
      expect((await ask('svc:later', 'consensus', '2024-06-01')).conflict).toBe(1)
      expect((await ask('svc:switch', 'consensus', '2025-06-01')).conflict).toBeCloseTo(0.8, 12)
      for (const subject of ['svc:later', 'svc:switch']) expect((await ask(subject, 'skeptic')).status, subject).toBe('contested')
    })

    it('conflicts without --valid-at: values whose valid ranges never overlap are a timeline, not a conflict', async () => {
      const at = (n: number) => stamp(1_700_000_500_000 + n, 0)
      const say = (predicate: string, value: Json, n: number, valid?: {from?: string; to?: string}) => assertion({subject: 'svc:api', predicate, value, hlc: at(n), ...(valid ? {valid} : {})}, testKey(n))
      await store.insert([
        // One range ends where the next starts: valid.to is the first moment a value no longer holds.
        say('tls-min', '1.2', 1, {to: '2025-07-01'}),
        say('tls-min', '1.3', 2, {from: '2025-07-01'}),
        // Overlapping by a day.
        say('tls-max', '1.2', 3, {to: '2025-07-02'}),
        say('tls-max', '1.3', 4, {from: '2025-07-01'}),
        // A value without a range holds always.
        say('port', 80, 5),
        say('port', 8080, 6, {to: '2020-01-01'}),
      ])
      const deps = {store, config: {...DEFAULT_CONFIG}, key: () => testKey()}
      const res = await conflictsOp(deps, {now: 1_800_000_000_000})
      expect(res.conflicts.map((c) => `${c.predicate} ${c.conflict}`).sort()).toEqual(['port 1', 'tls-max 1'])
      const [q] = (await queryOp({...deps, self: testKey().publicHex}, {subject: 'svc:api', predicate: 'tls-min', lens: 'consensus', now: 1_800_000_000_000})).resolutions
      expect(q.conflict).toBe(0)
      expect(q.candidates.map((c) => c.probability)).toEqual([0.5, 0.5])
    })
  })
}
