/** fsck checks the derived tables (refs, sync_buckets) against the records, and --repair rewrites them, on a real DuckDB file changed behind steme's back. */
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {join} from 'node:path'
import {bucketOf} from '../../src/core/bucket.js'
import {initHash} from '../../src/core/hash.js'
import {recordLine, type Sealed} from '../../src/core/seal.js'
import type {FsckResult} from '../../src/ops/fsck.js'
import {sandbox, tamperStore, type Sandbox} from '../helpers/cli.js'
import {sandboxFrom} from '../helpers/fixture.js'
import {assertion, record, stamp} from '../helpers/records.js'

let sb: Sandbox
// A store made by `steme init`, and stores made from it by `steme ingest` of the records a test
// starts from, each made once: every test changes a copy of one of them.
let fresh: Sandbox
const made = new Map<string, Sandbox>()
beforeAll(async () => {
  await initHash()
  fresh = sandbox('steme-fsck-derived-')
  expect(fresh.run(['init']).code).toBe(0)
})
afterEach(() => sb?.cleanup())
afterAll(() => {
  for (const f of made.values()) f.cleanup()
  fresh?.cleanup()
})

const tamper = (sql: string) => tamperStore(sb, sql)

/** This test's store (sb): a fresh store into which `steme ingest` stored `rs`, and nothing else. */
const ingest = (rs: readonly Sealed[]) => {
  const key = rs.map((s) => s.record.id).join(' ')
  let fixture = made.get(key)
  if (!fixture) {
    fixture = sandboxFrom(fresh, 'steme-fsck-derived-')
    expect(fixture.run(['ingest', '-'], {input: rs.map((s) => recordLine(s.canonical, s.record.id, s.record.sig)).join('\n') + '\n'}).code).toBe(0)
    made.set(key, fixture)
  }
  sb = sandboxFrom(fixture, 'steme-fsck-derived-')
}
const fsck = (...args: string[]) => {
  const r = sb.run(['fsck', '--json', ...args])
  return {code: r.code, res: JSON.parse(r.stdout) as FsckResult, stderr: r.stderr}
}
const exported = () => sb.run(['export']).stdout.split('\n').filter(Boolean).sort()

/** Records in three sync buckets: a base fact, one that cites it, one that will vanish, and a vote. */
function sample() {
  const at = (k: number, c: number) => stamp(1_700_000_000_000 + k * 2 ** 21, c)
  const base = assertion({subject: 't:x', predicate: 'p', value: 'A', hlc: at(0, 1)})
  const cites = assertion({subject: 't:y', predicate: 'p', value: 'B', evidence: [base.record.id], hlc: at(0, 2)})
  const gone = assertion({subject: 't:gone', predicate: 'p', value: 'C', evidence: [base.record.id], hlc: at(1, 1)})
  const vote = record({kind: 'vote', target: base.record.id, weight: 1, hlc: at(2, 1)})
  return {base, cites, gone, vote}
}

describe('steme fsck and the derived tables', () => {
  it('a sound store: no derived problem, exit 0, and --repair has nothing to do', () => {
    const {base, cites, vote} = sample()
    ingest([base, cites, vote])
    const ok = fsck()
    expect(ok.code).toBe(0)
    expect(ok.res).toMatchObject({checked: 3, bad: [], derived: [], ok: true})
    const r = sb.run(['fsck', '--repair'])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('3 records checked, 0 bad\nnothing to repair\n')
  })

  it('reports refs rows of no record and drifted sync buckets with table, key and what is wrong; exit 1; --repair rewrites them from the records', () => {
    const {base, cites, gone, vote} = sample()
    ingest([base, cites, gone, vote])
    const before = exported()
    // A record deleted behind steme's back leaves its edges and its bucket count; a bucket row
    // changed; a column and a record's refs rows changed.
    tamper(`DELETE FROM records WHERE id = unhex('${gone.record.id}');
      UPDATE sync_buckets SET n = n + 5 WHERE bucket = ${bucketOf(vote.record.hlc)};
      UPDATE records SET subject = 't:evil' WHERE id = unhex('${base.record.id}');
      DELETE FROM refs WHERE src = unhex('${cites.record.id}')`)
    const r = sb.run(['fsck'])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('3 records checked, 2 bad; 3 derived-table problems\n')
    expect(r.stderr).toContain(`bad record ${base.record.id}: typed columns disagree with the record: subject is stored as "t:evil", the record says "t:x"`)
    expect(r.stderr).toContain(`bad record ${cites.record.id}: its refs table rows disagree with the record: they hold "", the record declares "evidence:${base.record.id}"`)
    expect(r.stderr).toContain(`refs: 1 row from ${gone.record.id}, which is not a stored record (evidence:${base.record.id}): "cited by" lookups and retraction cascades follow edges no record declares`)
    expect(r.stderr).toMatch(new RegExp(`sync_buckets: the row for bucket ${bucketOf(gone.record.hlc)} \\(hlc [0-9a-f]{11}…, from 2023-[^)]+\\) counts 1 record, but no record is stamped in it: sync compares this bucket with peers wrongly`))
    expect(r.stderr).toContain(`sync_buckets: the row for bucket ${bucketOf(vote.record.hlc)} `)
    expect(r.stderr).toContain('counts 6 records, the records stamped in it are 1')
    expect(r.stderr).toContain('hint: `steme fsck --repair`')
    const {res} = fsck()
    expect(res.ok).toBe(false)
    expect(res.derived.map(({reason: _, ...p}) => p)).toEqual([
      {table: 'refs', src: gone.record.id, edges: [`evidence:${base.record.id}`]},
      {table: 'sync_buckets', bucket: bucketOf(gone.record.hlc), stored: {count: 1, sum: gone.record.id}, expected: null},
      expect.objectContaining({table: 'sync_buckets', bucket: bucketOf(vote.record.hlc), stored: expect.objectContaining({count: 6}), expected: {count: 1, sum: vote.record.id}}),
    ])

    const repair = sb.run(['fsck', '--repair'])
    expect(repair.code, repair.stderr).toBe(0)
    expect(repair.stdout).toContain('repaired in one transaction: the columns and refs rows of 2 records rewritten, 1 refs row of no record removed, 2 sync_buckets rows rewritten\n')
    const after = fsck()
    expect(after.code).toBe(0)
    expect(after.res).toMatchObject({checked: 3, bad: [], derived: [], ok: true})
    // Queries find the record by its subject again, and "cited by" follows the restored edge.
    expect(sb.json<{candidates: Array<{id: string}>}>(['query', 't:x', 'p']).candidates.map((c) => c.id)).toEqual([base.record.id])
    expect(sb.run(['show', base.record.id]).stdout).toContain(cites.record.id)
    // The records are the ones stored before, byte for byte (less the one deleted behind steme's back).
    expect(exported()).toEqual(before.filter((line) => !line.includes(`"id":"${gone.record.id}"`)))
  })

  it('--repair leaves a record that fails its signature bad (exit 1) and still mends the derived tables', () => {
    const {base, cites, vote} = sample()
    ingest([base, cites, vote])
    tamper(`UPDATE records SET canonical = replace(canonical, '"value":"A"', '"value":"Z"'), subject = 't:evil' WHERE id = unhex('${base.record.id}');
      UPDATE sync_buckets SET n = n + 1 WHERE bucket = ${bucketOf(vote.record.hlc)}`)
    const r = sb.run(['fsck', '--repair', '--json'])
    expect(r.code).toBe(1)
    const res = JSON.parse(r.stdout) as FsckResult
    expect(res.bad.map((b) => b.id)).toEqual([base.record.id])
    expect(res.bad[0].reason).toMatch(/^id: /)
    expect(res.repaired).toMatchObject({records: 0, refsRemoved: 0, buckets: 1, ids: [], remaining: []})
    expect(res.ok).toBe(false)
    expect(sb.run(['fsck', '--repair']).stderr).toContain('1 record failed the id, signature or canonical-text check: --repair derives data from records, it does not mend them')
    // Its column was left as it was: nothing is derived from a record that fails its checks.
    expect(fsck().res.bad[0].columns).toEqual([{column: 'subject', stored: 't:evil', expected: 't:x'}])
  })

  it('--repair of a sync_buckets table emptied behind steme\'s back adds the rows back and, checking again, finds nothing wrong (exit 0)', () => {
    // The check after the repair runs the query the check before it ran. DuckDB plans a prepared
    // statement with the statistics of the moment (here: an empty sync_buckets), and a plan
    // reused after the rows changed read them wrongly: the repair was reported as not taking.
    const {base, cites, vote} = sample()
    ingest([base, cites, vote])
    tamper('DELETE FROM sync_buckets')
    expect(fsck().res.derived.map((d) => d.table)).toEqual(['sync_buckets', 'sync_buckets'])
    const r = sb.run(['fsck', '--repair', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout) as FsckResult).toMatchObject({repaired: {buckets: 2, remaining: []}, ok: true})
    expect(fsck()).toMatchObject({code: 0, res: {derived: [], ok: true}})
  })

  it('a repair that fails is rolled back whole: exit 1, says so, and the store is as it was', () => {
    const {base, cites, gone, vote} = sample()
    ingest([base, cites, gone, vote])
    // sync_buckets as a view: the repair's last step cannot write it.
    tamper(`DELETE FROM records WHERE id = unhex('${gone.record.id}'); UPDATE records SET subject = 't:evil' WHERE id = unhex('${base.record.id}');
      ALTER TABLE sync_buckets RENAME TO sync_buckets_kept; CREATE VIEW sync_buckets AS SELECT * FROM sync_buckets_kept`)
    const before = fsck().res
    const r = sb.run(['fsck', '--repair'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/error: fsck --repair failed and was rolled back, so .*store\.duckdb is as it was: .*Can only delete from base table/)
    expect(r.stderr).toContain('hint: to rebuild every table from the records instead: `steme export -o all.ndjson`')
    expect(fsck().res).toEqual(before)
  })
})

describe('a damaged hlc column and the commands that write', () => {
  it('a write says where the damage is and how to mend it (exit 1), not that the user typed a bad stamp; after fsck --repair it works', () => {
    const {base, cites} = sample()
    ingest([base, cites])
    tamper(`UPDATE records SET hlc = 'garbage' WHERE id = unhex('${cites.record.id}')`)
    const refused = sb.run(['assert', 't:z', 'p', '1'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(`error: the store's hlc column holds "garbage", which is no HLC stamp`)
    expect(refused.stderr).toContain('`steme fsck --repair` rewrites the column from the signed records')
    expect(refused.stderr).not.toContain('an HLC stamp looks like')
    // Readers are unaffected, and the repair lets writers go on.
    expect(sb.run(['query', 't:x']).code).toBe(0)
    expect(fsck('--repair').code).toBe(0)
    expect(sb.run(['assert', 't:z', 'p', '1']).code).toBe(0)
  })

  it('a damaged saved clock is named as such', () => {
    ingest([sample().base])
    tamper(`UPDATE meta SET value = 'garbage' WHERE key = 'hlc'`)
    const refused = sb.run(['assert', 't:z', 'p', '1'])
    expect(refused.code, refused.stderr).toBe(1)
    expect(refused.stderr).toContain('error: the clock saved in the store (meta hlc) is "garbage", which is no HLC stamp')
    expect(refused.stderr).toContain('`steme fsck --repair` resets the saved clock')
  })

  it('fsck reports a damaged saved clock (exit 1), and --repair resets it to the latest stored stamp, so writers go on above it', () => {
    const {base, cites} = sample()
    ingest([base, cites])
    tamper(`UPDATE meta SET value = 'garbage' WHERE key = 'hlc'`)
    const found = fsck()
    expect(found.code).toBe(1)
    expect(found.res.ok).toBe(false)
    expect(found.res.derived).toEqual([expect.objectContaining({table: 'meta', key: 'hlc', stored: 'garbage', reason: expect.stringContaining('which is no HLC stamp')})])
    const human = sb.run(['fsck'])
    expect(human.code).toBe(1)
    expect(human.stderr).toContain('meta: the clock saved under "hlc" is "garbage", which is no HLC stamp')
    expect(human.stderr).toContain('resets a damaged saved clock')
    const repaired = sb.run(['fsck', '--repair'])
    expect(repaired.code, repaired.stderr).toBe(0)
    expect(repaired.stdout).toBe(`2 records checked, 0 bad; 1 derived-table problem\nthe saved clock reset to ${cites.record.hlc}, the latest stored stamp\n`)
    expect(fsck()).toMatchObject({code: 0, res: {derived: [], ok: true}})
    const wrote = sb.run(['assert', 't:z', 'p', '1', '--json'])
    expect(wrote.code, wrote.stderr).toBe(0)
    const {record} = JSON.parse(wrote.stdout) as {record: {hlc: string}}
    expect(record.hlc > cites.record.hlc).toBe(true)
  })

  it('with the hlc column damaged too, --repair mends the column first and takes the clock from the mended records', () => {
    const {base, cites} = sample()
    ingest([base, cites])
    tamper(`UPDATE records SET hlc = 'zzzz' WHERE id = unhex('${cites.record.id}'); UPDATE meta SET value = 'garbage' WHERE key = 'hlc'`)
    const r = fsck('--repair')
    expect(r.code, r.stderr).toBe(0)
    expect(r.res.repaired).toMatchObject({clock: cites.record.hlc, remaining: []})
    expect(sb.run(['assert', 't:z', 'p', '1']).code).toBe(0)
  })
})
