/** steme show of a retraction says whether this store's policy lets it take effect, and why. */
import {expect, it} from 'vitest'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {DuckDBStore} from '../../src/adapters/duckdb/index.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import {showOp} from '../../src/ops/show.js'
import {assertion, record, testKey} from '../helpers/records.js'

it('says yes for an untrusted agent retracting its own record, no for another\'s, and names a pre-trusted author and a missing target', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'steme-show-retraction-'))
  const store = await DuckDBStore.open(join(dir, 'store.duckdb'))
  try {
    const [self, stranger, pre, other] = [1, 2, 3, 4].map((n) => testKey(n))
    const mine = assertion({subject: 's:x', predicate: 'p', value: 'a'}, self)
    const theirs = assertion({subject: 's:x', predicate: 'p', value: 'b'}, stranger)
    const ownRetraction = record({kind: 'retract', target: theirs.record.id}, stranger)
    const ofMine = record({kind: 'retract', target: mine.record.id}, stranger)
    const byPre = record({kind: 'retract', target: mine.record.id}, pre)
    const missing = record({kind: 'retract', target: 'e'.repeat(64)}, other)
    await store.insert([mine, theirs, ownRetraction, ofMine, byPre, missing])
    const deps = {store, config: {...DEFAULT_CONFIG, pretrusted: [pre.publicHex]}, key: () => self}
    const effect = async (id: string) => (await showOp(deps, {id})).effect
    expect(await effect(ownRetraction.record.id)).toEqual({here: 'yes', why: "it retracts its author's own record, which counts from any agent"})
    expect(await effect(ofMine.record.id)).toEqual({
      here: 'no',
      why:
        `set aside: its author ${stranger.publicHex.slice(0, 12)} is not trusted here (no trust here), and the record it names is agent ${self.publicHex.slice(0, 12)}'s; ` +
        `retractions of others' records count from the store's own key, pre-trusted agents and tier trusted or above (\`steme trust ${stranger.publicHex} <weight>\` to change that)`,
    })
    expect(await effect(byPre.record.id)).toEqual({
      here: 'yes',
      why: 'its author is pre-trusted in the store config: the record it names is retracted here, and what stands on it',
    })
    expect((await effect(missing.record.id))?.here).toBe('no')
    expect((await effect(missing.record.id))?.why).toMatch(/^the record it names is not in this store, and it will count only if that record is its author's own: its author [0-9a-f]{12} is not trusted here/)
    expect(await effect(mine.record.id)).toBeUndefined()
  } finally {
    await store.close()
    rmSync(dir, {recursive: true, force: true})
  }
})
