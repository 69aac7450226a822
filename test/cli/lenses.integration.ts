/** The lens commands end to end through bin/run.js: answers, explanations and exit codes (needs `npm run build`). */
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {DuckDBStore} from '../../src/adapters/duckdb/index.js'

const BIN = join(import.meta.dirname, '../../bin/run.js')
let dir: string
let env: NodeJS.ProcessEnv

function steme(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {cwd: dir, env, encoding: 'utf8'})
  return {code: r.status, out: r.stdout.trim(), err: r.stderr}
}
/**
 * The records the store holds, read as `steme stats` reads them (read-only) but in this process:
 * a spawn of bin/run.js costs ~0.4 s, and each rejection below counts before and after.
 */
async function records(): Promise<number> {
  const store = await DuckDBStore.open(join(dir, '.steme', 'store.duckdb'), {readOnly: true})
  try {
    return (await store.stats()).records
  } finally {
    await store.close()
  }
}
const json = (...args: string[]) => {
  const r = steme(...args, '--json')
  expect(r.code, r.err).toBe(0)
  return JSON.parse(r.out)
}

describe('steme lens commands', () => {
  const ids: Record<string, string> = {}
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'steme-lens-'))
    env = {...process.env, XDG_CONFIG_HOME: join(dir, 'cfg'), STEME_STORE: undefined, STEME_KEY: undefined}
    expect(steme('keys', 'generate').code).toBe(0)
    expect(steme('init').code).toBe(0)
    ids.fda = json('assert', 'drug:aspirin', 'bleeding_rate', '0.002', '--source', 'fda:label-2024').id
    ids.blog = json('assert', 'drug:aspirin', 'bleeding_rate', '0.003', '--source', 'blog:x').id
    ids.derived = json('assert', 'drug:aspirin', 'risk', '"high"', '--evidence', ids.blog).id
  })
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it('query resolves through an expression and explains the fallback', () => {
    const r = json('query', 'drug:aspirin', 'bleeding_rate', '--lens', 'consensus, else recency', '--explain')
    expect(r.resolutions[0].winner.value).toBe(0.003)
    expect(r.resolutions[0].decidedBy).toBe('recency')
    expect(r.resolutions[0].explanation.join(' ')).toContain('fell back from consensus: tie')
  })

  it('a vote flips the vote-aware answer', () => {
    json('vote', ids.fda, 'up')
    expect(json('query', 'drug:aspirin', 'bleeding_rate', '--lens', 'votes').resolutions[0].winner.value).toBe(0.002)
  })

  it('retracting a source cascades to what was derived from it, and show explains the chain', () => {
    const r = json('retract', '--source', 'blog:x', '--reason', 'unreliable')
    expect(r).toMatchObject({direct: 1, derived: 1, kept: 0})
    const q = json('query', 'drug:aspirin')
    const risk = q.resolutions.find((x: {predicate: string}) => x.predicate === 'risk')
    expect(risk.status).toBe('empty')
    expect(q.resolutions.find((x: {predicate: string}) => x.predicate === 'bleeding_rate').winner.value).toBe(0.002)
    const s = json('show', ids.derived)
    expect(s.state).toBe('retracted')
    expect(s.why.join('\n')).toContain('cites source "blog:x"')
    expect(json('query', 'drug:aspirin', 'risk', '--include-retracted').resolutions[0].winner.value).toBe('high')
    // A source nothing cites (a typo, most often) still makes a permanent retraction: say so.
    const typo = steme('retract', '--source', 'blog:xx')
    expect(typo.code).toBe(0)
    expect(typo.err).toContain('no stored assertion cites source "blog:xx"')
    expect(steme('retract', '--source', 'fda:label-2024').err).not.toContain('no stored assertion cites')
  })

  it('conflicts lists contested pairs', () => {
    json('assert', 'drug:ibuprofen', 'dose', '200')
    json('assert', 'drug:ibuprofen', 'dose', '400', '--source', 'other')
    const c = json('conflicts', '--min-score', '0.5')
    expect(c.conflicts.map((x: {subject: string}) => x.subject)).toContain('drug:ibuprofen')
  })

  it('conflicts says, as query does, when the lens names what this store does not know', () => {
    const epoch = json('conflicts', '--lens', 'epoch:v9, recency')
    expect(epoch.notes).toEqual([expect.stringContaining('no record declares an epoch named "v9"')])
    expect(steme('conflicts', '--lens', 'epoch:v9, recency').err).toContain('note: no record declares an epoch named "v9"')
    // No key here: agent:self keeps nothing, and an empty list says why.
    const keyless = spawnSync(process.execPath, [BIN, 'conflicts', '--lens', 'agent:self, recency'], {cwd: dir, env: {...env, XDG_CONFIG_HOME: join(dir, 'no-keys')}, encoding: 'utf8'})
    expect(keyless.status, keyless.stderr).toBe(0)
    expect(keyless.stderr).toContain('note: there is no signing key here, so agent:self keeps nothing')
    expect(json('conflicts').notes).toBeUndefined()
  })

  it('conflicts and query agree when an assertion about another subject supersedes one of the pair', () => {
    const subjects = () => json('conflicts').conflicts.map((x: {subject: string}) => x.subject)
    const old = json('assert', 'drug:naproxen', 'dose', '220').id
    json('assert', 'drug:naproxen', 'dose', '440', '--source', 'label:2')
    expect(subjects()).toContain('drug:naproxen')
    const moved = json('assert', 'drug:naproxen-er', 'dose', '660', '--supersedes', old)
    expect(moved.warnings.join(' ')).toContain('drug:naproxen')
    const q = json('query', 'drug:naproxen', 'dose')
    expect(q.resolutions[0].candidates.map((c: {value: unknown}) => c.value)).toEqual([440])
    expect(subjects()).not.toContain('drug:naproxen')
  })

  it('--valid-at: a superseder supersedes only at dates its own valid range covers, in the answer, --all and --explain', () => {
    const old = json('assert', 'svc:api', 'tls-min', '"1.0"', '--valid-from', '2020-01-01').id
    const now = json('assert', 'svc:api', 'tls-min', '"1.2"', '--valid-from', '2025-01-01', '--supersedes', old).id
    const at = (date?: string) => json('query', 'svc:api', 'tls-min', ...(date ? ['--valid-at', date] : []))
    const states = (q: {candidates: Array<{id: string; state: string}>}) => Object.fromEntries(q.candidates.map((c) => [c.id, c.state]))
    const before = at('2022-06-01')
    expect(before.resolutions[0].winner.value).toBe('1.0')
    expect(states(before)).toEqual({[old]: 'live', [now]: 'not-valid'})
    expect(before.resolutions[0].explanation.join(' ')).toContain('1 candidate set aside: 1 not valid at 2022-06-01')
    expect(before.resolutions[0].explanation.join(' ')).not.toContain('superseded')
    const human = steme('query', 'svc:api', 'tls-min', '--valid-at', '2022-06-01', '--all', '--explain')
    expect(human.code, human.err).toBe(0)
    expect(human.out).toMatch(/"1\.0"/)
    expect(human.out).toContain('not-valid')
    expect(human.out).not.toMatch(/\bsuperseded\b/)
    const after = at('2025-06-01')
    expect(after.resolutions[0].winner.value).toBe('1.2')
    expect(states(after)).toEqual({[old]: 'superseded', [now]: 'live'})
    expect(states(at())).toEqual({[old]: 'superseded', [now]: 'live'})
    // The same from another subject: the edge's record replaced the api's port only while it held.
    const port = json('assert', 'svc:api', 'port', '80').id
    json('assert', 'svc:edge', 'listen', '443', '--valid-from', '2021-01-01', '--valid-to', '2024-01-01', '--supersedes', port)
    const portAt = (date: string) => json('query', 'svc:api', 'port', '--valid-at', date).resolutions[0].winner?.value
    expect(portAt('2020-06-01')).toBe(80)
    expect(portAt('2022-06-01')).toBeUndefined()
    expect(portAt('2024-06-01')).toBe(80)
  })

  it('conflicts --valid-at lists the pairs contested at the date, each as query --valid-at resolves it, and says the date', () => {
    // svc:db engine: pg14 from 2020, mysql beside it 2022 to 2024, pg16 replacing pg14 from 2025.
    const pg14 = json('assert', 'svc:db', 'engine', '"pg14"', '--valid-from', '2020-01-01').id
    json('assert', 'svc:db', 'engine', '"mysql"', '--valid-from', '2022-01-01', '--valid-to', '2024-01-01', '--source', 'ops:2022')
    json('assert', 'svc:db', 'engine', '"pg16"', '--valid-from', '2025-01-01', '--supersedes', pg14)
    // svc:db port: 5432 against 6432, except 2021 to 2024, when a record about another subject replaced 5432.
    const port = json('assert', 'svc:db', 'port', '5432').id
    json('assert', 'svc:db', 'port', '6432', '--source', 'pgbouncer')
    json('assert', 'svc:pool', 'listen', '6432', '--valid-from', '2021-01-01', '--valid-to', '2024-01-01', '--supersedes', port)
    const listed = (...dates: string[]) => {
      const c = json('conflicts', ...dates.flatMap((d) => ['--valid-at', d]))
      const rows = c.conflicts.filter((x: {subject: string}) => x.subject === 'svc:db')
      // Each row is what query answers about its pair at the same date, through the same lens.
      for (const row of rows) {
        const [r] = json('query', 'svc:db', row.predicate, '--lens', 'consensus', ...dates.flatMap((d) => ['--valid-at', d])).resolutions
        expect(row, `${row.predicate} at ${dates[0] ?? 'any date'}`).toEqual({
          subject: 'svc:db',
          predicate: row.predicate,
          conflict: r.conflict,
          // Without a date, the date that gives the score, as query names it.
          ...(r.conflictAt !== undefined ? {conflictAt: r.conflictAt} : {}),
          values: r.candidates.length,
          witnesses: r.candidates.reduce((t: number, x: {witnesses: number}) => t + x.witnesses, 0),
          winner: r.winner?.key,
          status: r.status,
          top: r.candidates.slice(0, 3).map((x: {key: string; probability: number; witnesses: number}) => ({value: x.key, probability: x.probability, witnesses: x.witnesses})),
        })
      }
      return {validAt: c.validAt, rows: rows.map((x: {predicate: string; top: Array<{value: string}>}) => `${x.predicate} ${x.top.map((t) => t.value).sort().join(' ')}`).sort()}
    }
    expect(listed('2020-06-01')).toEqual({validAt: '2020-06-01', rows: ['port 5432 6432']})
    expect(listed('2022-06-01')).toEqual({validAt: '2022-06-01', rows: ['engine "mysql" "pg14"']})
    expect(listed('2024-06-01')).toEqual({validAt: '2024-06-01', rows: ['port 5432 6432']})
    expect(listed('2025-06-01')).toEqual({validAt: '2025-06-01', rows: ['port 5432 6432']})
    // Without a date, the highest any date gives, each with its own supersession: pg14 against
    // mysql in 2022, 5432 against 6432 outside 2021 to 2024. The camps are those over all dates,
    // where both superseders stand (pg14 and 5432 set aside).
    expect(listed()).toEqual({validAt: undefined, rows: ['engine "mysql" "pg16"', 'port 6432']})
    const human = steme('conflicts', '--valid-at', '2022-06-01', '--as-of', '2100-01-01')
    expect(human.code, human.err).toBe(0)
    expect(human.out.split('\n')[0]).toMatch(/^contested pairs {2}\(lens consensus, as of 2100-01-01, valid at 2022-06-01\)$/)
    // query heads its answer the same way: the times as typed, not the hlc bound a date becomes.
    const q = steme('query', 'svc:db', '--lens', 'consensus', '--valid-at', '2022-06-01', '--as-of', '2100-01-01')
    expect(q.out.split('\n')[0]).toBe('svc:db  (lens consensus, as of 2100-01-01, valid at 2022-06-01)')
    expect(human.out).toMatch(/svc:db\s+engine\s/)
    expect(human.out).not.toMatch(/svc:db\s+port\s/)
    // A filter that keeps nothing: the empty answer says the date too.
    const none = steme('conflicts', '--valid-at', '2022-06-01', '--min-score', '0.5', '--lens', 'source:nothing-here, consensus')
    expect(none.out).toMatch(/^no contested pairs at conflict >= 0\.5 among \d+ {2}\(lens source:nothing-here.*, valid at 2022-06-01\)$/)
  })

  it('skeptic does not contest a tied timeline, as conflicts does not list it, but still contests a tie that overlaps', () => {
    // One witness each, so consensus ties; "1.2" holds until July 2025, "1.3" from then: never both at once.
    json('assert', 'svc:tls', 'min', '"1.2"', '--source', 'scan:a', '--valid-to', '2025-07-01')
    json('assert', 'svc:tls', 'min', '"1.3"', '--source', 'scan:b', '--valid-from', '2025-07-01')
    const [r] = json('query', 'svc:tls', 'min', '--lens', 'skeptic', '--explain').resolutions
    expect(r.conflict).toBe(0)
    expect(r.status).toBe('tie')
    expect(r.winner.value).toBe(json('query', 'svc:tls', 'min', '--lens', 'consensus').resolutions[0].winner.value)
    expect(r.explanation.join(' ')).toContain('never hold at the same time (a timeline')
    expect(json('conflicts', '--lens', 'skeptic').conflicts.filter((c: {subject: string}) => c.subject === 'svc:tls')).toEqual([])
    // A chain goes on past the tie, as it does past consensus's; a date gives the one answer.
    expect(json('query', 'svc:tls', 'min', '--lens', 'skeptic, else recency').resolutions[0]).toMatchObject({decidedBy: 'recency', status: 'decided'})
    expect(json('query', 'svc:tls', 'min', '--lens', 'skeptic', '--valid-at', '2025-06-01').resolutions[0]).toMatchObject({status: 'decided', winner: {value: '1.2'}})
    // Ranges that overlap (August) are rivals there: contested, the camps listed.
    json('assert', 'svc:tls2', 'min', '"1.2"', '--source', 'scan:a', '--valid-to', '2025-08-01')
    json('assert', 'svc:tls2', 'min', '"1.3"', '--source', 'scan:b', '--valid-from', '2025-07-01')
    const [o] = json('query', 'svc:tls2', 'min', '--lens', 'skeptic').resolutions
    expect(o).toMatchObject({status: 'contested', conflict: 1})
    expect(o.winner).toBeUndefined()
    expect(o.explanation.join(' ')).toContain('the top values tie')
  })

  it('epochs and trust are recorded and listed', () => {
    expect(steme('epoch', 'post-2024', '--starts', '2024-03-01').code).toBe(0)
    const other = 'ab'.repeat(32)
    expect(steme('trust', other, '0.8').code).toBe(0)
    const list = json('trust', 'list')
    const row = list.agents.find((a: {agent: string}) => a.agent === other)
    expect(row.tier).toBe('trusted')
    expect(row.why).toContain('endorsed by')
  })

  it.each([
    [['query', 'drug:aspirin', '--lens', 'nonesuch'], 2, 'unknown lens "nonesuch"'],
    [['query', 'drug:aspirin', '--lens', 'recency, epoch:current'], 2, 'filter "epoch:current" comes after a lens'],
    [['query', 'drug:aspirin', '--valid-at', 'someday'], 2, '--valid-at "someday" is not a date'],
    [['vote', 'f'.repeat(64), 'up'], 1, `no record ${'f'.repeat(64)}`],
    [['retract', 'e'.repeat(64)], 1, `no record ${'e'.repeat(64)}`],
    [['retract', 'not-an-id'], 2, '"not-an-id" is not a record id'],
    [['trust', 'ab'.repeat(32), '1.5'], 2, 'trust weight "1.5" is out of range'],
    [['trust', 'ab'.repeat(32), '-1'], 2, 'trust weight "-1" is out of range'],
    // Number() reads 0x1 as 1 and 0b0 as 0: a full endorsement, or a withdrawal, no one typed.
    [['trust', 'ab'.repeat(32), '0x1'], 2, 'trust weight "0x1" is not a decimal number\nhint: a weight is a decimal number in [0, 1], such as 0.8'],
    [['trust', 'ab'.repeat(32), '0b0'], 2, 'trust weight "0b0" is not a decimal number'],
    [['trust', 'ab'.repeat(32), 'high'], 2, 'trust weight "high" is not a decimal number'],
    [['trust', 'nope', '0.5'], 2, '"nope" is not an agent key'],
    // A key prefix, as the tables print keys, is told apart from a key, with where whole keys are printed.
    [['trust', '8139770ea87d', '0.5'], 2, '"8139770ea87d" is not an agent key: it has 12 hex chars, an agent key 64\nhint: give the whole 64-hex public key: `steme whoami` prints yours, `steme trust list --json`'],
    [['epoch', 'x', '--starts', 'soon'], 2, 'starts'],
    [['conflicts', '--min-score', '3'], 2, '--min-score must be a number in [0, 1]'],
    [['conflicts', '--min-score', '0x1'], 2, '--min-score must be a number in [0, 1], got "0x1"'],
    [['query', 'drug:aspirin', '--lens', 'skeptic(threshold=0x1)'], 2, 'skeptic threshold="0x1": must be a number in [0, 1]'],
    [['query', 'drug:aspirin', '--lens', 'min-confidence:0b1, then recency'], 2, 'min-confidence:0b1: the threshold must be a number in [0, 1]'],
    [['conflicts', '--valid-at', 'someday'], 2, '--valid-at "someday" is not a date'],
  ])('rejects %j with exit %i and names the input', async (args, code, message) => {
    const before = await records()
    expect(before).toBeGreaterThan(0)
    const r = steme(...(args as string[]))
    expect(r.code).toBe(code)
    expect(r.err).toContain(message)
    expect(await records()).toBe(before)
  })
})
